import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { offers as offerRows, subscriptions } from '../db/schema.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { ImportError, importOrganization, parseImportFile } from '../src/core/import.js';
import type { ImportFileInput } from '../src/core/import-schema.js';
import { translator, type Locale } from '../src/i18n/index.js';
import { openTestDatabase } from './helpers/database.js';
import { testOrganization } from './helpers/fixture.js';
import { everyone, sentence } from './helpers/languages.js';
import { platforms, usePlatform, type Reply } from './helpers/platforms.js';
import { testOrgId, unchanged } from './helpers/tables.js';

/*
 * Issue 19: csp-ops says what Partner Center says about marketplace SaaS (seeds 002 and 004), on
 * Slack and Teams, in each language, with the documentation's links as links.
 */

const links = {
  marketplace: 'https://azuremarketplace.microsoft.com/marketplace',
  billing: 'https://partner.microsoft.com/dashboard/billing',
  invoicesApi: 'https://learn.microsoft.com/partner-center/developer/get-a-collection-of-invoices',
  activationApi: 'https://learn.microsoft.com/partner-center/developer/get-activation-link-by-order-line-item',
  support: 'https://learn.microsoft.com/partner-center/report-problems-on-behalf-of-a-customer#support-for-azure-marketplace-products',
};

// The publisher's own words are data: markup in them stays text, an address in them is a link to itself.
const cancelSteps = '<b>先</b>匯出 *所有* 資料 <!channel> 再到 https://tw-erp.example/csp/cancel 申請';
const seatSteps = '請先在 `管理主控台` 釋出授權 [here](https://evil.example)';

/** A publisher that names its steps before a cancel and before a seat change (R-M7). */
const twErp = {
  id: 'tw-erp', name: '雲端 ERP',
  publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' },
  landingPageUrl: 'https://tw-erp.example/saas/activate', type: 'saas', categories: ['ERP'], countries: ['TW'],
  publisherSteps: { cancel: cancelSteps, seats: seatSteps },
  plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
} satisfies NonNullable<ImportFileInput['offers']>[number];

const offers = [
  {
    id: 'hanbit-insight', name: '한빛 인사이트 Analytics',
    publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-insight.example' },
    landingPageUrl: 'https://hanbit-insight.example/activate', type: 'saas', categories: ['analytics'], countries: ['KR', 'TW'],
    plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }] }],
  },
  twErp,
] satisfies ImportFileInput['offers'];

/** An ISV offer whose CSP audience is another partner's: this partner must not learn it exists (R-M2). */
const publisherOrganization = {
  organization: { name: '누리소프트 주식회사', kind: 'publisher', slackTeamId: 'T0ISVGUIDE' },
  staff: [{ name: '이서연', email: 'seoyeon.lee@nurisoft.example', role: 'owner', slackUserId: 'UISVGUIDE' }],
  offers: [
    {
      id: 'nuri-ledger', name: '누리 Ledger', publisher: { name: '누리소프트', supportContact: 'support@nurisoft.example' }, type: 'saas', countries: ['KR'],
      plans: [{ id: 'standard', name: 'Standard', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 15000 }] }],
      audience: { option: 'specific', published: true, partners: [{ tenantId: 'e8e8e8e8-0000-4000-8000-0000000000e8', regions: [] }] },
      salesMaterialsUrl: 'https://partners.nurisoft.example/csp', channelContact: 'channel@nurisoft.example',
    },
  ],
  partnerDirectory: [{ name: 'Tokyo Modern Workplace KK', tenantId: 'e8e8e8e8-0000-4000-8000-0000000000e8', country: 'JP' }],
} satisfies ImportFileInput;

const partnerIn = (locale: string) => ({ ...testOrganization, organization: { ...testOrganization.organization, locale }, offers });

// Words a sentence left in English would hold; the names here (data) never do.
const englishWords = /\b(the|is|are|was|were|and|nothing|changed|this|that|with|from|your|you|has|have|not|can|will|been|which|there|when|only|must|again)\b/i;
function expectWrittenIn(locale: Locale, reply: Reply) {
  if (locale === 'en') return;
  expect(reply.text).not.toMatch(englishWords);
  expect(reply.text).toMatch(locale === 'ko-KR' ? /[\uac00-\ud7a3]/ : /[\u4e00-\u9fff]/);
}

