import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseUnavailable, openDatabase } from '../db/client.js';
import { acquireDataDirLock } from '../db/lock.js';
import { seedDemoIfEmpty } from '../db/seed/demo.js';
import { runCli, saveCliFiles, type CliResult } from './adapters/cli/run.js';
import { ConfigError, loadConfig, secretSettings } from './config.js';
import { partnerCenterFromConfig } from './partner-center/connector.js';
import { translator } from './i18n/index.js';
import { createLogger } from './log.js';

/**
 * `npm run csp -- …`. With DATABASE_URL it opens the server directly. On the
 * embedded database only one process may open the folder: if the bot holds it,
 * the command runs inside the bot; if another CLI does, it says so and stops.
 */
async function main(): Promise<CliResult> {
  const config = loadConfig();
  // A path given to import is read by whichever process runs the command.
  const argv = process.argv.slice(2).map((arg, i, all) => (i === 1 && (all[0] === 'import' || (all[0] === 'record-purchase' && !arg.trimStart().startsWith('{'))) ? resolve(arg) : arg));
  if (config.DATABASE_URL) return withDatabase(config.DATABASE_URL, undefined, argv);

  const t = translator('en');
  const dataDir = resolve(config.DATA_DIR);
  const lock = acquireDataDirLock(dataDir, { pid: process.pid });
  if (!lock.acquired) {
    const { cliPort, cliToken, pid } = lock.holder;
    if (!cliPort || !cliToken) {
      return { output: t('cli.folderInUse', { dir: dataDir, pid }), exitCode: 1 };
    }
    const response = await fetch(`http://127.0.0.1:${cliPort}/internal/cli`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csp-cli-token': cliToken },
      body: JSON.stringify({ argv }),
    }).catch(() => undefined);
    if (!response) return { output: t('cli.botNotAnswering', { pid, dir: dataDir, port: cliPort }), exitCode: 1 };
    return (await response.json()) as CliResult;
  }
  try {
    return await withDatabase(undefined, dataDir, argv);
  } finally {
    lock.release();
  }
}

async function withDatabase(url: string | undefined, dataDir: string | undefined, argv: string[]): Promise<CliResult> {
  const database = await openDatabase({ url, dataDir });
  try {
    // Removing the demo from an empty folder should not load it first.
    if (dataDir && argv[0] !== 'demo') await seedDemoIfEmpty(database.db);
    const config = loadConfig();
    // Standard output is the command's answer: log lines go to standard error.
    const log = createLogger(config.LOG_LEVEL, { destination: 2, secrets: secretSettings(config) });
    return await runCli(database.db, argv, { partnerCenter: partnerCenterFromConfig(config, {}, { db: database.db, log }), config, log });
  } finally {
    await database.close();
  }
}

try {
  // Files (a price list) go to --out, else the folder the command was typed in.
  const { out } = parseArgs({ args: process.argv.slice(2), strict: false, allowPositionals: true, options: { out: { type: 'string' } } }).values;
  const { output, exitCode } = await saveCliFiles(await main(), resolve(typeof out === 'string' ? out : '.'));
  console.log(output);
  process.exitCode = exitCode;
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof DatabaseUnavailable ? error.message : error);
  process.exitCode = 1;
}
