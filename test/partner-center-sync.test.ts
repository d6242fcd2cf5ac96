import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { activityLog, customerPurchasePermissions, organizations, customers, partnerCenterEvents, partnerCenterOrders, partnerCenterSyncs, reservations, subscriptions } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { loadConfig } from '../src/config.js';
import type { Organization } from '../src/core/context.js';
import { organizationNamed } from '../src/core/organizations.js';
import { createPartnerCenterClient, type PartnerCenterClient } from '../src/partner-center/client.js';
import { partnerCenterFromConfig } from '../src/partner-center/connector.js';
import { maxEventAttempts, processPartnerCenterEvents } from '../src/partner-center/events.js';
import { syncAllOrganizations, syncOrganization } from '../src/partner-center/sync.js';
import { partnerTenant, startFakePartnerCenter, type FakePartnerCenter, type FakeSubscription } from './helpers/fake-partner-center.js';
import { otherOrganization, tenants, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { waitFor } from './helpers/wait.js';
import { startCertificateServer } from './helpers/webhook-certificates.js';

/** Customers Partner Center has that csp-ops does not (yet), and one whose domain is Contoso's here. */
const kaohsiungCloud = 'c0c0c0c0-0000-4000-8000-0000000000c1';
const domainClash = 'c0c0c0c0-0000-4000-8000-0000000000c2';
const noCountry = 'c0c0c0c0-0000-4000-8000-0000000000c3';
const subscriptionId = 'a1a1a1a1-0000-4000-8000-00000000a001';
const channel = 'C0PCSYNC01';
const tuning = { timeoutMs: 2000, retryDelayMs: 10 };
const dayMs = 24 * 60 * 60 * 1000;
const silent = { debug() {}, info() {}, warn() {}, error() {} };

let pc: FakePartnerCenter;
let ca: Awaited<ReturnType<typeof startCertificateServer>>;
let bot: TestBot;
let client: PartnerCenterClient;
let org: Organization;
let remote: FakeSubscription;

beforeAll(async () => {
  pc = await startFakePartnerCenter();
  ca = await startCertificateServer();
  const config = loadConfig({ ...pc.config, ...ca.env });
  bot = await startTestBot({
    // The organization names the connector's tenant as its CSP tenant (R-A5).
    organizations: [{ ...testOrganization, organization: { ...testOrganization.organization, cspTenantId: partnerTenant } }, otherOrganization],
    partnerCenter: Object.fromEntries(Object.entries(config).filter(([key]) => key.startsWith('PARTNER_CENTER_'))),
    partnerCenterTuning: tuning,
  });
  client = createPartnerCenterClient(pc.clientSettings(tuning));
  org = await organizationNamed(bot.db, testOrganization.organization.name);

  pc.addCustomer(tenants.hanbit, '한빛소프트 주식회사', 'hanbitsoft.example', 'KR');
  pc.addCustomer(kaohsiungCloud, '高雄雲端服務股份有限公司', 'kaohsiung-cloud.example', 'tw');
  pc.addCustomer(domainClash, 'Contoso Copy', 'contoso.com', 'US');
  pc.addCustomer(noCountry, '國家未填客戶', 'no-country.example', '');
  pc.setCustomerPageSize(2);
  remote = pc.addSubscription(tenants.hanbit, {
    id: subscriptionId,
    friendlyName: '한빛 M365',
    creationDate: new Date(Date.now() - dayMs).toISOString(),
    cancellationAllowedUntilDate: new Date(Date.now() + 6 * dayMs).toISOString(),
  });
  pc.orders.set(tenants.hanbit, [
    {
      id: 'pc-order-0001',
      referenceCustomerId: tenants.hanbit,
      billingCycle: 'monthly',
      currencyCode: 'KRW',
      creationDate: '2026-11-22T03:00:00Z',
      status: 'completed',
      lineItems: [{ lineItemNumber: 0, offerId: 'CFQ7TTC0LH18:0001', subscriptionId, friendlyName: 'Microsoft 365 Business Basic', quantity: 10 }],
      attributes: { objectType: 'Order' },
    },
  ]);
  // Reservations already allowed in Partner Center for the customer csp-ops has not seen.
  pc.policies.set(`${partnerTenant}_${kaohsiungCloud}`, {
    id: `${partnerTenant}_${kaohsiungCloud}`,
    selfServeEntity: { selfServeEntityType: 'customer', tenantID: kaohsiungCloud },
    grantor: { grantorType: 'billToPartner', tenantID: partnerTenant },
    permissions: [{ action: 'Purchase', resource: 'AzureReservedInstances' }],
    attributes: { etag: '"policy-1"', objectType: 'SelfServePolicy' },
  });
});
afterAll(async () => {
  await bot?.close();
  await pc?.close();
  await ca?.close();
});

const customerRow = async (tenantId: string) => (await bot.db.select().from(customers).where(and(eq(customers.orgId, org.id), eq(customers.tenantId, tenantId))))[0];
const subscriptionRow = async () => (await bot.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId)))[0]!;
const syncState = async () => (await bot.db.select().from(partnerCenterSyncs).where(eq(partnerCenterSyncs.orgId, org.id)))[0]!;
const channelPosts = () => bot.slack.posts().filter((c) => c.body.channel === channel && c.ts).map((c) => replyText(c.body as SlackReply));
const say = async (text: string) => replyText((await bot.command(users.adminAgent, text, { channel })).reply);
/** A subscription edit is confirmed first: the command, then its confirm button when it offers one. */
const sayAndConfirm = async (text: string) => {
  const { reply } = await bot.command(users.adminAgent, text, { channel });
  const confirm = buttons(reply).find((b) => b.style);
  return replyText(confirm ? (await bot.click(users.adminAgent, confirm, { channel })).reply : reply);
};

