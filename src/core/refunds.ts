import { differenceInCalendarDays, subMonths } from './dates.js';
import { and, eq, gte, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { reservationRequests } from '../../db/schema.js';
import { termEnds, type Reservation } from './reservations.js';

/** Microsoft caps reservation refunds at 50,000 USD per customer over a rolling 12 months. */
export const refundCap = { amount: 50_000, currency: 'USD' } as const;

export interface RefundEstimate {
  amount: number;
  currency: string;
  remainingDays: number;
  termDays: number;
}

/**
 * What cancelling now would refund: the commitment's value prorated by the
 * days left in the term. An upfront price is the whole term's; a monthly price
 * is one month's, so the term's value is that times the months in the term.
 */
export function refundEstimate(reservation: Reservation, now: Date): RefundEstimate {
  const end = termEnds(reservation);
  const termDays = differenceInCalendarDays(end, reservation.purchasedAt);
  const remainingDays = Math.min(termDays, Math.max(0, differenceInCalendarDays(end, now)));
  const months = reservation.term === 'P3Y' ? 36 : 12;
  const value = Number(reservation.price) * (reservation.billingPlan === 'monthly' ? months : 1);
  return { amount: Math.round((value * remainingDays) / termDays * 100) / 100, currency: reservation.currency, remainingDays, termDays };
}

/** Refunds of cancellations approved for the customer in the 12 months before `now`, in the cap's currency. */
export async function refundsInLastYear(db: Queryable, orgId: string, customerId: string, now: Date): Promise<number> {
  const [row] = await db
    .select({ total: sql<string>`coalesce(sum(${reservationRequests.refundAmount}), 0)` })
    .from(reservationRequests)
    .where(
      and(
        eq(reservationRequests.orgId, orgId),
        eq(reservationRequests.customerId, customerId),
        eq(reservationRequests.status, 'approved'),
        eq(reservationRequests.refundCurrency, refundCap.currency),
        gte(reservationRequests.decidedAt, subMonths(now, 12)),
      ),
    );
  return Number(row?.total ?? 0);
}
