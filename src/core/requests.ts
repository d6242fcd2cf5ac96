import { randomUUID } from 'node:crypto';
import { and, asc, eq, like, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { reservationRequests, reservations, type requestKinds } from '../../db/schema.js';
import { recordActivity, type ActivityAction } from './activity.js';
import { enqueue, notify, organizationChannel, type Announcement } from './announcements.js';
import { requireAdmin } from './access.js';
import type { CoreContext } from './context.js';
import { tellDecision } from './request-messages.js';
import { customerById, customerNamedAtStart, wordsAfterCustomer, type Customer } from './customers.js';
import { DomainError } from './errors.js';
import { findSaasSubscription } from './marketplace.js';
import { refusePending, settleIntent, subscriptionTarget, type PartnerCenterIntent } from './intents.js';
import type { AzureReservationOutcome } from './context.js';
import {
  applySubscriptionChange, changeInPartnerCenter, commitSubscriptionChange, keptInPartnerCenter, recordSubscriptionIntent, type PartnerCenterEdit,
} from './subscription-edits.js';
import { refundEstimate } from './refunds.js';
import { carryOutInAzure, reservationTarget, type AzureChange, type DecidingContext } from './request-azure.js';
import { requestProblem, subscriptionProblem, type RequestProblem } from './request-problems.js';
import { lockPendingRequest, lockRequestReservation, lockRequestSubscription } from './request-queries.js';
import { termEnds, type Reservation } from './reservations.js';
import { idsListed, likeEscape, matchIdPrefix } from './text.js';
import { storedParams, type MessageKey } from '../i18n/index.js';

export type RequestKind = (typeof requestKinds)[number];
/** The kinds that change a reservation; `cancel-subscription` names a marketplace subscription instead. */
export type ReservationRequestKind = Exclude<RequestKind, 'cancel-subscription'>;
/** A request: a reservation's change, or (kind `cancel-subscription`, with subscriptionId) a marketplace subscription's cancellation. */
export type ReservationRequest = typeof reservationRequests.$inferSelect;

export interface RequestDraft {
  kind: ReservationRequestKind;
  /** The reservation's ID or an unambiguous prefix of it. */
  reservation: string;
  product?: string;
  scope?: 'shared' | 'single';
  subscriptionId?: string;
  reason?: string;
  /** The words after `for`: the customer asked for, which must own the reservation, then possibly the reason. */
  customer?: string;
}

/** A customer contact finds only their own customer's reservations, so nothing else is revealed (R-A1). */
export async function findReservation(db: Queryable, ctx: Pick<CoreContext, 'org' | 'actor'>, ref: string): Promise<Reservation> {
  const own = ctx.actor.kind === 'contact' ? eq(reservations.customerId, ctx.actor.customerId) : undefined;
  const found = await db
    .select()
    .from(reservations)
    .where(and(eq(reservations.orgId, ctx.org.id), own, like(reservations.id, `${likeEscape(ref)}%`)))
    .orderBy(asc(reservations.id))
    .limit(idsListed + 1);
  const match = matchIdPrefix(found, ref);
  if (match.state === 'found') return match.row;
  if (match.state === 'ambiguous') throw new DomainError('request.ambiguousReservation', { reservation: ref, ids: match.ids });
  throw new DomainError('request.unknownReservation', { reservation: ref });
}

/** R-P7, R-Q1: a customer contact (or staff for them) asks for a change; the card goes to the approvals channel. */
export async function fileRequest(ctx: CoreContext, draft: RequestDraft): Promise<{ request: ReservationRequest; reservation: Reservation; customer: Customer }> {
  const actor = ctx.actor;
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  const reservation = await findReservation(ctx.db, ctx, draft.reservation);
  const customer = await customerById(ctx.db, ctx.org.id, reservation.customerId);
  const reason = draft.customer ? [draft.reason, await wordsAfterOwner(ctx, reservation, customer, draft.customer)].filter(Boolean).join(' ') : draft.reason;
  if (reason && reason.length > maxReasonLength) throw new DomainError('error.tooLong', { length: reason.length, max: maxReasonLength }, { terms: { what: 'what.reason' } });
  const details: ReservationRequest['details'] =
    draft.kind === 'exchange' ? { product: draft.product } : draft.kind === 'scope' ? { scope: draft.scope, subscriptionId: draft.subscriptionId } : {};
  const candidate = { kind: draft.kind, details, requestedByContactId: actor.kind === 'contact' ? actor.id : null };
  const problem = await requestProblem(ctx.db, candidate, reservation);
  if (problem) throw new DomainError(problem.key, { ...problem.params, reservation: reservation.id });
  // With the connector, the card's refund is Azure's own quote (calculateRefund), asked with nothing locked.
  const azure = ctx.partnerCenter?.azure;
  if (draft.kind === 'cancel' && azure && reservation.reservationOrderId) {
    // Azure refusing a quote does not stop the request: the approver sees Azure's answer when approving.
    const quote = await azure
      .refundQuote(customer.tenantId, { reservationOrderId: reservation.reservationOrderId, reservationId: reservation.id, quantity: reservation.quantity })
      .catch((error: unknown) => {
        if (error instanceof DomainError) return undefined;
        throw error;
      });
    if (quote) details.azureRefund = quote;
  }

  const request = await saveRequest(
    ctx,
    actor,
    customer,
    { reservationId: reservation.id, kind: draft.kind, details, reason },
    { action: 'request_filed', details: { kind: draft.kind, reservation: reservation.id } },
    { key: 'request.announceFiled', params: { name: actor.name, customer: customer.name, kind: draft.kind, reservation: reservation.id } },
  );
  return { request, reservation, customer };
}

/**
 * `for <customer> [reason]`: the customer's name is the longest start of the words that names the
 * reservation's customer (names have spaces: HR 본사, 한빛 상사); the words after it are the reason.
 */
async function wordsAfterOwner(ctx: CoreContext, reservation: Reservation, owner: Customer, text: string): Promise<string> {
  const rest = wordsAfterCustomer(owner, text);
  if (rest !== undefined) return rest;
  // Staff are told which other customer they named; a contact learns nothing of other customers (R-A1).
  const other = ctx.actor.kind === 'staff' ? await customerNamedAtStart(ctx.db, ctx.org.id, text) : undefined;
  if (other) throw new DomainError('request.notThatCustomer', { reservation: reservation.id, customer: other.named });
  throw new DomainError('request.customerNotNamed', { reservation: reservation.id, owner: owner.name, text });
}

export interface SubscriptionRequestDraft {
  /** The marketplace subscription's ID or an unambiguous start of it (at least 4 characters). */
  subscription: string;
  reason?: string;
}

/**
 * R-Q1, R-M7: a customer contact asks the partner to cancel a marketplace
 * subscription of their own customer (others are not found, R-A1). Refused
 * at once when the cancellation window already closed (R-M10); otherwise it
 * becomes a request with the same card, routing and log as a reservation's.
 */
export async function fileSubscriptionRequest(ctx: CoreContext, draft: SubscriptionRequestDraft): Promise<{ request: ReservationRequest; customer: Customer }> {
  const actor = ctx.actor;
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  const { subscription, offer } = await findSaasSubscription(ctx.db, ctx, draft.subscription);
  const customer = await customerById(ctx.db, ctx.org.id, subscription.customerId);
  const problem = await subscriptionProblem(ctx.db, { requestedByContactId: null }, subscription, ctx.now());
  if (problem?.key.startsWith('request.problemWindowClosed.')) {
    // The R-M10 refusal; a contact cannot turn auto-renew off, so they are told to ask for it.
    const key = actor.kind === 'contact' ? 'subscription.windowClosedContact' : 'subscription.windowClosed';
    throw new DomainError(key, { subscription: subscription.id, ...problem.params }, { terms: { term: `saasTermName.${subscription.term!}` } });
  }
  if (problem) throw new DomainError(problem.key, { ...problem.params, subscription: subscription.id });
  const plan = offer?.plans.find((p) => p.id === subscription.planId);
  const details = { offer: offer?.name ?? subscription.offerId ?? '', plan: plan?.name ?? subscription.planId ?? '' };

  const logged = { subscription: subscription.id, offer: details.offer, plan: details.plan };
  const request = await saveRequest(
    ctx,
    actor,
    customer,
    { subscriptionId: subscription.id, kind: 'cancel-subscription', details, reason: draft.reason },
    { action: 'saas_cancel_requested', details: logged },
    { key: 'request.announceFiledSubscription', params: { name: actor.name, customer: customer.name, ...logged } },
  );
  return { request, customer };
}

/**
 * The request row, its log entry, its card in the approvals channel (else the
 * activity channel) and its announcement to the channels that hear requests,
 * in one transaction.
 */
async function saveRequest(
  ctx: CoreContext,
  actor: Extract<CoreContext['actor'], { kind: 'staff' | 'contact' }>,
  customer: Customer,
  values: Pick<typeof reservationRequests.$inferInsert, 'reservationId' | 'subscriptionId' | 'kind' | 'details'> & { reason?: string },
  log: { action: ActivityAction; details: Record<string, string> },
  announcement: Announcement,
): Promise<ReservationRequest> {
  return ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(reservationRequests)
      .values({
        ...values,
        orgId: ctx.org.id,
        customerId: customer.id,
        reason: values.reason || null,
        requestedByStaffId: actor.kind === 'staff' ? actor.id : null,
        requestedByContactId: actor.kind === 'contact' ? actor.id : null,
        requestedByName: actor.name,
        requestedPlatform: ctx.conversation.platform,
        requestedChannelId: ctx.conversation.channelId,
        requestedByUserId: ctx.conversation.person?.id ?? null,
        requestedByAadObjectId: ctx.conversation.person?.aadObjectId ?? null,
        createdAt: ctx.now(),
      })
      .returning();
    await recordActivity(tx, { ...ctx, actor }, log.action, customer.id, log.details);
    const approvals = organizationChannel(ctx.org, 'approvals') ?? organizationChannel(ctx.org, 'activity');
    if (approvals) await enqueue(tx, ctx.org.id, approvals, { requestCard: row!.id });
    await notify(tx, ctx.org, {
      kind: 'requests',
      customerId: customer.id,
      message: { key: announcement.key, params: { ...announcement.params, id: row!.id.slice(0, 8) } },
      except: approvals,
    });
    return row!;
  });
}

