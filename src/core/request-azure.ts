import { and, eq } from 'drizzle-orm';
import { partnerCenterIntents, reservationRequests } from '../../db/schema.js';
import type { AzureReservationChange, AzureReservationOutcome, AzureReservationsGateway, CoreContext } from './context.js';
import { customerById } from './customers.js';
import { DomainError } from './errors.js';
import { recordIntent, settleIntent, type PartnerCenterIntent } from './intents.js';
import { refreshRequestCards } from './request-messages.js';
import { requestProblem } from './request-problems.js';
import { lockPendingRequest, lockRequestReservation, requestById, reservationOf } from './request-queries.js';
import type { ReservationRequest } from './requests.js';
import { catalogSku } from './reservation-skus.js';
import type { Reservation } from './reservations.js';

// Approving a reservation's change with the connector on: Azure makes it, with no lock held (R-Q2, R-Q4).

/** A staff member deciding a request. */
export type DecidingContext = CoreContext & { actor: Extract<CoreContext['actor'], { kind: 'staff' }> };

export const reservationTarget = (reservationId: string) => `reservation:${reservationId}`;

/** A reservation change Azure was asked to make: the intent and Azure's answer (its outcome, or its refusal). */
export interface AzureChange {
  intent: PartnerCenterIntent;
  answer: { state: 'done'; outcome: AzureReservationOutcome } | { state: 'refused'; code: string; message: string };
}

/**
 * Steps 1 and 2 of approving a reservation's change with the connector on (src/core/intents.ts): on the
 * locked request and reservation the rules are checked and the intent recorded, and the card copies are
 * refreshed to show the change in progress; then Azure is asked with nothing locked. Undefined when there
 * is nothing to ask Azure: no connector, no Azure reservation order known, decided already, or the rules
 * refuse it now (R-Q4). Azure's refusal is an answer; no answer at all leaves the intent for the repair.
 */
export async function carryOutInAzure(ctx: DecidingContext, requestId: string): Promise<AzureChange | undefined> {
  const azure = ctx.partnerCenter?.azure;
  if (!azure) return undefined;
  const sku = await exchangeSku(ctx, azure, requestId);
  const asked = await ctx.db.transaction(async (tx) => {
    const request = await lockPendingRequest(tx, ctx.org.id, requestId);
    if (!request?.reservationId) return undefined;
    const reservation = await lockRequestReservation(tx, ctx.org.id, request.reservationId);
    if (!reservation?.reservationOrderId || (await requestProblem(tx, request, reservation))) return undefined;
    const customer = await customerById(tx, ctx.org.id, reservation.customerId);
    // The SKU Azure is asked for is shown on the card from now on, and a repair reads it here.
    if (sku) await tx.update(reservationRequests).set({ details: { ...request.details, sku } }).where(eq(reservationRequests.id, request.id));
    const change = azureChange(request, reservation, sku);
    const intent = await recordIntent(tx, ctx, {
      kind: 'reservation',
      target: reservationTarget(reservation.id),
      customerId: customer.id,
      requestId: request.id,
      change: { kind: 'reservation', request: change.kind, reservationOrderId: change.reservationOrderId, reservationId: change.reservationId },
    });
    await refreshRequestCards(tx, request);
    return { intent, change, tenantId: customer.tenantId };
  });
  if (!asked) return undefined;
  const { intent, change, tenantId } = asked;
  // A long-running change's operation is kept with the intent, so a repair after a crash can follow it.
  const accepted = (operation: string) =>
    ctx.db
      .update(partnerCenterIntents)
      .set({ change: { ...intent.change, operation } as PartnerCenterIntent['change'], updatedAt: new Date() })
      .where(eq(partnerCenterIntents.id, intent.id))
      .then(() => undefined);
  try {
    return { intent, answer: { state: 'done', outcome: await azure.carryOut(tenantId, change, accepted) } };
  } catch (error) {
    if (error instanceof DomainError && error.code === 'azure.refused') {
      return { intent, answer: { state: 'refused', code: String(error.params.code), message: String(error.params.message) } };
    }
    // A sign-in refused before any call: nothing was asked of Azure.
    if (error instanceof DomainError && error.code === 'azure.signIn') await settleIntent(ctx.db, intent, 'failed', { reason: error.code, ...(error.params as Record<string, string>) });
    throw error;
  }
}

/**
 * The catalog SKU an exchange's words name, matched before anything is recorded or asked of Azure
 * beyond reading its catalog: no match, or several, refuses the approval and the request stays
 * pending. Undefined for other requests, or when the rules refuse it anyway (R-Q4).
 */
async function exchangeSku(ctx: DecidingContext, azure: AzureReservationsGateway, requestId: string): Promise<string | undefined> {
  const request = await requestById(ctx.db, ctx.org.id, requestId);
  if (request?.status !== 'pending' || request.kind !== 'exchange') return undefined;
  const reservation = await reservationOf(ctx.db, request);
  if (!reservation?.reservationOrderId || (await requestProblem(ctx.db, request, reservation))) return undefined;
  const customer = await customerById(ctx.db, ctx.org.id, reservation.customerId);
  return catalogSku(request.details.product!, await azure.catalog(customer.tenantId, reservation.reservationOrderId, reservation.id));
}

/** The Azure Reservations API's form of an approved request. */
function azureChange(request: ReservationRequest, reservation: Reservation, sku: string | undefined): AzureReservationChange {
  const target = { reservationOrderId: reservation.reservationOrderId!, reservationId: reservation.id, quantity: reservation.quantity };
  switch (request.kind) {
    case 'cancel':
      return { ...target, kind: 'cancel', ...(request.reason ? { reason: request.reason } : {}) };
    case 'exchange':
      return { ...target, kind: 'exchange', product: sku!, term: reservation.term, billingPlan: reservation.billingPlan };
    case 'scope':
      return { ...target, kind: 'scope', scope: request.details.scope!, ...(request.details.subscriptionId ? { subscriptionId: request.details.subscriptionId } : {}) };
    default:
      return { ...target, kind: 'renew' };
  }
}
