import { and, eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { activityLog, customerPurchasePermissions, customers, partnerCenterIntents, reservationRequests, subscriptions } from '../db/schema.js';
import { organizationNamed } from '../src/core/organizations.js';
import { pollAllOrganizations } from '../src/partner-center/audit.js';
import { createPartnerCenterClient } from '../src/partner-center/client.js';
import { syncAllOrganizations, syncOrganization } from '../src/partner-center/sync.js';
import { onPostgres } from './helpers/database.js';
import { partnerTenant, startFakePartnerCenter, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { connectedOrganization, otherOrganization, tenants, testOrganization } from './helpers/fixture.js';
import { platforms, usePlatform } from './helpers/platforms.js';
import { unchanged } from './helpers/tables.js';

// Every Partner Center write is (1) an intent recorded in a short transaction, (2) the
// call with no transaction open, (3) the outcome committed. R-A5: the connector acts only
// for the organization naming its tenant.

const tuning = { timeoutMs: 2000, retryDelayMs: 10 };
const dayMs = 24 * 60 * 60 * 1000;

let pc: FakePartnerCenter;
beforeAll(async () => {
  pc = await startFakePartnerCenter();
  pc.addCustomer(tenants.hanbit, '한빛소프트 주식회사', 'hanbitsoft.example', 'KR');
  pc.addCustomer(tenants.contoso, 'Contoso Ltd', 'contoso.com', 'US');
});
afterAll(async () => {
  await pc.close();
});
afterEach(() => {
  pc.policies.clear();
});

const connector = () => ({ partnerCenter: pc.config, partnerCenterTuning: tuning });
const client = () => createPartnerCenterClient(pc.clientSettings(tuning));
const writes = () => pc.requests.filter((r) => r.method !== 'GET');

async function customerNamed(db: Database, tenantId: string) {
  const org = await organizationNamed(db, testOrganization.organization.name);
  const [row] = await db.select().from(customers).where(and(eq(customers.orgId, org.id), eq(customers.tenantId, tenantId)));
  return row!;
}

const intentsOf = (db: Database, customerId: string) => db.select().from(partnerCenterIntents).where(eq(partnerCenterIntents.customerId, customerId));

/**
 * Whether another connection can lock these rows at once (PostgreSQL, NOWAIT fails on a row
 * some transaction holds); PGlite runs one transaction at a time, so there a transaction that
 * locks them completing proves none is open.
 */
async function lockableNow(db: Database, statements: string[]): Promise<boolean> {
  if (!onPostgres) {
    await db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement));
    });
    return true;
  }
  const [{ name }] = (await db.execute(sql`select current_database() as name`)) as unknown as [{ name: string }];
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  const other = postgres(url.toString(), { max: 1, onnotice: () => {} });
  try {
    await other.begin(async (tx) => {
      for (const statement of statements) await tx.unsafe(`${statement} NOWAIT`);
    });
    return true;
  } finally {
    await other.end();
  }
}