/** The change an approval makes, inside the decision's transaction. */
async function applyRequest(tx: Queryable, request: ReservationRequest, reservation: Reservation, now: Date, azure?: AzureReservationOutcome) {
  const where = and(eq(reservations.orgId, reservation.orgId), eq(reservations.id, reservation.id));
  const successor = (changes: Partial<Reservation>) => ({
    ...reservation,
    ...changes,
    id: randomUUID(),
    reservationOrderId: null,
    status: 'active' as const,
    purchasedBy: 'partner' as const,
    createdAt: now,
  });
  switch (request.kind) {
    case 'cancel':
      await tx.update(reservations).set({ status: 'cancelled' }).where(where);
      return;
    case 'exchange':
      await tx.update(reservations).set({ status: 'exchanged' }).where(where);
      // Made in Azure, the new reservation is kept under Azure's IDs, or not at all while they are unknown: none is made up.
      if (azure && !azure.successor) return;
      await tx.insert(reservations).values({
        ...successor({ product: request.details.sku ?? request.details.product!, purchasedAt: now }),
        ...(azure?.successor ? { id: azure.successor.reservationId, reservationOrderId: azure.successor.reservationOrderId } : {}),
      });
      return;
    case 'renew':
      // The new term starts when the current one ends; Azure buys it then (renew: true).
      await tx.insert(reservations).values(successor({ purchasedAt: termEnds(reservation) }));
      return;
    case 'scope':
      await tx
        .update(reservations)
        .set({ scope: request.details.scope!, subscriptionId: request.details.scope === 'single' ? request.details.subscriptionId! : null })
        .where(where);
  }
}

