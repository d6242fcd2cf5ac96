import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customers, partnerCenterIntents, subscriptions, type PartnerCenterIntentChange } from '../../db/schema.js';
import { requireAdmin } from './access.js';
import { recordActivity } from './activity.js';
import { notify } from './announcements.js';
import type { Actor, CoreContext } from './context.js';
import { DomainError } from './errors.js';
import { askPartnerCenter, recordIntent, settleIntent, subscriptionTarget, type PartnerCenterIntent } from './intents.js';
import { cancellationWindowCloses, insideCancellationWindow, type Subscription } from './marketplace.js';
import type { FieldChange } from '../i18n/index.js';
import { describeChanges } from '../partner-center/subscriptions.js';

type StaffContext = CoreContext & { actor: Extract<Actor, { kind: 'staff' }> };

export type SubscriptionChange =
  | { kind: 'rename'; name: string }
  | { kind: 'seats'; seats: number }
  | { kind: 'auto-renew'; on: boolean }
  | { kind: 'reseller'; mpnId: string }
  | { kind: 'cancel' };

/** Partner IDs (formerly MPN IDs) are numbers of 6 to 10 digits. */
export const mpnIdPattern = /^\d{6,10}$/;

/**
 * R-M7: one edit of a marketplace subscription by an admin (R-A4); cancel only inside its window (R-M10).
 * A subscription read from Partner Center is changed there first, with no row locked meanwhile:
 * the rules are checked on the locked row and the intent recorded; Partner Center is asked; the
 * outcome commits (core/intents.ts).
 */
export async function editSubscription(ctx: CoreContext, subscriptionId: string, change: SubscriptionChange): Promise<SubscriptionEdit> {
  const at = { ...ctx, actor: requireAdmin(ctx.actor, 'what.marketplace') };
  const first = await ctx.db.transaction(async (tx): Promise<{ edit: SubscriptionEdit } | { current: Subscription; intent: PartnerCenterIntent }> => {
    const current = await lockSubscription(tx, ctx.org.id, subscriptionId);
    if (!current?.offerId && !current?.etag) throw new DomainError('subscription.unknown', { text: subscriptionId });
    if (current.status === 'cancelled') throw new DomainError('subscription.cancelled', { subscription: current.id, date: current.cancelledAt! });
    if (!keptInPartnerCenter(ctx, current)) return { edit: await applySubscriptionChange(tx, at, current, change) };
    if (!checkedChange(current, change, ctx.now())) return { edit: { state: 'unchanged', subscription: current } };
    return { current, intent: await recordSubscriptionIntent(tx, at, current, { kind: 'subscription', change }) };
  });
  if ('edit' in first) return first.edit;
  const answer = await changeInPartnerCenter(at, first.current, change, first.intent);
  return ctx.db.transaction((tx) => commitSubscriptionChange(tx, at, first.current.id, change, answer, first.intent));
}

const lockSubscription = async (tx: Queryable, orgId: string, id: string): Promise<Subscription | undefined> =>
  (await tx.select().from(subscriptions).where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.id, id))).for('update'))[0];

/** A subscription read from Partner Center, with the connector on: its edits are made there first. */
export const keptInPartnerCenter = (ctx: CoreContext, subscription: Subscription) => Boolean(subscription.etag && ctx.partnerCenter);

/** Step 1 of an edit made in Partner Center, in the caller's transaction on the locked row. */
export function recordSubscriptionIntent(tx: Queryable, ctx: StaffContext, current: Subscription, change: Extract<PartnerCenterIntentChange, { kind: 'subscription' }>, requestId?: string) {
  return recordIntent(tx, ctx, {
    kind: 'subscription',
    target: subscriptionTarget(current.id),
    customerId: current.customerId,
    subscriptionId: current.id,
    ...(requestId ? { requestId } : {}),
    change,
  });
}

/**
 * An edit's rules checked without changing anything (what a confirmation shows first): throws
 * why it is refused (R-A4, R-M10, a cancelled subscription); 'unchanged' when it changes nothing.
 */
export function checkSubscriptionChange(ctx: CoreContext, current: Subscription, change: SubscriptionChange): 'changes' | 'unchanged' {
  requireAdmin(ctx.actor, 'what.marketplace');
  if (current.status === 'cancelled') throw new DomainError('subscription.cancelled', { subscription: current.id, date: current.cancelledAt! });
  return checkedChange(current, change, ctx.now()) ? 'changes' : 'unchanged';
}

export type PartnerCenterEdit = { state: 'updated'; columns: Partial<Subscription> } | { state: 'conflict'; columns: Partial<Subscription>; changes: FieldChange[] };

