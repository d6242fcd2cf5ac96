import { addYears } from './dates.js';
import { and, count, desc, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { reservations } from '../../db/schema.js';
import { readPage, type Page } from './paging.js';

export type Reservation = typeof reservations.$inferSelect;

/** One page of a customer's reservations, newest purchase first: bought by the partner or the customer alike (R-P9). */
export async function customerReservations(db: Queryable, orgId: string, customerId: string, page: number): Promise<Page<Reservation>> {
  const where = and(eq(reservations.orgId, orgId), eq(reservations.customerId, customerId));
  return readPage(
    page,
    async () => (await db.select({ total: count() }).from(reservations).where(where))[0]!.total,
    (limit, offset) => db.select().from(reservations).where(where).orderBy(desc(reservations.purchasedAt), desc(reservations.id)).limit(limit).offset(offset),
  );
}

/** A reservation's term runs one or three years from its purchase. */
export function termEnds(reservation: Pick<Reservation, 'term' | 'purchasedAt'>): Date {
  return addYears(reservation.purchasedAt, reservation.term === 'P3Y' ? 3 : 1);
}
