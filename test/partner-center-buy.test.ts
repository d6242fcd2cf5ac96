import { and, asc, eq, isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { activityLog, confirmations, customers, offers, partnerCenterIntents, subscriptions } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { createPartnerCenterClient, partnerApiScope } from '../src/partner-center/client.js';
import { catalogMaxAgeMs, refreshCatalog } from '../src/partner-center/catalog.js';
import { partnerCenterFromConfig } from '../src/partner-center/connector.js';
import { syncAllOrganizations } from '../src/partner-center/sync.js';
import type { RefreshTokenStore } from '../src/partner-center/tokens.js';
import { clientId, refreshToken, startFakePartnerCenter, partnerTenant, type FakePartnerCenter, type RecordedRequest } from './helpers/fake-partner-center.js';
import { openTestDatabase } from './helpers/database.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { unchanged } from './helpers/tables.js';

// With the connector on, Buy is made in Partner Center (cart, checkout at most once, activation
// link from the order line) and the catalog with its prices is Partner Center's.

const tuning = { timeoutMs: 1500, retryDelayMs: 10 };
const product = 'DZH318Z0BXWC';
// Sold to customers billed in Taiwan only.
const taiwanProduct = 'DZH318Z0TWAC';
/** A product with a trial SKU: each of its plans can start as a one-month free trial. */
const trialProduct = 'DZH318Z0TRL1';

let pc: FakePartnerCenter;
beforeAll(async () => {
  pc = await startFakePartnerCenter();
  pc.addCustomer(tenants.contoso, 'Contoso Ltd', 'contoso.com', 'US');
  pc.addCustomer(tenants.contosoPharma, 'Contoso Pharmaceuticals', 'contosopharma.com', 'US');
  pc.addCustomer(tenants.cafe, 'Café Lumière', 'cafe-lumiere.example', 'FR');
  pc.addCustomer(tenants.hanbit, '한빛소프트 주식회사', 'hanbitsoft.example', 'KR');
  pc.addCustomer(tenants.busan, '부산해운', 'busanshipping.example', 'KR');
  pc.addCustomer(tenants.taiwanCloud, '台灣雲端科技股份有限公司', 'twcloud.example', 'TW');
  pc.addCustomer(tenants.kaohsiung, '高雄精密工業', 'kaohsiung-precision.example', 'TW');
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
  pc.commerce.addProduct({
    id: taiwanProduct,
    title: '雲端記帳 專業版',
    publisherName: '臺北雲端軟體股份有限公司',
    skus: [{ id: '0001', title: '標準方案', markets: { TW: { currency: 'TWD', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 320 }, { duration: 'P1Y', billingCycle: 'annual', price: 3500 }] } } }],
  });
  pc.commerce.addProduct({
    id: trialProduct,
    title: '雲端會議 Suite',
    publisherName: 'Northwind ISV',
    skus: [
      { id: '0001', title: 'Team', markets: { TW: { currency: 'TWD', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 390 }, { duration: 'P1Y', billingCycle: 'annual', price: 4200 }] } } },
      { id: '0002', title: 'Free trial', isTrial: true, markets: { TW: { currency: 'TWD', terms: [{ duration: 'P1M', billingCycle: 'none', price: 0 }] } } },
    ],
  });
});
afterAll(async () => {
  await pc.close();
});

const client = () => createPartnerCenterClient(pc.clientSettings(tuning));
const refresh = (p: PlatformDriver, now = new Date()) => refreshCatalog(p.db, client(), pc.origin, ['FR', 'KR', 'TW', 'US'], now);
const cartPosts = (tenant: string) => pc.requests.filter((r) => r.method === 'POST' && r.path === `/v1/customers/${tenant}/carts`);
const checkoutsOf = (tenant: string) => pc.commerce.checkouts.filter((c) => c.tenant === tenant);

