import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityLog, customers, offers, partnerCenterIntents, subscriptions } from '../db/schema.js';
import { createPartnerCenterClient } from '../src/partner-center/client.js';
import { refreshCatalog } from '../src/partner-center/catalog.js';
import { startFakePartnerCenter, partnerTenant, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { connectedOrganization, tenants } from './helpers/fixture.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { unchanged } from './helpers/tables.js';

// With the connector on, Buy is made in Partner Center (cart, checkout at most once, activation
// link from the order line) and the catalog with its prices is Partner Center's.

const tuning = { timeoutMs: 1500, retryDelayMs: 10 };
const product = 'DZH318Z0BXWC';

let pc: FakePartnerCenter;
beforeAll(async () => {
  pc = await startFakePartnerCenter();
  pc.addCustomer(tenants.contoso, 'Contoso Ltd', 'contoso.com', 'US');
  pc.addCustomer(tenants.contosoPharma, 'Contoso Pharmaceuticals', 'contosopharma.com', 'US');
  pc.addCustomer(tenants.cafe, 'Café Lumière', 'cafe-lumiere.example', 'FR');
  pc.addCustomer(tenants.hanbit, '한빛소프트 주식회사', 'hanbitsoft.example', 'KR');
  pc.commerce.addProduct({
    id: product,
    title: 'Fabrikam 협업 Suite',
    publisherName: 'Fabrikam ISV',
    skus: [
      {
        id: '0001',
        title: 'Standard',
        markets: {
          US: { currency: 'USD', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 12.5 }, { duration: 'P1Y', billingCycle: 'annual', price: 135 }] },
          FR: { currency: 'EUR', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 11 }] },
          KR: { currency: 'KRW', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 16000 }] },
        },
      },
    ],
  });
});
afterAll(async () => {
  await pc.close();
});

const client = () => createPartnerCenterClient(pc.clientSettings(tuning));
const refresh = (p: PlatformDriver, now = new Date()) => refreshCatalog(p.db, client(), pc.origin, ['FR', 'KR', 'US'], now);
const cartPosts = (tenant: string) => pc.requests.filter((r) => r.method === 'POST' && r.path === `/v1/customers/${tenant}/carts`);
const checkoutsOf = (tenant: string) => pc.commerce.checkouts.filter((c) => c.tenant === tenant);

async function boughtRows(p: PlatformDriver, tenant: string) {
  const [customer] = await p.db.select().from(customers).where(eq(customers.tenantId, tenant));
  return p.db.select().from(subscriptions).where(and(eq(subscriptions.customerId, customer!.id), eq(subscriptions.offerId, product)));
}