/** The longest reason a request or a rejection may give. */
export const maxReasonLength = 500;

export type DecisionResult = { state: 'decided' | 'already'; request: ReservationRequest };

/**
 * R-Q2–R-Q5: an admin approves or rejects, exactly once. The request row is
 * locked, so concurrent clicks (any instance) wait and then find it decided;
 * the rules are checked again, and the effect, the log and the requester's
 * notice commit together.
 */
export async function decideRequest(ctx: CoreContext, requestId: string, decision: 'approve' | 'reject', note?: string): Promise<DecisionResult> {
  const actor = requireAdmin(ctx.actor, 'what.decideRequest');
  // One moment for the whole decision: the rules are checked and the change made at the same time.
  const now = ctx.now();
  const at = { ...ctx, actor, now: () => now };
  // Approving the cancellation of a subscription kept in Partner Center: it is cancelled there first, with no lock held.
  const remote = decision === 'approve' ? await cancelInPartnerCenter(at, requestId, note) : undefined;
  // Approving a reservation's change with the connector: Azure makes it first, with no lock held.
  const azure = decision === 'approve' && !remote ? await carryOutInAzure(at, requestId) : undefined;
  return commitDecision(at, requestId, decision, note, remote, azure);
}

/**
 * The decision's transaction: the request locked and decided, the rules checked again (unless
 * Partner Center already made the change), the effect, the log and the requester's notice.
 * A repair commits a decision Partner Center made before a crash through this too.
 */
