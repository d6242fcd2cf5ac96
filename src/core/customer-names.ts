import type { Database } from '../../db/client.js';
import { changeCachePerDatabase } from './change-cache.js';
import { resolveCustomer } from './customers.js';
import { normalizeKey } from './text.js';

/** Which customer a text names, kept until the customers change (src/core/change-cache.ts). */
const named = changeCachePerDatabase<string>(['customers']);

/**
 * The ID of the one customer a user's text names (resolveCustomer's rules, and its errors), answered
 * from memory once known: a command that goes on to read the customer by ID saves its lookups.
 */
export function resolveCustomerId(db: Database, orgId: string, text: string): Promise<string> {
  const read = async () => (await resolveCustomer(db, orgId, text)).id;
  const cache = named(db);
  return cache ? cache.read(`${orgId}\u0000${normalizeKey(text)}`, read) : read();
}
