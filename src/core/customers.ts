import { and, asc, count, desc, eq, ilike, or, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
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

/**
 * Finds the one customer a user meant: exact tenant ID or domain first, then the
 * exact name, then names containing the text. Several → DomainError with the
 * candidates; none → DomainError naming the closest names.
 */
export async function resolveCustomer(db: Database, orgId: string, text: string): Promise<Customer> {
  const key = normalizeKey(text);
  if (!key) throw new DomainError('error.noMatch', { text });
  if (key.length > maxCustomerTextLength) {
    throw new DomainError('error.tooLong', { length: key.length, max: maxCustomerTextLength }, { terms: { what: 'what.customer' } });
  }
  const [byId] = await customerByTenantOrDomain(db).execute({ orgId, key });
  if (byId) return byId;

  for (const condition of [eq(customers.nameKey, key), ilike(customers.nameKey, `%${likeEscape(key)}%`)]) {
    const found = await db
      .select()
      .from(customers)
      .where(and(eq(customers.orgId, orgId), condition))
      .orderBy(asc(customers.nameKey))
      .limit(maxCandidates + 1);
    if (found.length === 1) return found[0]!;
    if (found.length > 1) {
      const more = found.length > maxCandidates;
      throw new DomainError('error.ambiguous', { count: more ? maxCandidates : found.length, more: more ? 'yes' : 'no', text }, { candidates: found.slice(0, maxCandidates) });
    }
  }

  const closest = await db
    .select({ name: customers.name })
    .from(customers)
    .where(and(eq(customers.orgId, orgId), sql`similarity(${customers.nameKey}, ${key}) > 0.1`))
    .orderBy(desc(sql`similarity(${customers.nameKey}, ${key})`), asc(customers.nameKey))
    .limit(3);
  if (closest.length === 0) throw new DomainError('error.noMatch', { text });
  throw new DomainError('error.noMatchClosest', { text, names: closest.map((c) => c.name).join(', ') });
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
  const [{ total } = { total: 0 }] = await db.select({ total: count() }).from(customers).where(where);
  const rows = await db
    .select()
    .from(customers)
    .where(where)
    .orderBy(asc(customers.nameKey))
    .limit(pageSize)
    .offset((page - 1) * pageSize);
  return { rows, total, pages: Math.max(1, Math.ceil(total / pageSize)) };
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
      return { customer: await resolveCustomer(db, orgId, named), named };
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
    }
  }
  return undefined;
}
