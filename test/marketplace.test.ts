import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { activityLog, organizations, outbox, subscriptions } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { remindClosingWindows } from '../src/core/marketplace.js';
import { openTestDatabase } from './helpers/database.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { billingPeriod, chargeFor } from '../src/core/billing.js';
import { cancellationWindowCloses, insideCancellationWindow, type Subscription } from '../src/core/marketplace.js';
import { otherOrganization, testOrganization } from './helpers/fixture.js';
import { platforms, usePlatform } from './helpers/platforms.js';
import { testOrgId, unchanged } from './helpers/tables.js';

export const marketplaceOffers = [
  {
    id: 'hanbit-insight',
    name: '한빛 인사이트 Analytics',
    publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-insight.example, +82 2 555 0100' },
    landingPageUrl: 'https://hanbit-insight.example/activate',
    type: 'saas',
    categories: ['analytics', 'AI'],
    countries: ['KR', 'TW', 'US'],
    plans: [
      {
        id: 'basic', name: 'Basic', freeTrialDays: 30,
        prices: [
          { term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 },
          { term: 'annual', market: 'KR', currency: 'KRW', price: 120000 },
          { term: 'monthly', market: 'US', currency: 'USD', price: 10 },
        ],
      },
      {
        id: 'pro', name: 'Pro',
        prices: [
          { term: 'monthly', market: 'US', currency: 'USD', price: 31 },
          { term: 'annual', market: 'US', currency: 'USD', price: 250 },
          { term: 'monthly', market: 'KR', currency: 'KRW', price: 30000 },
        ],
      },
    ],
  },
  {
    id: 'defender-vm',
    name: 'Defender Appliance VM',
    publisher: { name: 'Microsoft Corporation', supportContact: 'https://support.microsoft.com' },
    type: 'vm',
    categories: ['security'],
    countries: ['US', 'KR'],
    plans: [{ id: 'std', name: 'Standard', prices: [{ term: 'monthly', market: 'US', currency: 'USD', price: 99 }] }],
  },
  {
    id: 'tw-erp',
    name: '雲端 ERP',
    publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' },
    type: 'saas',
    categories: ['ERP'],
    countries: ['TW'],
    plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
  },
];

/** The test organization with the catalog, and 한빛소프트 holding a Basic subscription activated mid-October. */
export const marketplaceOrganization = {
  ...testOrganization,
  offers: marketplaceOffers,
  customers: testOrganization.customers.map((c) =>
    c.domain === 'hanbitsoft.example'
      ? {
          ...c,
          subscriptions: [
            ...c.subscriptions,
            {
              id: 'saas0000-0000-4000-8000-000000000001', offer: 'marketplace-saas', friendlyName: '인사이트 팀', status: 'active',
              offerId: 'hanbit-insight', planId: 'basic', seats: 10, term: 'monthly', purchasedAt: '2026-10-10T00:00:00Z', activatedAt: '2026-10-17T00:00:00Z',
            },
          ],
        }
      : c,
  ),
};

