import { and, desc, eq, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { customers, organizations, partnerCenterAuditCursors, partnerCenterUnreadableRecords, staff } from '../../db/schema.js';
import { orgColumns } from '../core/access.js';
import type { Organization } from '../core/context.js';
import { DomainError } from '../core/errors.js';
import { describeIssues } from '../core/import.js';
import { purchaseInputSchema, recordPurchase } from '../core/purchases.js';
import type { Logger } from '../log.js';
import { allItems, type PartnerCenterClient } from './client.js';

const dayMs = 24 * 60 * 60 * 1000;
/** Partner Center answers 400 to a start date more than 90 days back: the first whole UTC day within them is read first. */
export const auditRetentionMs = 89 * dayMs;
/**
 * How long after its day ends a record may still appear in it: Partner Center adds some records late, so
 * the day before is read again until the cursor is this far into the next one.
 */
export const lateRecordMs = 2 * 60 * 60 * 1000;

/** An audit record as `GET /v1/auditrecords` answers it (the fields read here). */
export interface AuditRecord {
  id?: string;
  partnerId?: string;
  customerId?: string;
  customerName?: string;
  userPrincipalName?: string;
  applicationId?: string;
  resourceType?: string;
  resourceNewValue?: string;
  operationType?: string;
  operationDate?: string;
  operationStatus?: string;
}

interface OrderLineItem {
  offerId?: string;
  productId?: string;
  skuId?: string;
  friendlyName?: string;
  quantity?: number;
  termDuration?: string;
  provisioningContext?: Record<string, string | undefined>;
}

interface Order {
  id?: string;
  billingCycle?: string;
  currencyCode?: string;
  totalPrice?: number;
  lineItems?: OrderLineItem[];
}

export interface AuditPollResult {
  /** One-day windows queried. */
  windows: number;
  /** Audit records read. */
  records: number;
  recorded: number;
  repeats: number;
  /** Customer create_order records that could not become purchases (unknown customer, unreadable order). */
  skipped: number;
  /** Of those, orders that could not be read: logged with why and kept (partner_center_unreadable_records). */
  unreadable: number;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

const domainOf = (address: string | undefined) => (address && address.includes('@') ? address.slice(address.lastIndexOf('@') + 1).toLowerCase() : undefined);

/**
 * R-P8: Partner Center sends no event when a customer buys, so its audit records are read:
 * one UTC day per query (the documented yyyy-mm-dd startDate and endDate, the same day), from
 * the day where the last poll stopped (at most 90 days back) up to today. Each `create_order`
 * record made by a customer's own user becomes a purchase keyed by the audit record ID, which
 * recordPurchase records and announces once however often it is read: the day of the cursor is
 * read again, which also catches records Partner Center adds late, and so is the day before while the
 * cursor is within lateRecordMs of midnight. The cursor moves after each day is handled: an
 * interrupted poll resumes from the day it was in.
 */
export async function pollAuditRecords(db: Database, client: PartnerCenterClient, org: Organization, now = new Date(), log: Logger = silent): Promise<AuditPollResult> {
  checkConnected(org, client.tenantId);
  const result: AuditPollResult = { windows: 0, records: 0, recorded: 0, repeats: 0, skipped: 0, unreadable: 0 };
  const earliest = new Date(Math.ceil((now.getTime() - auditRetentionMs - dayMs) / dayMs) * dayMs);
  const [cursor] = await db.select().from(partnerCenterAuditCursors).where(eq(partnerCenterAuditCursors.orgId, org.id));
  const from = cursor ? new Date(cursor.polledUntil.getTime() - lateRecordMs) : earliest;
  let day = new Date(Math.floor((from > earliest ? from : earliest).getTime() / dayMs) * dayMs);
  // The partner's own people: records made by them (or by an app, with no user) are not customer purchases.
  const partnerDomains = new Set(
    (await db.select({ email: staff.email }).from(staff).where(eq(staff.orgId, org.id))).map((s) => domainOf(s.email)).filter(Boolean),
  );
  while (day < now) {
    const nextDay = new Date(day.getTime() + dayMs);
    result.windows++;
    for await (const listed of auditRecords(client, day)) {
      result.records++;
      const record = named(listed);
      if (!isCustomerOrder(record, partnerDomains)) continue;
      const outcome = await recordFromAudit(db, org, record, log);
      if (outcome === 'unreadable') result.skipped++;
      result[outcome]++;
    }
    const polledUntil = nextDay < now ? nextDay : now;
    await db
      .insert(partnerCenterAuditCursors)
      .values({ orgId: org.id, polledUntil })
      .onConflictDoUpdate({ target: partnerCenterAuditCursors.orgId, set: { polledUntil } });
    day = nextDay;
  }
  return result;
}

/** One UTC day's records in the documented date form, following the documented paging (links.next with its MS-ContinuationToken header). */
const auditRecords = (client: PartnerCenterClient, day: Date) => {
  const date = day.toISOString().slice(0, 10);
  return allItems<AuditRecord>(client, `/v1/auditrecords?startDate=${date}&endDate=${date}`);
};

/**
 * The documented example carries no record `id`: the order's own `Id` names it then, or else its
 * date and customer, so such a record is still recorded once or counted as unreadable, never passed over.
 */
function named(record: AuditRecord): AuditRecord {
  if (record.id) return record;
  let orderId: unknown;
  try {
    orderId = Object.entries(JSON.parse(record.resourceNewValue ?? '') as Record<string, unknown>).find(([key]) => key.toLowerCase() === 'id')?.[1];
  } catch {
    // An unreadable order is reported as such by recordFromAudit.
  }
  return { ...record, id: typeof orderId === 'string' && orderId ? orderId : `${record.operationDate ?? ''}/${record.customerId ?? ''}` };
}

/**
 * A succeeded create_order made by a customer user: it names a customer and a user whose
 * sign-in domain is none of the partner staff's. An order placed by the partner's people (in
 * Partner Center or through csp-ops) or by an application without a user is the partner's own.
 */
function isCustomerOrder(record: AuditRecord, partnerDomains: Set<string | undefined>): boolean {
  if (record.operationType?.toLowerCase() !== 'create_order') return false;
  if (record.operationStatus && record.operationStatus.toLowerCase() !== 'succeeded') return false;
  const domain = domainOf(record.userPrincipalName);
  return Boolean(record.id && record.customerId && domain && !partnerDomains.has(domain));
}

async function recordFromAudit(db: Database, org: Organization, record: AuditRecord, log: Logger): Promise<'recorded' | 'repeats' | 'skipped' | 'unreadable'> {
  const [customer] = await db
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.orgId, org.id), eq(customers.tenantId, record.customerId!.toLowerCase())));
  if (!customer) {
    log.warn(`Partner Center audit record ${record.id}: customer ${record.customerName ?? ''} (${record.customerId}) is not one of ${org.name}'s customers; skipped`);
    return 'skipped';
  }
  let order: Order;
  try {
    order = readOrder(JSON.parse(record.resourceNewValue ?? ''));
  } catch {
    return unreadable(db, org, record, 'the order (resourceNewValue) is not JSON', log);
  }
  const parsed = purchaseInputSchema.safeParse(purchaseFromOrder(record, order));
  if (!parsed.success) return unreadable(db, org, record, `the order cannot be read as a purchase: ${describeIssues(parsed.error).join('; ')}`, log);
  try {
    const { state } = await recordPurchase(db, org, parsed.data);
    return state === 'recorded' ? 'recorded' : 'repeats';
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    log.warn(`Partner Center audit record ${record.id}: not recorded (${error.code}); skipped`);
    return 'skipped';
  }
}

