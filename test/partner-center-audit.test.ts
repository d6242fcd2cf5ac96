import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { partnerCenterAuditCursors, purchases } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import type { Organization } from '../src/core/context.js';
import { organizationNamed } from '../src/core/organizations.js';
import { lateRecordMs, pollAuditRecords } from '../src/partner-center/audit.js';
import { createPartnerCenterClient, type PartnerCenterClient } from '../src/partner-center/client.js';
import { partnerCenterFromConfig } from '../src/partner-center/connector.js';
import { earlierToday, startFakePartnerCenter, partnerTenant, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { connectedOrganization, otherOrganization, tenants, testOrganization, users } from './helpers/fixture.js';
import { replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { outboxSettled } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

const dayMs = 24 * 60 * 60 * 1000;
const dayOf = (ms: number) => new Date(Math.floor(ms / dayMs) * dayMs).toISOString().slice(0, 10);
const channel = 'C0AUDIT001';

let pc: FakePartnerCenter;
let bot: TestBot;
let client: PartnerCenterClient;
let org: Organization;

beforeAll(async () => {
  pc = await startFakePartnerCenter();
  bot = await startTestBot({ organizations: [connectedOrganization(partnerTenant), otherOrganization], partnerCenter: pc.config, partnerCenterTuning: { timeoutMs: 2000, retryDelayMs: 10 } });
  client = createPartnerCenterClient(pc.clientSettings({ timeoutMs: 2000, retryDelayMs: 10 }));
  org = await organizationNamed(bot.db, testOrganization.organization.name);
});
afterAll(async () => {
  await bot?.close();
  await pc?.close();
});
afterEach(async () => {
  pc.requests.length = 0;
  pc.auditRecords.length = 0;
  pc.setAuditPageSize(100);
  await bot.db.delete(partnerCenterAuditCursors);
});

/** An audit record in the documented shape; the order (resourceNewValue) is a JSON string. */
function auditRecord(overrides: Record<string, unknown> = {}, order: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    partnerId: partnerTenant,
    customerId: tenants.contoso,
    customerName: 'Contoso Ltd',
    userPrincipalName: 'dana@contoso.onmicrosoft.com',
    resourceType: 'order',
    resourceNewValue: JSON.stringify({
      id: 'order-1',
      referenceCustomerId: tenants.contoso,
      billingCycle: 'one_time',
      currencyCode: 'USD',
      totalPrice: 812.4,
      lineItems: [
        {
          lineItemNumber: 0,
          offerId: 'DZH318Z0BQ3Q:0001:DZH318Z0BNP3',
          productId: 'DZH318Z0BQ3Q',
          skuId: '0001',
          friendlyName: 'Virtual Machines D2s v5',
          quantity: 3,
          termDuration: 'P1Y',
          provisioningContext: { scope: 'shared', duration: '1Year', region: 'eastus' },
        },
      ],
      status: 'completed',
      attributes: { objectType: 'Order' },
      ...order,
    }),
    operationType: 'create_order',
    operationDate: earlierToday(2 * 60 * 60 * 1000),
    operationStatus: 'succeeded',
    customizedData: [],
    attributes: { objectType: 'AuditRecord' },
    ...overrides,
  };
}

const auditQueries = () => pc.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/v1/auditrecords')).map((r) => new URL(r.path, pc.origin));
const channelPosts = () => bot.slack.posts().filter((c) => c.body.channel === channel && c.ts).map((c) => replyText(c.body as SlackReply));

describe('Partner Center audit records', () => {
  it('R-P8 R-N2 a customer create_order audit record turns into an announcement exactly once across two polls', async () => {
    const subscribed = await bot.command(users.adminAgent, 'notify here purchases', { channel });
    expect(replyText(subscribed.reply)).toContain('will now hear about customer purchases for all customers');

    const purchase = auditRecord();
    pc.auditRecords.push(
      purchase,
      // The partner's own staff ordering for the customer: not a customer purchase.
      auditRecord({ userPrincipalName: 'jihoon.park@partner.example' }),
      // Another operation by the customer's user: not an order.
      auditRecord({ operationType: 'update_customer_qualification', resourceType: 'customer' }),
      // A customer this organization does not have: skipped with a warning, the poll goes on.
      auditRecord({ customerId: randomUUID(), customerName: 'Nobody Inc', userPrincipalName: 'admin@nobody.example' }),
    );

    const first = await pollAuditRecords(bot.db, client, org, new Date());
    expect(first).toMatchObject({ recorded: 1, repeats: 0, skipped: 1, records: 4 });
    const [announcement] = await waitFor('the Slack announcement', () => channelPosts().length > 0 && channelPosts());
    expect(announcement).toContain('Customer purchase: Contoso Ltd');
    expect(announcement).toContain('3 × Virtual Machines D2s v5 in eastus');
    expect(announcement).toContain('$812.40');
    expect(announcement).toContain('dana@contoso.onmicrosoft.com');
    expect(announcement).toContain(purchase.id);

    // The second poll reads the same window again (a poll interrupted before moving its cursor):
    // the record is recognised by its audit record ID and nothing is recorded or announced again.
    await bot.db.update(partnerCenterAuditCursors).set({ polledUntil: new Date(Date.now() - dayMs) }).where(eq(partnerCenterAuditCursors.orgId, org.id));
    const second = await pollAuditRecords(bot.db, client, org, new Date());
    expect(second).toMatchObject({ recorded: 0, repeats: 1, skipped: 1 });
    await outboxSettled(bot.db);
    expect(channelPosts()).toHaveLength(1);
    const rows = await bot.db.select().from(purchases).where(eq(purchases.sourceId, purchase.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: 'reservation', buyerEmail: 'dana@contoso.onmicrosoft.com', price: '812.40', currency: 'USD' });
    expect(await bot.db.select().from(purchases)).toHaveLength(1);
  });

  it('R-P8 queries one UTC day at a time in the documented yyyy-mm-dd form, from the cursor, never more than 90 days back, and resumes from the cursor', async () => {
    const now = new Date();
    await pollAuditRecords(bot.db, client, org, now);
    const queries = auditQueries();
    // startDate and endDate are the same day (the documented form: yyyy-mm-dd, the end day included).
    const days = queries.map((u) => {
      expect(u.searchParams.get('startDate')).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(u.searchParams.get('endDate')).toBe(u.searchParams.get('startDate'));
      return Date.parse(u.searchParams.get('startDate')!);
    });
    expect(days).toHaveLength(90);
    // The first day lies wholly within 90 days (Partner Center refuses older); the last is today; no day is skipped.
    expect(days[0]!).toBeGreaterThanOrEqual(now.getTime() - 90 * dayMs);
    expect(days[0]! - dayMs).toBeLessThan(now.getTime() - 90 * dayMs);
    expect(dayOf(days.at(-1)!)).toBe(dayOf(now.getTime()));
    for (const [i, day] of days.entries()) if (i > 0) expect(day - days[i - 1]!).toBe(dayMs);
    const [cursor] = await bot.db.select().from(partnerCenterAuditCursors).where(eq(partnerCenterAuditCursors.orgId, org.id));
    expect(cursor!.polledUntil.getTime()).toBe(now.getTime());

    // The next poll starts where this one stopped: today's query (read again: records added late are caught
    // too), after yesterday's while it is not yet two hours past midnight (the next test).
    pc.requests.length = 0;
    const later = new Date(now.getTime() + 1000);
    await pollAuditRecords(bot.db, client, org, later);
    const expected = [...new Set([dayOf(later.getTime() - lateRecordMs), dayOf(later.getTime())])];
    expect(auditQueries().map((u) => [u.searchParams.get('startDate'), u.searchParams.get('endDate')])).toEqual(expected.map((d) => [d, d]));

    // An interrupted poll (Partner Center failing mid-way) keeps the days it finished and resumes after them.
    await bot.db.update(partnerCenterAuditCursors).set({ polledUntil: new Date(now.getTime() - 3 * dayMs) }).where(eq(partnerCenterAuditCursors.orgId, org.id));
    const secondDay = new Date(Math.floor((now.getTime() - 3 * dayMs) / dayMs) * dayMs + dayMs);
    pc.plan({ method: 'GET', path: `/v1/auditrecords?startDate=${dayOf(secondDay.getTime())}`, status: 400, body: { code: 400, description: 'Bad request', errorName: 'InvalidInput' } });
    await expect(pollAuditRecords(bot.db, client, org, now)).rejects.toThrow('Partner Center 400');
    const [kept] = await bot.db.select().from(partnerCenterAuditCursors).where(eq(partnerCenterAuditCursors.orgId, org.id));
    expect(kept!.polledUntil.toISOString()).toBe(secondDay.toISOString());
    pc.requests.length = 0;
    await pollAuditRecords(bot.db, client, org, now);
    // From the day before it (the cursor being at its midnight, that day's late records may not have been read), on.
    expect(auditQueries().slice(0, 2).map((u) => u.searchParams.get('startDate'))).toEqual([dayOf(secondDay.getTime() - dayMs), dayOf(secondDay.getTime())]);
  });

  it('R-P8 a record Partner Center adds late to the day before is still read until the cursor is two hours past midnight, and recorded once', async () => {
    const midnight = Math.floor(Date.now() / dayMs) * dayMs;
    const setCursor = (at: number) =>
      bot.db.insert(partnerCenterAuditCursors).values({ orgId: org.id, polledUntil: new Date(at) }).onConflictDoUpdate({ target: partnerCenterAuditCursors.orgId, set: { polledUntil: new Date(at) } });
    const polledDays = async (at: number) => {
      pc.requests.length = 0;
      const result = await pollAuditRecords(bot.db, client, org, new Date(at));
      return { days: auditQueries().map((u) => u.searchParams.get('startDate')), result };
    };
    const [yesterday, today] = [dayOf(midnight - dayMs), dayOf(midnight)];
    await setCursor(midnight - 10 * 60_000);
    expect((await polledDays(midnight + 5 * 60_000)).days).toEqual([yesterday, today]);
    // Made at 23:59 yesterday, listed only now: the poll at 00:30 still reads yesterday.
    const late = auditRecord({ operationDate: new Date(midnight - 60_000).toISOString(), customerId: tenants.contosoPharma, customerName: 'Contoso Pharmaceuticals', userPrincipalName: 'late@contosopharma.com' });
    pc.auditRecords.push(late);
    const before = await bot.db.select().from(purchases).where(eq(purchases.sourceId, late.id));
    expect(before).toEqual([]);
    const caught = await polledDays(midnight + 30 * 60_000);
    expect(caught.days).toEqual([yesterday, today]);
    expect(caught.result.recorded).toBe(1);
    // Read again at 02:10 (the cursor at 00:30), it is a repeat, not a second purchase; from a cursor past 02:00, only today.
    const again = await polledDays(midnight + 130 * 60_000);
    expect(again.days).toEqual([yesterday, today]);
    expect(again.result).toMatchObject({ recorded: 0, repeats: 1 });
    expect((await polledDays(midnight + 131 * 60_000)).days).toEqual([today]);
    expect(await bot.db.select().from(purchases).where(eq(purchases.sourceId, late.id))).toHaveLength(1);
  });

  it('R-P8 follows the documented paging (links.next with its MS-ContinuationToken) through a window', async () => {
    pc.setAuditPageSize(2);
    const records = [0, 1, 2, 3, 4].map((i) =>
      auditRecord({ operationType: i === 4 ? 'create_order' : 'update_customer_qualification', operationDate: earlierToday((i + 1) * 60_000) }),
    );
    pc.auditRecords.push(...records);
    await bot.db.insert(partnerCenterAuditCursors).values({ orgId: org.id, polledUntil: new Date(Date.now() - 30 * 60_000) });
    const result = await pollAuditRecords(bot.db, client, org, new Date());
    expect(result).toMatchObject({ records: 5, recorded: 1 });
    const pages = pc.requests.filter((r) => r.path === '/v1/auditrecords?seekOperation=next');
    expect(pages).toHaveLength(2);
    for (const page of pages) expect(page.headers['ms-continuationtoken']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await bot.db.select().from(purchases).where(eq(purchases.sourceId, records[4]!.id))).toHaveLength(1);
  });

  it('R-P8 npm run csp -- poll-purchases polls for the organization, and says so when Partner Center is not connected', async () => {
    pc.auditRecords.push(auditRecord({ customerId: tenants.contosoPharma, customerName: 'Contoso Pharmaceuticals', userPrincipalName: 'buyer@contosopharma.com' }));
    const partnerCenter = partnerCenterFromConfig(pc.config, { timeoutMs: 2000, retryDelayMs: 10 });
    const ran = await runCli(bot.db, ['poll-purchases', '--org', testOrganization.organization.name], { partnerCenter });
    expect(ran.exitCode).toBe(0);
    expect(ran.output).toMatch(/1 new customer purchase recorded/);
    const off = await runCli(bot.db, ['poll-purchases']);
    expect(off.exitCode).toBe(1);
    expect(off.output).toContain('Partner Center is not connected');
  });
});
