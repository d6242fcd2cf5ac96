import { and, asc, eq, gt, gte, isNotNull, isNull, lt, ne, or } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { activityLog, customerPurchasePermissions, customers, partnerCenterOrders, partnerCenterSyncs } from '../../db/schema.js';
import { notify } from '../core/announcements.js';
import type { Organization } from '../core/context.js';
import { DomainError } from '../core/errors.js';
import { hasPendingIntent, policyTarget } from '../core/intents.js';
import { permissionToggles, type PermissionResource } from '../core/permissions.js';
import { normalizeKey } from '../core/text.js';
import type { Logger } from '../log.js';
import { allItems, PartnerCenterError, PartnerCenterStopped, readPage, type NextPage, type PartnerCenterClient } from './client.js';
import { checkConnected, connectedOrganizations, warnUnconnected } from './audit.js';
import { customerPolicy, grantedResources, resourceNames } from './connector.js';
import { syncReservations, type RemoteOrderLine } from './entitlements.js';
import { repairIntents } from './repair.js';
import { storeRemoteSubscription, type RemoteSubscription } from './subscriptions.js';

/** A customer as GET /v1/customers and GET /v1/customers/{id} answer (the fields read here). */
interface RemoteCustomer {
  id?: string;
  companyProfile?: { tenantId?: string; domain?: string; companyName?: string };
  billingProfile?: { companyName?: string; defaultAddress?: { country?: string } };
}

interface RemoteOrder extends RemoteOrderLine {
  id?: string;
  creationDate?: string;
  status?: string;
  lineItems?: (NonNullable<RemoteOrderLine['lineItems']>[number] & { subscriptionId?: string })[];
}

export interface SyncCounts {
  customers: number;
  subscriptions: number;
  orders: number;
  /** Azure reservations read from the customers' entitlements. */
  reservations: number;
  policies: number;
  /** Subscriptions and permissions found changed outside csp-ops. */
  changed: number;
  /** Customers that could not be kept (no tenant ID, domain or billing country, or a domain another customer has here). */
  skipped: number;
}

/** How long a sync holds its organization without saving progress before another process may take over. */
const leaseMs = 5 * 60_000;

/** Another process is syncing the organization now. */
export class SyncBusy extends DomainError {
  constructor(org: Organization) {
    super('partnerCenter.syncBusy', { org: org.name });
  }
}

const firstCustomersPage: NextPage = { path: '/v1/customers?size=100', headers: {} };
const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Brings one organization's customers (billing country from get-by-id), their subscriptions,
 * orders, Azure reservations (from their entitlements) and self-serve policies from Partner
 * Center into the database. Progress is kept after every page of customers and every customer
 * done, so a sync cut off halfway resumes there.
 * Nothing is deleted: a customer or subscription Partner Center did not list stays as it was.
 * The only removal is a permission Partner Center was just asked about and answered is off.
 */
