import { describe, expect, it } from 'vitest';
import { refundEstimate } from '../src/core/refunds.js';
import type { Reservation } from '../src/core/reservations.js';

const reservation = (changes: Partial<Reservation>): Reservation => ({
  orgId: 'o', id: 'r', reservationOrderId: null, customerId: 'c', product: 'VM', region: 'koreacentral', quantity: 1, term: 'P1Y', billingPlan: 'upfront',
  scope: 'shared', subscriptionId: null, price: '3650.00', currency: 'USD', purchasedBy: 'partner',
  purchasedAt: new Date('2026-01-01T00:00:00Z'), status: 'active', createdAt: new Date('2026-01-01T00:00:00Z'), ...changes,
});

describe('refund estimate, prorated by the days left in the term', () => {
  it('is the whole price on the day of purchase and nothing once the term ended', () => {
    expect(refundEstimate(reservation({}), new Date('2026-01-01T00:00:00Z'))).toEqual({ amount: 3650, currency: 'USD', remainingDays: 365, termDays: 365 });
    expect(refundEstimate(reservation({}), new Date('2027-01-01T00:00:00Z')).amount).toBe(0);
    expect(refundEstimate(reservation({}), new Date('2028-06-01T00:00:00Z')).amount).toBe(0);
  });

  it('prorates by whole days, and a monthly price counts every month of the term', () => {
    expect(refundEstimate(reservation({}), new Date('2026-07-02T00:00:00Z'))).toMatchObject({ amount: 1830, remainingDays: 183 });
    const monthly = reservation({ billingPlan: 'monthly', term: 'P3Y', price: '100.00' });
    expect(refundEstimate(monthly, new Date('2026-01-01T00:00:00Z'))).toMatchObject({ amount: 3600, termDays: 1096 });
  });
});