async function boughtRows(p: PlatformDriver, tenant: string, offerId = product) {
  const [customer] = await p.db.select().from(customers).where(eq(customers.tenantId, tenant));
  return p.db.select().from(subscriptions).where(and(eq(subscriptions.customerId, customer!.id), eq(subscriptions.offerId, offerId)));
}
const purchaseIntents = async (p: PlatformDriver, offerId: string) =>
  (await p.db.select().from(partnerCenterIntents).where(eq(partnerCenterIntents.kind, 'purchase'))).filter((i) => i.change.kind === 'purchase' && i.change.purchase.offerId === offerId);

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

  it('R-M1 R-M3 R-M8 a plan whose product offers a free trial is bought in the trial\'s form: the trial\'s catalog item, billing cycle "none" for a month, renewing to the chosen term', async () => {
    const offer = await p.command('adminAgent', `offer ${trialProduct}`);
    expect(offer.text).toContain('30-day free trial');
    const card = await p.command('adminAgent', `buy ${trialProduct} 0001 for 台灣雲端科技股份有限公司 seats 3 annual`);
    expect(card.text).toContain('Free trial');
    const done = await p.click('adminAgent', card, 'Buy');
    // The cart line Partner Center received, exactly (create-a-cart: CartLineItem with renewsTo).
    expect(cartPosts(tenants.taiwanCloud).at(-1)!.body).toEqual({
      lineItems: [{ id: 0, catalogItemId: pc.commerce.catalogItemId(trialProduct, '0002', 'TW', true), quantity: 3, billingCycle: 'none', termDuration: 'P1M', renewsTo: { termDuration: 'P1Y' } }],
    });
    const { orderId } = checkoutsOf(tenants.taiwanCloud).at(-1)!;
    const link = pc.commerce.activationLinks.get(`${orderId}/0`)!;
    expect(done.text).toContain(link);
    // Bought as the chosen term at that term's price once the trial ends.
    const [row] = await boughtRows(p, tenants.taiwanCloud, trialProduct);
    expect(row).toMatchObject({ planId: '0001', seats: 3, term: 'annual', price: '4200.00', currency: 'TWD', activationLink: link, partnerCenterOfferId: pc.commerce.catalogItemId(trialProduct, '0002', 'TW', true) });
    expect((await purchaseIntents(p, trialProduct)).map((i) => i.status)).toEqual(['done']);
  });

  it('R-M6 R-M8 an order Partner Center provisions later: the reply says it is placed and pending, nothing is bought twice, and the next sync links its subscription once', async () => {
    expect((await p.command('adminAgent', 'notify here subscriptions 부산해운')).text).toContain('will now hear about');
    const before = checkoutsOf(tenants.busan).length;
    pc.commerce.provisionLater(tenants.busan);
    const card = await p.command('adminAgent', `buy ${product} 0001 for 부산해운 seats 2 monthly`);
    const done = await p.click('adminAgent', card, 'Buy');
    expect(checkoutsOf(tenants.busan)).toHaveLength(before + 1);
    const { orderId, cartId } = checkoutsOf(tenants.busan).at(-1)!;
    expect(done.text).toContain(`Partner Center took order ${orderId}, but has not named its subscription yet. It appears in subscriptions after the next Partner Center sync.`);
    expect(done.buttons).toEqual([]);
    // Nothing is lost: the order is kept in the pending intent; nothing is recorded as bought yet.
    expect(await boughtRows(p, tenants.busan)).toEqual([]);
    const [waiting] = await purchaseIntents(p, product).then((rows) => rows.filter((i) => i.status === 'pending'));
    expect(waiting!.change).toMatchObject({ kind: 'purchase', purchase: { orderId, cartId } });

    // Nothing is bought twice: a second click on the card, or a new Buy of the plan while it waits, sends nothing.
    const posts = cartPosts(tenants.busan).length;
    const again = await p.click('adminAgent', card, 'Buy');
    expect(again.text).toContain('This was already confirmed by 王小明');
    expect(again.text).toContain(`Partner Center took order ${orderId}`);
    const second = await p.click('adminAgent', await p.command('adminAgent', `buy ${product} 0001 for 부산해운 seats 2 monthly`), 'Buy');
    expect(second.text).toContain('王小明 asked Partner Center for a change of this at');
    expect(cartPosts(tenants.busan)).toHaveLength(posts);

    // A sync while Partner Center still provisions leaves it waiting.
    await syncAllOrganizations(p.db, client());
    expect(await boughtRows(p, tenants.busan)).toEqual([]);
    expect((await purchaseIntents(p, product)).find((i) => i.id === waiting!.id)!.status).toBe('pending');

    pc.commerce.provision(orderId);
    await syncAllOrganizations(p.db, client());
    const order = pc.orders.get(tenants.busan)!.find((o) => o.id === orderId) as { lineItems: { subscriptionId: string }[] };
    const remote = pc.subscriptions.get(tenants.busan)!.get(order.lineItems[0]!.subscriptionId)!;
    const link = pc.commerce.activationLinks.get(`${orderId}/0`)!;
    const rows = await boughtRows(p, tenants.busan);
    expect(rows).toMatchObject([{ id: remote.id.toLowerCase(), planId: '0001', seats: 2, term: 'monthly', price: '16000.00', currency: 'KRW', activationLink: link, etag: remote.attributes.etag }]);
    expect((await purchaseIntents(p, product)).find((i) => i.id === waiting!.id)).toMatchObject({ status: 'done', outcome: { order: orderId, subscription: rows[0]!.id } });
    const [busan] = await p.db.select().from(customers).where(eq(customers.tenantId, tenants.busan));
    const logged = await p.db.select().from(activityLog).where(and(eq(activityLog.action, 'saas_purchased'), eq(activityLog.customerId, busan!.id)));
    expect(logged).toMatchObject([{ actorName: '王小明', details: { subscription: rows[0]!.id } }]);
    await p.posted(`王小明 bought Fabrikam 협업 Suite (Standard, 2 seats) for 부산해운: action needed until the publisher activates it (subscription ${rows[0]!.id}).`);
    expect((await p.command('adminAgent', 'subscriptions 부산해운')).text).toContain(link);
    // The card now says it was bought; a later sync links nothing again.
    const [confirmation] = await p.db.select().from(confirmations).where(eq(confirmations.id, card.buttons.find((b) => b.label === 'Buy')!.value));
    expect(confirmation).toMatchObject({ failedAt: null, outcome: { key: 'buy.bought', params: { subscription: rows[0]!.id } } });
    await syncAllOrganizations(p.db, client());
    expect(await p.db.select().from(activityLog).where(and(eq(activityLog.action, 'saas_purchased'), eq(activityLog.customerId, busan!.id)))).toHaveLength(1);
    expect(checkoutsOf(tenants.busan)).toHaveLength(before + 1);
  });

  it('R-M8 an order Partner Center cancels instead of provisioning is abandoned by the next sync: nothing is recorded as bought, and the card says so', async () => {
    const before = checkoutsOf(tenants.kaohsiung).length;
    pc.commerce.provisionLater(tenants.kaohsiung);
    const card = await p.command('adminAgent', `buy ${trialProduct} 0001 for 高雄精密工業 seats 1 monthly`);
    expect((await p.click('adminAgent', card, 'Buy')).text).toContain('but has not named its subscription yet');
    const { orderId } = checkoutsOf(tenants.kaohsiung).at(-1)!;
    pc.commerce.cancelOrder(tenants.kaohsiung, orderId);
    await syncAllOrganizations(p.db, client());
    expect(await boughtRows(p, tenants.kaohsiung, trialProduct)).toEqual([]);
    const [intent] = (await purchaseIntents(p, trialProduct)).filter((i) => i.change.kind === 'purchase' && i.change.purchase.orderId === orderId);
    expect(intent!.status).toBe('abandoned');
    const later = await p.click('adminAgent', card, 'Buy');
    expect(later.text).toContain('Partner Center holds no purchase from this Buy (it was cut off before the checkout, or Partner Center cancelled the order), so nothing was bought.');
    expect(checkoutsOf(tenants.kaohsiung)).toHaveLength(before + 1);
  });
});

