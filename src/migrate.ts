import { resolve } from 'node:path';
import { DatabaseUnavailable, openDatabase, postgresTarget } from '../db/client.js';
import { acquireDataDirLock, folderInUse } from '../db/lock.js';
import { ConfigError, loadConfig } from './config.js';

/**
 * `npm run migrate`: applies the migrations to the database `npm start` would open (DATABASE_URL,
 * else the embedded one in DATA_DIR), says in one line what it did, and exits. On PostgreSQL it
 * takes the same advisory lock as start-up, so it may run while replicas start.
 */
async function migrate(): Promise<string> {
  const config = loadConfig();
  if (config.DATABASE_URL) {
    const { database, server } = postgresTarget(config.DATABASE_URL);
    return applyTo(`database "${database}" on ${server}`, { url: config.DATABASE_URL });
  }
  const dataDir = resolve(config.DATA_DIR);
  const lock = acquireDataDirLock(dataDir, { pid: process.pid });
  if (!lock.acquired) throw new DatabaseUnavailable(folderInUse(dataDir, lock.holder.pid));
  try {
    return await applyTo(`the embedded database in ${dataDir}`, { dataDir });
  } finally {
    lock.release();
  }
}

async function applyTo(target: string, options: Parameters<typeof openDatabase>[0]): Promise<string> {
  const database = await openDatabase(options);
  await database.close();
  const { total, fromTemplate } = database.migrations;
  // A new embedded folder starts as a copy of the migrated template: every migration came with it.
  const applied = fromTemplate ? total : database.migrations.applied;
  return applied ? `Applied ${applied} migrations to ${target} (${total} in all).` : `No migrations to apply: ${target} has all ${total}.`;
}

try {
  console.log(await migrate());
} catch (error) {
  // A bad setting or a database that cannot be used: one line saying what to do, no stack trace.
  if (!(error instanceof ConfigError || error instanceof DatabaseUnavailable)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
