import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { refreshNameKeys } from '../src/core/name-keys.js';
import * as schema from './schema.js';

export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Either the database or a transaction on it: core functions accept both. */
export type Queryable = Database | Transaction;

export interface DatabaseHandle {
  db: Database;
  kind: 'pglite' | 'postgres';
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** What GET /metrics can say about the connections: postgres.js keeps its pool to itself, so the server is asked. */
export type PoolStats = { driver: 'postgres'; max: number; open: number; inUse: number } | { driver: 'pglite'; inFlight: number };
const pools = new WeakMap<object, { driver: PoolStats['driver']; read(): Promise<PoolStats> }>();
export const databasePool = (db: Database) => pools.get(db);

/** How many migrations the database has had (none before the first run). postgres.js answers rows, PGlite { rows }. */
const appliedMigrations = (db: Database) =>
  db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`).then(
    (result) => Number(((result as { rows?: { n: number }[] }).rows ?? (result as unknown as { n: number }[]))[0]?.n ?? 0),
    () => 0,
  );

/**
 * Applies the migrations; when some were new (an upgrade), also recomputes the name keys an
 * older normalizeKey wrote, which SQL cannot. A change to normalizeKey ships with a migration.
 */
async function upgraded(db: Database, migrate: () => Promise<void>) {
  const before = await appliedMigrations(db);
  await migrate();
  if ((await appliedMigrations(db)) > before) await refreshNameKeys(db);
}

/**
 * With a URL, postgres.js against a real server; without one, embedded PGlite
 * stored in `dataDir` (or in memory when `dataDir` is undefined). Migrations run
 * before the handle is returned, so callers always see the current schema.
 */
export async function openDatabase(options: { url?: string; dataDir?: string }): Promise<DatabaseHandle> {
  if (options.url) {
    // Each process names its connections, so pg_stat_activity tells this pool's from another instance's.
    const applicationName = `csp-ops ${randomBytes(4).toString('hex')}`;
    const max = 10;
    const client = postgres(options.url, { max, onnotice: () => {}, connection: { application_name: applicationName } });
    const db = drizzlePostgres(client, { schema });
    await upgraded(db as unknown as Database, () => migratePostgres(db, { migrationsFolder }));
    pools.set(db, {
      driver: 'postgres',
      async read() {
        // The connection asking is open but counts as idle: it is only looking.
        const [row] = await client<{ open: number; inUse: number }[]>`
          select count(*)::int as "open", count(*) filter (where state <> 'idle' and pid <> pg_backend_pid())::int as "inUse"
          from pg_stat_activity where application_name = ${applicationName}`;
        return { driver: 'postgres', max, open: row!.open, inUse: row!.inUse };
      },
    });
    return { db: db as unknown as Database, kind: 'postgres', close: () => client.end({ timeout: 5 }) };
  }
  const client = new PGlite({ dataDir: options.dataDir, extensions: { pg_trgm } });
  // PGlite runs one statement at a time: how many wait or run shows how loaded it is.
  let inFlight = 0;
  for (const method of ['query', 'exec', 'transaction'] as const) {
    const run = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>;
    Object.assign(client, { [method]: (...args: unknown[]) => (inFlight++, run(...args).finally(() => inFlight--)) });
  }
  const db = drizzlePglite(client, { schema });
  pools.set(db, { driver: 'pglite', read: async () => ({ driver: 'pglite', inFlight }) });
  try {
    await upgraded(db as unknown as Database, () => migratePglite(db, { migrationsFolder }));
  } catch (error) {
    await client.close();
    throw error;
  }
  return { db: db as unknown as Database, kind: 'pglite', close: () => client.close() };
}