/** The marketplace price sheet's path for a market (get-a-price-sheet). */
const sheetPath = (market: string) => `/v1.0/sales/pricesheets(Market='${market}',PricesheetView='marketplace')/$value`;
const isSheet = (r: RecordedRequest) => r.path.startsWith('/v1.0/sales/pricesheets');
const isProductCatalog = (r: RecordedRequest) => r.path.startsWith('/v1/products');

describe('the price sheets are read with a Partner API token (partner-api-authentication), Partner Center with its own', () => {
  /** A refresh token store that records what the client tells it. */
  function recordingStore() {
    const told = { rotated: [] as string[], refused: [] as string[] };
    const store: RefreshTokenStore = {
      newest: async (initial) => told.rotated.at(-1) ?? initial,
      rotated: async (token) => void told.rotated.push(token),
      refused: async (code) => void told.refused.push(code),
    };
    return { told, store };
  }

  it('each API gets a token for its own resource, each cached; the rotated refresh token is kept and used next; the other API refuses it', async () => {
    const { told, store } = recordingStore();
    const client = createPartnerCenterClient({ ...pc.clientSettings(tuning), refreshTokens: store });
    const sheet = `${pc.origin}${sheetPath('KR')}`;
    const grants = { partnerApi: pc.partnerApiTokenRequests.length, partnerCenter: pc.tokenRequests.length };
    const from = pc.requests.length;

    const { body } = await client.request('GET', sheet, undefined, { scope: partnerApiScope });
    expect(String(body)).toContain('"Fabrikam 협업 Suite","DZH318Z0BXWC","0001","Standard"');
    const [grant] = pc.partnerApiTokenRequests.slice(grants.partnerApi);
    expect(grant).toMatchObject({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });
    expect(grant!.scope!.split(' ')).toContain('https://api.partner.microsoft.com/user_impersonation');
    // Entra's new refresh token is kept, and Partner Center's own token is asked for with it.
    expect(told.rotated).toEqual([pc.refreshTokens.issued.at(-1)]);
    await client.request('GET', '/v1/products?country=KR&targetView=MarketplaceSaaS');
    const [partnerCenterGrant] = pc.tokenRequests.slice(grants.partnerCenter);
    expect(partnerCenterGrant).toMatchObject({ refresh_token: told.rotated[0] });
    expect(partnerCenterGrant!.scope!.split(' ')).toContain('https://api.partnercenter.microsoft.com/user_impersonation');
    expect(told.rotated).toHaveLength(2);

    // Held tokens are reused, each for its own scope.
    await client.request('GET', sheet, undefined, { scope: partnerApiScope });
    await client.request('GET', '/v1/products?country=US&targetView=MarketplaceSaaS');
    expect(pc.partnerApiTokenRequests).toHaveLength(grants.partnerApi + 1);
    expect(pc.tokenRequests).toHaveLength(grants.partnerCenter + 1);

    // The stand-in tells the two apart: each API answers 401 to the other's token.
    await expect(client.request('GET', sheet)).rejects.toMatchObject({ status: 401 });
    await expect(client.request('GET', '/v1/customers', undefined, { scope: partnerApiScope })).rejects.toMatchObject({ status: 401 });
    expect(pc.requests.slice(from).map((r) => [r.path, r.token])).toEqual([
      [sheetPath('KR'), 'partner-api'],
      ['/v1/products?country=KR&targetView=MarketplaceSaaS', 'partner-center'],
      [sheetPath('KR'), 'partner-api'],
      ['/v1/products?country=US&targetView=MarketplaceSaaS', 'partner-center'],
      [sheetPath('KR'), 'partner-center'],
      ['/v1/customers', 'partner-api'],
    ]);
  });

  it('a refresh token Entra refuses (invalid_grant) for the Partner API is reported as refused, and no price sheet is asked for', async () => {
    const { told, store } = recordingStore();
    const client = createPartnerCenterClient({ ...pc.clientSettings(tuning), refreshTokens: store });
    const from = pc.requests.length;
    pc.refreshTokens.revoke();
    try {
      await expect(client.request('GET', `${pc.origin}${sheetPath('TW')}`, undefined, { scope: partnerApiScope })).rejects.toMatchObject({ status: 0, code: 'invalid_grant' });
    } finally {
      pc.refreshTokens.restore();
    }
    expect(told).toEqual({ rotated: [], refused: ['invalid_grant'] });
    expect(pc.requests.slice(from)).toEqual([]);
  });
});

