import { and, asc, count, desc, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Queryable, Transaction } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { inTransaction } from '../../db/transaction.js';
import { customers } from '../../db/schema.js';
import { DomainError } from './errors.js';
import { likeEscape, normalizeKey } from './text.js';

export type Customer = typeof customers.$inferSelect;

/** Longest customer text we try to match; longer input is refused before any query. */
export const maxCustomerTextLength = 200;
const maxCandidates = 10;

const customerByTenantOrDomain = preparedOnce((db) =>
  db
    .select()
    .from(customers)
    .where(and(eq(customers.orgId, sql.placeholder('orgId')), or(eq(customers.tenantId, sql.placeholder('key')), eq(customers.domain, sql.placeholder('key')))))
    .prepare('customer_by_tenant_or_domain'),
);

const customersByNameKey = preparedOnce((db) =>
  db
    .select()
    .from(customers)
    .where(and(eq(customers.orgId, sql.placeholder('orgId')), eq(customers.nameKey, sql.placeholder('key'))))
    .orderBy(asc(customers.nameKey))
    .limit(maxCandidates + 1)
    .prepare('customers_by_name_key'),
);

/**
 * The customers matching `where` (text inside names, domains or tenant IDs) in name order, as a subquery
 * to take a page of. Sorted inside the subquery, it stays a query of its own: PostgreSQL finds the matches
 * through the trigram indexes and sorts them, rather than walking all names in order (customers_org_name_key)
 * until a page matches, a walk that reads most of a large organization when the matches sort late.
 */
function matchingByName(db: Queryable, where: SQL | undefined) {
  return db.select().from(customers).where(where).orderBy(asc(customers.nameKey)).as('matching');
}

/**
 * Runs reads whose best plan depends on the text typed (how many names contain it, whether it makes a
 * trigram at all) with plans made for that text. A prepared statement's generic plan cannot tell: PGlite
 * prepares every statement (db/pglite-statements.ts), and its generic plan for two characters would read
 * a whole trigram index. In a transaction, so the setting holds for these reads only.
 */
function plannedForText<T>(db: Queryable, read: (tx: Transaction) => Promise<T>): Promise<T> {
  return inTransaction(db, async (tx) => {
    await tx.execute(sql`select set_config('plan_cache_mode', 'force_custom_plan', true)`);
    return read(tx);
  });
}

/** Customers whose name contains the key, in name order, one more than the candidates listed. */
function namesContaining(db: Queryable, orgId: string, key: string) {
  // Two characters (한빛, 宏達, LG) make no trigram to look up: their pair is, in customers_name_key_bigrams.
  const pair = Array.from(key).length === 2 ? sql`bigrams(${customers.nameKey}) @> array[${key}]::text[]` : undefined;
  const containing = matchingByName(db, and(eq(customers.orgId, orgId), ilike(customers.nameKey, `%${likeEscape(key)}%`), pair));
  return db.select().from(containing).orderBy(asc(containing.nameKey)).limit(maxCandidates + 1);
}

/**
 * Finds the one customer a user meant: exact tenant ID or domain first, then the
 * exact name, then names containing the text. Several → DomainError with the
 * candidates; none → DomainError naming the closest names (unless `closest` is false:
 * a caller trying several texts discards them).
 */
export async function resolveCustomer(db: Database, orgId: string, text: string, { closest = true } = {}): Promise<Customer> {
  const key = normalizeKey(text);
  if (!key) throw new DomainError('error.noMatch', { text });
  if (key.length > maxCustomerTextLength) {
    throw new DomainError('error.tooLong', { length: key.length, max: maxCustomerTextLength }, { terms: { what: 'what.customer' } });
  }
  const [byId] = await customerByTenantOrDomain(db).execute({ orgId, key });
  if (byId) return byId;

  const byName = await customersByNameKey(db).execute({ orgId, key });
  const found: Customer[] = byName.length ? byName : await plannedForText(db, (tx) => namesContaining(tx, orgId, key));
  if (found.length === 1) return found[0]!;
  if (found.length > 1) {
    const more = found.length > maxCandidates;
    throw new DomainError('error.ambiguous', { count: more ? maxCandidates : found.length, more: more ? 'yes' : 'no', text }, { candidates: found.slice(0, maxCandidates) });
  }

  const names = closest ? await closestNames(db, orgId, key) : [];
  if (names.length === 0) throw new DomainError('error.noMatch', { text });
  throw new DomainError('error.noMatchClosest', { text, names: names.join(', ') });
}

