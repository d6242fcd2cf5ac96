import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import postgres from 'postgres';
import { sql } from 'drizzle-orm';
import { inject } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '../../db/client.js';

/** The migrated template database test/global-setup.ts made; none outside vitest (the benchmarks migrate their own). */
function postgresTemplate(): string | undefined {
  try {
    return inject('postgresTemplate');
  } catch {
    return undefined;
  }
}

/** A new, migrated database on a PostgreSQL server (a copy of the run's template), dropped again when the handle closes. */
export async function openFreshPostgres(serverUrl: string, prefix = 'csp_test'): Promise<DatabaseHandle & { name: string }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const template = postgresTemplate();
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

/** The tables of the public schema (the app's own), by name. */
export async function publicTables(db: Database): Promise<string[]> {
  const result = await db.execute(sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`);
  // postgres.js answers rows, PGlite { rows }.
  return ((result as { rows?: { name: string }[] }).rows ?? (result as unknown as { name: string }[])).map((t) => t.name);
}

/**
 * A way back to the database's rows as they are now, for many fresh states of the same data without a
 * new database each: every table is copied aside (schema saved_rows); the function returned empties
 * them all and copies the rows back, in one transaction that checks no foreign keys while it does.
 * Sequences go on counting.
 */
export async function restorePoint(db: Database): Promise<() => Promise<void>> {
  const tables = (await publicTables(db)).map((name) => `"${name}"`);
  await db.execute(sql.raw('create schema saved_rows'));
  for (const table of tables) await db.execute(sql.raw(`create table saved_rows.${table} as table public.${table}`));
  return () =>
    db.transaction(async (tx) => {
      await tx.execute(sql.raw('set local session_replication_role = replica'));
      await tx.execute(sql.raw(`truncate ${tables.map((t) => `public.${t}`).join(', ')}`));
      for (const table of tables) await tx.execute(sql.raw(`insert into public.${table} select * from saved_rows.${table}`));
    });
}
