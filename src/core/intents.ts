import { and, eq } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { partnerCenterIntents, staff, type PartnerCenterIntentChange } from '../../db/schema.js';
import type { Actor, CoreContext, Organization } from './context.js';
import { DomainError } from './errors.js';

/**
 * Every change csp-ops asks of Partner Center goes in three steps, so no row lock is held while
 * Partner Center answers and a crash at any point can be repaired: (1) a short transaction checks
 * the rules and records the intent; (2) the call, with no transaction open; (3) a transaction
 * commits the outcome and marks the intent done. An intent a crash left pending is resolved by
 * src/partner-center/repair.ts from what Partner Center holds.
 */
export type PartnerCenterIntent = typeof partnerCenterIntents.$inferSelect;
type StaffContext = CoreContext & { actor: Extract<Actor, { kind: 'staff' }> };

export interface IntentTarget {
  kind: PartnerCenterIntent['kind'];
  target: string;
  customerId: string;
  subscriptionId?: string;
  requestId?: string;
  change: PartnerCenterIntentChange;
}

/** One policy holds every permission of a customer, so permission changes of one customer are one target. */
export const policyTarget = (customerId: string) => `policy:${customerId}`;
export const subscriptionTarget = (subscriptionId: string) => `subscription:${subscriptionId}`;

/** Step 1, in the caller's transaction: refused while another change of the same target waits for Partner Center. */
export async function recordIntent(tx: Queryable, ctx: StaffContext, intent: IntentTarget): Promise<PartnerCenterIntent> {
  const [row] = await tx
    .insert(partnerCenterIntents)
    .values({
      orgId: ctx.org.id,
      ...intent,
      actorStaffId: ctx.actor.id,
      actorName: ctx.actor.name,
      actorPlatform: ctx.conversation.platform,
      actorChannelId: ctx.conversation.channelId,
      createdAt: ctx.now(),
      updatedAt: ctx.now(),
    })
    // The partial unique index on (org, target) while pending: a second one inserts nothing.
    .onConflictDoNothing()
    .returning();
  if (row) return row;
  await refusePending(tx, ctx.org.id, intent.target);
  throw new Error(`partner_center_intents: no pending intent for ${intent.target} after a conflict`);
}

async function pendingIntent(db: Queryable, orgId: string, target: string): Promise<PartnerCenterIntent | undefined> {
  const [pending] = await db
    .select()
    .from(partnerCenterIntents)
    .where(and(eq(partnerCenterIntents.orgId, orgId), eq(partnerCenterIntents.target, target), eq(partnerCenterIntents.status, 'pending')));
  return pending;
}

/** The change of this target waiting for an answer, if any. */
export const intentFor = (db: Queryable, orgId: string, target: string) => pendingIntent(db, orgId, target);

export async function hasPendingIntent(db: Queryable, orgId: string, target: string): Promise<boolean> {
  return Boolean(await pendingIntent(db, orgId, target));
}

/** Throws when a change of this target is waiting for Partner Center's answer. */
export async function refusePending(db: Queryable, orgId: string, target: string): Promise<void> {
  const pending = await pendingIntent(db, orgId, target);
  if (pending) throw new DomainError('partnerCenter.pending', { actor: pending.actorName, since: pending.createdAt });
}

/**
 * Step 2: the call, outside any transaction. A refusal Partner Center answered marks the intent
 * failed with its reason; when no answer came (unreachable), whether it was made is unknown and
 * the intent stays pending for the repair to find out.
 */
export async function askPartnerCenter<T>(db: Database, intent: PartnerCenterIntent, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    // Only a call that left without an answer may have been made; a refusal, or a sign-in that failed before any call, was not.
    const answerUnknown = error instanceof DomainError && error.code === 'partnerCenter.unreachable' && error.params.code === 'unreachable';
    if (error instanceof DomainError && !answerUnknown) {
      await settleIntent(db, intent, 'failed', { reason: error.code, ...error.params });
    }
    throw error;
  }
}

/**
 * Settles a pending intent; false when it was settled already. Step 3 settles it first in the
 * outcome's transaction, so of the request's own commit and a repair only one commits the outcome.
 */
export async function settleIntent(db: Queryable, intent: Pick<PartnerCenterIntent, 'id' | 'orgId'>, status: 'done' | 'failed' | 'abandoned', outcome?: Record<string, string | number>): Promise<boolean> {
  const settled = await db
    .update(partnerCenterIntents)
    .set({ status, updatedAt: new Date(), ...(outcome ? { outcome } : {}) })
    .where(and(eq(partnerCenterIntents.orgId, intent.orgId), eq(partnerCenterIntents.id, intent.id), eq(partnerCenterIntents.status, 'pending')))
    .returning({ id: partnerCenterIntents.id });
  return settled.length > 0;
}

/** The context an intent was recorded in: its outcome is committed as the person who asked. */
export async function intentContext(db: Database, org: Organization, intent: PartnerCenterIntent): Promise<StaffContext> {
  const [person] = await db.select({ role: staff.role }).from(staff).where(and(eq(staff.orgId, org.id), eq(staff.id, intent.actorStaffId)));
  const now = new Date();
  return {
    db,
    org,
    actor: { kind: 'staff', id: intent.actorStaffId, name: intent.actorName, role: person!.role },
    conversation: { platform: intent.actorPlatform as CoreContext['conversation']['platform'], channelId: intent.actorChannelId },
    now: () => now,
  };
}