export async function syncOrganization(db: Database, client: PartnerCenterClient, org: Organization, log: Logger = silent): Promise<SyncCounts> {
  checkConnected(org, client.tenantId);
  const counts: SyncCounts = { customers: 0, subscriptions: 0, orders: 0, reservations: 0, policies: 0, changed: 0, skipped: 0 };
  await db.insert(partnerCenterSyncs).values({ orgId: org.id }).onConflictDoNothing();
  // One process syncs an organization at a time: it holds a lease, extended with every step saved.
  // A process that died mid-way loses it after leaseMs, and the next sync resumes where it stopped.
  const lease = () => new Date(Date.now() + leaseMs);
  let [state] = await db
    .update(partnerCenterSyncs)
    .set({ leaseUntil: lease() })
    .where(and(eq(partnerCenterSyncs.orgId, org.id), or(isNull(partnerCenterSyncs.leaseUntil), lt(partnerCenterSyncs.leaseUntil, new Date()))))
    .returning();
  if (!state) throw new SyncBusy(org);
  // Changes a crash left between Partner Center's answer and csp-ops' commit are settled first, so they are not taken for changes made outside csp-ops.
  await repairIntents(db, client, org, log);
  const save = async (set: Partial<typeof partnerCenterSyncs.$inferInsert>) => {
    [state] = await db.update(partnerCenterSyncs).set({ ...set, leaseUntil: set.leaseUntil === null ? null : lease() }).where(eq(partnerCenterSyncs.orgId, org.id)).returning();
  };
  if (!state!.runStartedAt) await save({ runStartedAt: new Date(), customersNext: firstCustomersPage, customersListed: false, doneThrough: null });
  const runStartedAt = state!.runStartedAt!;
  try {
    while (!state!.customersListed) {
      let page;
      try {
        page = await readPage<RemoteCustomer>(client, state!.customersNext ?? firstCustomersPage);
      } catch (error) {
        // A continuation token kept from an interrupted sync may have expired: list again from the start.
        if (!(error instanceof PartnerCenterError && error.status === 400 && state!.customersNext?.path !== firstCustomersPage.path)) throw error;
        await save({ customersNext: firstCustomersPage });
        continue;
      }
      for (const listed of page.items) counts[(await storeCustomer(db, client, org, listed, log)) ? 'customers' : 'skipped']++;
      await save({ customersNext: page.next ?? null, customersListed: !page.next });
    }
    for (;;) {
      const batch = await db
        .select({ id: customers.id, name: customers.name, tenantId: customers.tenantId })
        .from(customers)
        .where(and(eq(customers.orgId, org.id), gte(customers.partnerCenterSeenAt, runStartedAt), state!.doneThrough ? gt(customers.tenantId, state!.doneThrough) : undefined))
        .orderBy(asc(customers.tenantId))
        .limit(50);
      if (!batch.length) break;
      for (const customer of batch) {
        await syncCustomer(db, client, org, customer, counts, log);
        await save({ doneThrough: customer.tenantId });
      }
    }
    await save({ runStartedAt: null, customersNext: null, customersListed: false, doneThrough: null, lastFinishedAt: new Date(), lastCounts: { ...counts }, lastError: null, lastErrorAt: null, leaseUntil: null });
    return counts;
  } catch (error) {
    // Stopped by a shutdown: the lease goes, the progress stays, and the next sync resumes from it.
    if (error instanceof PartnerCenterStopped) {
      await save({ leaseUntil: null });
      throw error;
    }
    const reason = error instanceof PartnerCenterError ? `HTTP ${error.status}, code ${error.code}: ${error.description} (MS-CorrelationId ${error.correlationId})` : String((error as Error).message ?? error);
    await save({ lastError: reason, lastErrorAt: new Date(), leaseUntil: null });
    throw error;
  }
}

/** A listed customer, completed by get-by-id (the list carries no billing profile); false when it cannot be kept. */
async function storeCustomer(db: Database, client: PartnerCenterClient, org: Organization, listed: RemoteCustomer, log: Logger): Promise<boolean> {
  const tenantId = (listed.companyProfile?.tenantId ?? listed.id)?.toLowerCase();
  if (!tenantId) return false;
  const { body } = await client.request('GET', `/v1/customers/${encodeURIComponent(tenantId)}`);
  const full = (body ?? {}) as RemoteCustomer;
  const domain = (full.companyProfile?.domain ?? listed.companyProfile?.domain)?.toLowerCase();
  const name = full.companyProfile?.companyName ?? full.billingProfile?.companyName ?? listed.companyProfile?.companyName ?? domain;
  if (!domain || !name) return false;
  const [clash] = await db
    .select({ name: customers.name })
    .from(customers)
    .where(and(eq(customers.orgId, org.id), eq(customers.domain, domain), ne(customers.tenantId, tenantId)));
  if (clash) {
    log.warn(`Partner Center customer ${name} (${tenantId}): the domain ${domain} is ${clash.name}'s here; skipped`);
    return false;
  }
  const country = full.billingProfile?.defaultAddress?.country?.toUpperCase();
  const set = { name, nameKey: normalizeKey(name), domain, partnerCenterSeenAt: new Date() };
  if (country) {
    await db
      .insert(customers)
      .values({ orgId: org.id, tenantId, billingCountry: country, ...set })
      .onConflictDoUpdate({ target: [customers.orgId, customers.tenantId], set: { ...set, billingCountry: country } });
    return true;
  }
  // No billing country: a customer known here keeps its own; a new one is not guessed at.
  const kept = await db.update(customers).set(set).where(and(eq(customers.orgId, org.id), eq(customers.tenantId, tenantId))).returning({ id: customers.id });
  if (!kept.length) log.warn(`Partner Center customer ${name} (${tenantId}) has no billing country; skipped`);
  return kept.length > 0;
}

