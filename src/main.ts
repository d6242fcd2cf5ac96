import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { DatabaseUnavailable, openDatabase } from '../db/client.js';
import { acquireDataDirLock, folderInUse } from '../db/lock.js';
import { demoAdminEmail, demoAtStart } from '../db/seed/demo.js';
import { startBot } from './bot.js';
import { ConfigError, loadConfig, secretSettings } from './config.js';
import { createLogger } from './log.js';

// With memory to spare V8 lets the old generation grow to four times what the last full collection
// kept before collecting again: under a command load that was half the bot's memory, all garbage.
// Twice is enough to keep full collections rare (issue 18). V8 reads it at each collection, so it
// holds however the process was started (npm start, Docker, systemd).
setFlagsFromString('--heap-growing-percent=100');

/** What is still under way this long after SIGTERM is abandoned, so the process is gone within the 10 s runtimes wait before SIGKILL. */
const stopDeadlineMs = 9000;

/** Start-up order: config → database and migrations → HTTP server and delivery worker. */
async function main() {
  const config = loadConfig();
  const log = createLogger(config.LOG_LEVEL, { secrets: secretSettings(config), batched: true });
  const embedded = !config.DATABASE_URL;
  const dataDir = resolve(config.DATA_DIR);
  const lock = embedded ? acquireDataDirLock(dataDir, { pid: process.pid }) : undefined;
  if (lock && !lock.acquired) {
    console.error(folderInUse(dataDir, lock.holder.pid));
    process.exit(1);
  }
  const releaseLock = () => lock?.acquired && lock.release();

  let stop: (() => Promise<void>) | undefined;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    if (!stop) {
      // Nothing is served yet: start-up ends at once, and what it leaves the next start takes up, as after a crash.
      console.error(`${signal} during start-up: stopped.`);
      releaseLock();
      process.exit(1);
    }
    log.info(`${signal}: stopping (new requests are refused; what is under way gets ${stopDeadlineMs / 1000} s)…`);
    // Abandoned work is left as a crash leaves it, which the next start repairs: leases lapse, unposted messages stay pending.
    setTimeout(() => {
      log.error(`Still stopping after ${stopDeadlineMs / 1000} s: exiting with the rest abandoned; it is picked up after the restart.`);
      releaseLock();
      process.exit(1);
    }, stopDeadlineMs);
    let exitCode = 0;
    try {
      await stop();
      log.info('Stopped.');
    } catch (error) {
      log.error('Stopping failed', error);
      exitCode = 1;
    }
    releaseLock();
    process.exit(exitCode);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);

  let database;
  try {
    database = await openDatabase({ url: config.DATABASE_URL, dataDir: embedded ? dataDir : undefined });
  } catch (error) {
    releaseLock();
    throw error;
  }
  if (database.migrations.applied) log.info(`Applied ${database.migrations.applied} database migrations (${database.migrations.total} in all).`);
  // `npm start -- --demo` loads the demo into an empty PostgreSQL database too.
  const data = await demoAtStart(database.db, { embedded, asked: process.argv.slice(2).includes('--demo') });
  if (data.refused) {
    console.error('--demo loads the demo organizations only into a database with no organizations; this one has some, so nothing was loaded.');
    await database.close();
    releaseLock();
    process.exit(1);
  }
  const cliToken = embedded ? randomBytes(24).toString('hex') : undefined;
  let bot;
  try {
    bot = await startBot({ db: database.db, config, log, cliToken });
  } catch (error) {
    await database.close();
    releaseLock();
    throw error;
  }
  stop = async () => {
    await bot.stop();
    await database.close();
  };
  if (lock?.acquired) lock.update({ pid: process.pid, cliPort: bot.port, cliToken });

  log.info(`csp-ops listening on port ${bot.port} (${embedded ? `embedded database in ${dataDir}` : 'PostgreSQL'})`);
  log.info(
    !bot.slack
      ? 'Slack: not configured (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN, or the OAuth install settings; see README).'
      : config.SLACK_APP_TOKEN
        ? 'Slack: connected over Socket Mode.'
        : config.SLACK_CLIENT_ID
          ? `Slack: POST http://localhost:${bot.port}/slack/events; workspaces install at ${config.PUBLIC_URL}/slack/install with a code from npm run csp -- slack link-code`
          : `Slack: POST http://localhost:${bot.port}/slack/events`,
  );
  if (bot.teams) {
    if (config.MICROSOFT_APP_ID) log.info(`Teams: POST http://localhost:${bot.port}/api/messages (app ${config.MICROSOFT_APP_ID})`);
    else log.warn('TEAMS_ALLOW_UNAUTHENTICATED=true: /api/messages accepts activities WITHOUT any token check. Use this only for local development and tests, never where anyone else can reach the port.');
  }
  if (data.loaded) log.info('Loaded the demo partner "Fabrikam Cloud Partners (demo)" and the demo publisher "누리소프트 주식회사 (demo ISV)", marked as demo.');
  if (!data.own && !data.demo) {
    log.warn('No organization is stored in this database yet. Import yours with `npm run csp -- import <file.json>` (README, "Import format"), or start once with `npm start -- --demo` to load the demo organizations.');
  } else if (!data.own) {
    log.info(`Try it from another terminal while this runs:\n  npm run csp -- customers --as ${demoAdminEmail}\n  npm run csp -- allow-reservations northwind --as ${demoAdminEmail}\nImport your own organization with \`npm run csp -- import <file.json>\`; commands that name no organization then act for it.`);
  } else if (data.demo) {
    log.info('The demo organizations are stored beside yours (commands that name no organization act for yours); `npm run csp -- demo remove` deletes them.');
  }
}

try {
  await main();
} catch (error) {
  // A bad setting or a database that cannot be used: one line saying what to do, no stack trace.
  if (!(error instanceof ConfigError || error instanceof DatabaseUnavailable)) throw error;
  console.error(error.message);
  process.exit(1);
}
