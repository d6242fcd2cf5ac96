import type { SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database } from './client.js';
import { isTransaction } from './transaction.js';

/** A drizzle database or transaction's session: its driver's class, and the client a query runs on. */
const sessionOf = (db: Database) => (db as unknown as { session?: { client?: unknown } }).session;

/**
 * Drizzle builds a query's SQL on every call, which costs more CPU than the
 * query itself on the hot read paths (a relational query: about half a
 * millisecond). A query made with this is built and prepared once per database
 * handle, then executed with placeholders.
 *
 * In a transaction too: drizzle binds a prepared query to the client it was
 * made on (drizzle-orm#2826), so the one already built is copied onto the
 * transaction's client. Should a drizzle version hold them otherwise, the query
 * is built for the transaction as before.
 */
export function preparedOnce<T extends object>(build: (db: Database) => T): (db: Database) => T {
  const byDatabase = new WeakMap<Database, T>();
  const byTransaction = new WeakMap<Database, T>();
  /** One query built per driver (postgres.js, PGlite), by its session's class. */
  const builtFor = new Map<unknown, T>();
  return (db) => {
    let query = byDatabase.get(db) ?? byTransaction.get(db);
    if (query) return query;
    const session = sessionOf(db);
    if (isTransaction(db)) {
      const built = builtFor.get(session?.constructor);
      query = built && session?.client && 'client' in built ? Object.assign(Object.create(Object.getPrototypeOf(built)) as T, built, { client: session.client }) : build(db);
      // A query used only in transactions (a click's claim) is built by the first one, then copied.
      if (!built) builtFor.set(session?.constructor, query);
      byTransaction.set(db, query);
      return query;
    }
    query = build(db);
    if (!builtFor.has(session?.constructor)) builtFor.set(session?.constructor, query);
    byDatabase.set(db, query);
    return query;
  };
}

/** Hand-written SQL with named placeholders (`sql.placeholder`), built once and prepared under `name` like preparedOnce's queries. */
export const preparedSql = (name: string, query: SQL) => preparedOnce((db) => db._.session.prepareQuery(new PgDialect().sqlToQuery(query), undefined, name, false));