async function syncCustomer(db: Database, client: PartnerCenterClient, org: Organization, customer: { id: string; name: string; tenantId: string }, counts: SyncCounts, log: Logger) {
  const base = `/v1/customers/${encodeURIComponent(customer.tenantId)}`;
  for await (const remote of allItems<RemoteSubscription>(client, `${base}/subscriptions`)) {
    if (!remote.id) continue;
    const { state } = await db.transaction((tx) => storeRemoteSubscription(tx, org, customer, remote, new Date()));
    counts.subscriptions++;
    if (state === 'changed') counts.changed++;
  }
  const orders = new Map<string, RemoteOrder>();
  for await (const order of allItems<RemoteOrder>(client, `${base}/orders`)) {
    if (!order.id) continue;
    orders.set(order.id, order);
    const row = {
      customerId: customer.id,
      status: order.status ?? 'unknown',
      billingCycle: order.billingCycle ?? null,
      currency: order.currencyCode ?? null,
      lineItems: (order.lineItems ?? []).map(({ offerId, friendlyName, quantity, subscriptionId }) => ({ offerId, friendlyName, quantity, subscriptionId })),
      orderedAt: order.creationDate ? new Date(order.creationDate) : null,
      syncedAt: new Date(),
    };
    await db.insert(partnerCenterOrders).values({ orgId: org.id, id: order.id, ...row }).onConflictDoUpdate({ target: [partnerCenterOrders.orgId, partnerCenterOrders.id], set: row });
    counts.orders++;
  }
  const reserved = await syncReservations(db, client, org, customer, orders, log);
  counts.reservations += reserved.kept;
  counts.changed += reserved.changed;
  const policy = await customerPolicy(client, customer.tenantId);
  counts.policies += policy ? 1 : 0;
  const granted = new Set(policy ? grantedResources(policy).map((r) => resourceNames[r]) : []);
  for (const resource of Object.values(resourceNames)) {
    if (await keepPermission(db, org, customer, resource, granted.has(resource))) counts.changed++;
  }
}

/**
 * The permission as Partner Center answered it; a change made outside csp-ops is logged and announced.
 * One csp-ops is making right now (a pending intent) is left to that change's own commit.
 */
async function keepPermission(db: Database, org: Organization, customer: { id: string; name: string }, resource: PermissionResource, on: boolean): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (await hasPendingIntent(tx, org.id, policyTarget(customer.id))) return false;
    const where = and(eq(customerPurchasePermissions.orgId, org.id), eq(customerPurchasePermissions.customerId, customer.id), eq(customerPurchasePermissions.resource, resource));
    const changed = on
      ? await tx.insert(customerPurchasePermissions).values({ orgId: org.id, customerId: customer.id, resource, grantedBy: null }).onConflictDoNothing().returning()
      : await tx.delete(customerPurchasePermissions).where(where).returning();
    if (!changed.length) return false;
    const toggle = permissionToggles[resource];
    await tx.insert(activityLog).values({ orgId: org.id, customerId: customer.id, actorName: 'Partner Center', action: on ? toggle.created : toggle.deleted });
    await notify(tx, org, { kind: 'permissions', customerId: customer.id, message: { key: on ? toggle.foundOn : toggle.foundOff, params: { customer: customer.name } } });
    return true;
  });
}

/** Every organization the connector acts for, synced in turn. */
export async function syncAllOrganizations(db: Database, client: PartnerCenterClient, log: Logger = silent): Promise<SyncCounts> {
  const total: SyncCounts = { customers: 0, subscriptions: 0, orders: 0, reservations: 0, policies: 0, changed: 0, skipped: 0 };
  await warnUnconnected(db, client.tenantId, 'Partner Center sync', log);
  for (const org of await connectedOrganizations(db, client.tenantId)) {
    let one: SyncCounts;
    try {
      one = await syncOrganization(db, client, org, log);
    } catch (error) {
      if (!(error instanceof SyncBusy)) throw error;
      log.info(`Partner Center sync of ${org.name}: another process is syncing it now; skipped`);
      continue;
    }
    for (const key of Object.keys(total) as (keyof SyncCounts)[]) total[key] += one[key];
  }
  return total;
}

/** Whether a sync was cut off (by a stop or a crash) and waits to be resumed. */
export async function syncCutOff(db: Database): Promise<boolean> {
  const [row] = await db.select({ orgId: partnerCenterSyncs.orgId }).from(partnerCenterSyncs).where(isNotNull(partnerCenterSyncs.runStartedAt)).limit(1);
  return Boolean(row);
}

/** How the organization's last sync ended, and whether one is under way or was cut off. */
export async function syncState(db: Database, orgId: string) {
  const [state] = await db.select().from(partnerCenterSyncs).where(eq(partnerCenterSyncs.orgId, orgId));
  return state;
}