/** Step 2: the PATCH (with the ETag csp-ops last read), with no transaction open. */
export async function changeInPartnerCenter(ctx: CoreContext, current: Subscription, change: SubscriptionChange, intent: PartnerCenterIntent): Promise<PartnerCenterEdit> {
  const [customer] = await ctx.db.select({ tenantId: customers.tenantId }).from(customers).where(and(eq(customers.orgId, ctx.org.id), eq(customers.id, current.customerId)));
  return askPartnerCenter(ctx.db, intent, () => ctx.partnerCenter!.updateSubscription(ctx.org, customer!.tenantId, current, change));
}

/**
 * Step 3: Partner Center's answer committed. Made: the row takes Partner Center's copy and the
 * change, with its log row and announcement. Its copy had changed (another ETag): the row takes
 * that copy, the intent fails, nothing else changes. When a repair committed this intent first,
 * the row is returned as that left it.
 */
export async function commitSubscriptionChange(
  tx: Queryable,
  ctx: StaffContext,
  subscriptionId: string,
  change: SubscriptionChange,
  answer: PartnerCenterEdit,
  intent: PartnerCenterIntent,
): Promise<SubscriptionEdit> {
  const current = (await lockSubscription(tx, ctx.org.id, subscriptionId))!;
  const outcome = answer.state === 'conflict' ? { reason: 'partnerCenter.editConflict', changes: describeChanges(answer.changes) } : undefined;
  if (!(await settleIntent(tx, intent, answer.state === 'updated' ? 'done' : 'failed', outcome))) {
    // A repair settled it first: say what that found, not what this answer hoped for.
    const [settled] = await tx.select({ status: partnerCenterIntents.status }).from(partnerCenterIntents).where(and(eq(partnerCenterIntents.orgId, ctx.org.id), eq(partnerCenterIntents.id, intent.id)));
    return { state: settled?.status === 'done' ? 'changed' : 'unchanged', subscription: current };
  }
  if (answer.state === 'updated') return applySubscriptionChange(tx, ctx, current, change, answer);
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
  | { state: 'conflict'; subscription: Subscription; changes: FieldChange[] };

/**
 * An edit's effect inside the caller's transaction, on a row it locked: the change, the log row
 * and the announcement commit together. An approved cancellation request (core/requests.ts) makes
 * its change through this too. For a subscription kept in Partner Center the caller made the change
 * there first and passes its answer: the rules were checked before that call, and are not again.
 */
export async function applySubscriptionChange(
  tx: Queryable,
  ctx: StaffContext,
  current: Subscription,
  change: SubscriptionChange,
  /** Partner Center's answer when the caller already made the change there. */
  remote?: Extract<PartnerCenterEdit, { state: 'updated' }>,
): Promise<SubscriptionEdit> {
  const { actor } = ctx;
  if (!remote && keptInPartnerCenter(ctx, current)) throw new Error(`subscription ${current.id} is kept in Partner Center: it is changed there first`);
  const set = remote ? changeSet(current, change, ctx.now()) : checkedChange(current, change, ctx.now());
  if (!set) return { state: 'unchanged', subscription: current };
  const where = and(eq(subscriptions.orgId, ctx.org.id), eq(subscriptions.id, current.id));
  const [updated] = await tx.update(subscriptions).set({ ...remote?.columns, ...set }).where(where).returning();
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

/** The columns an edit changes, undefined when it changes nothing. */
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
    case 'cancel':
      return s.status === 'cancelled' ? undefined : { status: 'cancelled', cancelledAt: now, autoRenew: false };
  }
}

/** The same, after the rules: throws when they refuse it (R-M10). */
function checkedChange(s: Subscription, change: SubscriptionChange, now: Date): Partial<Subscription> | undefined {
  if (change.kind === 'cancel') {
    // Partner Center gives no cancellation date for a subscription it does not let be cancelled.
    if (s.etag && !s.cancellationAllowedUntil) throw new DomainError('partnerCenter.notCancellable', { subscription: s.id });
    const window = { term: s.term!, purchasedAt: s.purchasedAt!, cancellationAllowedUntil: s.cancellationAllowedUntil };
    const closes = cancellationWindowCloses(window);
    if (s.cancellationAllowedUntil && !insideCancellationWindow(window, now)) {
      throw new DomainError('partnerCenter.windowClosed', { subscription: s.id, closed: closes });
    }
    if (!insideCancellationWindow(window, now)) {
      throw new DomainError('subscription.windowClosed', { subscription: s.id, closed: closes }, { terms: { term: `saasTermName.${s.term!}` } });
    }
  }
  return changeSet(s, change, now);
}
