import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { customers, partnerCenterIntents, reservationRequests } from '../../db/schema.js';
import type { AzureReservationOutcome, AzureReservationsGateway, Organization, RemoteReservation } from '../core/context.js';
import { recordOutcome } from '../core/confirmations.js';
import { intentContext, settleIntent, type PartnerCenterIntent } from '../core/intents.js';
import { commitPermission } from '../core/permissions.js';
import { commitPurchase } from '../core/partner-center-purchases.js';
import { commitDecision } from '../core/requests.js';
import { commitSubscriptionChange, type SubscriptionChange } from '../core/subscription-edits.js';
import type { Logger } from '../log.js';
import { connectedOrganizations } from './audit.js';
import { PartnerCenterError, PartnerCenterStopped, type PartnerCenterClient } from './client.js';
import { customerPolicy, grantedResources, resourceNames } from './connector.js';
import { findPurchase } from './purchase.js';
import { subscriptionColumns, type RemoteSubscription } from './subscriptions.js';

/**
 * Requests one intent's call can make: a permission looks its policy up, writes it, and may look again and rewrite it;
 * an edit PATCHes and may read again; a purchase creates a cart, checks out (twice at most, reading the cart and orders
 * between), and reads the order, its activation link and subscription; a reservation's change asks Azure for a quote and
 * then for the change (each without retries, so within one Partner Center request's time).
 */
const requestsPerIntent: Record<PartnerCenterIntent['kind'], number> = { permission: 4, subscription: 2, purchase: 8, reservation: 2 };
/** Time for the outcome's transaction after Partner Center answered. */
const commitMarginMs = 5000;

/** How long an intent may be waiting for its own call's answer; past it, that call has ended one way or another. */
const intentGraceMs = (client: PartnerCenterClient, kind: PartnerCenterIntent['kind']) => requestsPerIntent[kind] * client.settleMs + commitMarginMs;

/** When the repair may settle the intent: once its call can no longer be under way; an order answered pending ended its call when it was kept. */
function repairDue(client: PartnerCenterClient, intent: PartnerCenterIntent): Date {
  if (intent.change.kind === 'purchase' && intent.change.purchase.orderId) return intent.updatedAt;
  return new Date(intent.createdAt.getTime() + intentGraceMs(client, intent.kind));
}

export interface RepairResult {
  done: number;
  abandoned: number;
  /** When the youngest intent still in flight is due for repair, if any is. */
  nextDueAt?: Date;
}

/**
 * Intents a crash left pending (older than their grace) are resolved from Partner Center's
 * current state: a change that is there is committed exactly as its own step 3 would have,
 * as the person who asked; one that is not is abandoned. Each is settled once, however many
 * processes repair at the same time (settleIntent inside the outcome's transaction).
 */
export async function repairIntents(db: Database, client: PartnerCenterClient, org: Organization, log: Logger, now = new Date(), azure?: AzureReservationsGateway): Promise<RepairResult> {
  const result: RepairResult = { done: 0, abandoned: 0 };
  const pending = await db
    .select()
    .from(partnerCenterIntents)
    .where(and(eq(partnerCenterIntents.orgId, org.id), eq(partnerCenterIntents.status, 'pending')))
    .orderBy(asc(partnerCenterIntents.createdAt))
    .limit(100);
  for (const intent of pending) {
    // A reservation's change is checked in Azure, by the repair that was given it.
    if (intent.kind === 'reservation' && !azure) continue;
    const dueAt = repairDue(client, intent);
    if (dueAt > now) {
      if (!result.nextDueAt || dueAt < result.nextDueAt) result.nextDueAt = dueAt;
      continue;
    }
    try {
      const made = await repairIntent(db, client, org, intent, log, azure);
      if (made) result.done++;
      else if (await abandon(db, intent)) {
        result.abandoned++;
        log.warn(`Partner Center change ${intent.id} (${intent.target}, asked by ${intent.actorName}) was cut off and is not in Partner Center; abandoned, nothing changed here`);
      }
    } catch (error) {
      if (error instanceof PartnerCenterStopped) throw error;
      // Partner Center cannot be read now: the intent stays pending for the next repair.
      log.warn(`Partner Center change ${intent.id} (${intent.target}) could not be checked: ${(error as Error).message}`);
    }
  }
  return result;
}

/** Settles an intent whose change Partner Center does not hold; a Buy's confirmation then says nothing was bought. */
function abandon(db: Database, intent: PartnerCenterIntent): Promise<boolean> {
  return db.transaction(async (tx) => {
    if (!(await settleIntent(tx, intent, 'abandoned', { reason: 'Partner Center does not hold the change' }))) return false;
    if (intent.change.kind === 'purchase') await recordOutcome(tx, intent.orgId, intent.change.purchase.confirmationId, { key: 'buy.notPlaced', params: {} }, new Date());
    return true;
  });
}