/** The least similarity (pg_trgm's, of name keys) a name needs to be offered as close. */
const leastSimilarity = 0.1;
/**
 * Similarities the closest names are looked for at, in turn: at each, the trigram index finds only
 * the names at least that similar (the `%` operator), few when it is high. Three found are the three
 * the lowest would give, since every name left out is less similar than each of them.
 */
const closestThresholds = [0.3, leastSimilarity];
const closestShown = 3;

/** The names most like the key, most similar first (then by name), at most three: the ones similarity() ranks highest. */
async function closestNames(db: Database, orgId: string, key: string): Promise<string[]> {
  return plannedForText(db, async (tx) => {
    let names: string[] = [];
    for (const threshold of closestThresholds) {
      // What `%` means, for this transaction only.
      await tx.execute(sql`select set_config('pg_trgm.similarity_threshold', ${String(threshold)}, true)`);
      const similarity = sql<number>`similarity(${customers.nameKey}, ${key})`;
      const rows = await tx
        .select({ name: customers.name })
        .from(customers)
        // The lowest threshold lets through names exactly that similar too: only more similar ones are offered.
        .where(and(eq(customers.orgId, orgId), sql`${customers.nameKey} % ${key}`, threshold === leastSimilarity ? sql`${similarity} > ${sql.raw(String(leastSimilarity))}` : undefined))
        .orderBy(desc(similarity), asc(customers.nameKey))
        .limit(closestShown);
      names = rows.map((row) => row.name);
      if (names.length === closestShown) break;
    }
    return names;
  });
}

export const customersPageSize = 10;

/** Customers whose name, domain or tenant ID contains the text (all when empty), by name, one page. */
export async function searchCustomers(db: Queryable, orgId: string, text: string, page: number, pageSize = customersPageSize) {
  const key = normalizeKey(text);
  if (key.length > maxCustomerTextLength) {
    throw new DomainError('error.tooLong', { length: key.length, max: maxCustomerTextLength }, { terms: { what: 'what.search' } });
  }
  const pattern = `%${likeEscape(key)}%`;
  const where = and(
    eq(customers.orgId, orgId),
    key ? or(ilike(customers.nameKey, pattern), ilike(customers.domain, pattern), ilike(customers.tenantId, pattern)) : undefined,
  );
  const offset = (page - 1) * pageSize;
  const read = async (q: Queryable) => {
    const [{ total } = { total: 0 }] = await q.select({ total: count() }).from(customers).where(where);
    // All of them: walked in name order. Those containing the text: found, then sorted (see matchingByName).
    const found = key ? matchingByName(q, where) : undefined;
    const rows = found
      ? await q.select().from(found).orderBy(asc(found.nameKey)).limit(pageSize).offset(offset)
      : await q.select().from(customers).where(where).orderBy(asc(customers.nameKey)).limit(pageSize).offset(offset);
    return { rows, total, pages: Math.max(1, Math.ceil(total / pageSize)) };
  };
  return key ? plannedForText(db, read) : read(db);
}

export async function customerById(db: Queryable, orgId: string, id: string): Promise<Customer> {
  const [customer] = isUuid(id) ? await db.select().from(customers).where(and(eq(customers.orgId, orgId), eq(customers.id, id))) : [];
  if (!customer) throw new DomainError('error.noMatch', { text: id });
  return customer;
}

/** Whether text names this customer (tenant ID, domain, or part of its name): a contact may name only their own. */
export function customerMatches(customer: Customer, text: string): boolean {
  const key = normalizeKey(text);
  return Boolean(key) && (key === customer.tenantId || key === customer.domain || customer.nameKey.includes(key));
}

export function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

/**
 * `for <customer> <more words>`: the words after the longest start of `text` that names this customer
 * (customerMatches), or undefined when no start does. Names have spaces, so the name ends where the longest match does.
 */
export function wordsAfterCustomer(customer: Customer, text: string): string | undefined {
  const words = text.trim().split(/\s+/).filter(Boolean);
  for (let n = words.length; n > 0; n--) if (customerMatches(customer, words.slice(0, n).join(' '))) return words.slice(n).join(' ');
  return undefined;
}

/** Longest start tried by customerNamedAtStart: customer names are a few words. */
const maxNameWords = 6;

/** The one customer the longest start of `text` names (resolveCustomer's rules), and that start; undefined when no start names one. */
export async function customerNamedAtStart(db: Database, orgId: string, text: string): Promise<{ customer: Customer; named: string } | undefined> {
  const words = text.trim().split(/\s+/).filter(Boolean).slice(0, maxNameWords);
  for (let n = words.length; n > 0; n--) {
    const named = words.slice(0, n).join(' ');
    try {
      return { customer: await resolveCustomer(db, orgId, named, { closest: false }), named };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }
  return undefined;
}
