import { tz } from '@date-fns/tz';
import { addMonths, differenceInCalendarDays, endOfMonth, max, min, setDate, startOfMonth } from './dates.js';
import type { Subscription } from './marketplace.js';

const utc = { in: tz('UTC') };

export interface BillingPeriod {
  start: Date;
  /** The last day of the month. */
  end: Date;
  /** R-M11: the invoice is available on the 8th of the following month. */
  invoiceDate: Date;
}

/** R-M11: the calendar month holding `day` (UTC). */
export function billingPeriod(day: Date): BillingPeriod {
  const start = startOfMonth(day, utc);
  const plain = (d: Date) => new Date(d.getTime());
  return { start: plain(start), end: plain(endOfMonth(day, utc)), invoiceDate: plain(setDate(addMonths(start, 1, utc), 8, utc)) };
}

export interface Charge {
  subscription: Subscription;
  /** Days billed in the period, and the period's days: a start or end mid-month prorates a monthly charge. */
  days: number;
  periodDays: number;
  amount: number;
  currency: string;
}

/**
 * What one subscription costs in the period (R-M9, R-M11): nothing before
 * billing started; a monthly plan is charged its price × seats, prorated by the
 * days it was billed that month; an annual plan is charged its yearly price ×
 * seats upfront, in the month billing started and each twelve months after.
 */
export function chargeFor(subscription: Subscription, period: BillingPeriod): Charge | undefined {
  const { billingStartedAt: started, cancelledAt, term, seats, price, currency } = subscription;
  if (!started || !term || !seats || !price || !currency || started > period.end) return undefined;
  const periodDays = differenceInCalendarDays(period.end, period.start, utc) + 1;
  if (term === 'annual') {
    const months = (period.start.getUTCFullYear() - started.getUTCFullYear()) * 12 + period.start.getUTCMonth() - started.getUTCMonth();
    if (months % 12 !== 0 || (cancelledAt && cancelledAt < period.start)) return undefined;
    return { subscription, days: periodDays, periodDays, amount: round(Number(price) * seats), currency };
  }
  const from = max([started, period.start]);
  const to = cancelledAt ? min([cancelledAt, period.end]) : period.end;
  if (to < from) return undefined;
  const days = differenceInCalendarDays(to, from, utc) + (cancelledAt && cancelledAt <= period.end ? 0 : 1);
  if (days <= 0) return undefined;
  return { subscription, days, periodDays, amount: round((Number(price) * seats * days) / periodDays), currency };
}

/** The first charge after the current period, within a year: the next invoice an edit changes. */
export function nextCharge(subscription: Subscription, now: Date): { period: BillingPeriod; charge: Charge } | undefined {
  for (let months = 1; months <= 12; months++) {
    const period = billingPeriod(addMonths(now, months, utc));
    const charge = chargeFor(subscription, period);
    if (charge) return { period, charge };
  }
  return undefined;
}

/**
 * The refund csp-ops estimates for cancelling now: what the cancellation takes off the current
 * period's charge, prorated as chargeFor prorates it; undefined when nothing is refundable.
 */
export function cancellationRefund(subscription: Subscription, now: Date): { amount: number; currency: string } | undefined {
  const period = billingPeriod(now);
  const charged = chargeFor(subscription, period)?.amount ?? 0;
  const afterCancel = chargeFor({ ...subscription, cancelledAt: now }, period)?.amount ?? 0;
  const amount = round(charged - afterCancel);
  return amount > 0 ? { amount, currency: subscription.currency! } : undefined;
}

const round = (amount: number) => Math.round(amount * 100) / 100;