/** An order that could not be read is never passed over silently: logged with why, and kept once for `connector status`. */
async function unreadable(db: Database, org: Organization, record: AuditRecord, reason: string, log: Logger): Promise<'unreadable'> {
  log.warn(`Partner Center audit record ${record.id} (${record.operationDate ?? 'no date'}, customer ${record.customerId}): ${reason}; not recorded as a purchase`);
  await db
    .insert(partnerCenterUnreadableRecords)
    .values({ orgId: org.id, recordId: record.id!, reason, operationDate: record.operationDate ?? null })
    .onConflictDoNothing();
  return 'unreadable';
}

/** Orders unreadable so far, and the latest one, for `connector status`. */
export async function unreadableRecords(db: Queryable, orgId: string): Promise<{ count: number; latest?: { recordId: string; reason: string; loggedAt: Date } }> {
  const rows = await db
    .select({ recordId: partnerCenterUnreadableRecords.recordId, reason: partnerCenterUnreadableRecords.reason, loggedAt: partnerCenterUnreadableRecords.loggedAt })
    .from(partnerCenterUnreadableRecords)
    .where(eq(partnerCenterUnreadableRecords.orgId, orgId))
    .orderBy(desc(partnerCenterUnreadableRecords.loggedAt));
  return { count: rows.length, ...(rows[0] ? { latest: rows[0] } : {}) };
}

/** The order fields read here, by their names as documented (Id, LineItems, OfferId, TotalPrice…): keys in any case. */
const orderKeys = ['id', 'billingCycle', 'currencyCode', 'totalPrice', 'lineItems', 'offerId', 'productId', 'skuId', 'friendlyName', 'quantity', 'termDuration', 'provisioningContext', 'scope', 'duration', 'region', 'location', 'subscriptionId'];
const canonicalKey = new Map(orderKeys.map((k) => [k.toLowerCase(), k]));

