import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';

/** A new, migrated database on a PostgreSQL server (a copy of the run's template), dropped again when the handle closes. */
export async function openFreshPostgres(serverUrl: string, prefix = 'csp_test'): Promise<DatabaseHandle & { name: string }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const template = inject('postgresTemplate');
  await admin.unsafe(`CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  const drop = async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  };
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let handle: DatabaseHandle;
  try {
    handle = await openDatabase({ url: url.toString() });
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    ...handle,
    name,
    async close() {
      await handle.close();
      await drop();
    },
  };
}

/**
 * A fresh, migrated database for one test file: PGlite in memory by default, or
 * a new database on the server named by TEST_DATABASE_URL.
 */
export async function openTestDatabase(): Promise<DatabaseHandle> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  return serverUrl ? openFreshPostgres(serverUrl) : openDatabase({ template: await pgliteTemplate() });
}

let template: Promise<Blob | undefined> | undefined;

/** The migrated database test/global-setup.ts dumped, read once per test file. */
function pgliteTemplate(): Promise<Blob | undefined> {
  const path = inject('pgliteTemplate');
  return (template ??= path ? readFile(path).then((data) => new Blob([data])) : Promise.resolve(undefined));
}

export const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

/**
 * Another connection to the same test database, as a second app instance has: its own pool on
 * PostgreSQL; on PGlite (one process per database) the same handle.
 */
export async function secondConnection(database: DatabaseHandle): Promise<DatabaseHandle> {
  if (!onPostgres) return database;
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${(database as DatabaseHandle & { name: string }).name}`;
  return openDatabase({ url: url.toString() });
}
