import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenants, users } from './helpers/fixture.js';
import { onPostgres } from './helpers/database.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { activityFor, customerId, permissionFor } from './helpers/tables.js';

// PGlite runs one transaction at a time; these races are real on PostgreSQL (TEST_DATABASE_URL), which CI runs too.
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

describe(`races (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-P10 ten simultaneous Turn on clicks, some retried, write one permission and one activity row', async () => {
    const id = await customerId(bot.db, tenants.contosoPharma);
    const clicks = Array.from({ length: 10 }, (_, i) =>
      bot.click(i % 2 ? users.adminAgent : users.globalAdmin, { action_id: 'csp:allow-reservations:0', value: id }, i > 5 ? { retryNum: 1 } : {}),
    );
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));
    expect(replies.filter((r) => r.includes('are now on for Contoso Pharmaceuticals'))).toHaveLength(1);
    expect(replies.filter((r) => r.includes('already on for Contoso Pharmaceuticals'))).toHaveLength(9);
    expect(await permissionFor(bot.db, tenants.contosoPharma)).toHaveLength(1);
    expect((await activityFor(bot.db, tenants.contosoPharma)).map((r) => r.action)).toEqual(['create_customer_purchase_permission']);
  });

  it('R-P10 simultaneous Turn off clicks write one "Delete" row', async () => {
    const id = await customerId(bot.db, tenants.contosoPharma);
    const clicks = Array.from({ length: 8 }, () => bot.click(users.adminAgent, { action_id: 'csp:disallow-reservations:0', value: id }));
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));
    expect(replies.filter((r) => r.includes('are now off'))).toHaveLength(1);
    expect(await permissionFor(bot.db, tenants.contosoPharma)).toHaveLength(0);
    expect((await activityFor(bot.db, tenants.contosoPharma)).map((r) => r.action)).toEqual([
      'create_customer_purchase_permission',
      'delete_customer_purchase_permission',
    ]);
  });

  it('R-P5 simultaneous Owner confirmations record it once', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations 한빛');
    const confirm = buttons(reply)[0]!;
    await Promise.all(Array.from({ length: 6 }, () => bot.click(users.adminAgent, confirm)));
    expect((await activityFor(bot.db, tenants.hanbit)).map((r) => r.action)).toEqual(['owner_role_confirmed']);
  });
});
