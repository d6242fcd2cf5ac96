import { and, desc, eq, gte } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
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
  await tx.insert(activityLog).values({
    orgId: ctx.org.id,
    customerId,
    actorStaffId: ctx.actor.kind === 'staff' ? ctx.actor.id : null,
    actorName: ctx.actor.name,
    action,
    details,
    createdAt: ctx.now(),
  });
}

export const activityPageSize = 20;

/** One page, newest first, plus one more row to tell whether another page follows; `since` is inclusive. */
export async function listActivity(
  db: Queryable,
  orgId: string,
  filter: { customerId?: string; since?: Date; page?: number },
) {
  const limit = activityPageSize;
  return db
    .select({
      id: activityLog.id,
      action: activityLog.action,
      actorName: activityLog.actorName,
      details: activityLog.details,
      createdAt: activityLog.createdAt,
      customerName: customers.name,
    })
    .from(activityLog)
    .leftJoin(customers, eq(activityLog.customerId, customers.id))
    .where(
      and(
        eq(activityLog.orgId, orgId),
        filter.customerId ? eq(activityLog.customerId, filter.customerId) : undefined,
        filter.since ? gte(activityLog.createdAt, filter.since) : undefined,
      ),
    )
    .orderBy(desc(activityLog.createdAt), desc(activityLog.id))
    .limit(limit + 1)
    .offset(((filter.page ?? 1) - 1) * limit);
}
