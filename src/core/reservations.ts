import { addYears } from 'date-fns';
import { and, desc, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { reservations } from '../../db/schema.js';

export type Reservation = typeof reservations.$inferSelect;

/** A customer's reservations, newest purchase first: bought by the partner or the customer alike (R-P9). */
export async function customerReservations(db: Queryable, orgId: string, customerId: string): Promise<Reservation[]> {
  return db
    .select()
    .from(reservations)
    .where(and(eq(reservations.orgId, orgId), eq(reservations.customerId, customerId)))
    .orderBy(desc(reservations.purchasedAt), desc(reservations.id));
}

/** A reservation's term runs one or three years from its purchase. */
export function termEnds(reservation: Pick<Reservation, 'term' | 'purchasedAt'>): Date {
  return addYears(reservation.purchasedAt, reservation.term === 'P3Y' ? 3 : 1);
}
