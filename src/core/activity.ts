import { and, desc, eq, gte, lt, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { activityLog, customers } from '../../db/schema.js';
import type { CoreContext } from './context.js';

/** Activity actions; each has an `action.<name>` sentence in the catalog. */
export type ActivityAction =
  | 'settings_changed'
  | 'create_customer_purchase_permission'
  | 'delete_customer_purchase_permission'
  | 'create_customer_savings_plan_permission'
  | 'delete_customer_savings_plan_permission'
  | 'owner_role_confirmed'
  | 'activity_channel_set'
  | 'approvals_channel_set'
  | 'request_filed'
  | 'request_approved'
  | 'request_rejected'
  | 'request_refused'
  | 'request_failed'
  | 'request_done_in_azure'
  | 'notifications_subscribed'
  | 'notifications_unsubscribed'
  | 'deliveries_retried'
  | 'saas_purchased'
  | 'saas_changed'
  | 'saas_cancelled'
  | 'saas_licenses_assigned'
  | 'saas_setup_completed'
  | 'audience_draft_changed'
  | 'audience_published'
  | 'audience_synced'
  | 'audience_support_requested'
  | 'audience_support_granted'
  | 'audience_support_refused'
  | 'saas_cancel_requested'
  | 'saas_cancel_request_approved'
  | 'saas_cancel_request_rejected'
  | 'saas_cancel_request_refused'
  | 'partner_center_subscription_changed'
  | 'partner_center_reservation_changed';

export async function recordActivity(
  tx: Queryable,
  ctx: CoreContext & { actor: { kind: 'staff' | 'contact'; id: string; name: string } },
  action: ActivityAction,
  customerId: string | null,
  details: Record<string, string> = {},
): Promise<void> {
  await insertActivity(tx as Database).execute({
    orgId: ctx.org.id,
    customerId,
    actorStaffId: ctx.actor.kind === 'staff' ? ctx.actor.id : null,
    actorName: ctx.actor.name,
    action,
    details,
    createdAt: ctx.now(),
  });
}

/** One entry of the log, a prepared statement (inside a change's transaction too). */
const insertActivity = preparedOnce((db) =>
  db
    .insert(activityLog)
    .values({
      orgId: sql.placeholder('orgId'),
      customerId: sql.placeholder('customerId'),
      actorStaffId: sql.placeholder('actorStaffId'),
      actorName: sql.placeholder('actorName'),
      action: sql.placeholder('action'),
      details: sql.placeholder('details'),
      createdAt: sql.placeholder('createdAt'),
    })
    .prepare('insert_activity'),
);

export const activityPageSize = 20;

/** An entry as the log shows it and its export writes it, with its customer's name (from a left join on customers). */
export const activityEntryFields = {
  id: activityLog.id,
  action: activityLog.action,
  actorName: activityLog.actorName,
  details: activityLog.details,
  createdAt: activityLog.createdAt,
  customerName: customers.name,
};

/** Which entries: one customer's or all, from `from` (inclusive) to `until` (exclusive); either end may be open. */
export interface ActivityRange {
  customerId?: string;
  from?: Date;
  until?: Date;
}

/** The organization's entries in the range (R-A5: never another organization's). */
export function activityIn(orgId: string, range: ActivityRange) {
  return and(
    eq(activityLog.orgId, orgId),
    range.customerId ? eq(activityLog.customerId, range.customerId) : undefined,
    range.from ? gte(activityLog.createdAt, range.from) : undefined,
    range.until ? lt(activityLog.createdAt, range.until) : undefined,
  );
}

/** One page, newest first, plus one more row to tell whether another page follows; `since` is inclusive. */
export async function listActivity(
  db: Queryable,
  orgId: string,
  filter: { customerId?: string; since?: Date; page?: number },
) {
  const limit = activityPageSize;
  return db
    .select(activityEntryFields)
    .from(activityLog)
    .leftJoin(customers, eq(activityLog.customerId, customers.id))
    .where(activityIn(orgId, { customerId: filter.customerId, from: filter.since }))
    .orderBy(desc(activityLog.createdAt), desc(activityLog.id))
    .limit(limit + 1)
    .offset(((filter.page ?? 1) - 1) * limit);
}
