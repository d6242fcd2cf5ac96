import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customers, subscriptions } from '../../db/schema.js';
import { requireAdmin } from './access.js';
import { recordActivity } from './activity.js';
import { notify } from './announcements.js';
import type { Actor, CoreContext } from './context.js';
import { DomainError } from './errors.js';
import { cancellationWindowCloses, insideCancellationWindow, utcTime, type Subscription } from './marketplace.js';

export type SubscriptionChange =
  | { kind: 'rename'; name: string }
  | { kind: 'seats'; seats: number }
  | { kind: 'auto-renew'; on: boolean }
  | { kind: 'reseller'; mpnId: string }
  | { kind: 'cancel' };

/** Partner IDs (formerly MPN IDs) are numbers of 6 to 10 digits. */
export const mpnIdPattern = /^\d{6,10}$/;

/** R-M7: one edit of a marketplace subscription by an admin (R-A4); cancel only inside its window (R-M10). */
export async function editSubscription(ctx: CoreContext, subscriptionId: string, change: SubscriptionChange): Promise<SubscriptionEdit> {
  const actor = requireAdmin(ctx.actor, 'what.marketplace');
  return ctx.db.transaction(async (tx) => {
    const [current] = await tx
      .select()
      .from(subscriptions)
      .where(and(eq(subscriptions.orgId, ctx.org.id), eq(subscriptions.id, subscriptionId)))
      .for('update');
    if (!current?.offerId && !current?.etag) throw new DomainError('subscription.unknown', { text: subscriptionId });
    if (current.status === 'cancelled') throw new DomainError('subscription.cancelled', { subscription: current.id, date: utcTime(current.cancelledAt!) });
    return applySubscriptionChange(tx, { ...ctx, actor }, current, change);
  });
}

/**
 * An edit's rules checked without changing anything (what a confirmation shows first): throws
 * why it is refused (R-A4, R-M10, a cancelled subscription); 'unchanged' when it changes nothing.
 */
export function checkSubscriptionChange(ctx: CoreContext, current: Subscription, change: SubscriptionChange): 'changes' | 'unchanged' {
  requireAdmin(ctx.actor, 'what.marketplace');
  if (current.status === 'cancelled') throw new DomainError('subscription.cancelled', { subscription: current.id, date: utcTime(current.cancelledAt!) });
  return changeSet(current, change, ctx.now()) ? 'changes' : 'unchanged';
}

type PartnerCenterEdit = { state: 'updated'; columns: Partial<Subscription> } | Extract<SubscriptionEdit, { state: 'conflict' }>;

/**
 * An edit of a subscription read from Partner Center is made there first (PATCH with its ETag);
 * undefined for one kept here only. On a conflict the row takes Partner Center's copy.
 */
export async function changeInPartnerCenter(
  tx: Queryable,
  ctx: CoreContext,
  current: Subscription,
  change: SubscriptionChange,
): Promise<PartnerCenterEdit | undefined> {
  if (!current.etag || !ctx.partnerCenter) return undefined;
  const [customer] = await tx.select({ tenantId: customers.tenantId }).from(customers).where(eq(customers.id, current.customerId));
  const answer = await ctx.partnerCenter.updateSubscription(ctx.org, customer!.tenantId, current, change);
  if (answer.state === 'updated') return answer;
  const [refreshed] = await tx
    .update(subscriptions)
    .set(answer.columns)
    .where(and(eq(subscriptions.orgId, ctx.org.id), eq(subscriptions.id, current.id)))
    .returning();
  return { state: 'conflict', subscription: refreshed!, changes: answer.changes };
}

export type SubscriptionEdit =
  | { state: 'changed' | 'unchanged'; subscription: Subscription }
  /** Partner Center's copy changed since csp-ops read it: nothing was changed there; here the row now holds its copy. */
  | { state: 'conflict'; subscription: Subscription; changes: string };

/**
 * An edit's effect inside the caller's transaction, on a row it locked: the
 * change, the log row and the announcement commit together. An approved
 * cancellation request (core/requests.ts) makes its change through this too.
 * A subscription read from Partner Center is changed there first (PATCH with
 * its ETag); a refusal throws and changes nothing here.
 */
export async function applySubscriptionChange(
  tx: Queryable,
  ctx: CoreContext & { actor: Extract<Actor, { kind: 'staff' }> },
  current: Subscription,
  change: SubscriptionChange,
  /** Partner Center's answer when the caller already made the change there. */
  remote?: PartnerCenterEdit,
): Promise<SubscriptionEdit> {
  const { actor } = ctx;
  const set = changeSet(current, change, ctx.now());
  if (!set) return { state: 'unchanged', subscription: current };
  const answer = remote ?? (await changeInPartnerCenter(tx, ctx, current, change));
  if (answer?.state === 'conflict') return answer;
  const where = and(eq(subscriptions.orgId, ctx.org.id), eq(subscriptions.id, current.id));
  const [updated] = await tx.update(subscriptions).set({ ...answer?.columns, ...set }).where(where).returning();
  const details = { subscription: current.id, change: change.kind, value: changeValue(change) };
  await recordActivity(tx, ctx, change.kind === 'cancel' ? 'saas_cancelled' : 'saas_changed', current.customerId, details);
  await notify(tx, ctx.org, {
    kind: 'subscriptions',
    customerId: current.customerId,
    message: { key: change.kind === 'cancel' ? 'subscription.announceCancel' : 'subscription.announceChange', params: { actor: actor.name, name: current.friendlyName ?? current.id, ...details } },
  });
  return { state: 'changed', subscription: updated! };
}

export function changeValue(change: SubscriptionChange): string {
  switch (change.kind) {
    case 'rename':
      return change.name;
    case 'seats':
      return String(change.seats);
    case 'auto-renew':
      return change.on ? 'on' : 'off';
    case 'reseller':
      return change.mpnId;
    case 'cancel':
      return '';
  }
}

/** The columns an edit changes, undefined when it changes nothing; throws when the rules refuse it. */
function changeSet(s: Subscription, change: SubscriptionChange, now: Date): Partial<Subscription> | undefined {
  switch (change.kind) {
    case 'rename':
      return s.friendlyName === change.name ? undefined : { friendlyName: change.name };
    case 'seats':
      return s.seats === change.seats ? undefined : { seats: change.seats };
    case 'auto-renew':
      return s.autoRenew === change.on ? undefined : { autoRenew: change.on };
    case 'reseller':
      return s.resellerMpnId === change.mpnId ? undefined : { resellerMpnId: change.mpnId };
    case 'cancel': {
      // Partner Center gives no cancellation date for a subscription it does not let be cancelled.
      if (s.etag && !s.cancellationAllowedUntil) throw new DomainError('partnerCenter.notCancellable', { subscription: s.id });
      const window = { term: s.term!, purchasedAt: s.purchasedAt!, cancellationAllowedUntil: s.cancellationAllowedUntil };
      const closes = cancellationWindowCloses(window);
      if (s.cancellationAllowedUntil && !insideCancellationWindow(window, now)) {
        throw new DomainError('partnerCenter.windowClosed', { subscription: s.id, closed: utcTime(closes) });
      }
      if (!insideCancellationWindow(window, now)) {
        throw new DomainError('subscription.windowClosed', { subscription: s.id, closed: utcTime(closes) }, { terms: { term: `saasTermName.${s.term!}` } });
      }
      return { status: 'cancelled', cancelledAt: now, autoRenew: false };
    }
  }
}