/** Commits the intent's outcome when Partner Center holds its change; false when it does not. */
async function repairIntent(db: Database, client: PartnerCenterClient, org: Organization, intent: PartnerCenterIntent, log: Logger, azure?: AzureReservationsGateway): Promise<boolean> {
  const ctx = await intentContext(db, org, intent);
  const [customer] = await db.select().from(customers).where(and(eq(customers.orgId, org.id), eq(customers.id, intent.customerId)));
  const { change } = intent;
  if (change.kind === 'reservation') {
    if (!azure) throw new Error('Azure Resource Manager is not configured');
    const decide = (outcome: AzureReservationOutcome) =>
      commitDecision(ctx, intent.requestId!, 'approve', undefined, undefined, { intent, answer: { state: 'done', outcome } }).then((r) => r.state === 'decided');
    // A long-running exchange Azure accepted: followed to its end, which names the reservation bought.
    if (change.operation) return decide(await azure.operation(customer!.tenantId, change.operation));
    const remote = await azure.reservation(customer!.tenantId, change.reservationOrderId, change.reservationId);
    const [request] = await db.select().from(reservationRequests).where(eq(reservationRequests.id, intent.requestId!));
    if (!remote || !request || !azureHolds(remote, change.request, request.details)) return false;
    if (change.request !== 'exchange') return decide({});
    // Cut off before the exchange's operation was kept: the reservation bought in its place is found by the exchange's swap link.
    const successor = await azure.exchangedFor(customer!.tenantId, remote, request.details.sku);
    if (!successor) {
      log.warn(
        `Azure exchanged reservation ${change.reservationId} (request ${request.id}), but neither it nor any reservation Azure lists links the reservation bought in its place (swapProperties), and the exchange's operation was not kept; committed without the new reservation`,
      );
    }
    return decide(successor ? { successor } : {});
  }
  if (change.kind === 'permission') {
    const policy = await customerPolicy(client, customer!.tenantId);
    const granted = (policy ? grantedResources(policy) : []).map((r) => resourceNames[r]);
    if (granted.includes(change.resource) !== change.on) return false;
    await db.transaction((tx) => commitPermission(tx, ctx, customer!, change.resource, change.on, intent));
    return true;
  }
  if (change.kind === 'purchase') {
    // Checked out before the crash (or answered pending): its subscription is committed as the Buy's own step 3 would have; never checked out: abandoned.
    const answer = await findPurchase(client, customer!.tenantId, change.purchase, intent.createdAt);
    if (!answer) return false;
    await db.transaction((tx) => commitPurchase(tx, ctx, intent, change.purchase, answer));
    return true;
  }
  const path = `/v1/customers/${encodeURIComponent(customer!.tenantId)}/subscriptions/${encodeURIComponent(intent.subscriptionId!)}`;
  let remote: RemoteSubscription;
  try {
    remote = { ...((await client.request('GET', path)).body as RemoteSubscription), id: intent.subscriptionId! };
  } catch (error) {
    if (error instanceof PartnerCenterError && error.status === 404) return false;
    throw error;
  }
  if (!holds(remote, change.change)) return false;
  const answer = { state: 'updated' as const, columns: subscriptionColumns(remote, new Date()) };
  if (intent.requestId) return (await commitDecision(ctx, intent.requestId, 'approve', change.note, { intent, answer })).state === 'decided';
  await db.transaction((tx) => commitSubscriptionChange(tx, ctx, intent.subscriptionId!, change.change, answer, intent));
  return true;
}

/** Whether Azure's copy of the reservation shows the request carried out. */
function azureHolds(remote: RemoteReservation, kind: 'cancel' | 'exchange' | 'renew' | 'scope', details: { scope?: string; subscriptionId?: string }): boolean {
  const p = remote.properties ?? {};
  switch (kind) {
    case 'cancel':
    case 'exchange':
      return p.provisioningState?.toLowerCase() === 'cancelled';
    case 'renew':
      return p.renew === true;
    case 'scope':
      if (p.appliedScopeType?.toLowerCase() !== details.scope) return false;
      return details.scope === 'shared' || (p.appliedScopes ?? []).some((s) => s.toLowerCase() === `/subscriptions/${details.subscriptionId}`.toLowerCase());
  }
}

/** Whether Partner Center's copy of the subscription shows the edit made. */
function holds(remote: RemoteSubscription, change: SubscriptionChange): boolean {
  switch (change.kind) {
    case 'rename':
      return remote.friendlyName === change.name;
    case 'seats':
      return remote.quantity === change.seats;
    case 'auto-renew':
      return remote.autoRenewEnabled === change.on;
    case 'reseller':
      return remote.partnerId === change.mpnId;
    case 'cancel':
      return remote.status?.toLowerCase() === 'deleted';
  }
}

/** Every organization the connector acts for, repaired in turn. */
export async function repairAllOrganizations(db: Database, client: PartnerCenterClient, log: Logger, azure?: AzureReservationsGateway): Promise<RepairResult> {
  const total: RepairResult = { done: 0, abandoned: 0 };
  for (const org of await connectedOrganizations(db, client.tenantId)) {
    const one = await repairIntents(db, client, org, log, new Date(), azure);
    total.done += one.done;
    total.abandoned += one.abandoned;
    if (one.nextDueAt && (!total.nextDueAt || one.nextDueAt < total.nextDueAt)) total.nextDueAt = one.nextDueAt;
  }
  return total;
}
