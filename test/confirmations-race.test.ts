import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { activityLog, customerPurchasePermissions, outbox, subscriptions } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { onPostgres, openTestDatabase, secondConnection } from './helpers/database.js';
import { otherOrganization, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { customerId } from './helpers/tables.js';

// Two app instances on one database, each with its own connection pool on PostgreSQL.
// PGlite allows one process per database, so there both instances share the handle.
let database: DatabaseHandle;
let second: DatabaseHandle;
let instances: [TestBot, TestBot];

/** Customers whose Turn on is clicked all at once: each may have it (an active Azure plan, Owner known) and has one contact. */
const rush = Array.from({ length: 43 }, (_, i) => {
  const n = String(i).padStart(12, '0');
  const korean = i % 2 === 0;
  return {
    name: korean ? `한빛소프트 ${i}호` : `台灣雲端 ${i}號`, domain: `rush-${i}.example`, tenantId: `7e000000-0000-4000-8000-${n}`, billingCountry: korean ? 'KR' : 'TW',
    contacts: [{ name: korean ? `김담당 ${i}` : `林聯絡 ${i}`, email: `contact@rush-${i}.example`, slackUserId: `URUSH${n}` }],
    subscriptions: [{ id: `7f000000-0000-4000-8000-${n}`, offer: 'azure-plan', status: 'active', ownerRoleAssigned: true }],
  };
});

const organization = {
  ...testOrganization,
  customers: [...testOrganization.customers, ...rush],
  offers: [
    {
      id: 'tw-erp', name: '雲端 ERP', publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' }, type: 'saas', categories: ['ERP'], countries: ['TW'],
      plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
    },
  ],
};

beforeAll(async () => {
  database = await openTestDatabase();
  for (const file of [organization, otherOrganization]) await importOrganization(database.db, parseImportFile(file));
  second = await secondConnection(database);
  instances = [await startTestBot({ database }), await startTestBot({ database: second })];
});

afterAll(async () => {
  for (const instance of instances ?? []) await instance?.close();
  if (second !== database) await second?.close();
  await database?.close();
});

const already = /This was already confirmed by 王小明 on .* UTC; nothing more was changed\./;

describe(`a confirmation acts once (${onPostgres ? 'PostgreSQL, two pools' : 'PGlite'})`, () => {
  it('R-A4 20 parallel clicks on one Buy, on two instances, buy once; the other 19 are told who bought', async () => {
    const { reply } = await instances[0].command(users.adminAgent, 'buy tw-erp standard for 台灣雲端科技 seats 2');
    const buy = buttons(reply).find((b) => b.text.text === 'Buy')!;
    const clicks = Array.from({ length: 20 }, (_, i) => instances[i % 2]!.click(users.adminAgent, buy, i > 9 ? { retryNum: 1 } : {}));
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));

    const bought = await database.db.select().from(subscriptions).where(and(eq(subscriptions.offerId, 'tw-erp'), isNotNull(subscriptions.purchasedAt)));
    const logged = await database.db.select().from(activityLog).where(eq(activityLog.action, 'saas_purchased'));
    const told = replies.filter((r) => already.test(r));
    console.log(`Buy: clicks sent ${clicks.length}, purchases made ${bought.length}, told "already confirmed" ${told.length}`);
    expect(bought).toHaveLength(1);
    expect(logged).toHaveLength(1);
    expect(told).toHaveLength(19);
    expect(told.every((r) => r.includes(`Bought 雲端 ERP for 台灣雲端科技股份有限公司 (subscription ${bought[0]!.id}).`))).toBe(true);
  });

  it('R-M7 10 parallel clicks on one seats confirmation, on two instances, change it once', async () => {
    const [subscription] = await database.db.select().from(subscriptions).where(eq(subscriptions.offerId, 'tw-erp'));
    const { reply } = await instances[1].command(users.adminAgent, `subscription ${subscription!.id} seats 7`);
    expect(replyText(reply)).toContain('2 → 7');
    const confirm = buttons(reply).find((b) => b.text.text === 'Confirm')!;
    const replies = (await Promise.all(Array.from({ length: 10 }, (_, i) => instances[i % 2]!.click(users.adminAgent, confirm)))).map((c) => replyText(c.reply));

    const changes = await database.db.select().from(activityLog).where(eq(activityLog.action, 'saas_changed'));
    console.log(`Seats: clicks sent 10, changes made ${changes.length}, told "already confirmed" ${replies.filter((r) => already.test(r)).length}`);
    expect(changes.map((c) => c.details)).toEqual([{ subscription: subscription!.id, change: 'seats', value: '7' }]);
    expect(replies.filter((r) => already.test(r))).toHaveLength(9);
    expect((await database.db.select().from(subscriptions).where(eq(subscriptions.id, subscription!.id)))[0]!.seats).toBe(7);
  });

  it('R-P10 R-P4 R-P5 Turn on clicked at once for 40 customers on two instances: each click gets its own answer, each effect is committed once', async () => {
    const [reference, twice, twoCards, ...others] = rush;
    const turnOn = async (customer: (typeof rush)[number], at = instances[0]) =>
      buttons((await at.command(users.adminAgent, `allow-reservations ${customer.tenantId}`)).reply).find((b) => b.text.text === 'Turn on')!;
    /** What a Turn on left for a customer: its permission, activity rows and queued messages, by content. */
    const effects = async (customer: (typeof rush)[number]) => {
      const id = await customerId(database.db, customer.tenantId);
      const sorted = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).sort();
      return {
        permission: sorted(await database.db.select({ resource: customerPurchasePermissions.resource, by: customerPurchasePermissions.grantedBy }).from(customerPurchasePermissions).where(eq(customerPurchasePermissions.customerId, id))),
        activity: sorted(await database.db.select({ by: activityLog.actorStaffId, name: activityLog.actorName, action: activityLog.action, details: activityLog.details }).from(activityLog).where(eq(activityLog.customerId, id))),
        outbox: sorted(await database.db.select({ platform: outbox.platform, channel: outbox.channelId, message: outbox.message }).from(outbox).where(sql`${outbox.message}->'params'->>'customer' = ${customer.name}`)),
      };
    };
    /** The reference's effects, said of another customer. */
    const like = (expected: Awaited<ReturnType<typeof effects>>, customer: (typeof rush)[number]) => {
      const swap = (rows: string[]) => rows.map((r) => r.replaceAll(reference!.name, customer.name).replaceAll(reference!.contacts[0]!.name, customer.contacts[0]!.name).replaceAll(reference!.contacts[0]!.slackUserId, customer.contacts[0]!.slackUserId)).sort();
      return { permission: expected.permission, activity: swap(expected.activity), outbox: swap(expected.outbox) };
    };

    // One click alone first: what every click of the rush must leave too.
    expect(replyText((await instances[0].click(users.adminAgent, await turnOn(reference!))).reply)).toContain(`are now on for ${reference!.name}`);
    const alone = await effects(reference!);
    expect(alone.permission).toHaveLength(1);
    expect(alone.activity).toHaveLength(1);
    expect(alone.outbox).toHaveLength(2);

    const cards = [];
    for (const [i, customer] of others.entries()) cards.push(await turnOn(customer, instances[i % 2]));
    const twiceCard = await turnOn(twice!);
    const [firstCard, secondCard] = [await turnOn(twoCards!), await turnOn(twoCards!)];
    // The same card twice, and two cards for one customer, on one instance: clicks that may go in one statement.
    const clicks = [
      ...cards.map((card, i) => instances[i % 2]!.click(users.adminAgent, card)),
      ...[twiceCard, twiceCard, firstCard, secondCard].map((card) => instances[0].click(users.adminAgent, card)),
    ];
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));
    const [again1, again2, card1, card2] = replies.slice(cards.length);

    others.forEach((customer, i) => {
      expect(replies[i]).toContain(`are now on for ${customer.name}`);
      expect(replies[i]).not.toMatch(already);
    });
    // The same confirmation: one click turned it on, the other is told who did.
    expect([again1, again2].filter((r) => already.test(r!))).toHaveLength(1);
    expect([again1, again2].filter((r) => !already.test(r!) && r!.includes(`are now on for ${twice!.name}`))).toHaveLength(1);
    // Two confirmations for one customer: one turned it on, the other found it on, as if clicked after.
    expect([card1, card2].filter((r) => r!.includes(`are now on for ${twoCards!.name}`) && !already.test(r!))).toHaveLength(1);
    expect([card1, card2].filter((r) => new RegExp(`are already on for ${twoCards!.name} \\(since .* UTC, by 王小明\\)`).test(r!))).toHaveLength(1);

    for (const customer of [twice!, twoCards!, ...others]) expect(await effects(customer)).toEqual(like(alone, customer));
  });
});