describe.each(platforms)('$name: marketplace', ({ start }) => {
  const p = usePlatform(() => start([marketplaceOrganization, otherOrganization]));

  it('R-M1 R-M2 lists the catalog (every ISV offer, while no CSP audience limits it), filters by type, category, publisher and words, and shows an offer', async () => {
    const all = await p.command('salesAgent', 'marketplace');
    expect(all.text).toContain('Marketplace: 3 offers');
    expect(all.text).toContain('雲端 ERP (tw-erp) — 臺灣雲端軟體 — SaaS — 1 plan');
    expect(all.text).toContain('한빛 인사이트 Analytics (hanbit-insight) — 한빛 애널리틱스 — SaaS, free trial — 2 plans');
    expect((await p.command('salesAgent', 'marketplace type:vm')).text).toMatch(/Marketplace: 1 offer[\s\S]*Defender Appliance VM/);
    expect((await p.command('salesAgent', 'marketplace publisher:microsoft')).text).toContain('Marketplace: 1 offer');
    expect((await p.command('salesAgent', 'marketplace publisher:partner category:erp')).text).toMatch(/Marketplace: 1 offer[\s\S]*雲端 ERP/);
    expect((await p.command('salesAgent', 'marketplace 인사이트')).text).toContain('Marketplace: 1 offer');
    const offer = await p.command('helpdeskAgent', 'offer hanbit-insight');
    for (const text of ['한빛 애널리틱스 (partner)', 'support@hanbit-insight.example', 'Basic (basic) — 30-day free trial — KR monthly ₩12,000; KR annual ₩120,000; US monthly $10.00', 'Pro (pro) — no free trial', 'KR, TW, US']) {
      expect(offer.text).toContain(text);
    }
    expect((await p.command('salesAgent', 'marketplace type:spaceship')).text).toContain('"spaceship" is not an offer type');
  });

  it('R-A4 R-M4 R-M5 buying is for admins, SaaS only, and only where the publisher sells', async () => {
    expect((await unchanged(p.db, () => p.command('salesAgent', 'buy hanbit-insight pro for contoso.com seats 5'))).text).toContain(
      'Buying or changing marketplace subscriptions needs the admin agent or global admin role',
    );
    expect((await unchanged(p.db, () => p.command('contact', 'buy hanbit-insight pro for contoso.com seats 5'))).text).toContain('Only partner staff can run buy.');
    const vm = await unchanged(p.db, () => p.command('adminAgent', 'buy defender-vm std for contoso.com seats 1'));
    expect(vm.text).toContain('Defender Appliance VM is a virtual machine offer: only SaaS offers can be bought here. Buy it in the Azure portal');
    const country = await unchanged(p.db, () => p.command('adminAgent', 'buy tw-erp standard for contoso.com seats 3'));
    expect(country.text).toContain('雲端 ERP is not sold to customers billed in US, so Contoso Ltd cannot buy it. It is sold in: TW.');
    expect((await unchanged(p.db, () => p.command('adminAgent', 'buy hanbit-insight gold for contoso.com seats 3'))).text).toContain('has no plan "gold"');
    expect((await unchanged(p.db, () => p.command('adminAgent', 'buy hanbit-insight pro for contoso.com seats 0'))).text).toContain('Seats must be a whole number');
  });

  it('R-M8 R-M6 R-M10 an admin buys after a confirmation; the subscription needs action with its own activation link', async () => {
    const quote = await unchanged(p.db, () => p.command('adminAgent', 'buy hanbit-insight pro for contoso.com seats 5 annual'));
    expect(quote.text).toContain('Buy 한빛 인사이트 Analytics for Contoso Ltd?');
    expect(quote.text).toContain('$250.00 per seat, $1,250.00 in all, annual');
    expect(quote.text).toMatch(/can be cancelled for 14 days \(until \d{4}-\d\d-\d\d \d\d:\d\d UTC if bought now\)/);
    expect(quote.buttons.map((b) => [b.label, b.style])).toEqual([['Buy', 'primary'], ['Cancel', undefined]]);
    const bought = await p.click('adminAgent', quote, 'Buy');
    expect(bought.text).toContain('Bought 한빛 인사이트 Analytics for Contoso Ltd');
    const link = /https:\/\/hanbit-insight\.example\/activate\?token=([\w-]+)/.exec(bought.text);
    expect(link).not.toBeNull();
    const again = await p.click('globalAdmin', await p.command('globalAdmin', 'buy hanbit-insight pro for contoso.com seats 2 monthly'), 'Buy');
    expect(again.text).toContain('Can be cancelled until');
    const codes = (await p.db.select().from(subscriptions).where(eq(subscriptions.offerId, 'hanbit-insight'))).map((s) => s.activationCode);
    expect(new Set(codes).size).toBe(codes.length);

    const listed = await p.command('salesAgent', 'subscriptions contoso.com');
    expect(listed.text).toMatch(/한빛 인사이트 Analytics — Pro — 한빛 인사이트 Analytics plan pro — Action needed — 5 seats, annual, auto-renew on — bought .* not billed yet/);
    expect(listed.text).toContain(`activate: https://hanbit-insight.example/activate?token=${link![1]}`);
    expect((await p.command('helpdeskAgent', 'activity contoso.com')).text).toContain('Bought 한빛 인사이트 Analytics (Pro, 5 seats)');
  });

  it('R-M7 R-M10 an admin renames, changes seats, auto-renew and reseller, and cancels inside the window, each shown first and made on confirmation', async () => {
    const [s] = await p.db.select().from(subscriptions).where(eq(subscriptions.seats, 5));
    const id = s!.id.slice(0, 8);
    const row = async () => (await p.db.select().from(subscriptions).where(eq(subscriptions.id, s!.id)))[0]!;
    // The command shows what will change and changes nothing (contents compared); its button makes the change.
    const confirmed = async (text: string, shows: string[], label = 'Confirm') => {
      const before = await row();
      const shown = await unchanged(p.db, () => p.command('adminAgent', text));
      for (const expected of shows) expect(shown.text).toContain(expected);
      expect(await row()).toEqual(before);
      return (await p.click('adminAgent', shown, label)).text;
    };
    expect(await confirmed(`subscription ${id} rename 콘토소 분석`, ['Change 한빛 인사이트 Analytics — Pro of Contoso Ltd?', '한빛 인사이트 Analytics — Pro → 콘토소 분석'])).toContain('Renamed to 콘토소 분석.');
    // Not billed yet (no activation): the price per term changes, and billing starts at the new figure.
    expect(await confirmed(`subscription ${id} seats 12`, ['5 → 12', '$1,250.00 → $3,000.00 (+$1,750.00)', 'Billing has not started: once the publisher activates it, it is billed $3,000.00 per annual term.'])).toContain('콘토소 분석 now has 12 seats.');
    expect(await confirmed(`subscription ${id} auto-renew off`, ['on → off'])).toContain('Auto-renew of 콘토소 분석 is now off: it ends with its current term.');
    expect((await unchanged(p.db, () => p.command('adminAgent', `subscription ${id} auto-renew off`))).text).toContain('Auto-renew of 콘토소 분석 is already off. Nothing was changed.');
    expect(await confirmed(`subscription ${id} reseller 4123456`, ['— → 4123456'])).toContain('Indirect reseller 4123456 is recorded');
    expect((await unchanged(p.db, () => p.command('adminAgent', `subscription ${id} reseller MPN-12`))).text).toContain('is not a partner (MPN) ID');
    expect((await unchanged(p.db, () => p.command('salesAgent', `subscription ${id} seats 3`))).text).toContain('needs the admin agent or global admin role');
    const cancelled = await confirmed(`subscription ${id} cancel`, ['Cancel 콘토소 분석 of Contoso Ltd?', 'No refund: nothing billed so far would be refunded.', 'Cancelling cannot be undone'], 'Cancel the subscription');
    expect(cancelled).toContain('콘토소 분석 is cancelled');
    expect((await unchanged(p.db, () => p.command('globalAdmin', `subscription ${id} seats 3`))).text).toMatch(/was cancelled on .* UTC, so it cannot be changed/);
    expect(await row()).toMatchObject({ friendlyName: '콘토소 분석', seats: 12, autoRenew: false, resellerMpnId: '4123456', status: 'cancelled' });
    const log = await p.db.select().from(activityLog).where(eq(activityLog.action, 'saas_changed'));
    expect(log.map((r) => r.details.change)).toEqual(['rename', 'seats', 'auto-renew', 'reseller']);
  });

  it('R-M10 a cancel after the window is refused with when it closed, and suggests turning auto-renew off', async () => {
    const imported = 'saas0000-0000-4000-8000-000000000001';
    const refused = await unchanged(p.db, () => p.command('adminAgent', `subscription ${imported} cancel`));
    expect(refused.text).toContain(`Subscription ${imported} can no longer be cancelled: its monthly cancellation window closed on 2026-10-11 00:00 UTC.`);
    expect(refused.text).toContain(`subscription ${imported} auto-renew off`);
  });

  it('R-M11 billing shows the calendar month, prorated charges, and the invoice on the 8th', async () => {
    const october = await p.command('salesAgent', 'billing 한빛소프트 2026-10');
    expect(october.text).toContain('2026-10-01 to 2026-10-31');
    expect(october.text).toContain('2026-11-08');
    // Billing started on the 17th: 15 of 31 days of 10 seats × ₩12,000.
    expect(october.text).toContain('인사이트 팀 — 한빛 인사이트 Analytics, 10 seats — ₩58,065 (prorated: 15 of 31 days)');
    const november = await p.command('salesAgent', 'billing 한빛소프트 2026-11');
    expect(november.text).toContain('₩120,000 (whole period)');
    expect(november.text).toContain('2026-12-08');
    expect((await p.command('salesAgent', 'billing 한빛소프트 2026-09')).text).toContain('No subscription was billed in this period');
    expect((await unchanged(p.db, () => p.command('salesAgent', 'billing 한빛소프트 2026-13'))).text).toContain('"2026-13" is not a month');
  });

  it('R-M12 support names the publisher\'s contact; billing questions stay with the partner', async () => {
    const reply = await p.command('helpdeskAgent', 'support saas0000');
    expect(reply.text).toContain('Technical support: 한빛 애널리틱스, support@hanbit-insight.example, +82 2 555 0100.');
    expect(reply.text).toContain('Billing and subscription questions: ask us, your partner, here.');
    expect((await p.command('helpdeskAgent', 'support tw-erp')).text).toContain('help@tw-erp.example');
  });
});