export async function commitDecision(
  ctx: DecidingContext,
  requestId: string,
  decision: 'approve' | 'reject',
  note: string | undefined,
  remote?: RemoteCancellation,
  azure?: AzureChange,
): Promise<DecisionResult> {
  const { actor } = ctx;
  const now = ctx.now();
  return ctx.db.transaction(async (tx): Promise<DecisionResult> => {
    const [request] = await tx
      .select()
      .from(reservationRequests)
      .where(and(eq(reservationRequests.orgId, ctx.org.id), eq(reservationRequests.id, requestId)))
      .for('update');
    if (!request) throw new DomainError('request.unknown', { request: requestId });
    if (request.status !== 'pending') return { state: 'already', request };
    const outcome = request.subscriptionId ? await decideOnSubscription(tx, ctx, request, decision, remote) : await decideOnReservation(tx, ctx, request, decision, azure);
    const status = outcome.failed ? 'failed' : outcome.problem ? 'refused' : decision === 'approve' ? 'approved' : 'rejected';
    const [decided] = await tx
      .update(reservationRequests)
      .set({
        status,
        decidedByName: actor.name,
        decidedAt: now,
        decisionNote: note ?? null,
        refusal: outcome.problem ? { key: outcome.problem.key, params: storedParams(outcome.problem.params) } : null,
        refundAmount: outcome.refund ? outcome.refund.amount.toFixed(2) : null,
        refundCurrency: outcome.refund?.currency ?? null,
        carriedOut: status === 'approved' ? (outcome.carriedOut ?? null) : null,
        ...(outcome.details ? { details: { ...request.details, ...outcome.details } } : {}),
      })
      .where(eq(reservationRequests.id, request.id))
      .returning();
    const subject: Record<string, string> = request.subscriptionId
      ? { subscription: request.subscriptionId, offer: request.details.offer ?? '', plan: request.details.plan ?? '' }
      : { kind: request.kind, reservation: request.reservationId! };
    // Only a reservation's change can fail in Azure.
    await recordActivity(tx, ctx, (request.subscriptionId ? `saas_cancel_request_${status}` : `request_${status}`) as ActivityAction, request.customerId, subject);
    await outcome.effect?.();
    const requester = await tellDecision(tx, request);
    // Recorded here only: the admins get the Azure portal steps and a Done in Azure button where the card is.
    const approvals = organizationChannel(ctx.org, 'approvals') ?? organizationChannel(ctx.org, 'activity');
    if (status === 'approved' && outcome.carriedOut === 'portal' && approvals) await enqueue(tx, ctx.org.id, approvals, { azureTodo: request.id });
    await notify(tx, ctx.org, {
      kind: 'requests',
      customerId: request.customerId,
      message: {
        key: (request.subscriptionId ? `request.announceSubscription_${status}` : `request.announce_${status}`) as MessageKey,
        params: { name: actor.name, ...subject, id: request.id.slice(0, 8) },
      },
      except: requester,
    });
    return { state: 'decided', request: decided! };
  });
}