describe('Partner Center sync', () => {
  it('npm run csp -- sync brings customers (billing country from get-by-id), subscriptions, orders and self-serve policies, following links.next', async () => {
    const localCustomers = (await bot.db.select().from(customers).where(eq(customers.orgId, org.id))).length;
    const partnerCenter = partnerCenterFromConfig(pc.config, tuning);
    const ran = await runCli(bot.db, ['sync', '--org', testOrganization.organization.name], { partnerCenter });
    expect(ran.output).toBe(
      'Synced from Partner Center: 2 customers, 1 subscription, 1 order, 0 reservations, 1 self-serve policy; 1 change made outside csp-ops found, 2 customers skipped.',
    );
    expect(ran.exitCode).toBe(0);

    // Paging: the second page of customers asked for with the continuation token of the first.
    const lists = pc.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/customers?'));
    expect(lists.map((r) => r.path)).toEqual(['/v1/customers?size=100', '/v1/customers?size=100&seekOperation=Next']);
    expect(lists[1]!.headers['ms-continuationtoken']).toMatch(/^[0-9a-f-]{36}$/);
    // The list has no billing profile: each customer is read by ID for its country.
    for (const tenant of [tenants.hanbit, kaohsiungCloud, domainClash, noCountry]) expect(pc.requests.some((r) => r.path === `/v1/customers/${tenant}`)).toBe(true);

    expect(await customerRow(kaohsiungCloud)).toMatchObject({ name: '高雄雲端服務股份有限公司', domain: 'kaohsiung-cloud.example', billingCountry: 'TW' });
    // Contoso keeps its domain; the Partner Center customer claiming it elsewhere is skipped, and nothing local is deleted.
    expect(await customerRow(domainClash)).toBeUndefined();
    // A new customer without a billing country is not given a guessed one.
    expect(await customerRow(noCountry)).toBeUndefined();
    expect((await customerRow(tenants.contoso))?.domain).toBe('contoso.com');
    expect((await bot.db.select().from(customers).where(eq(customers.orgId, org.id))).length).toBe(localCustomers + 1);

    expect(await subscriptionRow()).toMatchObject({
      friendlyName: '한빛 M365',
      offer: 'microsoft-365',
      offerName: 'Microsoft 365 Business Basic',
      partnerCenterOfferId: 'CFQ7TTC0LH18:0001',
      status: 'active',
      seats: 10,
      autoRenew: true,
      term: 'monthly',
      commitmentEndsAt: new Date('2027-10-31T00:00:00Z'),
      cancellationAllowedUntil: new Date(remote.cancellationAllowedUntilDate!),
      refundableQuantity: 10,
      commerceModel: 'new-commerce',
      etag: remote.attributes.etag,
    });
    const [order] = await bot.db.select().from(partnerCenterOrders).where(eq(partnerCenterOrders.id, 'pc-order-0001'));
    expect(order).toMatchObject({ status: 'completed', currency: 'KRW', lineItems: [{ friendlyName: 'Microsoft 365 Business Basic', quantity: 10, subscriptionId }] });

    // The permission found on in Partner Center is on here, granted by no one in csp-ops, and logged as Partner Center's.
    const kaohsiung = (await customerRow(kaohsiungCloud))!;
    const [permission] = await bot.db.select().from(customerPurchasePermissions).where(eq(customerPurchasePermissions.customerId, kaohsiung.id));
    expect(permission).toMatchObject({ resource: 'azure-reservations', grantedBy: null });
    const log = await bot.db.select().from(activityLog).where(eq(activityLog.customerId, kaohsiung.id));
    expect(log.map((r) => [r.action, r.actorName])).toEqual([['create_customer_purchase_permission', 'Partner Center']]);

    // In chat: the subscription with Partner Center's facts, the order, the customer's permission, the last sync.
    const listed = await say('subscriptions 한빛소프트');
    expect(listed).toContain('한빛 M365 — Microsoft 365 Business Basic — active — 10 seats, monthly, auto-renew on — term ends 2027-10-31');
    expect(listed).toContain('10 seats refundable — new commerce');
    expect(await say('orders 한빛소프트')).toContain('Microsoft 365 Business Basic × 10 — completed in Partner Center — order pc-order-0001');
    expect(await say('customer 高雄雲端')).toContain('Partner Center');
    const status = await say('connector status');
    expect(status).toMatch(/Last sync\*\n\d{4}-\d\d-\d\d \d\d:\d\d UTC: 2 customers, 1 subscription, 1 order, 0 reservations, 1 self-serve policy, 1 change found/);
  });

  it('a sync cut off halfway resumes after the last customer it finished; a 429 waits for Retry-After', async () => {
    // Customers are synced in tenant ID order: 한빛 (5555…) first, then 高雄 (c0c0…), whose subscriptions fail.
    for (let i = 0; i < 3; i++) pc.plan({ method: 'GET', path: `/v1/customers/${kaohsiungCloud}/subscriptions`, status: 503, body: { code: 503, description: 'Service unavailable' } });
    await expect(syncOrganization(bot.db, client, org)).rejects.toThrow('Partner Center 503');
    const cut = await syncState();
    expect(cut.runStartedAt).not.toBeNull();
    expect(cut.customersListed).toBe(true);
    expect(cut.doneThrough).toBe(tenants.hanbit);
    const status = await say('connector status');
    expect(status).toMatch(/Current sync\*\na sync started .* is under way or was cut off; the next one resumes it/);
    expect(status).toMatch(/Last sync error\*\n\d{4}-\d\d-\d\d \d\d:\d\d UTC: HTTP 503, code 503: Service unavailable \(MS-CorrelationId [0-9a-f-]{36}\)/);

    pc.requests.length = 0;
    pc.plan({ method: 'GET', path: `/v1/customers/${kaohsiungCloud}/orders`, status: 429, headers: { 'retry-after': '1' }, body: { code: 429, description: 'Too many requests' } });
    const counts = await syncOrganization(bot.db, client, org);
    expect(counts).toMatchObject({ customers: 0, subscriptions: 0, orders: 0, changed: 0 });
    // Neither the customer list nor the customer finished before was read again.
    expect(pc.requests.some((r) => r.path.startsWith('/v1/customers?'))).toBe(false);
    expect(pc.requests.some((r) => r.path.startsWith(`/v1/customers/${tenants.hanbit}`))).toBe(false);
    const orders = pc.requests.filter((r) => r.path === `/v1/customers/${kaohsiungCloud}/orders`);
    expect(orders).toHaveLength(2);
    expect(orders[1]!.at - orders[0]!.at).toBeGreaterThanOrEqual(950);
    // The same MS-RequestId: Partner Center sees the same call again.
    expect(orders[1]!.headers['ms-requestid']).toBe(orders[0]!.headers['ms-requestid']);
    expect(await syncState()).toMatchObject({ runStartedAt: null, doneThrough: null, lastError: null });
  });

  it('finds changes made in Partner Center outside csp-ops, logs and announces them; a permission turned off there is off here', async () => {
    expect(await say('notify here subscriptions permissions')).toContain('will now hear about');
    pc.changeSubscription(tenants.hanbit, subscriptionId, { quantity: 12 });
    pc.policies.delete(`${partnerTenant}_${kaohsiungCloud}`);
    const counts = await syncOrganization(bot.db, client, org);
    expect(counts).toMatchObject({ customers: 2, subscriptions: 1, changed: 2 });
    expect(await subscriptionRow()).toMatchObject({ seats: 12, etag: remote.attributes.etag });
    const kaohsiung = (await customerRow(kaohsiungCloud))!;
    expect(await bot.db.select().from(customerPurchasePermissions).where(eq(customerPurchasePermissions.customerId, kaohsiung.id))).toHaveLength(0);
    const posts = await waitFor('two announcements', () => channelPosts().length >= 2 && channelPosts());
    expect(posts.join('\n')).toContain('Partner Center: subscription 한빛 M365 of 한빛소프트 주식회사 was changed outside csp-ops (seats 10 → 12).');
    expect(posts.join('\n')).toContain('Partner Center: 高雄雲端服務股份有限公司 may no longer buy Azure reservations (turned off outside csp-ops).');
    // The next sync finds nothing new: nothing is logged or announced twice.
    expect(await syncOrganization(bot.db, client, org)).toMatchObject({ changed: 0 });
  });

  it('R-M7 edits are PATCH calls with If-Match; a conflict re-reads and says what changed; a refusal changes nothing', async () => {
    const etag = (await subscriptionRow()).etag;
    expect(await sayAndConfirm('subscription a1a1a1a1 seats 15')).toContain('15');
    const [patch] = pc.requests.filter((r) => r.method === 'PATCH');
    expect(patch!.path).toBe(`/v1/customers/${tenants.hanbit}/subscriptions/${subscriptionId}`);
    expect(patch!.headers['if-match']).toBe(etag);
    expect(patch!.body).toMatchObject({ id: subscriptionId, quantity: 15, attributes: { etag } });
    expect(remote.quantity).toBe(15);
    expect(await subscriptionRow()).toMatchObject({ seats: 15, etag: remote.attributes.etag });

    // Someone changes it in Partner Center: csp-ops' ETag is stale.
    pc.changeSubscription(tenants.hanbit, subscriptionId, { friendlyName: '한빛 M365 본사', autoRenewEnabled: false });
    const conflict = await sayAndConfirm('subscription a1a1a1a1 rename 한빛 팀');
    expect(conflict).toContain(
      `Subscription ${subscriptionId} was changed in Partner Center since csp-ops last read it: name 한빛 M365 → 한빛 M365 본사, auto-renew on → off. Your change was not made`,
    );
    expect(remote.friendlyName).toBe('한빛 M365 본사');
    expect(await subscriptionRow()).toMatchObject({ friendlyName: '한빛 M365 본사', autoRenew: false, etag: remote.attributes.etag });
    // Asked again, it goes through with the ETag just read.
    expect(await sayAndConfirm('subscription a1a1a1a1 rename 한빛 팀')).toContain('한빛 팀');
    expect(remote.friendlyName).toBe('한빛 팀');

    pc.plan({ method: 'PATCH', path: `/v1/customers/${tenants.hanbit}/subscriptions/`, status: 400, body: { code: 800036, description: 'The quantity exceeds the maximum allowed.', errorName: 'InvalidQuantity' } });
    const asked = (await bot.command(users.adminAgent, 'subscription a1a1a1a1 seats 5000', { channel })).reply;
    const confirm = buttons(asked).find((b) => b.text.text === 'Confirm')!;
    const refused = replyText((await bot.click(users.adminAgent, confirm, { channel })).reply);
    expect(refused).toContain('Partner Center refused the change (HTTP 400, code 800036): The quantity exceeds the maximum allowed.');
    expect(refused).toContain('Nothing was changed here.');
    expect(await subscriptionRow()).toMatchObject({ seats: 15, friendlyName: '한빛 팀' });
    // The refused confirmation is spent: clicked again it says what happened, and nothing is sent.
    const patches = pc.requests.filter((r) => r.method === 'PATCH').length;
    const again = replyText((await bot.click(users.adminAgent, confirm, { channel })).reply);
    expect(again).toMatch(/王小明 confirmed this on .* UTC, but the change could not be made:\nPartner Center refused the change \(HTTP 400, code 800036\)/);
    expect(again).toContain('Run the command again to see the current figures and confirm again.');
    expect(pc.requests.filter((r) => r.method === 'PATCH')).toHaveLength(patches);
    expect(await subscriptionRow()).toMatchObject({ seats: 15, friendlyName: '한빛 팀' });

    // A subscription Partner Center gives no cancellation date for cannot be cancelled: refused here, nothing sent.
    const fixedTerm = 'a2a2a2a2-0000-4000-8000-00000000a002';
    pc.addSubscription(tenants.hanbit, { id: fixedTerm, friendlyName: '한빛 Teams Rooms', cancellationAllowedUntilDate: null });
    await syncOrganization(bot.db, client, org);
    pc.requests.length = 0;
    expect(await sayAndConfirm('subscription a2a2a2a2 cancel')).toContain(
      `Partner Center does not allow subscription ${fixedTerm} to be cancelled (it gives no date until which it may be). Turn auto-renew off instead`,
    );
    expect(pc.requests.filter((r) => r.method === 'PATCH')).toHaveLength(0);

    // Cancel inside Partner Center's own window (cancellationAllowedUntilDate): status "deleted" there, cancelled here.
    expect(await sayAndConfirm('subscription a1a1a1a1 cancel')).toContain('cancelled');
    expect(remote.status).toBe('deleted');
    expect((await subscriptionRow()).status).toBe('cancelled');
    const log = await bot.db.select().from(activityLog).where(eq(activityLog.details, { subscription: subscriptionId, change: 'rename', value: '한빛 팀' }));
    expect(log).toHaveLength(1);
  });

  it('R-P7 Azure reservations come from the entitlements: one csp-ops holds gets its reservation order ID and Partner Center\'s quantity and scope, one bought there is added from its order', async () => {
    expect(await say('notify here requests')).toContain('will now hear about');
    // Contoso's reservation is in csp-ops from the import file, without its Azure reservation order; Partner Center has it at 3, single scope.
    pc.addCustomer(tenants.contoso, 'Contoso Ltd', 'contoso.com', 'US');
    onTestFinished(() => void pc.customers.delete(tenants.contoso));
    const contosoOrder = 'e1e1e1e1-0000-4000-8000-00000000e001';
    const contosoReservation = 'r1000000-0000-4000-8000-000000000001';
    pc.addReservationOrder(tenants.contoso, contosoOrder, 'pc-order-contoso-1', [
      {
        reservationId: contosoReservation.toUpperCase(), displayName: 'VM_RI_02-01-2026_09-00', scopeType: 'Single', appliedScopes: ['/subscriptions/c0c0c0c0-0000-4000-8000-000000000001'],
        quantity: 3, expiryDateTime: '2027-02-01T00:00:00', effectiveDateTime: '2026-02-01T09:00:00Z', provisioningState: 'Succeeded',
      },
      // A single scope naming no subscription: its scope is kept as csp-ops has it.
      { reservationId: 'r1000000-0000-4000-8000-000000000002', scopeType: 'Single', appliedScopes: [], quantity: 2, effectiveDateTime: '2026-05-15T02:30:00Z', provisioningState: 'Succeeded' },
    ]);
    // Bought in Partner Center for 한빛소프트: csp-ops learns of it here, from the order that bought it.
    const hanbitOrder = 'e1e1e1e1-0000-4000-8000-00000000e002';
    const hanbitReservation = '99f320db-c029-4c1b-a157-dad76e4481b6';
    pc.orders.get(tenants.hanbit)!.push({
      id: 'pc-order-0002', referenceCustomerId: tenants.hanbit, billingCycle: 'annual', currencyCode: 'KRW', totalPrice: 3650000, creationDate: '2026-11-20T03:00:00Z', status: 'completed',
      lineItems: [{ lineItemNumber: 0, offerId: 'DZH318Z0BQ3W:007J', friendlyName: 'Reserved VM Instance, Standard_D4s_v5, Korea Central, 3 Years', quantity: 2, provisioningContext: { scope: 'shared', duration: '3Years', region: 'koreacentral' } }],
      attributes: { objectType: 'Order' },
    });
    pc.addReservationOrder(tenants.hanbit, hanbitOrder, 'pc-order-0002', [
      { reservationId: hanbitReservation, displayName: '한빛 D4s v5 예약', scopeType: 'Shared', quantity: 2, expiryDateTime: '2029-11-20T00:00:00', effectiveDateTime: '2026-11-20T03:00:00Z', provisioningState: 'Succeeded' },
    ]);
    // One bought with other items in the same order: the order's total is not its price, so it is not guessed at.
    pc.orders.get(tenants.hanbit)!.push({
      id: 'pc-order-0003', billingCycle: 'monthly', currencyCode: 'KRW', totalPrice: 90000, status: 'completed', attributes: { objectType: 'Order' },
      lineItems: [{ lineItemNumber: 0, friendlyName: 'Reserved VM Instance, Standard_B2s', quantity: 1 }, { lineItemNumber: 1, friendlyName: 'Microsoft 365 E3', quantity: 5 }],
    });
    pc.addReservationOrder(tenants.hanbit, 'e1e1e1e1-0000-4000-8000-00000000e003', 'pc-order-0003', [
      { reservationId: 'e3e3e3e3-0000-4000-8000-00000000e301', scopeType: 'Shared', quantity: 1, effectiveDateTime: '2026-11-25T00:00:00Z', provisioningState: 'Succeeded' },
    ]);
    const warnings: string[] = [];
    pc.requests.length = 0;
    const counts = await syncOrganization(bot.db, client, org, { ...silent, warn: (line: string) => warnings.push(line) });
    expect(counts).toMatchObject({ customers: 3, reservations: 3, changed: 1 });
    expect(pc.requests.filter((r) => r.path.includes('/entitlements')).map((r) => r.path)).toContain(`/v1/customers/${tenants.contoso}/entitlements?entitlementType=reservedinstance&showExpiry=true`);
    expect(warnings.filter((w) => w.includes('reservation'))).toEqual([expect.stringContaining('Partner Center reservation e3e3e3e3-0000-4000-8000-00000000e301 of 한빛소프트 주식회사 (order e1e1e1e1-0000-4000-8000-00000000e003): the order that bought it gives no price of its own; not added')]);

    const [contoso] = await bot.db.select().from(reservations).where(eq(reservations.id, contosoReservation));
    expect(contoso).toMatchObject({ reservationOrderId: contosoOrder, quantity: 3, scope: 'single', subscriptionId: 'c0c0c0c0-0000-4000-8000-000000000001', product: 'Virtual Machines D2s v5', price: '3120.50', status: 'active' });
    const [unnamedScope] = await bot.db.select().from(reservations).where(eq(reservations.id, 'r1000000-0000-4000-8000-000000000002'));
    expect(unnamedScope).toMatchObject({ reservationOrderId: contosoOrder, quantity: 2, scope: 'single', subscriptionId: 'c0c0c0c0-0000-4000-8000-000000000001' });
    const [hanbit] = await bot.db.select().from(reservations).where(eq(reservations.id, hanbitReservation));
    expect(hanbit).toMatchObject({
      reservationOrderId: hanbitOrder, customerId: (await customerRow(tenants.hanbit))!.id, product: '한빛 D4s v5 예약', region: 'koreacentral', quantity: 2, term: 'P3Y',
      billingPlan: 'upfront', scope: 'shared', subscriptionId: null, price: '3650000.00', currency: 'KRW', purchasedBy: 'partner', purchasedAt: new Date('2026-11-20T03:00:00Z'), status: 'active',
    });
    expect(await bot.db.select().from(reservations).where(eq(reservations.id, 'e3e3e3e3-0000-4000-8000-00000000e301'))).toEqual([]);

    // The change made outside csp-ops is logged and announced, in the reader's words.
    const contosoId = (await customerRow(tenants.contoso))!.id;
    const logged = await bot.db.select().from(activityLog).where(and(eq(activityLog.customerId, contosoId), eq(activityLog.action, 'partner_center_reservation_changed')));
    expect(logged.map((r) => [r.actorName, r.details])).toEqual([
      ['Partner Center', { reservation: contosoReservation, changes: { fieldChanges: [{ field: 'quantity', from: '4', to: '3' }, { field: 'scope', from: 'shared', to: 'c0c0c0c0-0000-4000-8000-000000000001' }] } }],
    ]);
    const announced = await waitFor('the reservation change announced', () => channelPosts().find((p) => p.includes(contosoReservation)));
    expect(announced).toContain(
      `Partner Center: reservation Virtual Machines D2s v5 (${contosoReservation}) of Contoso Ltd was changed outside csp-ops (quantity 4 → 3, shared scope → single subscription c0c0c0c0-0000-4000-8000-000000000001).`,
    );
    expect(await say('reservations 한빛소프트')).toContain('한빛 D4s v5 예약');
    // The next sync finds nothing new: nothing is added, logged or announced twice.
    expect(await syncOrganization(bot.db, client, org)).toMatchObject({ reservations: 3, changed: 0 });
    expect(await bot.db.select().from(activityLog).where(eq(activityLog.action, 'partner_center_reservation_changed'))).toHaveLength(1);
    expect(await bot.db.select().from(reservations).where(eq(reservations.customerId, (await customerRow(tenants.hanbit))!.id))).toHaveLength(1);
  });
});

