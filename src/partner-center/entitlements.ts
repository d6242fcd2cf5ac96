import { and, eq, sql } from 'drizzle-orm';
import type { Database, Transaction } from '../../db/client.js';
import { activityLog, reservations, type reservationStatuses } from '../../db/schema.js';
import { notify } from '../core/announcements.js';
import type { Organization } from '../core/context.js';
import { hasPendingIntent } from '../core/intents.js';
import { reservationTarget } from '../core/request-azure.js';
import type { FieldChange } from '../i18n/index.js';
import type { Logger } from '../log.js';
import { allItems, type PartnerCenterClient } from './client.js';

/**
 * A customer's Azure reservations as Partner Center's entitlements give them
 * (learn.microsoft.com/partner-center/developer/get-a-collection-of-entitlements and
 * entitlement-resources): an entitlement of type `reservedinstance` has an artifact whose
 * `resourceId` is the Azure reservation order ID and whose `link` reads the order's reservations.
 */
interface RemoteEntitlement {
  referenceOrder?: { id?: string; lineItemId?: string };
  entitledArtifacts?: { artifactType?: string; resourceId?: string; link?: { uri?: string } }[];
}

interface RemoteReservation {
  reservationId?: string;
  displayName?: string;
  scopeType?: string;
  appliedScopes?: string[];
  quantity?: number;
  effectiveDateTime?: string;
  expiryDateTime?: string;
  provisioningState?: string;
}

/** The order line items Partner Center listed for the customer, by order ID: what a reservation csp-ops has not seen is bought as. */
export interface RemoteOrderLine {
  billingCycle?: string;
  currencyCode?: string;
  totalPrice?: number;
  lineItems?: { lineItemNumber?: number; friendlyName?: string; offerId?: string; quantity?: number; provisioningContext?: Record<string, string> }[];
}

type Status = (typeof reservationStatuses)[number];
/** An ID as Azure writes it, alone or at the end of a resource path (`/subscriptions/{id}`); '' for none. */
const lastSegment = (id: string) => id.split('/').filter(Boolean).at(-1)?.toLowerCase() ?? '';
/** Azure's provisioning states that end a reservation; any other keeps csp-ops' status. */
const endedStates: Record<string, Status> = { cancelled: 'cancelled', expired: 'expired' };
const yearMs = 365.25 * 24 * 60 * 60 * 1000;

/** One reservation an entitlement names, with the order line that bought it when Partner Center listed it. */
interface FoundReservation {
  org: Organization;
  customer: { id: string; name: string };
  reservationOrderId: string;
  remote: RemoteReservation;
  order: RemoteOrderLine | undefined;
  lineItemId: string | undefined;
}

/**
 * Brings each of a customer's Azure reservations from its entitlements: a reservation csp-ops
 * holds gets its Azure reservation order ID (what approved changes are made through) and
 * Partner Center's quantity, scope and state, a difference being logged and announced as made
 * outside csp-ops; one it does not hold is added from the order that bought it, when that order
 * gives its price. Returns how many were kept and how many of those had changed.
 */
export async function syncReservations(
  db: Database,
  client: PartnerCenterClient,
  org: Organization,
  customer: { id: string; name: string; tenantId: string },
  orders: Map<string, RemoteOrderLine>,
  log: Logger,
): Promise<{ kept: number; changed: number }> {
  const counts = { kept: 0, changed: 0 };
  const base = `/v1/customers/${encodeURIComponent(customer.tenantId)}`;
  for await (const entitlement of allItems<RemoteEntitlement>(client, `${base}/entitlements?entitlementType=reservedinstance&showExpiry=true`)) {
    for (const artifact of entitlement.entitledArtifacts ?? []) {
      if (artifact.artifactType?.toLowerCase() !== 'reservedinstance' || !artifact.resourceId || !artifact.link?.uri) continue;
      // The link is written from the API's root (`/customers/…`), like every Partner Center link.
      const { body } = await client.request('GET', artifact.link.uri.startsWith('/v1/') ? artifact.link.uri : `/v1${artifact.link.uri}`);
      const details = (body ?? {}) as { reservations?: RemoteReservation[]; virtualMachineReservations?: RemoteReservation[] };
      for (const remote of details.reservations ?? details.virtualMachineReservations ?? []) {
        if (!remote.reservationId) continue;
        const { id: orderId, lineItemId } = entitlement.referenceOrder ?? {};
        const found = { org, customer, reservationOrderId: lastSegment(artifact.resourceId), remote, order: orderId ? orders.get(orderId) : undefined, lineItemId };
        const outcome = await keepReservation(db, found, log);
        if (outcome !== 'skipped') counts.kept++;
        if (outcome === 'changed') counts.changed++;
      }
    }
  }
  return counts;
}

