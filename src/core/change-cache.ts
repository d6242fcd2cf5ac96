import { databaseNotifications, type Database } from '../../db/client.js';

/** Where the database announces changes: migration 0028's triggers notify it with the changed table's name. */
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

/** One LISTEN per database handle, telling each cache on it what changed. */
interface ChangeFeed {
  listening: boolean;
  caches: Set<{ tables: readonly string[]; forget(): void }>;
  /** Settled once the listener is first in place. */
  ready: Promise<void>;
}
const feeds = new WeakMap<Database, ChangeFeed>();

function feedOf(db: Database): ChangeFeed | undefined {
  let feed = feeds.get(db);
  const listen = databaseNotifications(db);
  if (feed || !listen) return feed;
  let heard!: () => void;
  const started: ChangeFeed = { listening: false, caches: new Set(), ready: new Promise((done) => (heard = done)) };
  const forgetAll = () => started.caches.forEach((cache) => cache.forget());
  listen(changesChannel, {
    notified: (table) => started.caches.forEach((cache) => cache.tables.includes(table) && cache.forget()),
    listening: () => ((started.listening = true), forgetAll(), heard()),
    interrupted: () => ((started.listening = false), forgetAll()),
  });
  feeds.set(db, (feed = started));
  return feed;
}

/**
 * This process committed a change to `tables` (left out: to any table): the caches on `db` reading them forget
 * at once, so what it shows next is its own change, not an answer kept until the change's notification arrives.
 */
export function changedHere(db: Database, tables?: readonly string[]): void {
  feeds.get(db)?.caches.forEach((cache) => (!tables || cache.tables.some((table) => tables.includes(table))) && cache.forget());
}

/** Starts listening for the database's changes; resolves once caches on it may keep answers. */
export const listenForChanges = (db: Database): Promise<void> => feedOf(db)?.ready ?? Promise.resolve();

function changeCache<V>(feed: ChangeFeed, tables: readonly string[], maxEntries: number): ChangeCache<V> {
  const entries = new Map<string, V>();
  /** Reads under way, shared by those asking the same meanwhile; each knows the generation it began in. */
  const loading = new Map<string, { generation: number; value: Promise<V> }>();
  let generation = 0;
  feed.caches.add({
    tables,
    forget() {
      generation++;
      entries.clear();
      loading.clear();
    },
  });
  return {
    read(key, load) {
      if (!feed.listening) return load();
      const kept = entries.get(key);
      if (kept !== undefined) return Promise.resolve(kept);
      const under = loading.get(key);
      if (under?.generation === generation) return under.value;
      const began = generation;
      const value = load().then((v) => {
        if (loading.get(key)?.value === value) loading.delete(key);
        if (feed.listening && began === generation) {
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
    const feed = cache ? undefined : feedOf(db);
    if (feed) caches.set(db, (cache = changeCache<V>(feed, tables, maxEntries)));
    return cache;
  };
}