const prefixes = { Slack: '/csp ', Teams: '@csp-ops ' };

describe.each(platforms.flatMap((platform) => (['en', 'ko-KR', 'zh-TW'] as const).map((locale) => ({ ...platform, locale }))))('$name in $locale: marketplace guidance', ({ name, start, locale }) => {
  const p = usePlatform(() => start([partnerIn(locale), publisherOrganization], undefined, everyone(locale)));
  const t = translator(locale);
  const prefix = prefixes[name];
  /** The reply holds each sentence and links to each address. */
  const expectGuidance = (reply: Reply, sentences: (string | RegExp)[], addresses: string[]) => {
    for (const s of sentences) typeof s === 'string' ? expect(reply.text).toContain(s) : expect(reply.text).toMatch(s);
    expect(reply.links).toEqual(expect.arrayContaining(addresses));
    expectWrittenIn(locale, reply);
  };
  const invoices = t('billing.invoiceWhere');

  it('seed 004 "View Marketplace offers and pricing", R-M2: nothing found, an unknown offer and one outside the CSP audience say to ask the publisher', async () => {
    const none = await p.command('salesAgent', 'marketplace 없는제품');
    expectGuidance(none, [t('marketplace.none'), t('marketplace.notListed')], [links.marketplace]);
    const unknown = await unchanged(p.db, () => p.command('salesAgent', 'offer no-such-offer'));
    expectGuidance(unknown, [t('offer.unknown', { text: 'no-such-offer', prefix }), t('marketplace.notListed')], [links.marketplace]);
    // The hidden offer is answered as one that does not exist: nothing tells it apart.
    const hidden = await unchanged(p.db, () => p.command('salesAgent', 'offer nuri-ledger'));
    expect(hidden.text.replaceAll('nuri-ledger', 'no-such-offer')).toBe(unknown.text);
    expect(hidden.links).toEqual(unknown.links);
    const buy = await unchanged(p.db, () => p.command('adminAgent', 'buy nuri-ledger standard for 한빛소프트 seats 1'));
    expectGuidance(buy, [t('offer.unknown', { text: 'nuri-ledger', prefix }), t('marketplace.notListed')], [links.marketplace]);
  });

  it('R-M8 R-M9 R-M11 seed 004 "License activation", "Access billing info": the buy confirmation, the purchase and its announcements list the steps until billing and where invoices are', async () => {
    await p.command('globalAdmin', 'channel activity here');
    const steps = [t('buy.activationNote'), t('buy.step.submit'), t('buy.step.setup'), t('buy.step.billing'), invoices];
    const quote = await unchanged(p.db, () => p.command('adminAgent', 'buy hanbit-insight basic for 한빛소프트 seats 3'));
    expectGuidance(quote, [...steps, t('buy.step.link', { prefix })], [links.activationApi, links.billing, links.invoicesApi]);

    const bought = await p.click('adminAgent', quote, t('buy.confirm'));
    const [row] = await p.db.select().from(subscriptions).where(and(eq(subscriptions.offerId, 'hanbit-insight'), eq(subscriptions.status, 'action-needed')));
    const activation = `https://hanbit-insight.example/activate?token=${row!.activationCode}`;
    expectGuidance(bought, [...steps, t('buy.activate', { link: activation })], [activation, links.billing, links.invoicesApi]);
    // In order: the steps, then the invoices.
    expect(bought.text.indexOf(t('buy.activate', { link: activation }))).toBeLessThan(bought.text.indexOf(t('buy.step.billing')));

    const details = { offer: '한빛 인사이트 Analytics', customer: '한빛소프트 주식회사', subscription: row!.id };
    const announced = await p.posted(t('buy.announce', { ...details, actor: '王小明', plan: 'Basic', seats: 3 }));
    expectGuidance(announced, [invoices], [links.billing, links.invoicesApi]);

    // The publisher activates (R-M9): the announcement that billing starts says where its invoices will be.
    const { token } = await createApiToken(p.db, await testOrgId(p.db), 'fulfillment', '한빛 애널리틱스');
    const activate = await fetch(`http://127.0.0.1:${p.port}/api/v1/saas/subscriptions/${row!.id}/activate`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ licensesAssigned: true }),
    });
    expect(activate.status).toBe(200);
    expectGuidance(await p.posted(t('activation.billingStarted', details)), [invoices], [links.billing, links.invoicesApi]);
  });

  it('R-M11 seed 004 "Access billing info": billing names the calendar month, the 8th, and where invoices are', async () => {
    const billing = await p.command('salesAgent', 'billing 台灣雲端科技 2026-10');
    expectGuidance(billing, [t('billing.none'), invoices], [links.billing, links.invoicesApi]);
    expect(billing.text).toMatch(sentence(t, 'billing.periodValue', {}, ['start', 'end']));
  });

  it('R-M7 seed 002 note: before a seat change or a cancel, the publisher\'s own steps, shown as text', async () => {
    const quote = await p.command('adminAgent', 'buy tw-erp standard for 台灣雲端科技 seats 2');
    await p.click('adminAgent', quote, t('buy.confirm'));
    const [row] = await p.db.select().from(subscriptions).where(eq(subscriptions.offerId, 'tw-erp'));
    const seats = await unchanged(p.db, () => p.command('adminAgent', `subscription ${row!.id} seats 5`));
    expectGuidance(seats, [t('subscription.publisherSteps', { publisher: '臺灣雲端軟體', steps: seatSteps })], []);
    // The address in the publisher's words links to itself, never under other words.
    expect(seats.links).toEqual(['https://evil.example']);
    const cancel = await unchanged(p.db, () => p.command('adminAgent', `subscription ${row!.id} cancel`));
    expectGuidance(cancel, [t('subscription.publisherSteps', { publisher: '臺灣雲端軟體', steps: cancelSteps })], ['https://tw-erp.example/csp/cancel']);
    expect(cancel.text).not.toContain(seatSteps);
    // Other changes, and offers whose publisher says nothing, have no such line.
    const rename = await unchanged(p.db, () => p.command('adminAgent', `subscription ${row!.id} rename 台北 ERP`));
    expect(rename.text).not.toContain(cancelSteps);
    expect(rename.text).not.toContain(seatSteps);
    const [other] = await p.db.select().from(subscriptions).where(eq(subscriptions.offerId, 'hanbit-insight'));
    expect((await unchanged(p.db, () => p.command('adminAgent', `subscription ${other!.id} seats 9`))).text).not.toMatch(sentence(t, 'subscription.publisherSteps', {}, ['publisher', 'steps']));
  });

  it('R-M12 seed 004 "Provide support": technical support from the publisher, billing and subscription questions to the partner, and Microsoft\'s page', async () => {
    const support = await p.command('helpdeskAgent', 'support tw-erp');
    expectGuidance(
      support,
      [t('support.publisher', { publisher: '臺灣雲端軟體', contact: 'help@tw-erp.example' }), t('support.partner'), t('support.marketplace')],
      [links.support],
    );
  });
});

