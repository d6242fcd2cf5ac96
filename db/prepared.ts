import type { Database } from './client.js';

/**
 * Drizzle builds a query's SQL on every call, which costs more CPU than the
 * query itself on the hot read paths. A query made with this is built and
 * prepared once per database handle, then executed with placeholders.
 */
export function preparedOnce<T>(build: (db: Database) => T): (db: Database) => T {
  const byDatabase = new WeakMap<Database, T>();
  return (db) => {
    let query = byDatabase.get(db);
    if (!query) {
      query = build(db);
      byDatabase.set(db, query);
    }
    return query;
  };
}