describe.each(platforms)('$name: R-M9 publisher activation', ({ start }) => {
  const p = usePlatform(() => start([marketplaceOrganization, otherOrganization]));

  it('R-M9 billing starts only when the licenses are assigned and the setup is confirmed, each through the fulfillment endpoint', async () => {
    const orgId = await testOrgId(p.db);
    const quote = await p.command('adminAgent', 'buy hanbit-insight basic for 한빛소프트 seats 3');
    await p.click('adminAgent', quote, 'Buy');
    const [bought] = await p.db.select().from(subscriptions).where(eq(subscriptions.status, 'action-needed'));
    const { token } = await createApiToken(p.db, orgId, 'fulfillment', '한빛 애널리틱스');
    const { token: other } = await createApiToken(p.db, orgId, 'another publisher', '臺灣雲端軟體');
    const { token: intake } = await createApiToken(p.db, orgId, 'purchase intake');
    const call = (step: string, bearer: string, body: unknown = {}) =>
      fetch(`http://127.0.0.1:${p.port}/api/v1/saas/subscriptions/${bought!.id}/${step}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    expect((await call('activate', intake)).status).toBe(401);
    expect((await call('activate', other)).status).toBe(404);
    expect((await call('activate', token, { planId: 'pro' })).status).toBe(409);
    const licenses = await call('licenses', token);
    expect(licenses.status).toBe(200);
    expect(await licenses.json()).toMatchObject({ status: 'action-needed', billingStartedAt: null });
    const activated = await call('activate', token, { planId: 'basic', quantity: 3 });
    expect(activated.status).toBe(200);
    const body = (await activated.json()) as { status: string; billingStartedAt: string };
    expect(body.status).toBe('active');
    expect(body.billingStartedAt).toMatch(/^\d{4}-/);
    expect((await p.command('salesAgent', 'subscriptions 한빛소프트')).text).toMatch(/한빛 인사이트 Analytics plan basic — active — 3 seats, monthly, auto-renew on — bought .*, billed since \d{4}-\d\d-\d\d/);
    const log = (await p.command('helpdeskAgent', 'activity 한빛소프트')).text;
    expect(log).toContain('한빛 애널리틱스 — Setup of 한빛 인사이트 Analytics confirmed through the fulfillment API');
    expect(log).toContain('한빛 애널리틱스 — Licenses assigned for 한빛 인사이트 Analytics');
  });
});

describe('R-M10 a cancellation window about to close is flagged once in the activity channel', () => {
  it('R-M10 monthly within 2 hours and annual within 24 hours of closing are flagged once; others are not', async () => {
    const database = await openTestDatabase();
    try {
      const now = new Date();
      const ago = (hours: number) => new Date(now.getTime() - hours * 3600_000).toISOString();
      const saas = (id: string, term: string, purchasedAt: string) => ({ id, offer: 'marketplace-saas', friendlyName: id, status: 'action-needed', offerId: 'hanbit-insight', planId: 'basic', seats: 1, term, purchasedAt });
      const file = {
        ...marketplaceOrganization,
        customers: marketplaceOrganization.customers.map((c) =>
          c.domain === 'hanbitsoft.example'
            ? { ...c, subscriptions: [saas('closing-monthly', 'monthly', ago(23)), saas('later-monthly', 'monthly', ago(20)), saas('closing-annual', 'annual', ago(14 * 24 - 23)), saas('closed-monthly', 'monthly', ago(25))] }
            : c,
        ),
      };
      const { orgId } = await importOrganization(database.db, parseImportFile(file));
      await database.db.update(organizations).set({ activityChannelPlatform: 'slack', activityChannelId: 'C0ACTIVITY' }).where(eq(organizations.id, orgId));

      expect(await remindClosingWindows(database.db, now)).toBe(2);
      expect(await remindClosingWindows(database.db, new Date(now.getTime() + 60_000))).toBe(0);
      const posts = await database.db.select().from(outbox).where(eq(outbox.channelId, 'C0ACTIVITY'));
      expect(posts.map((r) => (r.message as { params: { subscription: string } }).params.subscription).sort()).toEqual(['closing-annual', 'closing-monthly']);
      expect(posts[0]!.message).toMatchObject({ key: 'subscription.windowClosing', params: { customer: '한빛소프트 주식회사' } });
    } finally {
      await database.close();
    }
  });
});

describe('R-M10 cancellation windows at their exact edges (UTC, date-fns)', () => {
  const at = (iso: string) => new Date(iso);
  const second = 1000;

  it.each([
    ['monthly, across a month end', 'monthly', '2026-01-31T12:00:00Z', '2026-02-01T12:00:00.000Z'],
    ['monthly, across the US daylight-saving change', 'monthly', '2026-03-08T06:30:00Z', '2026-03-09T06:30:00.000Z'],
    ['annual, across a month end', 'annual', '2026-02-20T09:15:00Z', '2026-03-06T09:15:00.000Z'],
    ['annual, across the European daylight-saving change', 'annual', '2026-10-20T23:00:00Z', '2026-11-03T23:00:00.000Z'],
  ] as const)('R-M10 %s: inside one second before it closes, outside when it closes', (_, term, purchased, closes) => {
    const s = { term, purchasedAt: at(purchased) };
    expect(cancellationWindowCloses(s).toISOString()).toBe(closes);
    const end = at(closes).getTime();
    expect(insideCancellationWindow(s, new Date(end - second))).toBe(true);
    expect(insideCancellationWindow(s, new Date(end))).toBe(false);
    // 24 hours or 14 days of elapsed time, whatever the local clocks did.
    expect(end - s.purchasedAt.getTime()).toBe((term === 'monthly' ? 1 : 14) * 24 * 3600 * second);
  });

  it('R-M11 a monthly charge is prorated by the days billed in the calendar month; the invoice comes on the 8th', () => {
    const subscription = { billingStartedAt: at('2026-02-15T10:00:00Z'), cancelledAt: null, term: 'monthly', seats: 4, price: '28.00', currency: 'USD' } as unknown as Subscription;
    const february = billingPeriod(at('2026-02-03T00:00:00Z'));
    expect(february.invoiceDate.toISOString()).toBe('2026-03-08T00:00:00.000Z');
    expect(chargeFor(subscription, february)).toMatchObject({ days: 14, periodDays: 28, amount: 56 });
    expect(chargeFor(subscription, billingPeriod(at('2026-03-31T23:59:59Z')))).toMatchObject({ days: 31, amount: 112 });
    expect(chargeFor(subscription, billingPeriod(at('2026-01-15T00:00:00Z')))).toBeUndefined();
  });
});