interface DecisionOutcome {
  /** Why the rules refused it now (R-Q4), or Azure's refusal (then `failed`), stored with the request. */
  problem?: RequestProblem;
  failed?: boolean;
  /** An approved reservation change: made in Azure, or recorded here to be made in the Azure portal. */
  carriedOut?: 'azure' | 'portal';
  refund?: { amount: number; currency: string };
  /** The approved change, made after the decision's log row, in the same transaction. */
  effect?: () => Promise<unknown>;
  /** What the decision adds to the request's details. */
  details?: Partial<ReservationRequest['details']>;
}

/** A reservation's request: the reservation is locked, the rules checked again, and the change made on approval. */
async function decideOnReservation(tx: Queryable, ctx: DecidingContext, request: ReservationRequest, decision: 'approve' | 'reject', azure?: AzureChange): Promise<DecisionOutcome> {
  const reservation = await lockRequestReservation(tx, ctx.org.id, request.reservationId!);
  // Not while Azure is making another admin's approval of it.
  if (!azure) await refusePending(tx, ctx.org.id, reservationTarget(request.reservationId!));
  if (decision !== 'approve') return {};
  if (azure) {
    // Settled here first, so of this commit and a repair only one commits Azure's outcome.
    const { answer } = azure;
    await settleIntent(tx, azure.intent, answer.state === 'done' ? 'done' : 'failed', answer.state === 'done' ? undefined : { reason: 'azure.refused', code: answer.code, message: answer.message });
    if (answer.state === 'refused') return { failed: true, problem: { key: 'azure.refused', params: { code: answer.code, message: answer.message } } };
    await applyRequest(tx, request, reservation!, ctx.now(), answer.outcome);
    const refund = request.kind === 'cancel' ? (answer.outcome.refund ?? refundEstimate(reservation!, ctx.now())) : undefined;
    // Azure made the exchange but named no reservation bought in its place: the card says so.
    const successorUnknown = request.kind === 'exchange' && !answer.outcome.successor;
    return { carriedOut: 'azure', ...(refund ? { refund } : {}), ...(successorUnknown ? { details: { successorUnknown } } : {}) };
  }
  const problem = await requestProblem(tx, request, reservation);
  if (problem) return { problem: { key: problem.key, params: { ...problem.params, reservation: request.reservationId! } } };
  await applyRequest(tx, request, reservation!, ctx.now());
  const refund = request.kind === 'cancel' ? { refund: request.details.azureRefund ?? refundEstimate(reservation!, ctx.now()) } : {};
  return { carriedOut: 'portal', ...refund };
}

/**
 * Without the connector (or without Azure's reservation order ID) an approved change is only recorded
 * here; an admin makes it in the Azure portal and marks it done, once.
 */
