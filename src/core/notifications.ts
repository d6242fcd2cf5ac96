import { and, asc, count, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customers, notificationSubscriptions, outbox, type NotificationKind } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { requireAdmin } from './access.js';
import type { CoreContext } from './context.js';
import { resolveCustomer, type Customer } from './customers.js';
import { DomainError } from './errors.js';

function chatChannel(ctx: CoreContext) {
  const { platform, channelId } = ctx.conversation;
  if (platform === 'cli' || !channelId) throw new DomainError('notify.noChannel');
  return { platform, channelId };
}

async function resolveAll(ctx: CoreContext, texts: string[]): Promise<Customer[]> {
  const found: Customer[] = [];
  for (const text of texts) found.push(await resolveCustomer(ctx.db, ctx.org.id, text));
  return found;
}

/**
 * R-N1: this channel hears these kinds of events, for every customer or for the
 * ones named. Admin agents and global admins manage subscriptions.
 */
export async function subscribeChannel(ctx: CoreContext, kinds: NotificationKind[], customerTexts: string[]) {
  const actor = requireAdmin(ctx.actor, 'what.notifications');
  const channel = chatChannel(ctx);
  const chosen = await resolveAll(ctx, customerTexts);
  const scopes = chosen.length ? chosen.map((c) => c.id) : [null];
  return ctx.db.transaction(async (tx) => {
    const added = await tx
      .insert(notificationSubscriptions)
      .values(kinds.flatMap((kind) => scopes.map((customerId) => ({ orgId: ctx.org.id, ...channel, kind, customerId, createdByName: actor.name }))))
      .onConflictDoNothing()
      .returning({ id: notificationSubscriptions.id });
    if (added.length) await recordActivity(tx, { ...ctx, actor }, 'notifications_subscribed', null, { kinds: kinds.join(', '), channel: channel.channelId });
    return { added: added.length, customers: chosen };
  });
}

/** Stops this channel hearing these kinds (all when none are named), for the customers named or every subscription of theirs. */
export async function unsubscribeChannel(ctx: CoreContext, kinds: NotificationKind[], customerTexts: string[]) {
  const actor = requireAdmin(ctx.actor, 'what.notifications');
  const channel = chatChannel(ctx);
  const chosen = await resolveAll(ctx, customerTexts);
  return ctx.db.transaction(async (tx) => {
    const removed = await tx
      .delete(notificationSubscriptions)
      .where(
        and(
          eq(notificationSubscriptions.orgId, ctx.org.id),
          eq(notificationSubscriptions.platform, channel.platform),
          eq(notificationSubscriptions.channelId, channel.channelId),
          kinds.length ? inArray(notificationSubscriptions.kind, kinds) : undefined,
          chosen.length ? inArray(notificationSubscriptions.customerId, chosen.map((c) => c.id)) : undefined,
        ),
      )
      .returning({ kind: notificationSubscriptions.kind });
    if (removed.length) {
      await recordActivity(tx, { ...ctx, actor }, 'notifications_unsubscribed', null, { kinds: [...new Set(removed.map((r) => r.kind))].join(', '), channel: channel.channelId });
    }
    return { removed: removed.length, customers: chosen };
  });
}

/** Every subscription of the organization, by channel. */
export async function listSubscriptions(db: Queryable, orgId: string) {
  return db
    .select({
      platform: notificationSubscriptions.platform,
      channelId: notificationSubscriptions.channelId,
      kind: notificationSubscriptions.kind,
      customerName: customers.name,
    })
    .from(notificationSubscriptions)
    .leftJoin(customers, eq(customers.id, notificationSubscriptions.customerId))
    .where(eq(notificationSubscriptions.orgId, orgId))
    .orderBy(asc(notificationSubscriptions.platform), asc(notificationSubscriptions.channelId), asc(customers.name));
}

const failedOf = (orgId: string) => and(eq(outbox.orgId, orgId), eq(outbox.status, 'failed'));

/** Deliveries that gave up (R-N3): the newest first, and how many there are. */
export async function failedDeliveries(db: Queryable, orgId: string, limit: number) {
  const [rows, [total]] = await Promise.all([
    db.select().from(outbox).where(failedOf(orgId)).orderBy(desc(outbox.id)).limit(limit),
    db.select({ n: count() }).from(outbox).where(failedOf(orgId)),
  ]);
  return { rows, total: total!.n };
}

/** Sends every failed delivery again, with a fresh set of attempts. */
export async function retryFailedDeliveries(ctx: CoreContext): Promise<number> {
  const actor = requireAdmin(ctx.actor, 'what.retryDeliveries');
  return ctx.db.transaction(async (tx) => {
    const rows = await tx
      .update(outbox)
      .set({ status: 'pending', attempts: 0, nextAttemptAt: sql`now()` })
      .where(failedOf(ctx.org.id))
      .returning({ id: outbox.id });
    if (rows.length) await recordActivity(tx, { ...ctx, actor }, 'deliveries_retried', null, { count: String(rows.length) });
    return rows.length;
  });
}
