import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Queryable, Transaction } from './client.js';

/**
 * Runs `work` in a transaction: the caller's when it is in one already (a confirmation's click), else a
 * new one. A nested one would be a savepoint, two more round trips, isolating nothing here: a failure
 * fails the caller's transaction as well.
 */
export function inTransaction<T>(db: Queryable, work: (tx: Transaction) => Promise<T>): Promise<T> {
  return isTransaction(db) ? work(db as Transaction) : db.transaction(work);
}

export const isTransaction = (db: Queryable): boolean => (db as object) instanceof PgTransaction;
