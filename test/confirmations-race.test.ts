import { and, eq, isNotNull } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { activityLog, subscriptions } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { onPostgres, openTestDatabase, secondConnection } from './helpers/database.js';
import { otherOrganization, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';

// Two app instances on one database, each with its own connection pool on PostgreSQL.
// PGlite allows one process per database, so there both instances share the handle.
let database: DatabaseHandle;
let second: DatabaseHandle;
let instances: [TestBot, TestBot];

const organization = {
  ...testOrganization,
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
});
