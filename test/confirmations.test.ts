import { randomUUID } from 'node:crypto';
import { tz } from '@date-fns/tz';
import { addMonths, differenceInCalendarDays, endOfMonth, format, getDaysInMonth } from 'date-fns';
import { and, eq, isNotNull } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { activityLog, confirmations, customerPurchasePermissions, subscriptions } from '../db/schema.js';
import { formatMoney, translator } from '../src/i18n/index.js';
import { otherOrganization, testOrganization } from './helpers/fixture.js';
import { platforms, usePlatform, type Reply } from './helpers/platforms.js';
import { unchanged } from './helpers/tables.js';

const utc = { in: tz('UTC') };
const startedAt = Date.now();
/** 한빛소프트's monthly Basic subscription (₩12,000 a seat in KR), bought an hour ago and billed since a minute ago: inside its 24-hour window. */
const billed = 'saas1111-0000-4000-8000-000000000001';
const offers = [
  {
    id: 'hanbit-insight', name: '한빛 인사이트 Analytics', publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-insight.example' },
    landingPageUrl: 'https://hanbit-insight.example/activate', type: 'saas', categories: ['analytics'], countries: ['KR', 'TW', 'US'],
    plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }] }],
  },
  {
    id: 'tw-erp', name: '雲端 ERP', publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' }, type: 'saas', categories: ['ERP'], countries: ['TW'],
    plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
  },
];
const organization = {
  ...testOrganization,
  offers,
  customers: testOrganization.customers.map((c) =>
    c.domain === 'hanbitsoft.example'
      ? {
          ...c,
          subscriptions: [
            ...c.subscriptions,
            {
              id: billed, offer: 'marketplace-saas', friendlyName: '분석 팀 月付', status: 'active', offerId: 'hanbit-insight', planId: 'basic', seats: 10, term: 'monthly',
              purchasedAt: new Date(startedAt - 3_600_000).toISOString(), activatedAt: new Date(startedAt - 60_000).toISOString(),
            },
          ],
        }
      : c,
  ),
};

/** The rows a change could touch, compared by content (the outbox is left out: the delivery worker updates it meanwhile). */
async function contents(db: Database) {
  return {
    subscriptions: await db.select().from(subscriptions).orderBy(subscriptions.id),
    activity: await db.select().from(activityLog).orderBy(activityLog.id),
    permissions: await db.select().from(customerPurchasePermissions).orderBy(customerPurchasePermissions.customerId),
  };
}

const allConfirmations = (db: Database) => db.select().from(confirmations).orderBy(confirmations.id);

/** Runs the click and proves it changed nothing: row counts of every table, and the contents of the rows above and of the confirmations. */
async function nothingChanges<T>(db: Database, action: () => Promise<T>): Promise<T> {
  const before = { ...(await contents(db)), confirmations: await allConfirmations(db) };
  const result = await unchanged(db, action);
  expect({ ...(await contents(db)), confirmations: await allConfirmations(db) }).toEqual(before);
  return result;
}

/** Runs the command and proves it only showed a confirmation: nothing else changed, and one open confirmation was recorded. */
async function onlyShown(db: Database, action: () => Promise<Reply>): Promise<Reply> {
  const before = await contents(db);
  const shownBefore = await allConfirmations(db);
  const reply = await unchanged(db, action);
  expect(await contents(db)).toEqual(before);
  const added = (await allConfirmations(db)).filter((c) => !shownBefore.some((b) => b.id === c.id));
  expect(added.map((c) => ({ id: c.id, usedAt: c.usedAt }))).toEqual([{ id: reply.buttons[0]!.value, usedAt: null }]);
  return reply;
}

const already = (name: string) => new RegExp(`This was already confirmed by ${name} on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC; nothing more was changed\\.`);
const billedRow = async (db: Database) => (await db.select().from(subscriptions).where(eq(subscriptions.id, billed)))[0]!;