describe('Partner Center sync, refused', () => {
  it('one process syncs an organization at a time; a lease left by a process that died is taken over once it ran out', async () => {
    const held = new Date(Date.now() + 60_000);
    await bot.db.update(partnerCenterSyncs).set({ leaseUntil: held }).where(eq(partnerCenterSyncs.orgId, org.id));
    pc.requests.length = 0;
    const ran = await runCli(bot.db, ['sync', '--org', testOrganization.organization.name], { partnerCenter: partnerCenterFromConfig(pc.config, tuning) });
    expect(ran).toEqual({
      exitCode: 1,
      output: `Another process is syncing ${testOrganization.organization.name} from Partner Center right now; nothing was started. Try again when it has finished (connector status shows it).`,
    });
    // The bot's periodic sync skips it quietly.
    expect(await syncAllOrganizations(bot.db, client)).toMatchObject({ customers: 0, subscriptions: 0 });
    expect(pc.requests).toHaveLength(0);
    expect((await syncState()).leaseUntil).toEqual(held);

    await bot.db.update(partnerCenterSyncs).set({ leaseUntil: new Date(Date.now() - 1000) }).where(eq(partnerCenterSyncs.orgId, org.id));
    expect(await syncAllOrganizations(bot.db, client)).toMatchObject({ customers: 2 });
    expect((await syncState()).leaseUntil).toBeNull();
  });

  it('without the connector, npm run csp -- sync says what to set', async () => {
    expect(await runCli(bot.db, ['sync'])).toEqual({
      exitCode: 1,
      output: 'Partner Center is not connected: set PARTNER_CENTER_TENANT_ID, PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET and PARTNER_CENTER_REFRESH_TOKEN first (README, "Connect to Partner Center").',
    });
  });

  it('R-A5 an organization naming another CSP tenant is not synced, with the reason, and nothing is read or written', async () => {
    const other = await organizationNamed(bot.db, otherOrganization.organization.name);
    await bot.db.update(organizations).set({ cspTenantId: 'dddddddd-0000-4000-8000-00000000000d' }).where(eq(organizations.id, other.id));
    pc.requests.length = 0;
    const ran = await runCli(bot.db, ['sync', '--org', otherOrganization.organization.name], { partnerCenter: partnerCenterFromConfig(pc.config, tuning) });
    expect(ran).toEqual({
      exitCode: 1,
      output: `${otherOrganization.organization.name} names CSP tenant dddddddd-0000-4000-8000-00000000000d, not the one the Partner Center connector signs in for (PARTNER_CENTER_TENANT_ID), so nothing was read from Partner Center for it.`,
    });
    expect(pc.requests).toHaveLength(0);
    expect(await bot.db.select().from(partnerCenterSyncs).where(eq(partnerCenterSyncs.orgId, other.id))).toHaveLength(0);
  });
});