/** Partner Center writes the order with capitalised keys (`{"Id":…,"LineItems":[{"OfferId":…}]}`): each key is read case-insensitively. */
function readOrder(value: unknown): Order {
  const fold = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(fold)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, inner]) => [canonicalKey.get(k.toLowerCase()) ?? k, fold(inner)]))
        : v;
  const order = fold(value);
  if (!order || typeof order !== 'object' || Array.isArray(order)) throw new Error('not an object');
  return order as Order;
}

const reservationTerm = (item: OrderLineItem) => {
  const value = `${item.provisioningContext?.duration ?? item.termDuration ?? ''}`.toLowerCase();
  return value.startsWith('3') || value === 'p3y' ? 'P3Y' : 'P1Y';
};

/**
 * The purchase intake's body for an audit record's order: the first line item is the purchase;
 * a line item provisioned with a reservation scope or duration is an Azure reservation, any
 * other one a SaaS (marketplace) plan. The ID is the audit record's.
 */
export function purchaseFromOrder(record: AuditRecord, order: Order): unknown {
  const item = order.lineItems?.[0] ?? {};
  const context = item.provisioningContext ?? {};
  const price = typeof order.totalPrice === 'number' ? order.totalPrice : 0;
  const base = {
    id: record.id,
    customer: record.customerId,
    buyer: { name: record.userPrincipalName, email: record.userPrincipalName },
    purchasedAt: record.operationDate,
  };
  if (context.scope || context.duration) {
    const single = context.scope?.toLowerCase() === 'single';
    return {
      ...base,
      kind: 'reservation',
      reservation: {
        product: item.friendlyName ?? item.productId,
        region: context.region ?? context.location ?? 'global',
        quantity: item.quantity,
        term: reservationTerm(item),
        billingPlan: order.billingCycle?.toLowerCase() === 'monthly' ? 'monthly' : 'upfront',
        scope: single ? 'single' : 'shared',
        ...(single ? { subscriptionId: context.subscriptionId } : {}),
        price,
        currency: order.currencyCode,
      },
    };
  }
  const term = item.termDuration?.toUpperCase();
  return {
    ...base,
    kind: 'saas',
    saas: {
      offerId: item.productId ?? item.offerId,
      planId: item.skuId ?? item.offerId,
      seats: item.quantity,
      ...(term === 'P1M' ? { term: 'monthly' } : term === 'P1Y' ? { term: 'annual' } : {}),
      price,
      currency: order.currencyCode,
    },
  };
}

/**
 * The partner organizations the connector acts for (R-A5): those naming its tenant as their CSP
 * tenant (case-insensitive). An organization naming no tenant, or another, is never acted for.
 */
export async function connectedOrganizations(db: Queryable, tenantId: string): Promise<Organization[]> {
  return db
    .select(orgColumns)
    .from(organizations)
    .where(and(eq(organizations.kind, 'partner'), eq(sql`lower(${organizations.cspTenantId})`, tenantId.toLowerCase())));
}

/** Logs each partner organization the connector does not act for, and why, when a sync or poll passes it by. */
export async function warnUnconnected(db: Queryable, tenantId: string, job: string, log: Logger): Promise<void> {
  const others = await db
    .select({ name: organizations.name, cspTenantId: organizations.cspTenantId })
    .from(organizations)
    .where(and(eq(organizations.kind, 'partner'), or(isNull(organizations.cspTenantId), ne(sql`lower(${organizations.cspTenantId})`, tenantId.toLowerCase()))));
  for (const org of others) {
    log.warn(`${job}: ${org.name} names ${org.cspTenantId ? `CSP tenant ${org.cspTenantId}` : 'no CSP tenant'}, not PARTNER_CENTER_TENANT_ID ${tenantId}; skipped (set its "cspTenantId" in the import file)`);
  }
}

/** R-A5: refuses an organization that does not name the connector's tenant as its CSP tenant. */
export function checkConnected(org: Organization, tenantId: string) {
  if (!org.cspTenantId) throw new DomainError('partnerCenter.noTenant', { org: org.name, tenant: tenantId });
  if (org.cspTenantId.toLowerCase() !== tenantId.toLowerCase()) {
    throw new DomainError('partnerCenter.notConnected', { org: org.name, tenant: org.cspTenantId });
  }
}

/** Every organization the connector acts for, polled in turn. */
export async function pollAllOrganizations(db: Database, client: PartnerCenterClient, now = new Date(), log: Logger = silent): Promise<AuditPollResult> {
  const total: AuditPollResult = { windows: 0, records: 0, recorded: 0, repeats: 0, skipped: 0, unreadable: 0 };
  await warnUnconnected(db, client.tenantId, 'Partner Center audit records', log);
  for (const org of await connectedOrganizations(db, client.tenantId)) {
    const one = await pollAuditRecords(db, client, org, now, log);
    for (const key of Object.keys(total) as (keyof AuditPollResult)[]) total[key] += one[key];
  }
  return total;
}