describe.each(platforms)('$name: every change is confirmed, and a confirmation acts once', ({ start }) => {
  const p = usePlatform(() => start([organization, otherOrganization]));

  it('R-M7 seats: shows the price per term and the next charge, changes nothing until confirmed, then changes once; a repeat click is told who and when', async () => {
    const shown = await onlyShown(p.db, () => p.command('adminAgent', `subscription ${billed} seats 12`));
    expect(shown.text).toContain('Change 분석 팀 月付 of 한빛소프트 주식회사?');
    expect(shown.text).toContain('10 → 12');
    expect(shown.text).toContain('Price per monthly term');
    expect(shown.text).toContain('₩120,000 → ₩144,000 (+₩24,000)');
    expect(shown.text).toContain(`${format(addMonths(new Date(), 1, utc), 'yyyy-MM', utc)}: ₩120,000 → ₩144,000`);
    expect(shown.buttons.map((b) => [b.label, b.style])).toEqual([['Confirm', 'primary'], ['Cancel', undefined]]);

    const done = await p.click('adminAgent', shown, 'Confirm');
    expect(done.text).toContain('분석 팀 月付 now has 12 seats.');
    expect(done.buttons).toHaveLength(0);
    expect((await billedRow(p.db)).seats).toBe(12);
    const again = await nothingChanges(p.db, () => p.click('adminAgent', shown, 'Confirm'));
    expect(again.text).toMatch(already('王小明'));
    expect(again.text).toContain('분석 팀 月付 now has 12 seats.');
    const log = await p.db.select().from(activityLog).where(and(eq(activityLog.action, 'saas_changed'), eq(activityLog.actorName, '王小明')));
    expect(log.map((r) => r.details)).toEqual([{ subscription: billed, change: 'seats', value: '12' }]);
  });

  it('R-M7 R-M10 cancel: shows the refund and that it cannot be undone; Cancel closes it; the window is checked again at the click, and a refused click can be confirmed once the rules allow', async () => {
    const ask = () => onlyShown(p.db, () => p.command('adminAgent', `subscription ${billed} cancel`));
    const shown = await ask();
    // Billed since a minute ago: the rest of this month's 12 seats × ₩12,000, prorated by days as billing does.
    const now = new Date();
    const daysLeft = differenceInCalendarDays(endOfMonth(now, utc), now, utc) + 1;
    expect(shown.text).toContain('Cancel 분석 팀 月付 of 한빛소프트 주식회사?');
    expect(shown.text).toContain(`${formatMoney(translator(), Math.round(((12_000 * 12 * daysLeft) / getDaysInMonth(now, utc)) * 100) / 100, 'KRW')}, for the part of this billing period after the cancellation`);
    expect(shown.text).toContain('Cancelling cannot be undone');
    expect(shown.buttons.map((b) => [b.label, b.style])).toEqual([['Cancel the subscription', 'danger'], ['Cancel', undefined]]);

    expect((await p.click('adminAgent', shown, 'Cancel')).text).toContain('Cancelled. Nothing was changed.');
    const afterCancel = await nothingChanges(p.db, () => p.click('adminAgent', shown, 'Cancel the subscription'));
    expect(afterCancel.text).toMatch(/This was cancelled by 王小明 on .* UTC; nothing was changed\./);

    // The window closes while the confirmation waits: the click is refused with the reason, and nothing changes.
    const second = await ask();
    const purchasedAt = (await billedRow(p.db)).purchasedAt!;
    await p.db.update(subscriptions).set({ purchasedAt: new Date(Date.now() - 25 * 3_600_000) }).where(eq(subscriptions.id, billed));
    const refused = await nothingChanges(p.db, () => p.click('adminAgent', second, 'Cancel the subscription'));
    expect(refused.text).toContain(`Subscription ${billed} can no longer be cancelled: its monthly cancellation window closed on`);
    await p.db.update(subscriptions).set({ purchasedAt }).where(eq(subscriptions.id, billed));

    const cancelled = await p.click('adminAgent', second, 'Cancel the subscription');
    expect(cancelled.text).toContain(`분석 팀 月付 is cancelled (subscription ${billed}).`);
    expect(await billedRow(p.db)).toMatchObject({ status: 'cancelled', autoRenew: false });
    expect((await nothingChanges(p.db, () => p.click('adminAgent', second, 'Cancel the subscription'))).text).toMatch(already('王小明'));
    expect(await p.db.select().from(activityLog).where(eq(activityLog.action, 'saas_cancelled'))).toHaveLength(1);
  });

  it('R-A3 R-A4 a confirmation is only for whoever was shown it, the role is checked again at the click, and an expired or unknown one says so', async () => {
    const shown = await p.command('adminAgent', 'buy hanbit-insight basic for 한빛소프트 seats 3');
    expect(shown.text).toContain('Buy 한빛 인사이트 Analytics for 한빛소프트 주식회사?');
    const otherAdmin = await nothingChanges(p.db, () => p.click('globalAdmin', shown, 'Buy'));
    expect(otherAdmin.text).toContain('Only 王小明, who ran the command, can confirm this. Nothing was changed; to make the change yourself, run the command.');
    const sales = await nothingChanges(p.db, () => p.click('salesAgent', shown, 'Buy'));
    expect(sales.text).toContain('Your role is sales agent. Buying or changing marketplace subscriptions needs the admin agent or global admin role');
    const forged: Reply = { ...shown, buttons: shown.buttons.map((b) => ({ ...b, value: randomUUID() })) };
    expect((await nothingChanges(p.db, () => p.click('adminAgent', forged, 'Buy'))).text).toContain('This button no longer matches anything; run the command again.');

    const [row] = await p.db.select().from(confirmations).where(eq(confirmations.id, shown.buttons[0]!.value));
    expect(row).toMatchObject({ kind: 'buy', shownToName: '王小明', usedAt: null });
    await p.db.update(confirmations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(confirmations.id, row!.id));
    expect((await nothingChanges(p.db, () => p.click('adminAgent', shown, 'Buy'))).text).toMatch(/This confirmation expired at .* UTC\. Nothing was changed; run the command again\./);
  });

  it('R-A4 a second click on Buy buys nothing more; it is told who bought it and when', async () => {
    const bought = () => p.db.select().from(subscriptions).where(and(eq(subscriptions.offerId, 'tw-erp'), isNotNull(subscriptions.purchasedAt)));
    const shown = await p.command('adminAgent', 'buy tw-erp standard for 台灣雲端科技 seats 2');
    expect(shown.text).toContain('Buy 雲端 ERP for 台灣雲端科技股份有限公司?');
    const first = await p.click('adminAgent', shown, 'Buy');
    expect(first.text).toContain('Bought 雲端 ERP for 台灣雲端科技股份有限公司');
    const second = await nothingChanges(p.db, () => p.click('adminAgent', shown, 'Buy'));
    const [subscription, ...more] = await bought();
    expect(more).toHaveLength(0);
    expect(second.text).toMatch(already('王小明'));
    expect(second.text).toContain(`Bought 雲端 ERP for 台灣雲端科技股份有限公司 (subscription ${subscription!.id}).`);
    expect(await p.db.select().from(activityLog).where(eq(activityLog.action, 'saas_purchased'))).toHaveLength(1);
  });
});