async function keepReservation(db: Database, found: FoundReservation, log: Logger): Promise<'kept' | 'changed' | 'added' | 'skipped'> {
  const { org, customer, reservationOrderId, remote } = found;
  const id = lastSegment(remote.reservationId!);
  const single = remote.scopeType?.toLowerCase() === 'single' ? lastSegment(remote.appliedScopes?.[0] ?? '') : undefined;
  const scope = remote.scopeType?.toLowerCase() === 'shared' ? ({ scope: 'shared', subscriptionId: null } as const) : single ? ({ scope: 'single', subscriptionId: single } as const) : undefined;
  const status = endedStates[remote.provisioningState?.toLowerCase() ?? ''];
  return db.transaction(async (tx) => {
    // A change csp-ops is making in Azure right now is left to that change's own commit.
    if (await hasPendingIntent(tx, org.id, reservationTarget(id))) return 'kept';
    const [before] = await tx
      .select()
      .from(reservations)
      .where(and(eq(reservations.orgId, org.id), eq(reservations.customerId, customer.id), eq(sql`lower(${reservations.id})`, id)))
      .for('update');
    if (!before) return addReservation(tx, found, id, scope, log);
    const after = { quantity: remote.quantity ?? before.quantity, ...(scope ?? {}), status: status ?? before.status };
    const changes: FieldChange[] = [
      ...(after.quantity !== before.quantity ? [{ field: 'quantity' as const, from: String(before.quantity), to: String(after.quantity) }] : []),
      ...(scope && (scope.scope !== before.scope || scope.subscriptionId !== before.subscriptionId)
        ? [{ field: 'scope' as const, from: before.subscriptionId ?? before.scope, to: scope.subscriptionId ?? scope.scope }]
        : []),
      ...(after.status !== before.status ? [{ field: 'status' as const, from: before.status, to: after.status }] : []),
    ];
    await tx.update(reservations).set({ reservationOrderId, ...after }).where(and(eq(reservations.orgId, org.id), eq(reservations.id, before.id)));
    if (!changes.length) return 'kept';
    const details = { reservation: before.id, changes: { fieldChanges: changes } };
    await tx.insert(activityLog).values({ orgId: org.id, customerId: customer.id, actorName: 'Partner Center', action: 'partner_center_reservation_changed', details });
    await notify(tx, org, {
      kind: 'requests',
      customerId: customer.id,
      message: { key: 'partnerCenter.reservationChanged', params: { customer: customer.name, product: before.product, ...details } },
    });
    return 'changed';
  });
}

/** A reservation csp-ops has not seen, as the order that bought it describes it; without the order's price it is left out (logged), never guessed. */
async function addReservation(
  tx: Transaction,
  { org, customer, reservationOrderId, remote, order, lineItemId }: FoundReservation,
  id: string,
  scope: { scope: 'shared' | 'single'; subscriptionId: string | null } | undefined,
  log: Logger,
): Promise<'added' | 'skipped'> {
  const items = order?.lineItems ?? [];
  const item = items.find((i) => String(i.lineItemNumber ?? '') === lineItemId) ?? (items.length === 1 ? items[0] : undefined);
  // The order's total is this reservation's price only when the order bought nothing else.
  if (!order || !item || items.length !== 1 || typeof order.totalPrice !== 'number' || !order.currencyCode || !remote.effectiveDateTime) {
    log.warn(`Partner Center reservation ${id} of ${customer.name} (order ${reservationOrderId}): the order that bought it gives no price of its own; not added (import it with its price)`);
    return 'skipped';
  }
  const context = Object.fromEntries(Object.entries(item.provisioningContext ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  const years = remote.expiryDateTime ? (Date.parse(remote.expiryDateTime) - Date.parse(remote.effectiveDateTime)) / yearMs : 1;
  const product = remote.displayName ?? item.friendlyName ?? item.offerId ?? id;
  await tx.insert(reservations).values({
    orgId: org.id,
    id,
    reservationOrderId,
    customerId: customer.id,
    product,
    region: context.region ?? context.location ?? 'global',
    quantity: remote.quantity ?? item.quantity ?? 1,
    term: years > 2 ? 'P3Y' : 'P1Y',
    billingPlan: order.billingCycle?.toLowerCase() === 'monthly' ? 'monthly' : 'upfront',
    ...(scope ?? { scope: 'shared', subscriptionId: null }),
    price: order.totalPrice.toFixed(2),
    currency: order.currencyCode.toUpperCase(),
    purchasedBy: 'partner',
    purchasedAt: new Date(remote.effectiveDateTime),
    status: endedStates[remote.provisioningState?.toLowerCase() ?? ''] ?? 'active',
  });
  return 'added';
}
