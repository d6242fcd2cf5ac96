import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox, partnerCenterIntents, reservationRequests, reservations } from '../db/schema.js';
import { renderRequestCard } from '../src/commands/requests.js';
import { DomainError } from '../src/core/errors.js';
import { catalogSku } from '../src/core/reservation-skus.js';
import { translator } from '../src/i18n/index.js';
import { partnerTenant, startFakePartnerCenter, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { defaultCatalog, startFakeAzure, type FakeAzure } from './helpers/fake-azure.js';
import { connectedOrganization, otherOrganization, tenants, testOrganization } from './helpers/fixture.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { unchanged } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

// R-P7, R-Q1–R-Q5: an approved reservation request is carried out in Azure (Azure Reservations API on
// Azure Resource Manager, a loopback stand-in replaying the documented shapes), or, without the
// connector, recorded here to be made in the Azure portal and marked done with a button.

let pc: FakePartnerCenter;
let azure: FakeAzure;
beforeAll(async () => {
  pc = await startFakePartnerCenter();
  azure = await startFakeAzure(pc);
  // One SKU written both with and without Standard_, as a catalog may list it.
  azure.catalog('japaneast', ['Standard_M64', 'M64', 'Standard_M128']);
});
afterAll(async () => {
  await azure?.close();
  await pc?.close();
});

const kinds = ['cancel', 'exchange', 'renew', 'scope', 'refused', 'portal', 'loose', 'unmatched', 'ambiguous', 'portalExchange'] as const;
/** The customer holding each scenario's reservation: Contoso, unless named here. */
const holders: Partial<Record<(typeof kinds)[number], string>> = { loose: tenants.hanbit, unmatched: tenants.taiwanCloud, ambiguous: tenants.hanbit };
const holder = (kind: string) => holders[kind as (typeof kinds)[number]] ?? tenants.contoso;
const regionOf = (kind: string) => (kind === 'ambiguous' ? 'japaneast' : 'koreacentral');
/** One reservation per scenario and platform, each with its Azure order. */
const ids = (platform: string) =>
  Object.fromEntries(
    kinds.map((kind, i) => {
      const n = `${platform === 'Slack' ? 1 : 2}${i}`;
      return [kind, { id: `a${n}000000-0000-4000-8000-0000000000${n}`, order: `0${n}00000-0000-4000-8000-0000000000${n}` }];
    }),
  ) as Record<(typeof kinds)[number], { id: string; order: string }>;

/** The test organization, its customers holding these reservations with their Azure order IDs. */
function organizationWith(platform: string, connected: boolean) {
  const base = connected ? connectedOrganization(partnerTenant) : testOrganization;
  const rows = Object.entries(ids(platform)).map(([kind, { id, order }]) => ({
    tenant: holder(kind),
    id, reservationOrderId: order, product: 'Virtual Machines D2s v5', region: regionOf(kind), quantity: 4, term: 'P1Y' as const,
    billingPlan: 'upfront' as const, scope: 'shared' as const, price: 3120.5, currency: 'USD', purchasedBy: 'partner' as const, purchasedAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
  }));
  return {
    ...base,
    customers: base.customers.map((c) => {
      const own = rows.filter((row) => row.tenant === c.tenantId).map(({ tenant: _, ...row }) => row);
      return own.length ? { ...c, reservations: [...(('reservations' in c && c.reservations) || []), ...own] } : c;
    }),
  };
}

const connector = () => ({
  partnerCenter: { ...pc.config, AZURE_RESOURCE_MANAGER_URL: azure.origin },
  partnerCenterTuning: { timeoutMs: 2000, retryDelayMs: 10, maxPollDelayMs: 20 },
});

async function requestOf(p: PlatformDriver, reservationId: string) {
  const [row] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.reservationId, reservationId));
  return row!;
}
const reservationRow = async (p: PlatformDriver, id: string) => (await p.db.select().from(reservations).where(eq(reservations.id, id)))[0];
const armCalls = (reservationOrder: string) => azure.requests.filter((r) => r.path.includes(reservationOrder)).map((r) => `${r.method} ${r.path.split('?')[0]}`);