describe('Partner Center events', () => {
  const deliver = (body: Record<string, unknown>) => {
    const text = JSON.stringify({ ResourceChangeUtcDate: new Date().toISOString(), AuditUri: null, ...body });
    return fetch(`${bot.origin}/webhooks/partner-center`, { method: 'POST', headers: { 'content-type': 'application/json', ...ca.signatureHeaders(text) }, body: text });
  };
  const eventRow = async (resourceUri: string) => (await bot.db.select().from(partnerCenterEvents).where(eq(partnerCenterEvents.resourceUri, resourceUri)))[0];

  it('subscription-updated: the subscription is fetched from the API (not taken from the body) and refreshed', async () => {
    pc.changeSubscription(tenants.hanbit, subscriptionId, { status: 'active', quantity: 20 });
    // The event names the resource on another host: only its path is used, against the configured API.
    const resourceUri = `https://elsewhere.example/v1/customers/${tenants.hanbit}/subscriptions/${subscriptionId}`;
    const answer = await deliver({ EventName: 'subscription-updated', ResourceUri: resourceUri, ResourceName: 'subscription', Quantity: 999 });
    expect(answer.status).toBe(200);
    const row = await waitFor('the event processed', async () => ((await eventRow(resourceUri))?.status === 'processed' ? eventRow(resourceUri) : undefined));
    expect(row!.outcome).toBe('seats 15 → 20, status cancelled → active');
    expect(await subscriptionRow()).toMatchObject({ seats: 20, status: 'active', etag: remote.attributes.etag });
    expect(pc.requests.filter((r) => r.method === 'GET' && r.path === `/v1/customers/${tenants.hanbit}/subscriptions/${subscriptionId}`).length).toBeGreaterThan(0);
  });

  it('invoice-ready is announced to the channels that hear invoices; events csp-ops does not act on are kept as ignored', async () => {
    expect(await say('notify here invoices')).toContain('Partner Center invoices');
    pc.invoices.set('D000012345', { id: 'D000012345', invoiceDate: '2026-11-08T00:00:00Z', totalCharges: 1234567, currencyCode: 'KRW', invoiceType: 'Recurring', attributes: { objectType: 'Invoice' } });
    const before = channelPosts().length;
    expect((await deliver({ EventName: 'invoice-ready', ResourceUri: 'https://api.partnercenter.microsoft.com/v1/invoices/D000012345', ResourceName: 'invoice' })).status).toBe(200);
    const invoice = await waitFor('the invoice announcement', () => channelPosts().slice(before).find((p) => p.includes('invoice')));
    expect(invoice).toContain('Partner Center invoice D000012345 is ready: ₩1,234,567, dated 2026-11-08.');

    const resourceUri = 'https://api.partnercenter.microsoft.com/v1/webhooks/test';
    expect((await deliver({ EventName: 'test-created', ResourceUri: resourceUri })).status).toBe(200);
    const row = await waitFor('the test event handled', async () => ((await eventRow(resourceUri))?.status === 'ignored' ? eventRow(resourceUri) : undefined));
    expect(row!.outcome).toBe('csp-ops does not act on test-created');
  });

  it('an event whose resource cannot be fetched is tried again later, then given up as failed; one Partner Center does not have is ignored', async () => {
    const unavailable = () => {
      // The client's own retries: three answers per attempt.
      for (let i = 0; i < 3; i++) pc.plan({ method: 'GET', path: `/v1/customers/${tenants.hanbit}/subscriptions/${subscriptionId}`, status: 503, body: { code: 503, description: 'Service unavailable' } });
    };
    unavailable();
    const resourceUri = `/v1/customers/${tenants.hanbit}/subscriptions/${subscriptionId}`;
    expect((await deliver({ EventName: 'subscription-updated', ResourceUri: resourceUri })).status).toBe(200);
    // An attempt is stamped when the event is claimed, before its resource is fetched: the first one has ended once its outcome is kept.
    const first = await waitFor('a first attempt', async () => ((await eventRow(resourceUri))?.outcome ? eventRow(resourceUri) : undefined));
    expect(first).toMatchObject({ status: 'received', attempts: 1, outcome: 'Partner Center 503 503: Service unavailable (MS-CorrelationId ' + first!.outcome!.split('MS-CorrelationId ')[1] });
    // Not again before its pause (per attempt made, a minute or as long as one fetch may take)…
    expect(await processPartnerCenterEvents(bot.db, client, silent)).toMatchObject({ retrying: 0, failed: 0 });
    // …then each later attempt fails the same way, and the fifth gives it up.
    for (let attempt = 2; attempt <= maxEventAttempts; attempt++) {
      const pauseMs = Math.ceil(Math.max(60_000, client.settleMs) / 1000) * 1000 * (attempt - 1);
      await bot.db.update(partnerCenterEvents).set({ processedAt: new Date(Date.now() - pauseMs - 1000) }).where(eq(partnerCenterEvents.resourceUri, resourceUri));
      unavailable();
      expect(await processPartnerCenterEvents(bot.db, client, silent)).toMatchObject(attempt < maxEventAttempts ? { retrying: 1 } : { failed: 1 });
    }
    expect(await eventRow(resourceUri)).toMatchObject({ status: 'failed', attempts: maxEventAttempts });

    const gone = `/v1/customers/${tenants.hanbit}/subscriptions/b0b0b0b0-0000-4000-8000-00000000b001`;
    expect((await deliver({ EventName: 'subscription-updated', ResourceUri: gone })).status).toBe(200);
    const row = await waitFor('the unknown subscription handled', async () => ((await eventRow(gone))?.status === 'ignored' ? eventRow(gone) : undefined));
    expect(row!.outcome).toContain('not found in Partner Center: Partner Center 404 800002: Subscription not found.');
  });
});
