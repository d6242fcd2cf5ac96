import { and, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customerContacts, subscriptions } from '../../db/schema.js';
import type { MessageKey, MessageParams } from '../i18n/index.js';
import { cancellationWindowCloses, insideCancellationWindow, type Subscription } from './marketplace.js';
import type { ReservationRequest } from './requests.js';
import type { Reservation } from './reservations.js';

/** Why a request cannot go ahead on this reservation now, or undefined (R-Q4: asked again when deciding). */
export interface RequestProblem {
  key: MessageKey;
  params: MessageParams;
}

export async function requestProblem(
  db: Queryable,
  request: Pick<ReservationRequest, 'kind' | 'details' | 'requestedByContactId'>,
  reservation: Reservation | undefined,
): Promise<RequestProblem | undefined> {
  if (!reservation) return { key: 'request.problemGone', params: {} };
  if (reservation.status !== 'active') return { key: 'request.problemNotActive', params: { status: reservation.status } };
  const requester = await requesterProblem(db, request);
  if (requester) return requester;
  if (request.kind === 'scope') {
    const { scope, subscriptionId } = request.details;
    if (scope === reservation.scope && (scope === 'shared' || subscriptionId === reservation.subscriptionId)) {
      return { key: 'request.problemScopeUnchanged', params: {} };
    }
    if (scope === 'single') {
      const [subscription] = await db
        .select()
        .from(subscriptions)
        .where(and(eq(subscriptions.orgId, reservation.orgId), eq(subscriptions.customerId, reservation.customerId), eq(subscriptions.id, subscriptionId ?? '')));
      if (!subscription || subscription.status !== 'active') return { key: 'request.problemSubscription', params: { subscription: subscriptionId ?? '' } };
    }
  }
  return undefined;
}

/** A contact who asked and is no longer one of the customer's contacts cannot have the request carried out. */
async function requesterProblem(db: Queryable, request: Pick<ReservationRequest, 'requestedByContactId'>): Promise<RequestProblem | undefined> {
  if (!request.requestedByContactId) return undefined;
  const [contact] = await db.select({ id: customerContacts.id }).from(customerContacts).where(eq(customerContacts.id, request.requestedByContactId));
  return contact ? undefined : { key: 'request.problemRequesterGone', params: {} };
}

/**
 * Why a marketplace subscription cannot be cancelled now, or undefined: it is
 * gone or already cancelled, the requester left, or its cancellation window
 * (R-M10) closed — asked when filing and again when deciding (R-Q4).
 */
export async function subscriptionProblem(
  db: Queryable,
  request: Pick<ReservationRequest, 'requestedByContactId'>,
  subscription: Subscription | undefined,
  now: Date,
): Promise<RequestProblem | undefined> {
  if (!subscription?.offerId && !subscription?.etag) return { key: 'request.problemSubscriptionGone', params: {} };
  if (subscription.status === 'cancelled') return { key: 'subscription.cancelled', params: { date: subscription.cancelledAt ?? now } };
  const requester = await requesterProblem(db, request);
  if (requester) return requester;
  if (subscription.etag && !subscription.cancellationAllowedUntil) return { key: 'partnerCenter.notCancellable', params: {} };
  const window = { term: subscription.term!, purchasedAt: subscription.purchasedAt!, cancellationAllowedUntil: subscription.cancellationAllowedUntil };
  if (!insideCancellationWindow(window, now)) return { key: `request.problemWindowClosed.${window.term}`, params: { closed: cancellationWindowCloses(window) } };
  return undefined;
}
