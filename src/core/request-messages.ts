import { and, eq, inArray, isNull, lte, or, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { organizations, outbox, reservationRequests, staff } from '../../db/schema.js';
import { enqueue, organizationChannel, type ChatTarget } from './announcements.js';
import type { ChatPerson } from './context.js';
import type { ReservationRequest } from './requests.js';

/* The messages a request's card and its decision travel in, besides the card posted when it is filed. */

/**
 * R-Q5, whatever decided the request: every channel holding a copy of its card
 * (posted or still waiting) gets the copies there updated, after any copy still
 * queued before; the requester is told where they asked, else in a direct chat.
 * Returns where the requester is told.
 */
export async function tellDecision(tx: Queryable, request: ReservationRequest): Promise<ChatTarget | undefined> {
  await refreshRequestCards(tx, request);
  const requester = await requesterRoute(tx, request);
  if (requester) await enqueue(tx, request.orgId, requester.target, { decisionNotice: request.id, ...(requester.person ? { person: requester.person } : {}) });
  return requester?.target;
}

/** Every copy of the request's card (posted or still waiting) is updated to show it as it stands now. */
export async function refreshRequestCards(tx: Queryable, request: ReservationRequest): Promise<void> {
  const copies = await tx
    .selectDistinct({ platform: outbox.platform, channelId: outbox.channelId })
    .from(outbox)
    .where(
      and(
        eq(outbox.orgId, request.orgId),
        sql`${outbox.message} ? 'requestCard'`,
        sql`${outbox.message}->>'requestCard' = ${request.id}`,
        inArray(outbox.status, ['pending', 'sent']),
      ),
    );
  for (const copy of copies) await enqueue(tx, request.orgId, copy, { refreshRequestCard: request.id });
}

/**
 * The conversation where the request was typed, with the person to reach
 * directly if the bot cannot post there; from the terminal, the staff
 * member's Slack direct chat when their Slack user is known.
 */
async function requesterRoute(tx: Queryable, request: ReservationRequest): Promise<{ target: ChatTarget; person?: ChatPerson } | undefined> {
  const person = request.requestedByUserId ? { id: request.requestedByUserId, ...(request.requestedByAadObjectId ? { aadObjectId: request.requestedByAadObjectId } : {}) } : undefined;
  if (request.requestedChannelId) return { target: { platform: request.requestedPlatform, channelId: request.requestedChannelId }, person };
  if (!request.requestedByStaffId) return undefined;
  const [member] = await tx.select({ slackUserId: staff.slackUserId }).from(staff).where(and(eq(staff.orgId, request.orgId), eq(staff.id, request.requestedByStaffId)));
  return member?.slackUserId ? { target: { platform: 'slack', channelId: member.slackUserId }, person: { id: member.slackUserId } } : undefined;
}

const day = 24 * 60 * 60 * 1000;

/**
 * A request pending for more than 24 hours is reminded in the approvals channel
 * once a day until decided. Rows are claimed with SKIP LOCKED and stamped in the
 * same transaction as the reminder, so several instances never remind twice.
 */
export async function remindPendingRequests(db: Database, now: Date): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ request: reservationRequests, org: organizations })
      .from(reservationRequests)
      .innerJoin(organizations, eq(organizations.id, reservationRequests.orgId))
      .where(
        and(
          eq(reservationRequests.status, 'pending'),
          lte(reservationRequests.createdAt, new Date(now.getTime() - day)),
          or(isNull(reservationRequests.lastRemindedAt), lte(reservationRequests.lastRemindedAt, new Date(now.getTime() - day))),
        ),
      )
      .limit(100)
      .for('update', { of: reservationRequests, skipLocked: true });
    for (const { request, org } of due) {
      await tx.update(reservationRequests).set({ lastRemindedAt: now }).where(eq(reservationRequests.id, request.id));
      const target = organizationChannel(org, 'approvals') ?? organizationChannel(org, 'activity');
      if (target) await enqueue(tx, org.id, target, { requestCard: request.id, reminder: true });
    }
    return due.length;
  });
}
