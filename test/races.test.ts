import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenants, users } from './helpers/fixture.js';
import { onPostgres } from './helpers/database.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { activityFor, permissionFor } from './helpers/tables.js';

// PGlite runs one transaction at a time; these races are real on PostgreSQL (TEST_DATABASE_URL), which CI runs too.
let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

describe(`races (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-P10 ten simultaneous clicks on one Turn on confirmation, some retried, write one permission and one activity row', async () => {
    const { reply } = await bot.command(users.adminAgent, `allow-reservations ${tenants.contosoPharma}`);
    const turnOn = buttons(reply).find((b) => b.text.text === 'Turn on')!;
    const clicks = Array.from({ length: 10 }, (_, i) => bot.click(users.adminAgent, turnOn, i > 5 ? { retryNum: 1 } : {}));
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));
    const already = replies.filter((r) => /This was already confirmed by 王小明 on .* UTC; nothing more was changed\./.test(r));
    expect(already).toHaveLength(9);
    expect(replies.filter((r) => !already.includes(r) && r.includes('are now on for Contoso Pharmaceuticals'))).toHaveLength(1);
    expect(await permissionFor(bot.db, tenants.contosoPharma)).toHaveLength(1);
    expect((await activityFor(bot.db, tenants.contosoPharma)).map((r) => r.action)).toEqual(['create_customer_purchase_permission']);
  });

  it('R-P10 simultaneous clicks on one Turn off confirmation write one "Delete" row', async () => {
    const { reply } = await bot.command(users.adminAgent, `disallow-reservations ${tenants.contosoPharma}`);
    const turnOff = buttons(reply).find((b) => b.text.text === 'Turn off')!;
    const clicks = Array.from({ length: 8 }, () => bot.click(users.adminAgent, turnOff));
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));
    expect(replies.filter((r) => r.includes('are now off') && !r.includes('already confirmed'))).toHaveLength(1);
    expect(await permissionFor(bot.db, tenants.contosoPharma)).toHaveLength(0);
    expect((await activityFor(bot.db, tenants.contosoPharma)).map((r) => r.action)).toEqual([
      'create_customer_purchase_permission',
      'delete_customer_purchase_permission',
    ]);
  });

  it('R-P10 Turn on and Cancel of one card clicked at once: either it is on and Cancel is told who confirmed it, or it was cancelled and nothing changed', async () => {
    const { reply } = await bot.command(users.adminAgent, `allow-reservations ${tenants.contosoPharma}`);
    const turnOn = buttons(reply).find((b) => b.text.text === 'Turn on')!;
    const cancel = buttons(reply).find((b) => b.text.text === 'Cancel')!;
    const before = (await activityFor(bot.db, tenants.contosoPharma)).map((r) => r.action);
    const [on, off] = (await Promise.all([bot.click(users.adminAgent, turnOn), bot.click(users.adminAgent, cancel)])).map((c) => replyText(c.reply));
    const after = (await activityFor(bot.db, tenants.contosoPharma)).map((r) => r.action);
    if ((await permissionFor(bot.db, tenants.contosoPharma)).length) {
      expect(on).toContain('are now on for Contoso Pharmaceuticals');
      expect(off).toMatch(/This was already confirmed by 王小明 on .* UTC; nothing more was changed\./);
      expect(after).toEqual([...before, 'create_customer_purchase_permission']);
    } else {
      // The message's text and its one section: the sentence, nothing else.
      expect(off!.split('\n')).toEqual(['Cancelled. Nothing was changed.', 'Cancelled. Nothing was changed.']);
      expect(on).toMatch(/This was cancelled by 王小明 on .* UTC; nothing was changed\./);
      expect(after).toEqual(before);
    }
  });

  it('R-P5 simultaneous Owner confirmations record it once', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations 한빛');
    const confirm = buttons(reply)[0]!;
    await Promise.all(Array.from({ length: 6 }, () => bot.click(users.adminAgent, confirm)));
    expect((await activityFor(bot.db, tenants.hanbit)).map((r) => r.action)).toEqual(['owner_role_confirmed']);
  });
});
