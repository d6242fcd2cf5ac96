import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { activityLog, subscriptions, type BillingTerm, type subscriptionOffers, type subscriptionStatuses } from '../../db/schema.js';
import { notify } from '../core/announcements.js';
import type { Organization } from '../core/context.js';
import { hasPendingIntent, subscriptionTarget } from '../core/intents.js';
import type { Subscription } from '../core/marketplace.js';
import { fieldChangesText, translator, type FieldChange } from '../i18n/index.js';

/** A subscription as Partner Center's Subscription resource describes it (the fields csp-ops keeps). */
export interface RemoteSubscription {
  id: string;
  offerId?: string;
  offerName?: string;
  friendlyName?: string;
  quantity?: number;
  status?: string;
  autoRenewEnabled?: boolean;
  billingCycle?: string;
  creationDate?: string;
  commitmentEndDate?: string;
  cancellationAllowedUntilDate?: string | null;
  refundableQuantity?: { totalQuantity?: number } | null;
  isMicrosoftProduct?: boolean;
  productType?: { id?: string };
  partnerId?: string;
  attributes?: { etag?: string; objectType?: string };
}

export type { FieldChange };

const statusOf = (status: string | undefined): (typeof subscriptionStatuses)[number] => {
  switch (status?.toLowerCase()) {
    case 'active':
    case 'suspended':
    case 'expired':
    case 'disabled':
    case 'pending':
      return status.toLowerCase() as 'active';
    case 'deleted':
      return 'cancelled';
    default:
      return 'pending';
  }
};

function offerOf(remote: RemoteSubscription): (typeof subscriptionOffers)[number] {
  const offerId = (remote.offerId ?? '').toUpperCase();
  if (offerId.startsWith('DZH318Z0BCHJ')) return 'azure-plan';
  if (offerId.startsWith('MS-AZR-')) return 'azure-global';
  if (remote.isMicrosoftProduct === false || remote.productType?.id?.toLowerCase() === 'saas') return 'marketplace-saas';
  if (/365|office/i.test(remote.offerName ?? '')) return 'microsoft-365';
  return 'other';
}

const date = (value: string | null | undefined) => (value && !Number.isNaN(Date.parse(value)) ? new Date(value) : null);

/**
 * The columns a Partner Center subscription sets. New-commerce offer IDs name a product and a
 * SKU ("CFQ7TTC0LH18:0001"), as the Azure plan's product does; legacy offer IDs are GUIDs.
 */
export function subscriptionColumns(remote: RemoteSubscription, now: Date) {
  const cycle = remote.billingCycle?.toLowerCase();
  const status = statusOf(remote.status);
  return {
    offer: offerOf(remote),
    friendlyName: remote.friendlyName ?? remote.offerName ?? null,
    status,
    seats: typeof remote.quantity === 'number' ? remote.quantity : null,
    term: cycle === 'monthly' || cycle === 'annual' ? (cycle as BillingTerm) : null,
    autoRenew: typeof remote.autoRenewEnabled === 'boolean' ? remote.autoRenewEnabled : null,
    purchasedAt: date(remote.creationDate),
    partnerCenterOfferId: remote.offerId ?? null,
    offerName: remote.offerName ?? null,
    commitmentEndsAt: date(remote.commitmentEndDate),
    cancellationAllowedUntil: date(remote.cancellationAllowedUntilDate),
    refundableQuantity: remote.refundableQuantity?.totalQuantity ?? null,
    commerceModel: /^[A-Z0-9]{12}(:|$)/i.test(remote.offerId ?? '') ? ('new-commerce' as const) : ('legacy' as const),
    etag: remote.attributes?.etag ?? null,
    syncedAt: now,
    ...(remote.partnerId ? { resellerMpnId: remote.partnerId } : {}),
  };
}

/** What differs between the local row and Partner Center's copy, in the fields users change. */
export function fieldChanges(before: Pick<Subscription, 'friendlyName' | 'seats' | 'autoRenew' | 'status'>, after: ReturnType<typeof subscriptionColumns>): FieldChange[] {
  const shown = (value: unknown) => (value === null || value === undefined ? '—' : typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value));
  const pairs: [FieldChange['field'], unknown, unknown][] = [
    ['name', before.friendlyName, after.friendlyName],
    ['seats', before.seats, after.seats],
    ['auto-renew', before.autoRenew, after.autoRenew],
    ['status', before.status, after.status],
  ];
  return pairs.filter(([, a, b]) => shown(a) !== shown(b)).map(([field, a, b]) => ({ field, from: shown(a), to: shown(b) }));
}

/** The changes as a record keeps them (an event's outcome), in English. */
export const describeChanges = (changes: FieldChange[]) => fieldChangesText(translator(), changes);

/**
 * Keeps Partner Center's copy of a subscription. A subscription csp-ops had already read and
 * that changed outside csp-ops is logged and announced to `subscriptions` subscribers; the
 * first reading of one is only stored.
 */
export async function storeRemoteSubscription(
  tx: Queryable,
  org: Organization,
  customer: { id: string; name: string },
  remote: RemoteSubscription,
  now: Date,
): Promise<{ state: 'new' | 'changed' | 'unchanged'; changes: FieldChange[] }> {
  // An edit csp-ops is making right now (a pending intent) is left to that edit's own commit.
  if (await hasPendingIntent(tx, org.id, subscriptionTarget(remote.id.toLowerCase()))) return { state: 'unchanged', changes: [] };
  const columns = subscriptionColumns(remote, now);
  const [before] = await tx
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, org.id), eq(subscriptions.id, remote.id.toLowerCase())))
    .for('update');
  const cancelledAt = columns.status === 'cancelled' ? (before?.cancelledAt ?? now) : null;
  await tx
    .insert(subscriptions)
    .values({ orgId: org.id, id: remote.id.toLowerCase(), customerId: customer.id, ...columns, cancelledAt })
    .onConflictDoUpdate({ target: [subscriptions.orgId, subscriptions.id], set: { customerId: customer.id, ...columns, cancelledAt } });
  if (!before) return { state: 'new', changes: [] };
  const changes = fieldChanges(before, columns);
  if (!changes.length) return { state: 'unchanged', changes };
  const details = { subscription: before.id, changes: { fieldChanges: changes } };
  await tx.insert(activityLog).values({ orgId: org.id, customerId: customer.id, actorName: 'Partner Center', action: 'partner_center_subscription_changed', details, createdAt: now });
  await notify(tx, org, {
    kind: 'subscriptions',
    customerId: customer.id,
    message: { key: 'partnerCenter.subscriptionChanged', params: { customer: customer.name, name: columns.friendlyName ?? before.id, ...details } },
  });
  return { state: 'changed', changes };
}
