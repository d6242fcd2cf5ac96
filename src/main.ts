import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { openDatabase } from '../db/client.js';
import { acquireDataDirLock } from '../db/lock.js';
import { demoAdminEmail, seedDemoIfEmpty } from '../db/seed/demo.js';
import { runCli } from './adapters/cli/run.js';
import { createSlackAdapter } from './adapters/slack/app.js';
import { ConfigError, loadConfig } from './config.js';
import { slackSender } from './delivery/slack.js';
import { startDeliveryWorker } from './delivery/worker.js';
import { createLogger } from './log.js';
import { createHttpServer } from './server.js';

/** Start-up order: config → database and migrations → HTTP server → delivery worker. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL);
  const embedded = !config.DATABASE_URL;
  const dataDir = resolve(config.DATA_DIR);
  const cliToken = randomBytes(24).toString('hex');
  const lock = embedded ? acquireDataDirLock(dataDir, { pid: process.pid }) : undefined;
  if (lock && !lock.acquired) {
    console.error(`The data folder ${dataDir} is in use by another csp-ops process (pid ${lock.holder.pid}). Stop it first, or set DATA_DIR to another folder.`);
    process.exit(1);
  }

  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: embedded ? dataDir : undefined });
  const seeded = embedded && (await seedDemoIfEmpty(database.db));
  let ready = false;

  const slack = config.SLACK_BOT_TOKEN
    ? createSlackAdapter({
        db: database.db,
        log,
        signingSecret: config.SLACK_SIGNING_SECRET,
        botToken: config.SLACK_BOT_TOKEN,
        appToken: config.SLACK_APP_TOKEN,
        slackApiUrl: config.SLACK_API_URL,
        onChange: () => worker.wake(),
      })
    : undefined;
  const worker = startDeliveryWorker({
    db: database.db,
    senders: config.SLACK_BOT_TOKEN ? { slack: slackSender(config.SLACK_BOT_TOKEN, config.SLACK_API_URL) } : {},
    log,
  });
  const server = createHttpServer({
    log,
    isReady: () => ready,
    slack: slack?.requestListener,
    cli: embedded ? { token: cliToken, run: (argv) => runCli(database.db, argv) } : undefined,
  });
  await new Promise<void>((done) => server.listen(config.PORT, done));
  const port = (server.address() as { port: number }).port;
  if (lock?.acquired) lock.update({ pid: process.pid, cliPort: port, cliToken });
  if (slack && config.SLACK_APP_TOKEN) await slack.app.start();
  ready = true;

  log.info(`csp-ops listening on port ${port} (${embedded ? `embedded database in ${dataDir}` : 'PostgreSQL'})`);
  log.info(
    slack
      ? config.SLACK_APP_TOKEN
        ? 'Slack: connected over Socket Mode.'
        : `Slack: POST http://localhost:${port}/slack/events`
      : 'Slack: not configured (set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN; see README).',
  );
  if (seeded) log.info('Loaded the demo organization "Fabrikam Cloud Partners (demo)".');
  if (embedded) {
    log.info(`Try it from another terminal while this runs:\n  npm run csp -- customers --as ${demoAdminEmail}\n  npm run csp -- allow-reservations northwind --as ${demoAdminEmail}`);
  }

  let stopping = false;
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    log.info('Stopping…');
    server.close();
    if (slack && config.SLACK_APP_TOKEN) await slack.app.stop();
    await worker.stop();
    await database.close();
    if (lock?.acquired) lock.release();
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

await main();
