import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { snapshot } from './helpers/tables.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

/** Runs a command as the global admin and proves it changed no table. */
async function refused(text: string) {
  const before = await snapshot(bot.db);
  const { status, reply } = await bot.command(users.globalAdmin, text);
  expect(status).toBe(200);
  expect(await snapshot(bot.db)).toEqual(before);
  return { text: replyText(reply), reply };
}

describe('bad input gets a clear reply and changes nothing', () => {
  it('unknown customer, naming the closest names', async () => {
    const { text } = await refused('allow-reservations Contosso');
    expect(text).toContain('No customer matches "Contosso". Closest names: Contoso Ltd, Contoso Pharmaceuticals');
    const hangul = await refused('allow-reservations 한빛소프트웨어');
    expect(hangul.text).toContain('Closest names: 한빛소프트 주식회사');
    const none = await refused('customer zzzzqqqq');
    expect(none.text).toContain('No customer matches "zzzzqqqq".');
  });

  it('ambiguous customer: says so and offers each as a button', async () => {
    const { text, reply } = await refused('allow-reservations contoso');
    expect(text).toContain('2 customers match "contoso". Choose one:');
    const choices = buttons(reply);
    expect(choices.map((b) => b.text.text)).toEqual(['Contoso Ltd (contoso.com)', 'Contoso Pharmaceuticals (contosopharma.com)']);
    const chosen = await bot.click(users.globalAdmin, choices[1]!);
    expect(replyText(chosen.reply)).toContain('Allow Contoso Pharmaceuticals to buy Azure reservations?');
  });

  it('empty argument', async () => {
    for (const command of ['allow-reservations', 'customer', 'disallow-reservations   ']) {
      const { text } = await refused(command);
      expect(text).toMatch(/needs <customer>\. Example: .*(northwind|contoso\.com)/);
    }
    expect((await refused('owner-assigned')).text).toContain('owner-assigned needs <customer> <subscription>');
  });

  it('a 5,000-character argument', async () => {
    const { text } = await refused(`allow-reservations ${'가'.repeat(5000)}`);
    expect(text).toContain('That is 5,000 characters; a customer is at most 200. Nothing was changed.');
    expect((await refused(`customers ${'x'.repeat(5000)}`)).text).toContain('at most 200');
  });

  it('SQL-looking text is only text', async () => {
    for (const attack of ["'; DROP TABLE customers; --", "x' OR '1'='1", '%', '_', '\\']) {
      const { text } = await refused(`allow-reservations ${attack}`);
      expect(text).toContain('No customer matches');
    }
    const search = await refused("customers ' OR 1=1 --");
    expect(search.text).toContain('No customer matches "\' OR 1=1 --".');
  });

  it('unknown command', async () => {
    const { text } = await refused('allow-everything contoso');
    expect(text).toContain('There is no command "allow-everything". Type /csp help for the list.');
  });

  it('bad dates and pages', async () => {
    expect((await refused('activity since 2026-02-30')).text).toContain('"2026-02-30" is not a date. Write it as YYYY-MM-DD');
    expect((await refused('activity since yesterday')).text).toContain('"yesterday" is not a date');
    expect((await refused('customers page 0')).text).toContain('"0" is not a page number');
    expect((await refused('customers page 9')).text).toContain('There is no page 9; the last page is 1.');
    expect((await refused('channel activity there')).text).toContain('Write: /csp channel activity here');
  });

  it('an unknown button action', async () => {
    const before = await snapshot(bot.db);
    const { reply } = await bot.click(users.globalAdmin, { action_id: 'csp:launch-missiles:0', value: 'x' });
    expect(replyText(reply)).toContain('There is no command "launch-missiles"');
    const forged = await bot.click(users.globalAdmin, { action_id: 'csp:allow-reservations:0', value: "1' OR '1'='1" });
    expect(replyText(forged.reply)).toContain('This button no longer matches anything');
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('an unexpected failure answers with an error ID and no stack trace', async () => {
    await bot.db.execute(sql`ALTER TABLE activity_log RENAME TO activity_log_away`);
    try {
      const { status, reply } = await bot.command(users.salesAgent, 'activity');
      expect(status).toBe(200);
      expect(replyText(reply)).toMatch(/^Something went wrong on our side and nothing was changed\. Error ID: [0-9a-f]{8}\./);
      expect(replyText(reply)).not.toMatch(/at .*\.ts|relation/);
    } finally {
      await bot.db.execute(sql`ALTER TABLE activity_log_away RENAME TO activity_log`);
    }
  });
});
