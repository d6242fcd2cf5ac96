import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reservationRequests } from '../db/schema.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { formatMoney, translator, type MessageKey, type MessageParams, type Translate } from '../src/i18n/index.js';
import { startFakeAzure, type FakeAzure } from './helpers/fake-azure.js';
import { partnerTenant, startFakePartnerCenter, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { aadUsers, connectedOrganization, hanbitSubscription, tenants, testOrganization, users } from './helpers/fixture.js';
import { everyone } from './helpers/languages.js';
import { platforms, usePlatform, type Connector, type PlatformDriver, type Reply } from './helpers/platforms.js';
import { testOrgId } from './helpers/tables.js';

/*
 * Issue 19, seeds 000/001 "Help customers manage reservations they purchase": what csp-ops tells staff
 * and customers about the price a customer pays (R-P11), what a reservation's scope covers (R-P12), and,
 * when csp-ops does not make an approved change itself, how the partner makes it in the Azure portal,
 * which the customer cannot do (R-P7, R-Q1). Each on Slack and Teams, in English, Korean and Chinese.
 */

const docs = {
  supportRequest: 'https://portal.azure.com/#view/Microsoft_Azure_Support/HelpAndSupportBlade/~/overview',
  exchangeAndRefund: 'https://learn.microsoft.com/azure/cost-management-billing/reservations/exchange-and-refund-azure-reservations',
  scope: 'https://learn.microsoft.com/azure/cost-management-billing/reservations/manage-reserved-vm-instance',
  renew: 'https://learn.microsoft.com/azure/cost-management-billing/reservations/reservation-renew',
  onBehalf: 'https://learn.microsoft.com/partner-center/azure-reservations-manage',
};

const hanbit = '한빛소프트 주식회사';
const taiwanCloud = '台灣雲端科技股份有限公司';
const taiwanSubscription = 'c0c0c0c0-0000-4000-8000-000000000008';
/** The reservations each scenario acts on; the one Azure refuses has an Azure reservation order, the others none known. */
const ids = {
  hanbitShared: 'e1000000-0000-4000-8000-000000000001',
  hanbitSingle: 'e1000000-0000-4000-8000-000000000002',
  hanbitRenew: 'e1000000-0000-4000-8000-000000000003',
  hanbitRefused: 'e1000000-0000-4000-8000-000000000004',
  taiwanCancel: 'e2000000-0000-4000-8000-000000000001',
  taiwanScope: 'e2000000-0000-4000-8000-000000000002',
  taiwanExchange: 'e2000000-0000-4000-8000-000000000003',
};
const refusedOrder = 'e9000000-0000-4000-8000-000000000004';

const reservation = (id: string, fields: Record<string, unknown> = {}) => ({
  id, product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 2, term: 'P1Y' as const, billingPlan: 'upfront' as const,
  scope: 'shared' as const, price: 1_234_567, currency: 'KRW', purchasedBy: 'customer' as const,
  purchasedAt: new Date(Date.now() - 30 * 86_400_000).toISOString(), ...fields,
});

/**
 * The test organization speaking `locale`, its customer contact 김지수 of 한빛소프트 주식회사, and
 * reservations of 한빛소프트 주식회사 and 台灣雲端科技股份有限公司.
 */
function organization(locale: string, connected: boolean) {
  const base = connected ? connectedOrganization(partnerTenant) : testOrganization;
  return {
    ...base,
    organization: { ...base.organization, locale },
    customers: base.customers.map((c) => {
      if (c.tenantId === tenants.contoso) return { ...c, contacts: [] };
      if (c.tenantId === tenants.hanbit) {
        return {
          ...c,
          contacts: [{ name: '김지수', email: 'jisu.kim@hanbitsoft.example', slackUserId: users.contact, teamsAadObjectId: aadUsers.contact }],
          reservations: [
            reservation(ids.hanbitShared),
            reservation(ids.hanbitSingle, { scope: 'single', subscriptionId: hanbitSubscription, price: 88.25, currency: 'USD', purchasedBy: 'partner' }),
            reservation(ids.hanbitRenew),
            reservation(ids.hanbitRefused, { reservationOrderId: refusedOrder }),
          ],
        };
      }
      if (c.tenantId === tenants.taiwanCloud) {
        return {
          ...c,
          reservations: [
            reservation(ids.taiwanCancel, { price: 96_000, currency: 'TWD' }),
            reservation(ids.taiwanScope, { scope: 'single', subscriptionId: taiwanSubscription, price: 96_000, currency: 'TWD' }),
            reservation(ids.taiwanExchange, { price: 96_000, currency: 'TWD' }),
          ],
        };
      }
      return c;
    }),
  };
}

/** The words of a catalog sentence that do not depend on `unknown` parameters (a time): its longest fixed run. */
function fixedPart(t: Translate, key: MessageKey, params: MessageParams, unknown: string[]): string {
  const marked = t(key, { ...params, ...Object.fromEntries(unknown.map((name) => [name, '\u0000'])) });
  return marked.split('\u0000').reduce((a, b) => (b.length > a.length ? b : a), '');
}

/** A sentence said once in a message, not once a row: as often as the message's title (Slack's notification text repeats both). */
function expectOnce(reply: Reply, sentence: string, title: string) {
  const count = (text: string) => reply.text.split(text).length - 1;
  expect(count(sentence), sentence).toBeGreaterThan(0);
  expect(count(sentence), sentence).toBe(count(title));
}

/** The reply shows the sentence, and every address in it is a link. */
function expectGuidance(reply: Reply, sentence: string, ...addresses: string[]) {
  expect(reply.text).toContain(sentence);
  for (const address of addresses) expect(sentence).toContain(address);
  expect(reply.links).toEqual(expect.arrayContaining(addresses));
}

const locales = ['en', 'ko-KR', 'zh-TW'] as const;
const matrix = platforms.flatMap((platform) => locales.map((locale) => ({ ...platform, locale })));

let pc: FakePartnerCenter;
let azure: FakeAzure;
beforeAll(async () => {
  pc = await startFakePartnerCenter();
  azure = await startFakeAzure(pc);
});
afterAll(async () => {
  await azure?.close();
  await pc?.close();
});

const connector = (): Connector => ({
  partnerCenter: { ...pc.config, AZURE_RESOURCE_MANAGER_URL: azure.origin },
  partnerCenterTuning: { timeoutMs: 2000, retryDelayMs: 10, maxPollDelayMs: 20 },
});

describe.each(matrix)('$name in $locale, connector on', ({ start, locale }) => {
  const t = translator(locale);
  const p: PlatformDriver = usePlatform(
    () => start([organization(locale, true)], connector(), everyone(locale)),
    async (driver) => {
      azure.addReservation(tenants.hanbit, refusedOrder, ids.hanbitRefused, { location: 'koreacentral' });
      await driver.command('globalAdmin', 'channel approvals here');
      await driver.command('globalAdmin', 'notify here purchases');
      await driver.command('globalAdmin', 'notify here requests', 'elsewhere');
    },
  );
  const priceNote = t('reservation.priceNote');
  const sharedNote = t('reservation.scopeNote.shared');
  const singleNote = t('reservation.scopeNote.single');

  it('R-P11 R-P12 reservations and orders: the partner\'s price note once under the prices, and what each scope shown covers', async () => {
    const title = t('reservations.title', { customer: hanbit });
    const list = await p.command('salesAgent', 'reservations 한빛소프트');
    expect(list.text).toContain(formatMoney(t, 1_234_567, 'KRW'));
    expectOnce(list, priceNote, title);
    expectOnce(list, sharedNote, title);
    expectOnce(list, singleNote, title);
    // A customer contact reads the same about their own reservations.
    const own = await p.command('contact', 'reservations');
    expectOnce(own, priceNote, title);
    expectOnce(own, singleNote, title);
    const orders = await p.command('salesAgent', 'orders 한빛소프트');
    expectOnce(orders, priceNote, t('orders.title', { customer: hanbit }));
    expectOnce(orders, sharedNote, t('orders.title', { customer: hanbit }));
    // No reservation shown, nothing to explain.
    const none = await p.command('salesAgent', 'reservations 부산해운');
    expect(none.text).not.toContain(priceNote);
  });

  it('R-N2 R-P11 R-P12 a customer\'s reservation purchase as announced, in a digest, and in the home: the price note and the scope it was bought with', async () => {
    const token = (await createApiToken(p.db, await testOrgId(p.db), 'intake')).token;
    const send = (body: unknown) =>
      fetch(`http://127.0.0.1:${p.port}/api/v1/purchases`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const purchase = (customer: string, scope: Record<string, string>, price: number, currency: string) => ({
      id: `PO-${randomUUID()}`,
      customer,
      kind: 'reservation',
      reservation: { product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 2, term: 'P1Y', ...scope, price, currency },
      buyer: { name: '김지수', email: 'jisu.kim@hanbitsoft.example' },
      purchasedAt: '2026-11-20T01:02:03Z',
    });
    expect((await send(purchase('hanbitsoft.example', { scope: 'single', subscriptionId: hanbitSubscription }, 2_345_678, 'KRW'))).status).toBe(201);
    const title = t('purchase.title', { customer: hanbit });
    const announced = await p.posted(title);
    expect(announced.text).toContain(formatMoney(t, 2_345_678, 'KRW'));
    expectOnce(announced, priceNote, title);
    expectOnce(announced, singleNote, title);
    expect(announced.text).not.toContain(sharedNote);

    const home = await p.command('adminAgent', 'home');
    expect(home.text).toContain(formatMoney(t, 2_345_678, 'KRW'));
    expectOnce(home, priceNote, t('home.title'));

    // More purchases at once than the channel's bucket holds: one digest, which says it once too.
    const batch = Array.from({ length: 12 }, (_, i) => purchase('twcloud.example', { scope: 'shared' }, 90_000 + i, 'TWD'));
    expect((await send(batch)).status).toBe(207);
    const digest = await p.posted(t('digest.total'), 15_000);
    expectOnce(digest, priceNote, t('digest.total'));
    expectOnce(digest, sharedNote, t('digest.total'));
  });

  it('R-P12 R-P7 R-Q1 a customer contact asks for a single scope: told what it covers and that the partner makes the change; the approved card gives the Azure portal steps with links; the contact is told the partner makes it', async () => {
    const asked = await p.command('contact', `request scope ${ids.hanbitShared} single ${hanbitSubscription}`);
    expect(asked.text).toContain(singleNote);
    expect(asked.text).toContain(t('request.filedPartnerMakes'));
    const change = t('request.change.scope.single', { reservation: ids.hanbitShared, subscription: hanbitSubscription });
    const card = await p.posted(t('request.cardTitle', { change }));
    expect(card.text).toContain(singleNote);

    // No Azure reservation order is known for it, so the connector cannot make it: recorded here, made in the portal.
    const approved = await p.click('adminAgent', card, t('request.approve'));
    expect(approved.text).toContain(fixedPart(t, 'request.approvedPortal', { name: '王小明' }, ['date']));
    expectGuidance(approved, t('request.portalSteps.scopeSingle', { reservation: ids.hanbitShared, subscription: hanbitSubscription }), docs.scope);
    expectGuidance(approved, t('request.portalGuide'), docs.onBehalf);
    expect(approved.text).toContain(singleNote);

    const todo = await p.posted(t('request.portalTitle', { change }));
    expectGuidance(todo, t('request.portalSteps.scopeSingle', { reservation: ids.hanbitShared, subscription: hanbitSubscription }), docs.scope);
    expect(todo.buttons.map((b) => b.label)).toEqual([t('request.doneInAzure')]);

    // The contact's notice and home: the partner makes it; the partner's own steps are not theirs.
    const notice = await p.posted(fixedPart(t, 'request.approvedPartnerMakes', { name: '王小明' }, ['date']));
    expect(notice.text).toContain(singleNote);
    expect(notice.text).not.toContain(docs.scope);
    const home = await p.command('contact', 'home');
    expect(home.text).toContain(fixedPart(t, 'request.approvedPartnerMakes', { name: '王小明' }, ['date']));
  });

  it('R-P12 R-Q1 staff ask for a shared scope for 台灣雲端科技股份有限公司: the reply and the card say the discount then covers every eligible subscription; approved, the steps with links', async () => {
    const filed = await p.command('adminAgent', `request scope ${ids.taiwanScope} shared for ${taiwanCloud} 客戶要求共用`);
    expect(filed.text).toContain(sharedNote);
    expect(filed.text).not.toContain(t('request.filedPartnerMakes'));
    const change = t('request.change.scope.shared', { reservation: ids.taiwanScope });
    const card = await p.posted(t('request.cardTitle', { change }));
    expect(card.text).toContain(sharedNote);
    const approved = await p.click('globalAdmin', card, t('request.approve'));
    expectGuidance(approved, t('request.portalSteps.scopeShared', { reservation: ids.taiwanScope }), docs.scope);
    expectGuidance(approved, t('request.portalGuide'), docs.onBehalf);
  });

  it('R-P11 R-P7 a cancellation: the refund estimate says it comes from the partner\'s price; approved, the support-request steps (Billing → Reservation management → Exchanges and refunds) with links until Done in Azure', async () => {
    await p.command('adminAgent', `request cancel ${ids.taiwanCancel} for ${taiwanCloud} 專案結束`);
    const change = t('request.change.cancel', { reservation: ids.taiwanCancel });
    const card = await p.posted(t('request.cardTitle', { change }));
    expect(card.text).toContain(t('request.refundEstimate'));
    expectOnce(card, t('request.refundPriceNote'), t('request.cardTitle', { change }));
    const approved = await p.click('adminAgent', card, t('request.approve'));
    const steps = t('request.portalSteps.refund', { reservation: ids.taiwanCancel });
    expectGuidance(approved, steps, docs.supportRequest, docs.exchangeAndRefund);
    expectGuidance(approved, t('request.portalGuide'), docs.onBehalf);
    const todo = await p.posted(t('request.portalTitle', { change }));
    expectGuidance(todo, steps, docs.supportRequest, docs.exchangeAndRefund);
    const done = await p.click('globalAdmin', todo, t('request.doneInAzure'));
    expect(done.text).not.toContain(steps);
    expect(done.buttons).toEqual([]);
  });

  it('R-P7 a renewal recorded here: the Renewal steps with the renewal article', async () => {
    await p.command('contact', `request renew ${ids.hanbitRenew} 계속 사용합니다`);
    const change = t('request.change.renew', { reservation: ids.hanbitRenew });
    const approved = await p.click('adminAgent', await p.posted(t('request.cardTitle', { change })), t('request.approve'));
    expectGuidance(approved, t('request.portalSteps.renew', { reservation: ids.hanbitRenew }), docs.renew);
    expectGuidance(await p.posted(t('request.portalTitle', { change })), t('request.portalSteps.renew', { reservation: ids.hanbitRenew }), docs.renew);
  });

  it('R-P7 R-Q5 Azure refuses the change: the card gives the steps to make it anyway, and the announcement to the requests channel links the support request', async () => {
    await p.command('contact', `request cancel ${ids.hanbitRefused} 더 이상 필요 없습니다`);
    const card = await p.posted(t('request.cardTitle', { change: t('request.change.cancel', { reservation: ids.hanbitRefused }) }));
    azure.refuseNextQuote([{ code: 'RefundLimitExceeded', message: 'Refund limit of 50,000 USD reached.' }]);
    const failed = await p.click('adminAgent', card, t('request.approve'));
    expect(failed.text).toContain(t('azure.refused', { code: 'RefundLimitExceeded', message: 'Refund limit of 50,000 USD reached.' }));
    expect(failed.text).toContain(t('request.failedSteps'));
    expectGuidance(failed, t('request.portalSteps.refund', { reservation: ids.hanbitRefused }), docs.supportRequest, docs.exchangeAndRefund);
    const [request] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.reservationId, ids.hanbitRefused));
    expect(request).toMatchObject({ status: 'failed' });
    const announcement = t('request.announce_failed', { name: '王小明', kind: 'cancel', reservation: ids.hanbitRefused, id: request!.id.slice(0, 8) });
    expectGuidance(await p.posted(announcement), announcement, docs.supportRequest);
  });
});

describe.each(matrix)('$name in $locale, no connector', ({ start, locale }) => {
  const t = translator(locale);
  const p: PlatformDriver = usePlatform(
    () => start([organization(locale, false)], undefined, everyone(locale)),
    (driver) => driver.command('globalAdmin', 'channel approvals here'),
  );

  it('R-P7 R-Q1 an approved exchange is recorded here only: the approver, the card and the to-do give the support-request steps with links', async () => {
    await p.command('adminAgent', `request exchange ${ids.taiwanExchange} D4s v5 for ${taiwanCloud} 需要更大規格`);
    const change = t('request.change.exchange', { reservation: ids.taiwanExchange, product: 'D4s v5' });
    const approved = await p.click('adminAgent', await p.posted(t('request.cardTitle', { change })), t('request.approve'));
    const steps = t('request.portalSteps.refund', { reservation: ids.taiwanExchange });
    expectGuidance(approved, steps, docs.supportRequest, docs.exchangeAndRefund);
    expectGuidance(approved, t('request.portalGuide'), docs.onBehalf);
    expectGuidance(await p.posted(t('request.portalTitle', { change })), steps, docs.supportRequest, docs.exchangeAndRefund);
  });
});
