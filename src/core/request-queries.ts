import { and, asc, count, desc, eq, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { customers, reservationRequests, reservations, subscriptions } from '../../db/schema.js';
import { DomainError } from './errors.js';
import type { Subscription } from './marketplace.js';
import { readPage } from './paging.js';
import type { ReservationRequest } from './requests.js';
import type { Reservation } from './reservations.js';
import { idsListed, matchIdPrefix, minIdPrefix } from './text.js';

/** The reservation a request names, as it stands. */
export async function reservationOf(db: Database, request: ReservationRequest): Promise<Reservation | undefined> {
  if (!request.reservationId) return undefined;
  const [reservation] = await db
    .select()
    .from(reservations)
    .where(and(eq(reservations.orgId, request.orgId), eq(reservations.id, request.reservationId)));
  return reservation;
}

/** The marketplace subscription a cancel-subscription request names, as it stands. */
export async function subscriptionOf(db: Database, request: ReservationRequest): Promise<Subscription | undefined> {
  if (!request.subscriptionId) return undefined;
  const [subscription] = await db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, request.orgId), eq(subscriptions.id, request.subscriptionId)));
  return subscription;
}

/** A request by its ID or an unambiguous start of it (at least minIdPrefix characters), as lists show it. */
export async function findRequest(db: Database, orgId: string, ref: string): Promise<ReservationRequest> {
  const key = ref.trim().toLowerCase();
  // Request IDs are UUIDs: anything else names none, and is never put in a pattern.
  const found = /^[0-9a-f-]{1,36}$/.test(key)
    ? await db
        .select()
        .from(reservationRequests)
        .where(and(eq(reservationRequests.orgId, orgId), sql`${reservationRequests.id}::text like ${`${key}%`}`))
        .orderBy(asc(reservationRequests.id))
        .limit(idsListed + 1)
    : [];
  const match = matchIdPrefix(found, key);
  if (match.state === 'found') return match.row;
  if (match.state === 'tooShort') throw new DomainError('request.idTooShort', { request: ref, min: minIdPrefix });
  if (match.state === 'ambiguous') throw new DomainError('request.ambiguous', { request: ref, ids: match.ids });
  throw new DomainError('request.unknown', { request: ref });
}

export async function requestById(db: Database, orgId: string, id: string): Promise<ReservationRequest | undefined> {
  const [request] = await db.select().from(reservationRequests).where(and(eq(reservationRequests.orgId, orgId), eq(reservationRequests.id, id)));
  return request;
}

/** One page of requests, newest first, pending only or all, of one customer or all. */
export async function listRequests(db: Database, orgId: string, filter: { pendingOnly: boolean; customerId?: string; page: number }) {
  const where = and(
    eq(reservationRequests.orgId, orgId),
    filter.pendingOnly ? eq(reservationRequests.status, 'pending') : undefined,
    filter.customerId ? eq(reservationRequests.customerId, filter.customerId) : undefined,
  );
  return readPage(
    filter.page,
    async () => (await db.select({ total: count() }).from(reservationRequests).where(where))[0]!.total,
    (limit, offset) =>
      db
        .select({ request: reservationRequests, customerName: customers.name })
        .from(reservationRequests)
        .innerJoin(customers, eq(customers.id, reservationRequests.customerId))
        .where(where)
        .orderBy(desc(reservationRequests.createdAt), desc(reservationRequests.id))
        .limit(limit)
        .offset(offset),
  );
}

/** The request, locked for the decision, while it is still pending; undefined once decided. */
export async function lockPendingRequest(tx: Queryable, orgId: string, requestId: string) {
  const [request] = await tx.select().from(reservationRequests).where(and(eq(reservationRequests.orgId, orgId), eq(reservationRequests.id, requestId))).for('update');
  return request?.status === 'pending' ? request : undefined;
}

/** The reservation a request is about, locked while the request is decided. */
export async function lockRequestReservation(tx: Queryable, orgId: string, reservationId: string): Promise<Reservation | undefined> {
  const [reservation] = await tx.select().from(reservations).where(and(eq(reservations.orgId, orgId), eq(reservations.id, reservationId))).for('update');
  return reservation;
}

/** The subscription a request is about, locked while the request is decided. */
export async function lockRequestSubscription(tx: Queryable, orgId: string, subscriptionId: string): Promise<Subscription | undefined> {
  const [subscription] = await tx.select().from(subscriptions).where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.id, subscriptionId))).for('update');
  return subscription;
}
