import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
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
  /** Migrations this opening applied, and how many the database has had in all. */
  /** `fromTemplate`: a new embedded folder, made a copy of the built template (its migrations already in it). */
  migrations: { applied: number; total: number; fromTemplate?: true };
  close(): Promise<void>;
}

/** The database cannot be opened for a reason the operator has to fix: one line saying which and what to do. */
export class DatabaseUnavailable extends Error {}

/**
 * Several replicas may start at once: the first to take this PostgreSQL advisory lock migrates,
 * the others wait and then find nothing left to do. A fixed key ("cspops" in ASCII).
 */
const migrationLockKey = '109347458740339';

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));

/** The PGlite release installed: a data folder it made is only opened by the same release. */
const pgliteVersion = (JSON.parse(readFileSync(join(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')), '../package.json'), 'utf8')) as { version: string }).version;

/**
 * Where `npm run build` leaves an embedded database with every migration applied and no data, beside
 * the compiled client (dist/db/), named after the PGlite release that made it. A new data folder
 * starts as a copy of it instead of running initdb, which takes seconds and most of a gigabyte.
 */
export const builtTemplate = fileURLToPath(new URL(`./pglite-template-${pgliteVersion}`, import.meta.url));

/**
 * Copies a template folder into a data folder that holds no database yet, where the template
 * exists. PG_VERSION, whose presence makes it a database, comes last: a copy cut short is begun again.
 */
/** True when the folder was new and is now a copy of the template. */
function fillFromTemplate(dataDir: string, template: string): boolean {
  const marker = 'PG_VERSION';
  if (existsSync(join(dataDir, marker)) || !existsSync(join(template, marker))) return false;
  // Synchronous: several times cheaper than fs/promises' cp for a thousand small files, and start-up waits for it anyway.
  cpSync(template, dataDir, { recursive: true, filter: (source) => source !== join(template, marker) });
  copyFileSync(join(template, marker), join(dataDir, marker));
  return true;
}

/**
 * PostgreSQL settings for the embedded database on top of PGlite's, given at each start (not stored).
 * PGlite keeps PostgreSQL's 128 MB of shared buffers, all of it resident in the process; a team's
 * database fits in far less, and 32 MB take ~100 MB off the bot's memory with no loss of throughput measured.
 */
const pgliteSettings = ['shared_buffers=32MB'].flatMap((setting) => ['-c', setting]);

/** What GET /metrics can say about the connections: postgres.js keeps its pool to itself, so the server is asked. */
export type PoolStats = { driver: 'postgres'; max: number; open: number; inUse: number } | { driver: 'pglite'; inFlight: number };
const pools = new WeakMap<object, { driver: PoolStats['driver']; read(): Promise<PoolStats> }>();
export const databasePool = (db: Database) => pools.get(db);

/**
 * Listening for NOTIFY on one channel, for the caches that must hear of every change (src/core/change-cache.ts).
 * `listening` is called each time the listener is in place (again); `interrupted` when it may have missed some.
 */
export interface ChangeListener {
  notified(payload: string): void;
  listening(): void;
  interrupted(): void;
}
const notifications = new WeakMap<object, (channel: string, listener: ChangeListener) => void>();
export const databaseNotifications = (db: Database) => notifications.get(db);

/**
 * PostgreSQL: a connection of its own holds the LISTEN. When it closes (a restart, a network cut), its
 * listeners hear they may have missed changes, and the LISTEN is tried again every second until it holds.
 */
function postgresNotifications(url: string, applicationName: string) {
  const channels = new Map<string, ChangeListener[]>();
  let ended = false;
  const client = postgres(url, {
    max: 1, max_lifetime: null, fetch_types: false, onnotice: () => {},
    connection: { application_name: `${applicationName} listen` },
    onclose: () => {
      for (const [channel, listeners] of channels) {
        for (const l of listeners) l.interrupted();
        start(channel);
      }
    },
    // postgres.js' own option for NOTIFY messages on this connection (its sql.listen uses it too).
    ...({ onnotify: (channel: string, payload: string) => channels.get(channel)?.forEach((l) => l.notified(payload)) } as object),
  });
  const start = (channel: string) => {
    if (ended) return;
    client.unsafe(`listen "${channel.replace(/"/g, '""')}"`).then(
      () => channels.get(channel)?.forEach((l) => l.listening()),
      () => setTimeout(() => start(channel), 1000).unref(),
    );
  };
  return {
    listen(channel: string, listener: ChangeListener) {
      const listeners = channels.get(channel);
      if (listeners) return void listeners.push(listener);
      channels.set(channel, [listener]);
      start(channel);
    },
    end: () => ((ended = true), client.end({ timeout: 5 })),
  };
}

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
async function upgraded(db: Database, migrate: () => Promise<void>): Promise<DatabaseHandle['migrations']> {
  const before = await appliedMigrations(db);
  await migrate();
  const total = await appliedMigrations(db);
  if (total > before) await refreshNameKeys(db);
  return { applied: total - before, total };
}

/**
 * With a URL, postgres.js against a real server; without one, embedded PGlite
 * stored in `dataDir` (or in memory when `dataDir` is undefined). Migrations run
 * before the handle is returned, so callers always see the current schema. A server
 * that cannot be reached, a database that does not exist, a refused login or a data
 * folder PGlite cannot open throw DatabaseUnavailable.
 */
export async function openDatabase(options: {
  url?: string;
  dataDir?: string;
  /** A dump of a migrated embedded database to start an in-memory one from (tests). */
  template?: Blob;
  /** The migrated embedded database a new data folder starts as a copy of; the built template by default. */
  startFrom?: string;
}): Promise<DatabaseHandle> {
  if (options.url) {
    const url = options.url;
    // Migrations on one connection of their own, under the advisory lock; ending it releases the lock.
    const migrator = postgres(url, { max: 1, onnotice: () => {} });
    let migrations: DatabaseHandle['migrations'];
    try {
      await migrator`select pg_advisory_lock(${migrationLockKey}::bigint)`;
      const db = drizzlePostgres(migrator, { schema });
      migrations = await upgraded(db as unknown as Database, () => migratePostgres(db, { migrationsFolder }));
    } catch (error) {
      throw postgresUnavailable(error, url) ?? error;
    } finally {
      await migrator.end({ timeout: 5 });
    }
    // Each process names its connections, so pg_stat_activity tells this pool's from another instance's.
    const applicationName = `csp-ops ${randomBytes(4).toString('hex')}`;
    const max = 10;
    // No limit to the queries queued on one connection: postgres.js skips reserving a connection for a
    // transaction whose BEGIN is the query that fills it (porsager/postgres#1189, #823), and the pool then
    // runs other queries inside that transaction. Under a backlog of clicks every connection filled up.
    const client = postgres(url, { max, ...({ max_pipeline: Number.MAX_SAFE_INTEGER } as object), onnotice: () => {}, connection: { application_name: applicationName } });
    const db = drizzlePostgres(client, { schema });
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
    const listen = postgresNotifications(url, applicationName);
    notifications.set(db, listen.listen);
    return { db: db as unknown as Database, kind: 'postgres', migrations, close: () => Promise.all([client.end({ timeout: 5 }), listen.end()]).then(() => undefined) };
  }
  // PGlite and its Drizzle driver are loaded only for an embedded database: on PostgreSQL they would be held for nothing (issue 18).
  const [{ PGlite }, { pg_trgm }, { drizzle: drizzlePglite }, { migrate: migratePglite }, { reusePreparedStatements }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
    import('./pglite-statements.js'),
  ]);
  let client: PGlite;
  let fromTemplate = false;
  try {
    // A template (a migrated database) spares initdb and the migrations: tests open hundreds from a dump, a new data folder copies the built one.
    if (options.dataDir && !options.template) fromTemplate = fillFromTemplate(options.dataDir, options.startFrom ?? builtTemplate);
    client = new PGlite({ dataDir: options.dataDir, loadDataDir: options.template, extensions: { pg_trgm }, startParams: [...PGlite.defaultStartParams, ...pgliteSettings] });
    await client.waitReady;
  } catch (error) {
    throw options.dataDir ? dataFolderUnavailable(options.dataDir, error) : error;
  }
  reusePreparedStatements(client);
  // PGlite runs one statement at a time: how many wait or run shows how loaded it is.
  let inFlight = 0;
  for (const method of ['query', 'exec', 'transaction'] as const) {
    const run = client[method].bind(client) as (...args: unknown[]) => Promise<unknown>;
    Object.assign(client, { [method]: (...args: unknown[]) => (inFlight++, run(...args).finally(() => inFlight--)) });
  }
  const db = drizzlePglite(client, { schema });
  pools.set(db, { driver: 'pglite', read: async () => ({ driver: 'pglite', inFlight }) });
  // One process: notifications arrive with the result of the statement that committed them, never missed.
  notifications.set(db, (channel, listener) => void client.listen(channel, listener.notified).then(listener.listening));
  try {
    const migrations = { ...(await upgraded(db as unknown as Database, () => migratePglite(db, { migrationsFolder }))), ...(fromTemplate ? { fromTemplate } : {}) };
    return { db: db as unknown as Database, kind: 'pglite', migrations, close: () => client.close() };
  } catch (error) {
    await client.close();
    throw error;
  }
}

/** The error itself or what it wraps (Drizzle wraps the driver's error as its cause). */
function rootCause(error: unknown): { code?: string; message?: string; address?: string; port?: number } {
  let e = error as { code?: unknown; cause?: unknown } | undefined;
  while (e && typeof e.code !== 'string' && e.cause) e = e.cause as typeof e;
  return (e ?? {}) as ReturnType<typeof rootCause>;
}

const unreachable = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'CONNECT_TIMEOUT']);

/** Where DATABASE_URL points, for messages: never its password. Fills in what postgres.js does when the URL leaves something out. */
export function postgresTarget(url: string): { server: string; database: string; user: string } {
  const parsed = new URL(url);
  const { PGUSER, PGDATABASE, PGHOST, PGPORT } = process.env;
  const user = decodeURIComponent(parsed.username) || PGUSER || userInfo().username;
  const database = decodeURIComponent(parsed.pathname.slice(1)) || PGDATABASE || user;
  return { server: `${parsed.hostname || PGHOST || 'localhost'}:${parsed.port || PGPORT || 5432}`, database, user };
}

/** The one line for a PostgreSQL server that cannot be used, saying which and what to do. */
export function postgresUnavailable(error: unknown, url: string): DatabaseUnavailable | undefined {
  const cause = rootCause(error);
  const { server, database, user } = postgresTarget(url);
  const reason = cause.message?.split('\n')[0];
  if (cause.code && unreachable.has(cause.code)) {
    const at = cause.address && cause.port ? `${cause.address}:${cause.port}` : server;
    return new DatabaseUnavailable(`Cannot reach PostgreSQL at ${at} (${cause.code}): start it or correct DATABASE_URL.`);
  }
  switch (cause.code) {
    case '3D000':
      return new DatabaseUnavailable(`Database "${database}" does not exist on ${server}: create it (createdb ${database}) or correct DATABASE_URL.`);
    case '28P01':
      return new DatabaseUnavailable(`PostgreSQL at ${server} refused the password of user "${user}": correct the password in DATABASE_URL.`);
    case '28000':
      return new DatabaseUnavailable(`PostgreSQL at ${server} refused user "${user}" (${reason}): correct the user in DATABASE_URL, or create the role and let it connect.`);
  }
  return undefined;
}

/** The one line for an embedded data folder PGlite cannot create or open. */
export function dataFolderUnavailable(dataDir: string, error: unknown): DatabaseUnavailable {
  const cause = rootCause(error);
  const reason = cause.message?.split('\n')[0] || cause.code || (error as Error)?.constructor?.name || String(error);
  return new DatabaseUnavailable(`Cannot open the embedded database in ${dataDir} (${reason}): set DATA_DIR to a folder csp-ops can create and write (a new one starts empty).`);
}
