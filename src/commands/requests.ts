import { requireAdmin, requireStaff } from '../core/access.js';
import { customerById, resolveCustomer } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import { refundCap, refundEstimate, refundsInLastYear, type RefundEstimate } from '../core/refunds.js';
import { cancellationWindowCloses, insideCancellationWindow, type Subscription } from '../core/marketplace.js';
import { intentFor } from '../core/intents.js';
import {
  markDoneInAzure,
  decideRequest, fileRequest, fileSubscriptionRequest, type RequestDraft, type ReservationRequest,
  type SubscriptionRequestDraft,
} from '../core/requests.js';
import { reservationTarget } from '../core/request-azure.js';
import { findRequest, listRequests, requestById, reservationOf, subscriptionOf } from '../core/request-queries.js';
import { formatMoney, formatTimestamp, type MessageKey, type Translate } from '../i18n/index.js';
import type { View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';
import type { Command } from './grammar.js';
import { pageFooter } from './paging.js';

function change(t: Translate, r: Pick<ReservationRequest, 'kind' | 'reservationId' | 'subscriptionId' | 'details'>): string {
  if (r.kind === 'cancel-subscription') {
    return t('request.change.cancel-subscription', { offer: r.details.offer ?? '', plan: r.details.plan ?? '', subscription: r.subscriptionId ?? '' });
  }
  const params = { reservation: r.reservationId ?? '', product: r.details.product ?? '', subscription: r.details.subscriptionId ?? '' };
  const key: MessageKey = r.kind === 'scope' ? `request.change.scope.${r.details.scope ?? 'shared'}` : `request.change.${r.kind}`;
  return t(key, params);
}

/** What an admin does in the Azure portal for a change csp-ops did not make, with the articles that explain it. */
function portalSteps(t: Translate, r: ReservationRequest): string {
  const params = { reservation: r.reservationId ?? '', subscription: r.details.subscriptionId ?? '' };
  switch (r.kind) {
    case 'scope':
      return t(r.details.scope === 'single' ? 'request.portalSteps.scopeSingle' : 'request.portalSteps.scopeShared', params);
    case 'renew':
      return t('request.portalSteps.renew', params);
    default:
      return t('request.portalSteps.refund', params);
  }
}

/**
 * Who reads a request's card: partner staff, or the customer contact who asked (their decision notice
 * and home), who cannot make the change themselves and is told the partner makes it (R-P7).
 */
type Reader = 'staff' | 'customer';

/**
 * R-P7: the approved change csp-ops did not make — recorded here only (no connector, or no Azure
 * reservation order known), or refused by Azure — is made by the partner in the Azure portal: staff
 * get the steps and the articles.
 */
function portalLines(t: Translate, r: ReservationRequest, reader: Reader): string[] {
  if (reader === 'customer' || !r.reservationId) return [];
  if (r.status === 'failed') return [t('request.failedSteps'), portalSteps(t, r), t('request.portalGuide')];
  const recordedOnly = r.status === 'approved' && r.carriedOut === 'portal' && !r.doneInAzureAt;
  return recordedOnly ? [portalSteps(t, r), t('request.portalGuide')] : [];
}

/** R-P12: what the scope a request asks for means. */
function scopeLines(t: Translate, r: Pick<ReservationRequest, 'kind' | 'details'>): string[] {
  return r.kind === 'scope' ? [t(`reservation.scopeNote.${r.details.scope ?? 'shared'}`)] : [];
}

/** While Azure is carrying out an approval: who approved it and since when. */
type InProgress = { name: string; since: Date } | undefined;

/** The outcome line of a request, or that it waits. */
function outcome(t: Translate, r: ReservationRequest, inProgress?: InProgress, reader: Reader = 'staff'): string {
  const decided = { name: r.decidedByName ?? '', date: r.decidedAt ? formatTimestamp(t, r.decidedAt) : '' };
  switch (r.status) {
    case 'pending':
      return inProgress ? t('request.inProgress', { name: inProgress.name, date: formatTimestamp(t, inProgress.since) }) : t('request.pending');
    case 'failed':
      return t('request.failed', { ...decided, problem: r.refusal ? t(r.refusal.key as MessageKey, r.refusal.params) : '' });
    case 'approved':
      if (r.carriedOut === 'azure') return t(r.details.successorUnknown ? 'request.approvedInAzureNoSuccessor' : 'request.approvedInAzure', decided);
      if (r.carriedOut !== 'portal') return t('request.approved', decided);
      if (r.doneInAzureAt) return t('request.approvedDoneInAzure', { ...decided, doneBy: r.doneInAzureByName ?? '', doneAt: formatTimestamp(t, r.doneInAzureAt) });
      return t(reader === 'customer' ? 'request.approvedPartnerMakes' : 'request.approvedPortal', decided);
    case 'rejected':
      return r.decisionNote ? t('request.rejectedReason', { ...decided, reason: r.decisionNote }) : t('request.rejected', decided);
    case 'refused':
      return t('request.refused', { ...decided, problem: r.refusal ? t(r.refusal.key as MessageKey, r.refusal.params) : '' });
  }
}

interface RefundFacts {
  estimate: RefundEstimate;
  lastYear: number;
  /** Azure's calculateRefund quote, when the connector asked for one: shown instead of the local estimate. */
  azure?: { amount: number; currency: string };
}

/** A pending cancellation shows what it would refund and where that leaves the customer against the yearly cap. */
function refundLines(t: Translate, refund: RefundFacts | undefined) {
  if (!refund) return { facts: [], lines: [] };
  const { lastYear, azure } = refund;
  const estimate = azure ? { ...refund.estimate, ...azure } : refund.estimate;
  const facts = [
    azure
      ? { label: t('request.refundAzure'), value: formatMoney(t, azure.amount, azure.currency) }
      : { label: t('request.refundEstimate'), value: t('request.refundValue', { amount: formatMoney(t, estimate.amount, estimate.currency), remaining: estimate.remainingDays, term: estimate.termDays }) },
    { label: t('request.refundsLastYear'), value: t('request.refundCapValue', { amount: formatMoney(t, lastYear, refundCap.currency), cap: formatMoney(t, refundCap.amount, refundCap.currency) }) },
  ];
  const counted = estimate.currency === refundCap.currency;
  const over = counted && lastYear + estimate.amount > refundCap.amount;
  const lines = over ? [t('request.refundOverCap', { total: formatMoney(t, lastYear + estimate.amount, refundCap.currency), cap: formatMoney(t, refundCap.amount, refundCap.currency) })] : [];
  // R-P11: what the refund is figured from.
  return { facts, lines: [...(counted ? lines : [t('request.refundOtherCurrency', { currency: estimate.currency })]), t('request.refundPriceNote')] };
}

/**
 * A subscription's cancellation shows what is cancelled and, while it waits,
 * until when its cancellation window is open (R-M10): approving after that refuses it.
 */
function subscriptionFacts(t: Translate, r: ReservationRequest, subscription: Subscription | undefined, now: Date) {
  if (!subscription?.term || !subscription.purchasedAt) return [];
  const window = { term: subscription.term, purchasedAt: subscription.purchasedAt };
  const closes = cancellationWindowCloses(window);
  return [
    {
      label: t('request.subscription'),
      value: t('request.subscriptionValue', {
        name: subscription.friendlyName ?? subscription.id,
        seats: subscription.seats ?? 0,
        term: t(`saasTermName.${subscription.term}`),
        date: formatTimestamp(t, subscription.purchasedAt),
      }),
    },
    ...(r.status === 'pending' ? [{ label: t('request.window'), value: t(insideCancellationWindow(window, now) ? 'request.windowOpen' : 'request.windowClosed', { closes }) }] : []),
  ];
}

/**
 * R-Q2, R-Q5: the approval card: the facts, who asked, when and why; Approve / Reject while it waits; once
 * approved, what is left to do in the Azure portal. The requester's decision notice is this card too.
 */
export function requestCard(
  t: Translate,
  r: ReservationRequest,
  customerName: string,
  refund?: RefundFacts,
  subscription?: Subscription,
  now = new Date(),
  inProgress?: InProgress,
  reader: Reader = 'staff',
): View {
  const refundInfo = refundLines(t, refund);
  return {
    title: t('request.cardTitle', { change: change(t, r) }),
    tone: r.status === 'pending' ? 'warning' : r.status === 'approved' ? 'success' : 'error',
    facts: [
      { label: t('request.customer'), value: customerName },
      { label: t('request.askedBy'), value: t(r.requestedByContactId ? 'request.byContact' : 'request.byStaff', { name: r.requestedByName }) },
      { label: t('request.askedAt'), value: formatTimestamp(t, r.createdAt) },
      ...subscriptionFacts(t, r, subscription, now),
      ...(r.reason ? [{ label: t('request.reason'), value: r.reason }] : []),
      // The exchange's product as Azure's catalog names it, once matched on approval.
      ...(r.details.sku ? [{ label: t('request.azureSku'), value: r.details.sku }] : []),
      ...refundInfo.facts,
    ],
    lines: [...refundInfo.lines, ...scopeLines(t, r), outcome(t, r, inProgress, reader), ...portalLines(t, r, reader)],
    actions:
      r.status === 'pending' && !inProgress
        ? [
            { id: 'approve', label: t('request.approve'), value: r.id, style: 'primary' },
            { id: 'reject', label: t('request.reject'), value: r.id, style: 'danger' },
          ]
        : [],
  };
}

/** The card as it stands now, with the refund figures while a cancellation waits. */
async function currentCard(env: Pick<OrgEnv, 'db' | 't'>, request: ReservationRequest, reader: Reader = 'staff'): Promise<View> {
  const customer = await customerById(env.db, request.orgId, request.customerId);
  const reservation = request.kind === 'cancel' && request.status === 'pending' ? await reservationOf(env.db, request) : undefined;
  const now = new Date();
  const refund = reservation && {
    estimate: refundEstimate(reservation, now),
    lastYear: await refundsInLastYear(env.db, request.orgId, request.customerId, now),
    ...(request.details.azureRefund ? { azure: request.details.azureRefund } : {}),
  };
  const subscription = request.kind === 'cancel-subscription' ? await subscriptionOf(env.db, request) : undefined;
  const intent = request.status === 'pending' && request.reservationId ? await intentFor(env.db, request.orgId, reservationTarget(request.reservationId)) : undefined;
  return requestCard(env.t, request, customer.name, refund, subscription, now, intent && { name: intent.actorName, since: intent.createdAt }, reader);
}

/** The card as it stands, for the delivery worker. */
export async function renderRequestCard(env: Pick<OrgEnv, 'db' | 't'>, orgId: string, requestId: string, reminder = false): Promise<View> {
  const request = await requestById(env.db, orgId, requestId);
  if (!request) throw new DomainError('request.unknown', { request: requestId });
  const card = await currentCard(env, request);
  if (!reminder || request.status !== 'pending') return card;
  const hours = Math.floor((Date.now() - request.createdAt.getTime()) / 3_600_000);
  return { ...card, lines: [env.t('request.reminder', { hours }), ...(card.lines ?? [])] };
}

export async function fileRequestView(env: OrgEnv, draft: RequestDraft): Promise<View> {
  const { t } = env;
  const { request, customer } = await fileRequest(coreContext(env), draft);
  const params = { change: change(t, request), id: request.id.slice(0, 8), customer: customer.name, prefix: env.prefix };
  // Staff are the partner: their request waits for an admin's decision, not the partner's.
  const staff = env.actor.kind === 'staff';
  // R-P7: a customer contact is told the partner makes the change; they cannot make it in the Azure portal.
  return { tone: 'success', lines: [t(staff ? 'request.filedByStaff' : 'request.filed', params), ...scopeLines(t, request), ...(staff ? [] : [t('request.filedPartnerMakes')])] };
}

/** R-Q1: a customer contact's `subscription <subscription> cancel [because <reason>]` asks the partner instead of cancelling. */
export async function fileSubscriptionRequestView(env: OrgEnv, draft: SubscriptionRequestDraft): Promise<View> {
  const { request } = await fileSubscriptionRequest(coreContext(env), draft);
  return { tone: 'success', lines: [env.t('request.filed', { change: change(env.t, request), id: request.id.slice(0, 8) })] };
}

/** A click on Approve or Reject: decided once (R-Q3); a later click shows who decided. */
/** Reject asks for the reason first; the card stays decidable meanwhile. */
export async function rejectPromptView(env: OrgEnv, requestRef: string): Promise<View> {
  requireAdmin(env.actor, 'what.decideRequest');
  const request = await findRequest(env.db, env.org.id, requestRef);
  const card = await currentCard(env, request);
  if (request.status !== 'pending') return { ...card, lines: [env.t('request.alreadyDecided'), ...(card.lines ?? [])] };
  const { t } = env;
  return {
    ...card,
    title: t('request.rejectTitle'),
    input: { id: 'reason', label: t('request.reason'), placeholder: t('request.reasonPlaceholder') },
    actions: [
      { id: 'reject-confirm', label: t('request.reject'), value: request.id, style: 'danger' },
      { id: 'approve', label: t('request.approve'), value: request.id, style: 'primary' },
    ],
  };
}

export async function decideRequestView(env: OrgEnv, requestRef: string, decision: 'approve' | 'reject', reason?: string): Promise<View> {
  requireAdmin(env.actor, 'what.decideRequest');
  if (decision === 'reject' && !reason?.trim()) throw new DomainError('request.reasonNeeded');
  const found = await findRequest(env.db, env.org.id, requestRef);
  const { state, request } = await decideRequest(coreContext(env), found.id, decision, reason?.trim());
  const card = await currentCard(env, request);
  // Refused by the rules or by Azure, or decided the other way before: not what was asked.
  const failed = request.status !== (decision === 'approve' ? 'approved' : 'rejected') ? { failed: true as const } : {};
  return state === 'already' ? { ...card, ...failed, lines: [env.t('request.alreadyDecided'), ...(card.lines ?? [])] } : { ...card, ...failed, committed: true };
}

/** "Done in Azure": an admin made the recorded change in the Azure portal; marked once. */
export async function doneInAzureView(env: OrgEnv, requestRef: string): Promise<View> {
  const found = await findRequest(env.db, env.org.id, requestRef);
  const { state, request } = await markDoneInAzure(coreContext(env), found.id);
  const todo = azureTodoView(env.t, request);
  return state === 'already' ? { ...todo, lines: [env.t('request.alreadyDecided'), ...(todo.lines ?? [])] } : { ...todo, committed: true };
}

/** A change approved and recorded here only: what to do in the Azure portal, and the button to say it is done. */
function azureTodoView(t: Translate, r: ReservationRequest): View {
  const done = Boolean(r.doneInAzureAt);
  return {
    title: t('request.portalTitle', { change: change(t, r) }),
    tone: done ? 'success' : 'warning',
    lines: [outcome(t, r), ...portalLines(t, r, 'staff')],
    actions: done ? [] : [{ id: 'done-in-azure', label: t('request.doneInAzure'), value: r.id, style: 'primary' }],
  };
}

/** The requester's notice of the decision: the card as it stands, as the requester reads it. */
export async function renderDecisionNotice(env: Pick<OrgEnv, 'db' | 't'>, orgId: string, requestId: string): Promise<View> {
  const request = await requestById(env.db, orgId, requestId);
  if (!request) throw new DomainError('request.unknown', { request: requestId });
  return currentCard(env, request, request.requestedByContactId ? 'customer' : 'staff');
}

/** The Azure portal steps of an approved request, for the delivery worker. */
export async function renderAzureTodo(env: Pick<OrgEnv, 'db' | 't'>, orgId: string, requestId: string): Promise<View> {
  const request = await requestById(env.db, orgId, requestId);
  if (!request) throw new DomainError('request.unknown', { request: requestId });
  return azureTodoView(env.t, request);
}

/** Requests and their decisions, newest first, a page at a time. */
export async function requestsView(env: OrgEnv, command: Extract<Command, { name: 'requests' }>): Promise<View> {
  const { t } = env;
  requireStaff(env.actor, 'requests');
  const customer = command.customer ? await resolveCustomer(env.db, env.org.id, command.customer) : undefined;
  const list = await listRequests(env.db, env.org.id, { pendingOnly: command.pendingOnly, customerId: customer?.id, page: command.page });
  const footer = pageFooter(env, list, { ...command, ...(customer ? { customer: customer.tenantId } : {}) });
  const rows = list.rows.map(({ request: r, customerName }) =>
    t('requests.row', {
      date: formatTimestamp(t, r.createdAt),
      status: t(`request.status.${r.status}`),
      change: change(t, r),
      customer: customerName,
      name: r.requestedByName,
      id: r.id.slice(0, 8),
    }),
  );
  return {
    title: t(command.pendingOnly ? 'requests.titlePending' : 'requests.title'),
    lines: list.total ? [...rows, footer.line] : [t('requests.none')],
    actions: footer.actions,
  };
}

/** The newest requests waiting for a decision as their approval cards, with the same buttons as in the approvals channel (R-Q2), and how many wait. */
export async function pendingRequestCards(env: OrgEnv, listed: number): Promise<{ cards: View[]; total: number }> {
  const list = await listRequests(env.db, env.org.id, { pendingOnly: true, page: 1 });
  const cards = await Promise.all(list.rows.slice(0, listed).map(({ request }) => currentCard(env, request)));
  return { cards, total: list.total };
}

/** A customer contact's view of their customer's newest requests (R-A1) and how each was decided (R-Q5). */
export async function customerRequestsView(env: OrgEnv, customerId: string, listed: number): Promise<View> {
  const { t } = env;
  const customer = await customerById(env.db, env.org.id, customerId);
  const list = await listRequests(env.db, env.org.id, { pendingOnly: false, customerId, page: 1 });
  const rows = list.rows.slice(0, listed).map(({ request: r }) =>
    `• ${t('home.requestRow', { date: formatTimestamp(t, r.createdAt), change: change(t, r), name: r.requestedByName, outcome: outcome(t, r, undefined, 'customer'), id: r.id.slice(0, 8) })}`,
  );
  const more = list.total - rows.length;
  return {
    title: t('home.customerRequests', { customer: customer.name }),
    lines: rows.length ? [...rows, ...(more > 0 ? [t('home.more', { count: more })] : [])] : [t('home.customerRequestsNone')],
  };
}