describe.each(platforms)('$name: approved reservation requests are carried out in Azure (connector on)', ({ name, start }) => {
  const r = ids(name);
  const p = usePlatform(
    () => start([organizationWith(name, true), otherOrganization], connector()),
    async (driver) => {
      for (const [kind, { id, order }] of Object.entries(r)) azure.addReservation(holder(kind), order, id, { location: regionOf(kind) });
      await driver.command('globalAdmin', 'channel approvals here');
    },
  );

  it('R-Q1 R-Q5 cancel: calculateRefund quotes the card\'s refund, return is called with its session, and the request is approved with Azure\'s refund', async () => {
    await p.command('contact', `request cancel ${r.cancel.id} because the project ended`);
    const card = await p.posted(`Request: cancel reservation ${r.cancel.id}`);
    expect(card.text).toContain('Refund (Azure\'s quote)');
    expect(card.text).toContain('$1,234.56');
    expect(card.text).toContain('of the $50,000.00 cap');
    const approved = await p.click('adminAgent', card, 'Approve');
    expect(approved.text).toContain('Approved by 王小明');
    expect(approved.text).toContain('Azure made the change.');
    expect(approved.buttons).toEqual([]);
    expect(armCalls(r.cancel.order)).toEqual([
      `POST /providers/Microsoft.Capacity/reservationOrders/${r.cancel.order}/calculateRefund`,
      `POST /providers/Microsoft.Capacity/reservationOrders/${r.cancel.order}/calculateRefund`,
      `POST /providers/Microsoft.Capacity/reservationOrders/${r.cancel.order}/return`,
    ]);
    // Azure's records of each call carry the request ID of what made it: the requester's command for the card's
    // quote, the approval click (one ID) for the quote and the return it made.
    const correlation = azure.requests.filter((q) => q.path.includes(r.cancel.order)).map((q) => q.headers['x-ms-correlation-request-id']);
    expect(correlation).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), expect.stringMatching(/^[0-9a-f-]{36}$/), correlation[1]]);
    expect(correlation[1]).not.toBe(correlation[0]);
    const returned = azure.requests.find((q) => q.path.includes(`${r.cancel.order}/return`))!;
    expect(returned.body).toMatchObject({ properties: { scope: 'Reservation', reservationToReturn: { reservationId: `/providers/Microsoft.Capacity/reservationOrders/${r.cancel.order}/reservations/${r.cancel.id}`, quantity: 4 } } });
    expect(azure.reservations.get(r.cancel.id)!.provisioningState).toBe('Cancelled');
    expect(await requestOf(p, r.cancel.id)).toMatchObject({ status: 'approved', carriedOut: 'azure', refundAmount: '1234.56', refundCurrency: 'USD' });
    expect((await reservationRow(p, r.cancel.id))!.status).toBe('cancelled');
    // The ARM token was asked in the customer's tenant, with the partner's app and refresh token.
    expect(pc.armTokenRequests.at(-1)).toMatchObject({ tenant: tenants.contoso, grant_type: 'refresh_token', client_id: pc.config.PARTNER_CENTER_CLIENT_ID });
    await p.posted('Azure made the change.');
  });

  it('R-Q1 R-Q5 exchange: calculateExchange, then exchange followed through Azure-AsyncOperation to its end, "in progress" on the card meanwhile; the new reservation is Azure\'s', async () => {
    await p.command('contact', `request exchange ${r.exchange.id} Standard_E4s_v5 because more memory`);
    const card = await p.posted(`Request: exchange reservation ${r.exchange.id}`);
    const before = azure.requests.length;
    const heldBefore = new Set(azure.reservations.keys());
    azure.holdOperations(true);
    const approving = p.click('adminAgent', card, 'Approve');
    await waitFor('Azure to be polled', () => [...azure.operations.values()].some((o) => o.polls >= 2));
    const request = await requestOf(p, r.exchange.id);
    expect(request.status).toBe('pending');
    // The card copies are refreshed while Azure works, and show it in progress with no buttons.
    await waitFor('the card refresh to be queued', async () => (await p.db.select().from(outbox).where(sql`${outbox.message}->>'refreshRequestCard' = ${request.id}`)).length > 0);
    const inProgress = await renderRequestCard({ db: p.db, t: translator('en') }, request.orgId, request.id);
    expect(inProgress.lines?.join(' ')).toContain('In progress in Azure: 王小明 approved it at');
    expect(inProgress.actions).toEqual([]);
    azure.holdOperations(false);
    const approved = await approving;
    expect(approved.text).toContain('Azure made the change.');
    const calls = azure.requests.slice(before).filter((q) => q.method === 'POST' && /calculateExchange|\/exchange$/.test(q.path.split('?')[0]!));
    expect(calls.map((q) => q.path.split('?')[0])).toEqual(['/providers/Microsoft.Capacity/calculateExchange', '/providers/Microsoft.Capacity/exchange']);
    expect(calls[0]!.body).toMatchObject({
      properties: {
        reservationsToPurchase: [{ sku: { name: 'Standard_E4s_v5' }, location: 'koreacentral', properties: { reservedResourceType: 'VirtualMachines', term: 'P1Y', billingPlan: 'Upfront', quantity: 4 } }],
        reservationsToExchange: [{ reservationId: `/providers/Microsoft.Capacity/reservationOrders/${r.exchange.order}/reservations/${r.exchange.id}`, quantity: 4 }],
      },
    });
    const bought = [...azure.reservations.values()].filter((x) => !heldBefore.has(x.id));
    expect(bought).toMatchObject([{ sku: 'Standard_E4s_v5', tenant: tenants.contoso }]);
    expect((await reservationRow(p, r.exchange.id))!.status).toBe('exchanged');
    expect(await reservationRow(p, bought[0]!.id)).toMatchObject({ reservationOrderId: bought[0]!.orderId, product: 'Standard_E4s_v5', status: 'active' });
    expect((await p.db.select().from(partnerCenterIntents).where(eq(partnerCenterIntents.requestId, request.id)))[0]).toMatchObject({ kind: 'reservation', status: 'done' });
  });

  it('R-Q1 R-Q5 exchange: the requester\'s "d4s v3" is matched to the catalog SKU Standard_D4s_v3 (GetCatalog for the reservation\'s resource type, region and billing subscription, every page); Azure is asked for that SKU, and the card and the new reservation show it', async () => {
    await p.command('globalAdmin', `request exchange ${r.loose.id} d4s v3 for 한빛소프트 주식회사 because 메모리가 부족합니다`);
    const card = await p.posted(`Request: exchange reservation ${r.loose.id} for d4s v3`);
    expect(card.text).not.toContain('Azure SKU');
    const before = azure.requests.length;
    const heldBefore = new Set(azure.reservations.keys());
    const approved = await p.click('adminAgent', card, 'Approve');
    expect(approved.text).toContain('Azure made the change.');
    expect(approved.text).toMatch(/Azure SKU[\s\S]{0,5}Standard_D4s_v3/);
    const calls = azure.requests.slice(before);
    const reservationPath = `/providers/Microsoft.Capacity/reservationOrders/${r.loose.order}/reservations/${r.loose.id}`;
    const catalogPath = '/subscriptions/ed3a1871-612d-abcd-a849-c2542a68be83/providers/Microsoft.Capacity/catalogs';
    expect(calls.map((q) => `${q.method} ${q.path.split('?')[0]!.replace(/operationResults\/[^/]+$/, 'operationResults/…')}`)).toEqual([
      `GET ${reservationPath}`,
      `GET ${catalogPath}`,
      `GET ${catalogPath}`,
      `GET ${catalogPath}`,
      `GET ${reservationPath}`,
      'POST /providers/Microsoft.Capacity/calculateExchange',
      'POST /providers/Microsoft.Capacity/exchange',
      'GET /providers/Microsoft.Capacity/operationResults/…',
    ]);
    // Asked where the reservation is, and every page read through nextLink.
    const catalogQueries = calls.filter((q) => q.path.startsWith(catalogPath)).map((q) => Object.fromEntries(new URL(q.path, azure.origin).searchParams));
    const where = { reservedResourceType: 'VirtualMachines', location: 'koreacentral', 'api-version': '2022-11-01' };
    expect(catalogQueries).toEqual([where, { ...where, $skip: '4' }, { ...where, $skip: '8' }]);
    expect(calls.find((q) => q.path.startsWith('/providers/Microsoft.Capacity/calculateExchange'))!.body).toMatchObject({
      properties: { reservationsToPurchase: [{ sku: { name: 'Standard_D4s_v3' }, location: 'koreacentral', properties: { displayName: 'Standard_D4s_v3', quantity: 4 } }] },
    });
    const bought = [...azure.reservations.values()].filter((x) => !heldBefore.has(x.id));
    expect(bought).toMatchObject([{ sku: 'Standard_D4s_v3', tenant: tenants.hanbit }]);
    expect(await requestOf(p, r.loose.id)).toMatchObject({ status: 'approved', carriedOut: 'azure', details: { product: 'd4s v3', sku: 'Standard_D4s_v3' } });
    expect(await reservationRow(p, bought[0]!.id)).toMatchObject({ reservationOrderId: bought[0]!.orderId, product: 'Standard_D4s_v3', status: 'active' });
    expect((await reservationRow(p, r.loose.id))!.status).toBe('exchanged');
  });

  it('R-Q4 exchange whose words match no catalog SKU, or several: approving is refused naming what was asked and the closest SKUs; the request stays pending, nothing changes here, and only reads reach Azure', async () => {
    await p.command('globalAdmin', `request exchange ${r.unmatched.id} E4 v9 for 台灣雲端科技股份有限公司 because 需要更多記憶體`);
    const unmatchedCard = await p.posted(`Request: exchange reservation ${r.unmatched.id} for E4 v9`);
    await p.command('globalAdmin', `request exchange ${r.ambiguous.id} m64 for 한빛소프트 주식회사`);
    const ambiguousCard = await p.posted(`Request: exchange reservation ${r.ambiguous.id} for m64`);
    const intentsBefore = await p.db.select().from(partnerCenterIntents);
    const before = azure.requests.length;

    const unmatched = await unchanged(p.db, () => p.click('adminAgent', unmatchedCard, 'Approve'));
    expect(unmatched.text).toContain(
      'No SKU in Azure\'s reservation catalog for VirtualMachines in koreacentral matches "E4 v9". Closest: Standard_E4s_v5, Standard_D4s_v3, Standard_D4s_v5, Standard_E8s_v5, Standard_D2s_v5. Nothing was sent to Azure and the request is still waiting',
    );
    const ambiguous = await unchanged(p.db, () => p.click('adminAgent', ambiguousCard, 'Approve'));
    expect(ambiguous.text).toContain('"m64" matches 2 SKUs in Azure\'s reservation catalog for VirtualMachines in japaneast: Standard_M64, M64. Nothing was sent to Azure');

    // The reservation and the catalog where it is (Korea Central's in three pages), read for each; nothing else.
    const reservationPath = (x: { id: string; order: string }) => `GET /providers/Microsoft.Capacity/reservationOrders/${x.order}/reservations/${x.id}`;
    const catalogPath = 'GET /subscriptions/ed3a1871-612d-abcd-a849-c2542a68be83/providers/Microsoft.Capacity/catalogs';
    expect(azure.requests.slice(before).map((q) => `${q.method} ${q.path.split('?')[0]}`)).toEqual([
      reservationPath(r.unmatched), catalogPath, catalogPath, catalogPath, reservationPath(r.ambiguous), catalogPath,
    ]);
    expect(await p.db.select().from(partnerCenterIntents)).toEqual(intentsBefore);
    expect(await requestOf(p, r.unmatched.id)).toMatchObject({ status: 'pending', details: { product: 'E4 v9' } });
    expect((await requestOf(p, r.ambiguous.id)).details).toEqual({ product: 'm64' });
    // Still waiting for a decision: rejected with the SKU to ask for.
    const rejected = await p.clickWithInput('adminAgent', ambiguousCard, 'Reject', { reason: 'Standard_M64 으로 다시 요청해 주세요' });
    expect(rejected.text).toContain('Rejected by 王小明');
    expect(rejected.text).toContain('Standard_M64 으로 다시 요청해 주세요');
  });

  it('R-Q1 renew and scope: the reservation is PATCHed with renew: true, and with appliedScopeType Single and its subscription', async () => {
    await p.command('contact', `request renew ${r.renew.id}`);
    const renewed = await p.click('adminAgent', await p.posted(`Request: renew reservation ${r.renew.id}`), 'Approve');
    expect(renewed.text).toContain('Azure made the change.');
    expect(azure.reservations.get(r.renew.id)!.renew).toBe(true);
    const subscription = 'c0c0c0c0-0000-4000-8000-000000000001';
    await p.command('contact', `request scope ${r.scope.id} single ${subscription}`);
    const scoped = await p.click('adminAgent', await p.posted(`Request: change reservation ${r.scope.id} to subscription`), 'Approve');
    expect(scoped.text).toContain('Azure made the change.');
    const patch = azure.requests.filter((q) => q.method === 'PATCH' && q.path.includes(r.scope.id)).at(-1)!;
    expect(patch.body).toEqual({ properties: { appliedScopeType: 'Single', appliedScopes: [`/subscriptions/${subscription}`] } });
    expect(await reservationRow(p, r.scope.id)).toMatchObject({ scope: 'single', subscriptionId: subscription });
  });

  it('R-Q4 R-Q5 Azure\'s policy error is shown with its code and message on the card and to the requester; the request fails, nothing changes here', async () => {
    await p.command('contact', `request cancel ${r.refused.id}`);
    const card = await p.posted(`Request: cancel reservation ${r.refused.id}`);
    azure.refuseNextQuote([{ code: 'RefundLimitExceeded', message: 'Refund <limit> of 50,000 USD reached for this enrollment.' }]);
    const reservationBefore = await reservationRow(p, r.refused.id);
    const failed = await p.click('adminAgent', card, 'Approve');
    expect(failed.text).toContain('Azure did not make the change: Azure refused it (code RefundLimitExceeded): Refund <limit> of 50,000 USD reached for this enrollment.');
    expect(failed.text).not.toContain('Azure made the change');
    expect(failed.buttons).toEqual([]);
    expect(await requestOf(p, r.refused.id)).toMatchObject({ status: 'failed', carriedOut: null, refundAmount: null });
    expect(await reservationRow(p, r.refused.id)).toEqual(reservationBefore);
    expect(azure.requests.some((q) => q.path.includes(`${r.refused.order}/return`))).toBe(false);
    await p.posted('Azure refused it (code RefundLimitExceeded)');
    // A later click is told it was decided, and changes nothing.
    const late = await unchanged(p.db, () => p.click('globalAdmin', card, 'Approve'));
    expect(late.text).toContain('This request was already decided');
  });
});