describe('R-M7 the publisher\'s steps in the import file', () => {
  const withSteps = (publisherSteps: unknown) => ({ ...testOrganization, offers: [{ ...twErp, publisherSteps }] });
  const problems = (file: unknown) => {
    try {
      parseImportFile(file);
      return [];
    } catch (error) {
      if (error instanceof ImportError) return error.problems;
      throw error;
    }
  };

  it('R-M7 takes a text or URL per change (cancel, seats), names a bad one by its path, and an offer imported without them has none', async () => {
    expect(problems(withSteps({ cancel: 'x' }))[0]).toMatch(/^offers\[0\]\.publisherSteps\.cancel: /);
    expect(problems(withSteps({ refund: 'Ask us first.' }))[0]).toMatch(/^offers\[0\]\.publisherSteps: .*refund/);
    const database = await openTestDatabase();
    try {
      const stored = async () => (await database.db.select({ steps: offerRows.publisherSteps }).from(offerRows).where(eq(offerRows.id, 'tw-erp')))[0]!.steps;
      await importOrganization(database.db, parseImportFile(withSteps({ cancel: ` ${cancelSteps} ` })));
      expect(await stored()).toEqual({ cancel: cancelSteps });
      const { publisherSteps: _, ...without } = twErp;
      await importOrganization(database.db, parseImportFile({ ...testOrganization, offers: [without] }));
      expect(await stored()).toBeNull();
    } finally {
      await database.close();
    }
  });
});
