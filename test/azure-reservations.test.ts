import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox, partnerCenterIntents, reservationRequests, reservations } from '../db/schema.js';
import { renderRequestCard } from '../src/commands/requests.js';
import { translator } from '../src/i18n/index.js';
import { partnerTenant, startFakePartnerCenter, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { startFakeAzure, type FakeAzure } from './helpers/fake-azure.js';
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
});
afterAll(async () => {
  await azure?.close();
  await pc?.close();
});

const kinds = ['cancel', 'exchange', 'renew', 'scope', 'refused', 'portal'] as const;
/** One reservation per scenario and platform, each with its Azure order. */
const ids = (platform: string) =>
  Object.fromEntries(
    kinds.map((kind, i) => {
      const n = `${platform === 'Slack' ? 1 : 2}${i}`;
      return [kind, { id: `a${n}000000-0000-4000-8000-0000000000${n}`, order: `0${n}00000-0000-4000-8000-0000000000${n}` }];
    }),
  ) as Record<(typeof kinds)[number], { id: string; order: string }>;

/** The test organization, its Contoso customer holding these reservations with their Azure order IDs. */
function organizationWith(platform: string, connected: boolean) {
  const base = connected ? connectedOrganization(partnerTenant) : testOrganization;
  const rows = Object.values(ids(platform)).map(({ id, order }) => ({
    id, reservationOrderId: order, product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 4, term: 'P1Y' as const,
    billingPlan: 'upfront' as const, scope: 'shared' as const, price: 3120.5, currency: 'USD', purchasedBy: 'partner' as const, purchasedAt: new Date(Date.now() - 30 * 86_400_000).toISOString(),
  }));
  return { ...base, customers: base.customers.map((c) => (c.tenantId === tenants.contoso ? { ...c, reservations: [...c.reservations, ...rows] } : c)) };
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
      for (const { id, order } of Object.values(r)) azure.addReservation(tenants.contoso, order, id);
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
});