describe('R-Q1 an exchange\'s words name a catalog SKU leniently but unambiguously', () => {
  const catalog = { reservedResourceType: 'VirtualMachines', location: 'koreacentral', skus: defaultCatalog };
  it.each([
    ['D4s v3', 'Standard_D4s_v3'],
    ['standard_d4s_v3', 'Standard_D4s_v3'],
    ['STANDARD D4S V3', 'Standard_D4s_v3'],
    ['  Standard_D4s_v3 ', 'Standard_D4s_v3'],
    ['Ｄ４ｓ　ｖ３', 'Standard_D4s_v3'],
    ['D4s_v5', 'Standard_D4s_v5'],
    ['Virtual Machines D8s v5', 'Standard_D8s_v5'],
    ['VirtualMachines Standard_E4s_v5', 'Standard_E4s_v5'],
    ['ds5 v2', 'Standard_DS5_v2'],
  ])('R-Q1 "%s" is %s', (words, sku) => {
    expect(catalogSku(words, catalog)).toBe(sku);
  });

  it.each([['D4s'], ['D4s v3 v5'], ['Standard'], ['Virtual Machines'], ['E4sv5']])('R-Q4 "%s" names none', (words) => {
    expect(() => catalogSku(words, catalog)).toThrow(DomainError);
    expect(() => catalogSku(words, catalog)).toThrow('azure.skuUnknown');
  });

  it('R-Q4 an empty catalog names no close SKU', () => {
    const error = (() => {
      try {
        catalogSku('D4s v3', { ...catalog, skus: [] });
      } catch (e) {
        return e as DomainError;
      }
    })();
    expect(error).toMatchObject({ code: 'azure.skuUnknown', params: { product: 'D4s v3', type: 'VirtualMachines', location: 'koreacentral', count: 0, skus: '' } });
  });
});