export async function markDoneInAzure(ctx: CoreContext, requestId: string): Promise<DecisionResult> {
  const actor = requireAdmin(ctx.actor, 'what.decideRequest');
  return ctx.db.transaction(async (tx): Promise<DecisionResult> => {
    const [marked] = await tx
      .update(reservationRequests)
      .set({ doneInAzureByName: actor.name, doneInAzureAt: ctx.now() })
      .where(
        and(
          eq(reservationRequests.orgId, ctx.org.id),
          eq(reservationRequests.id, requestId),
          eq(reservationRequests.carriedOut, 'portal'),
          sql`${reservationRequests.doneInAzureAt} is null`,
        ),
      )
      .returning();
    if (!marked) {
      const [request] = await tx.select().from(reservationRequests).where(and(eq(reservationRequests.orgId, ctx.org.id), eq(reservationRequests.id, requestId)));
      if (!request) throw new DomainError('request.unknown', { request: requestId });
      return { state: 'already', request };
    }
    await recordActivity(tx, { ...ctx, actor }, 'request_done_in_azure', marked.customerId, { kind: marked.kind, reservation: marked.reservationId ?? '' });
    await tellDecision(tx, marked);
    return { state: 'decided', request: marked };
  });
}

/** A cancellation Partner Center was asked to make: the intent and Partner Center's answer. */
export interface RemoteCancellation {
  intent: PartnerCenterIntent;
  answer: PartnerCenterEdit;
}

/**
 * Steps 1 and 2 of approving a cancellation of a subscription kept in Partner Center: on the
 * locked request and subscription, the rules are checked and the intent recorded; then Partner
 * Center is asked with nothing locked. Undefined when there is nothing to ask Partner Center (the
 * request is decided already, is a reservation's, or the rules refuse it now, R-Q4).
 */
async function cancelInPartnerCenter(ctx: DecidingContext, requestId: string, note?: string): Promise<RemoteCancellation | undefined> {
  const asked = await ctx.db.transaction(async (tx) => {
    const request = await lockPendingRequest(tx, ctx.org.id, requestId);
    if (!request?.subscriptionId) return undefined;
    const subscription = await lockRequestSubscription(tx, ctx.org.id, request.subscriptionId);
    if (!subscription || !keptInPartnerCenter(ctx, subscription) || (await subscriptionProblem(tx, request, subscription, ctx.now()))) return undefined;
    const change = { kind: 'subscription' as const, change: { kind: 'cancel' as const }, ...(note ? { note } : {}) };
    return { subscription, intent: await recordSubscriptionIntent(tx, ctx, subscription, change, request.id) };
  });
  if (!asked) return undefined;
  return { intent: asked.intent, answer: await changeInPartnerCenter(ctx, asked.subscription, { kind: 'cancel' }, asked.intent) };
}

/**
 * A marketplace subscription's cancellation: the subscription is locked and its window checked
 * again now (R-M10, R-Q4); inside it, the marketplace core cancels it in this transaction, with
 * its own log row and announcement. One kept in Partner Center was cancelled there already
 * (`remote`); a copy changed there since csp-ops read it (another ETag) refuses the request.
 */
async function decideOnSubscription(
  tx: Queryable,
  ctx: DecidingContext,
  request: ReservationRequest,
  decision: 'approve' | 'reject',
  remote?: RemoteCancellation,
): Promise<DecisionOutcome> {
  const subscription = await lockRequestSubscription(tx, ctx.org.id, request.subscriptionId!);
  // Not while Partner Center is cancelling it on another admin's approval.
  if (!remote) await refusePending(tx, ctx.org.id, subscriptionTarget(request.subscriptionId!));
  if (decision !== 'approve') return {};
  if (remote?.answer.state === 'conflict') {
    await commitSubscriptionChange(tx, ctx, subscription!.id, { kind: 'cancel' }, remote.answer, remote.intent);
    return { problem: { key: 'partnerCenter.editConflict', params: { subscription: subscription!.id, changes: { fieldChanges: remote.answer.changes } } } };
  }
  if (remote) return { effect: () => commitSubscriptionChange(tx, ctx, subscription!.id, { kind: 'cancel' }, remote.answer, remote.intent) };
  const problem = await subscriptionProblem(tx, request, subscription, ctx.now());
  if (problem) return { problem: { key: problem.key, params: { ...problem.params, subscription: request.subscriptionId! } } };
  return { effect: () => applySubscriptionChange(tx, ctx, subscription!, { kind: 'cancel' }) };
}
