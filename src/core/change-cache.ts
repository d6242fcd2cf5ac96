import { databaseNotifications, type Database } from '../../db/client.js';

/** Where the database announces changes: migration 0026's triggers notify it with the changed table's name. */
const changesChannel = 'csp_changes';

/**
 * Answers read from the database, kept in memory until one of the tables they were read from changes.
 * Every writer (this process, the CLI, another replica) makes the database announce the change, so an
 * answer is never kept past its notification: no time limit. While the listener is not in place (still
 * starting, or its connection lost and not yet back) nothing is kept and every read goes to the database,
 * and a read that began before a change is not kept after it. What is kept is shared: never change it.
 */
export interface ChangeCache<V> {
  read(key: string, load: () => Promise<V>): Promise<V>;
}

function changeCache<V>(db: Database, tables: readonly string[], maxEntries: number): ChangeCache<V> {
  const entries = new Map<string, V>();
  /** Reads under way, shared by those asking the same meanwhile; each knows the generation it began in. */
  const loading = new Map<string, { generation: number; value: Promise<V> }>();
  let generation = 0;
  let listening = false;
  let started = false;
  const forget = () => {
    generation++;
    entries.clear();
    loading.clear();
  };
  const start = () => {
    started = true;
    databaseNotifications(db)?.(changesChannel, {
      notified: (table) => tables.includes(table) && forget(),
      listening: () => ((listening = true), forget()),
      interrupted: () => ((listening = false), forget()),
    });
  };
  return {
    read(key, load) {
      if (!started) start();
      if (!listening) return load();
      const kept = entries.get(key);
      if (kept !== undefined) return Promise.resolve(kept);
      const under = loading.get(key);
      if (under?.generation === generation) return under.value;
      const began = generation;
      const value = load().then((v) => {
        if (loading.get(key)?.value === value) loading.delete(key);
        if (listening && began === generation) {
          // The oldest kept answer makes room: a Map iterates in insertion order.
          if (entries.size >= maxEntries) entries.delete(entries.keys().next().value!);
          entries.set(key, v);
        }
        return v;
      });
      loading.set(key, { generation: began, value });
      value.catch(() => loading.get(key)?.value === value && loading.delete(key));
      return value;
    },
  };
}

/** One cache per database handle (a transaction gets none: it reads its own state). */
export function changeCachePerDatabase<V>(tables: readonly string[], maxEntries = 10_000): (db: Database) => ChangeCache<V> | undefined {
  const caches = new WeakMap<Database, ChangeCache<V>>();
  return (db) => {
    let cache = caches.get(db);
    if (!cache && databaseNotifications(db)) caches.set(db, (cache = changeCache<V>(db, tables, maxEntries)));
    return cache;
  };
}