describe.each(platforms)('$name: buying and the catalog with the Partner Center connector', ({ start }) => {
  const p = usePlatform(
    () => start([connectedOrganization(partnerTenant)], { partnerCenter: pc.config, partnerCenterTuning: tuning }),
    (driver) => refresh(driver),
  );

  it('R-M1 R-M3 the catalog and its prices are read from Partner Center, and offer says when; a later refresh takes a changed price', async () => {
    const list = await p.command('adminAgent', 'marketplace fabrikam');
    expect(list.text).toContain('Fabrikam 협업 Suite');
    const [stored] = await p.db.select().from(offers).where(eq(offers.id, product));
    expect(stored!.plans[0]!.prices).toContainEqual({ term: 'monthly', market: 'US', currency: 'USD', price: 12.5, catalogItemId: pc.commerce.catalogItemId(product, '0001', 'US') });
    const offer = await p.command('adminAgent', `offer ${product}`);
    expect(offer.text).toContain('Fabrikam ISV');
    expect(offer.text).toContain('12.50');
    expect(offer.text).toContain("Read from Partner Center's catalog");

    pc.commerce.setPrice(product, '0001', 'US', 'P1M', 14.25);
    const later = new Date(Date.now() + 60_000);
    await refresh(p, later);
    const [again] = await p.db.select().from(offers).where(eq(offers.id, product));
    expect(again!.partnerCenterRefreshedAt).toEqual(later);
    expect((await p.command('adminAgent', `offer ${product}`)).text).toContain('14.25');
    pc.commerce.setPrice(product, '0001', 'US', 'P1M', 12.5);
    await refresh(p, new Date(Date.now() + 120_000));
  });

  it('R-M8 R-M6 Buy creates a cart with the catalog item and checks it out once; the activation link and subscription are Partner Center\'s', async () => {
    const before = checkoutsOf(tenants.contoso).length;
    const card = await p.command('adminAgent', `buy ${product} 0001 for contoso.com seats 5 monthly`);
    const done = await p.click('adminAgent', card, 'Buy');
    expect(checkoutsOf(tenants.contoso)).toHaveLength(before + 1);
    const { orderId } = checkoutsOf(tenants.contoso).at(-1)!;
    const link = pc.commerce.activationLinks.get(`${orderId}/0`)!;
    expect(done.text).toContain(link);
    expect(done.text).toContain("Bought in Partner Center: the subscription, its status and its activation link are Partner Center's.");
    expect(cartPosts(tenants.contoso).at(-1)!.body).toEqual({
      lineItems: [{ id: 0, catalogItemId: pc.commerce.catalogItemId(product, '0001', 'US'), quantity: 5, billingCycle: 'monthly', termDuration: 'P1M' }],
    });
    const [row] = await boughtRows(p, tenants.contoso);
    const remote = [...pc.subscriptions.get(tenants.contoso)!.values()].find((s) => s.id.toLowerCase() === row!.id)!;
    expect(row).toMatchObject({ status: 'pending', seats: 5, term: 'monthly', activationLink: link, etag: remote.attributes.etag, price: '12.50', currency: 'USD' });
    expect(done.text).toContain(row!.id);
    const list = await p.command('adminAgent', 'subscriptions contoso.com');
    expect(list.text).toContain(row!.id);
    expect(list.text).toContain(link);
    expect(await p.db.select().from(activityLog).where(eq(activityLog.action, 'saas_purchased'))).toHaveLength(1);
  });

  it('R-M8 an order error is shown with its code, and nothing is bought here', async () => {
    pc.plan({
      method: 'POST',
      path: `/v1/customers/${tenants.cafe}/carts/`,
      status: 201,
      body: { orders: [], orderErrors: [{ orderGroupId: '0', code: 800023, description: 'You are not eligible for this transaction: your line of credit is below the minimum for this purchase.' }] },
    });
    const card = await p.command('globalAdmin', `buy ${product} 0001 for cafe-lumiere.example seats 2 monthly`);
    const refused = await unchanged(p.db, () => p.click('globalAdmin', card, 'Buy'));
    expect(refused.text).toContain('Partner Center refused the order (code 800023): You are not eligible for this transaction');
    expect(refused.text).toContain('Nothing was bought, and nothing changed here.');
    expect(await boughtRows(p, tenants.cafe)).toEqual([]);
    const [intent] = await p.db.select().from(partnerCenterIntents).where(eq(partnerCenterIntents.kind, 'purchase')).then((rows) => rows.filter((r) => r.target.includes(product) && r.status === 'failed'));
    expect(intent!.outcome).toMatchObject({ reason: 'buy.orderError', code: '800023' });
  });

  it('R-M8 a checkout whose answer times out is not sent again: the cart is read, found ordered, and the purchase recorded once', async () => {
    const before = checkoutsOf(tenants.contosoPharma).length;
    const postsBefore = pc.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/v1/customers/${tenants.contosoPharma}/carts/`)).length;
    const held = pc.hold('POST', `/v1/customers/${tenants.contosoPharma}/carts/`);
    const card = await p.command('adminAgent', `buy ${product} 0001 for contosopharma.com seats 3 annual`);
    const clicked = p.click('adminAgent', card, 'Buy');
    await held.arrived;
    const done = await clicked;
    held.release();
    expect(checkoutsOf(tenants.contosoPharma)).toHaveLength(before + 1);
    const checkoutCalls = pc.requests.filter((r) => r.method === 'POST' && r.path.startsWith(`/v1/customers/${tenants.contosoPharma}/carts/`));
    expect(checkoutCalls).toHaveLength(postsBefore + 1);
    expect(pc.requests.some((r) => r.method === 'GET' && r.path === `/v1/customers/${tenants.contosoPharma}/carts/${checkoutsOf(tenants.contosoPharma).at(-1)!.cartId}`)).toBe(true);
    expect(done.text).toContain(pc.commerce.activationLinks.get(`${checkoutsOf(tenants.contosoPharma).at(-1)!.orderId}/0`)!);
    expect(await boughtRows(p, tenants.contosoPharma)).toHaveLength(1);
  });

  it('R-M8 a checkout that timed out before Partner Center made it is sent again once, after the cart shows it still open', async () => {
    const before = checkoutsOf(tenants.hanbit).length;
    pc.plan({ method: 'POST', path: `/v1/customers/${tenants.hanbit}/carts/`, status: 500, delayMs: tuning.timeoutMs + 500 });
    const card = await p.command('adminAgent', `buy ${product} 0001 for hanbitsoft.example seats 4 monthly`);
    const done = await p.click('adminAgent', card, 'Buy');
    expect(checkoutsOf(tenants.hanbit)).toHaveLength(before + 1);
    expect(done.text).toContain(pc.commerce.activationLinks.get(`${checkoutsOf(tenants.hanbit).at(-1)!.orderId}/0`)!);
    expect(await boughtRows(p, tenants.hanbit)).toHaveLength(1);
  });
});