describe('R-M3 the catalog is read at start-up when never read or a day old, and by refresh-catalog whenever asked', () => {
  let database: DatabaseHandle;
  let bot: TestBot | undefined;
  /** The bot (re)started on the same database; the helper returns once its start-up jobs settled. */
  async function restart() {
    await bot?.close();
    bot = await startTestBot({ database, partnerCenter: pc.config, partnerCenterTuning: tuning });
    return bot;
  }
  const connector = () => partnerCenterFromConfig(pc.config, tuning);
  const catalogRows = () => database.db.select().from(offers).where(isNotNull(offers.partnerCenterRefreshedAt)).orderBy(asc(offers.id));
  const price = async (id: string, market: string) => (await catalogRows()).find((o) => o.id === id)!.plans[0]!.prices.find((p) => p.market === market && p.term === 'monthly')!.price;
  const markets = ['FR', 'KR', 'TW', 'US'];

  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await bot?.close();
    await database?.close();
  });

  it('refresh-catalog without the connector says it is not configured; with it but no customer stored, that there is no market to read', async () => {
    expect(await runCli(database.db, ['refresh-catalog'])).toEqual({
      output: 'Partner Center is not connected: set PARTNER_CENTER_TENANT_ID, PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET and PARTNER_CENTER_REFRESH_TOKEN first (README, "Connect to Partner Center").',
      exitCode: 1,
    });
    const from = pc.requests.length;
    expect(await runCli(database.db, ['refresh-catalog'], { partnerCenter: connector() })).toEqual({
      output: `Nothing was read: no customer of the organization whose CSP tenant is ${partnerTenant} is stored here yet, so there is no market (billing country) to read Partner Center's catalog for. Run npm run csp -- sync first.`,
      exitCode: 1,
    });
    expect(pc.requests.slice(from)).toEqual([]);
    expect(await catalogRows()).toEqual([]);
  });

  it('a bot started with the catalog never read reads it at once, price sheets with the Partner API token; restarted within the day it does not; a day old, it does', async () => {
    for (const file of [connectedOrganization(partnerTenant), otherOrganization]) await importOrganization(database.db, parseImportFile(file));
    const from = pc.requests.length;
    await restart();
    const startup = pc.requests.slice(from);
    expect(startup.filter(isSheet).map((r) => [r.path, r.token])).toEqual(markets.map((m) => [sheetPath(m), 'partner-api']));
    expect(startup.filter(isProductCatalog).length).toBeGreaterThan(0);
    expect(startup.filter(isProductCatalog).every((r) => r.token === 'partner-center')).toBe(true);
    expect((await catalogRows()).map((o) => [o.id, o.name, o.publisherName, o.countries])).toEqual([
      [product, 'Fabrikam 협업 Suite', 'Fabrikam ISV', ['FR', 'KR', 'US']],
      [trialProduct, '雲端會議 Suite', 'Northwind ISV', ['TW']],
      [taiwanProduct, '雲端記帳 專業版', '臺北雲端軟體股份有限公司', ['TW']],
    ]);
    const offer = replyText((await bot!.command(users.adminAgent, `offer ${taiwanProduct}`)).reply);
    expect(offer).toContain('臺北雲端軟體股份有限公司');
    expect(offer).toContain("Read from Partner Center's catalog");
    const readAt = (await catalogRows()).map((o) => o.partnerCenterRefreshedAt);

    const again = pc.requests.length;
    await restart();
    expect(pc.requests.slice(again).filter((r) => isSheet(r) || isProductCatalog(r))).toEqual([]);
    expect((await catalogRows()).map((o) => o.partnerCenterRefreshedAt)).toEqual(readAt);

    pc.commerce.setPrice(taiwanProduct, '0001', 'TW', 'P1M', 350);
    await database.db.update(offers).set({ partnerCenterRefreshedAt: new Date(Date.now() - catalogMaxAgeMs - 60_000) }).where(isNotNull(offers.partnerCenterRefreshedAt));
    const aged = pc.requests.length;
    await restart();
    expect(pc.requests.slice(aged).filter(isSheet).map((r) => [r.path, r.token])).toEqual(markets.map((m) => [sheetPath(m), 'partner-api']));
    expect(await price(taiwanProduct, 'TW')).toBe(350);
    expect(replyText((await bot!.command(users.adminAgent, `offer ${taiwanProduct}`)).reply)).toContain('350');
  });

  it('refresh-catalog reads it now however fresh and prints what it read; a Partner Center refusal stores nothing', async () => {
    pc.commerce.setPrice(product, '0001', 'KR', 'P1M', 17000);
    const from = pc.requests.length;
    expect(await runCli(database.db, ['refresh-catalog'], { partnerCenter: connector() })).toEqual({
      output: "Read Partner Center's catalog for FR, KR, TW, US: 3 offers with their plans and prices.",
      exitCode: 0,
    });
    expect(pc.requests.slice(from).filter(isSheet).map((r) => [r.path, r.token])).toEqual(markets.map((m) => [sheetPath(m), 'partner-api']));
    expect(await price(product, 'KR')).toBe(17000);

    pc.commerce.setPrice(product, '0001', 'KR', 'P1M', 16000);
    pc.plan({ method: 'GET', path: sheetPath('TW'), status: 403, body: { code: 403, description: 'The user is not in the Admin Agent or Sales Agent role.', errorName: 'Forbidden' } });
    const before = await catalogRows();
    const refused = await runCli(database.db, ['refresh-catalog'], { partnerCenter: connector() });
    expect(refused.exitCode).toBe(1);
    expect(refused.output).toMatch(/^Partner Center 403 403: The user is not in the Admin Agent or Sales Agent role\. \(MS-CorrelationId [0-9a-f-]{36}\)\nThe catalog was not read; csp-ops keeps the one it read last\.$/);
    expect(await catalogRows()).toEqual(before);
    pc.commerce.setPrice(taiwanProduct, '0001', 'TW', 'P1M', 320);
  });
});