describe.each(platforms)('$name: without the connector the change is recorded here and made in the Azure portal', ({ name, start }) => {
  const r = ids(name);
  const p = usePlatform(
    () => start([organizationWith(name, false), otherOrganization]),
    (driver) => driver.command('globalAdmin', 'channel approvals here'),
  );

  it('R-Q5 the decision says to make it in the Azure portal; the steps and a Done in Azure button follow in the approvals channel; marked once', async () => {
    await p.command('contact', `request cancel ${r.portal.id}`);
    const card = await p.posted(`Request: cancel reservation ${r.portal.id}`);
    expect(card.text).toContain('Refund estimate');
    const approved = await p.click('adminAgent', card, 'Approve');
    expect(approved.text).toContain('The change is recorded in csp-ops only: make it in the Azure portal, then press Done in Azure.');
    expect(approved.text).not.toContain('the change is made');
    expect(approved.buttons).toEqual([]);
    const todo = await p.posted(`To do in the Azure portal: cancel reservation ${r.portal.id}`);
    expect(todo.text).toContain('Help + support → Create a support request → Issue type Billing → Problem type Reservation management → Problem subtype Exchanges and refunds');
    expect(todo.buttons.map((b) => b.label)).toEqual(['Done in Azure']);
    const notAdmin = await unchanged(p.db, () => p.click('salesAgent', todo, 'Done in Azure'));
    expect(notAdmin.text).not.toContain('made it in the Azure portal');
    const done = await p.click('globalAdmin', todo, 'Done in Azure');
    expect(done.text).toContain('박지훈 made it in the Azure portal');
    expect(done.buttons).toEqual([]);
    expect(await requestOf(p, r.portal.id)).toMatchObject({ status: 'approved', carriedOut: 'portal', doneInAzureByName: '박지훈' });
    const again = await unchanged(p.db, () => p.click('adminAgent', todo, 'Done in Azure'));
    expect(again.text).toContain('This request was already decided');
    expect(azure.requests.some((q) => q.path.includes(r.portal.order))).toBe(false);
    const [row] = await p.db.select().from(reservationRequests).where(and(eq(reservationRequests.reservationId, r.portal.id)));
    expect(row!.doneInAzureAt).toBeInstanceOf(Date);
  });

  it('R-Q1 R-Q5 exchange: recorded here with the requester\'s words, Azure\'s catalog never asked', async () => {
    const before = azure.requests.length;
    await p.command('contact', `request exchange ${r.portalExchange.id} D4s v3`);
    const approved = await p.click('adminAgent', await p.posted(`Request: exchange reservation ${r.portalExchange.id} for D4s v3`), 'Approve');
    expect(approved.text).toContain('The change is recorded in csp-ops only: make it in the Azure portal, then press Done in Azure.');
    expect(approved.text).not.toContain('Azure SKU');
    expect(azure.requests.length).toBe(before);
    expect(await requestOf(p, r.portalExchange.id)).toMatchObject({ status: 'approved', carriedOut: 'portal', details: { product: 'D4s v3' } });
    const [successor] = await p.db.select().from(reservations).where(and(eq(reservations.product, 'D4s v3'), eq(reservations.status, 'active')));
    expect(successor).toMatchObject({ reservationOrderId: null, quantity: 4 });
  });
});