describe.each(platforms)('$name: Partner Center writes record an intent, call with nothing locked, then commit', ({ name, start }) => {
  const subscriptionId = name === 'Slack' ? 'e1e1e1e1-0000-4000-8000-00000000e001' : 'e2e2e2e2-0000-4000-8000-00000000e002';
  const cancelledId = name === 'Slack' ? 'e3e3e3e3-0000-4000-8000-00000000e003' : 'e4e4e4e4-0000-4000-8000-00000000e004';
  const p = usePlatform(
    () => start([connectedOrganization(partnerTenant), otherOrganization], connector()),
    async (driver) => {
      pc.addSubscription(tenants.hanbit, {
        id: subscriptionId,
        friendlyName: '한빛 協作 M365',
        creationDate: new Date(Date.now() - dayMs).toISOString(),
        cancellationAllowedUntilDate: new Date(Date.now() + 6 * dayMs).toISOString(),
      });
      pc.addSubscription(tenants.contoso, {
        id: cancelledId,
        friendlyName: 'Contoso 협업 M365',
        creationDate: new Date(Date.now() - dayMs).toISOString(),
        cancellationAllowedUntilDate: new Date(Date.now() + 6 * dayMs).toISOString(),
      });
      await syncOrganization(driver.db, client(), await organizationNamed(driver.db, testOrganization.organization.name));
      await driver.command('globalAdmin', 'channel approvals here');
    },
  );

  it('R-P10 a permission Partner Center refuses changes nothing here; the intent is failed with its code, description and correlation ID', async () => {
    const customer = await customerNamed(p.db, tenants.contosoPharma);
    pc.plan({ method: 'POST', path: '/v1/SelfServePolicy', status: 403, body: { code: 600054, description: '파트너 권한 없음 (無權限)', errorName: 'Forbidden' } });
    const card = await p.command('adminAgent', 'allow-reservations contosopharma.com');
    const refused = await unchanged(p.db, () => p.click('adminAgent', card, 'Turn on'));
    expect(refused.text).toContain('Partner Center refused the change (HTTP 403, code 600054): 파트너 권한 없음 (無權限)');
    expect(await p.db.select().from(customerPurchasePermissions).where(eq(customerPurchasePermissions.customerId, customer.id))).toEqual([]);
    const correlationId = String(pc.requests.filter((r) => r.method === 'POST').at(-1)!.headers['ms-correlationid']);
    const [intent] = await intentsOf(p.db, customer.id);
    expect(intent).toMatchObject({
      kind: 'permission',
      status: 'failed',
      actorName: '王小明',
      change: { kind: 'permission', resource: 'azure-reservations', on: true },
      outcome: { reason: 'partnerCenter.refused', status: 403, code: '600054', description: '파트너 권한 없음 (無權限)', correlationId },
    });
  });

  it('R-P3 R-P10 no row is locked while Partner Center answers; a second click meanwhile is refused and sends nothing; the first commits once', async () => {
    const customer = await customerNamed(p.db, tenants.taiwanCloud);
    const held = pc.hold('POST', '/v1/SelfServePolicy');
    const card = await p.command('adminAgent', 'allow-reservations twcloud.example');
    const first = p.click('adminAgent', card, 'Turn on');
    await held.arrived;
    const [intent] = await intentsOf(p.db, customer.id);
    expect(intent).toMatchObject({ status: 'pending', target: `policy:${customer.id}` });
    expect(
      await lockableNow(p.db, [
        `SELECT 1 FROM customers WHERE id = '${customer.id}' FOR UPDATE`,
        `SELECT 1 FROM partner_center_intents WHERE id = '${intent!.id}' FOR UPDATE`,
        `SELECT 1 FROM subscriptions WHERE customer_id = '${customer.id}' FOR UPDATE`,
      ]),
    ).toBe(true);

    const postsBefore = writes().length;
    const secondCard = await p.command('globalAdmin', 'allow-reservations twcloud.example');
    const second = await unchanged(p.db, () => p.click('globalAdmin', secondCard, 'Turn on'));
    expect(second.text).toContain('王小明 asked Partner Center for a change of this at');
    expect(second.text).toContain('its answer is not recorded yet, so yours was not sent');
    expect(writes()).toHaveLength(postsBefore);

    held.release();
    expect((await first).text).toContain('台灣雲端科技股份有限公司');
    expect(await p.db.select().from(customerPurchasePermissions).where(eq(customerPurchasePermissions.customerId, customer.id))).toHaveLength(1);
    const logged = await p.db.select().from(activityLog).where(and(eq(activityLog.customerId, customer.id), eq(activityLog.action, 'create_customer_purchase_permission')));
    expect(logged).toHaveLength(1);
    expect(logged[0]!.actorName).toBe('王小明');
    expect((await intentsOf(p.db, customer.id)).map((i) => i.status)).toEqual(['done']);
    expect(pc.policies.get(`${partnerTenant}_${tenants.taiwanCloud}`)?.permissions).toEqual([{ action: 'Purchase', resource: 'AzureReservedInstances' }]);
  });

  it('R-M7 a subscription edit Partner Center refuses changes nothing here; the intent is failed with the reason', async () => {
    pc.plan({ method: 'PATCH', path: `/v1/customers/${tenants.hanbit}/subscriptions/`, status: 400, body: { code: 800036, description: '수량 초과 (數量超過上限)', errorName: 'InvalidQuantity' } });
    const confirmation = await unchanged(p.db, () => p.command('adminAgent', `subscription ${subscriptionId.slice(0, 8)} seats 5000`));
    const refused = await unchanged(p.db, () => p.click('adminAgent', confirmation, 'Confirm'));
    expect(refused.text).toContain('Partner Center refused the change (HTTP 400, code 800036): 수량 초과 (數量超過上限)');
    const [row] = await p.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId));
    expect(row!.seats).toBe(10);
    const [intent] = await p.db.select().from(partnerCenterIntents).where(eq(partnerCenterIntents.subscriptionId, subscriptionId));
    expect(intent).toMatchObject({ kind: 'subscription', status: 'failed', change: { kind: 'subscription', change: { kind: 'seats', seats: 5000 } }, outcome: { code: '800036' } });
  });

  it('R-M7 a subscription edit is committed after the PATCH answered, with nothing locked during it, and a sync meanwhile does not call it a change made outside csp-ops', async () => {
    const held = pc.hold('PATCH', `/v1/customers/${tenants.hanbit}/subscriptions/${subscriptionId}`);
    const confirmation = await p.command('adminAgent', `subscription ${subscriptionId.slice(0, 8)} seats 12`);
    const edit = p.click('adminAgent', confirmation, 'Confirm');
    await held.arrived;
    expect(await lockableNow(p.db, [`SELECT 1 FROM subscriptions WHERE id = '${subscriptionId}' FOR UPDATE`])).toBe(true);
    const org = await organizationNamed(p.db, testOrganization.organization.name);
    // Partner Center already holds 12 seats; the sync leaves the row to the edit's own commit.
    await syncOrganization(p.db, client(), org);
    held.release();
    expect((await edit).text).toContain('12');
    const [row] = await p.db.select().from(subscriptions).where(eq(subscriptions.id, subscriptionId));
    expect(row!.seats).toBe(12);
    const log = await p.db.select().from(activityLog).where(eq(activityLog.orgId, org.id));
    expect(log.filter((a) => a.details.subscription === subscriptionId && a.action === 'saas_changed').map((a) => a.actorName)).toEqual(['王小明']);
    expect(log.filter((a) => a.action === 'partner_center_subscription_changed' && a.details.subscription === subscriptionId)).toEqual([]);
  });

  it('R-Q3 R-Q5 an approved cancellation is made in Partner Center with nothing locked; a rejection meanwhile is refused; the decision commits once', async () => {
    expect((await p.command('contact', `subscription ${cancelledId} cancel 다른 제품으로 바꿈 (改用其他產品)`)).text).toContain('was sent to the partner for approval');
    const [request] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.subscriptionId, cancelledId));
    const card = await p.posted(`subscription ${cancelledId}`);
    const held = pc.hold('PATCH', `/v1/customers/${tenants.contoso}/subscriptions/${cancelledId}`);
    const approving = p.click('adminAgent', card, 'Approve');
    await held.arrived;
    expect(
      await lockableNow(p.db, [
        `SELECT 1 FROM reservation_requests WHERE id = '${request!.id}' FOR UPDATE`,
        `SELECT 1 FROM subscriptions WHERE id = '${cancelledId}' FOR UPDATE`,
      ]),
    ).toBe(true);
    const rejected = await unchanged(p.db, () => p.command('globalAdmin', `reject ${request!.id.slice(0, 8)} 已改變主意`));
    expect(rejected.text).toContain('王小明 asked Partner Center for a change of this at');

    held.release();
    expect((await approving).text).toMatch(/Approved by 王小明 at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    const [decided] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.id, request!.id));
    expect(decided!.status).toBe('approved');
    const [row] = await p.db.select().from(subscriptions).where(eq(subscriptions.id, cancelledId));
    expect(row!.status).toBe('cancelled');
    expect(pc.subscriptions.get(tenants.contoso)!.get(cancelledId)!.status).toBe('deleted');
    expect(pc.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(cancelledId))).toHaveLength(1);
    const log = await p.db.select().from(activityLog).where(eq(activityLog.customerId, request!.customerId));
    expect(log.filter((a) => a.details.subscription === cancelledId).map((a) => [a.action, a.actorName])).toEqual([
      ['saas_cancel_requested', 'Dana'],
      ['saas_cancel_request_approved', '王小明'],
      ['saas_cancelled', '王小明'],
    ]);
    expect(await p.db.select().from(partnerCenterIntents).where(eq(partnerCenterIntents.requestId, request!.id))).toMatchObject([{ status: 'done', change: { change: { kind: 'cancel' } } }]);
  });
});

describe.each(platforms)('$name: R-A5 an organization naming no CSP tenant is never acted for', ({ start }) => {
  const p = usePlatform(() => start([testOrganization, otherOrganization], connector()));

  it('R-A5 turning a permission on is refused with the tenant and how to set cspTenantId; nothing is sent or changed', async () => {
    const card = await p.command('adminAgent', 'allow-reservations contoso.com');
    pc.requests.length = 0;
    const refused = await unchanged(p.db, () => p.click('adminAgent', card, 'Turn on'));
    expect(refused.text).toContain(`한빛 클라우드 파트너스 names no CSP tenant, so the Partner Center connector (which signs in for partner tenant ${partnerTenant}) does not act for it`);
    expect(refused.text).toContain(`"cspTenantId": "${partnerTenant}"`);
    expect(pc.requests).toEqual([]);
    expect(await p.db.select().from(customerPurchasePermissions)).toEqual([]);
  });

  it('R-A5 connector status says so, and the sync and the purchase poll skip it', async () => {
    const status = await p.command('salesAgent', 'connector status');
    expect(status.text).toContain(`This organization names no CSP tenant: the connector does not act for it`);
    pc.requests.length = 0;
    const warnings: string[] = [];
    const log = { debug() {}, info() {}, error() {}, warn: (line: string) => void warnings.push(line) };
    expect(await syncAllOrganizations(p.db, client(), log)).toMatchObject({ customers: 0, subscriptions: 0 });
    expect(await pollAllOrganizations(p.db, client(), new Date(), log)).toMatchObject({ windows: 0, records: 0 });
    expect(pc.requests).toEqual([]);
    const skipped = `한빛 클라우드 파트너스 names no CSP tenant, not PARTNER_CENTER_TENANT_ID ${partnerTenant}; skipped (set its "cspTenantId" in the import file)`;
    expect(warnings).toHaveLength(4);
    expect(warnings).toContain(`Partner Center sync: ${skipped}`);
    expect(warnings).toContain(`Partner Center audit records: ${skipped}`);
    expect(warnings.filter((line) => line.includes('他社パートナー names no CSP tenant'))).toHaveLength(2);
  });
});
