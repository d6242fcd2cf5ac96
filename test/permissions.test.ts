import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hanbitSubscription, tenants, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { activityFor, outboxSettled, permissionFor, snapshot } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

function button(reply: Parameters<typeof buttons>[0], label: string) {
  const found = buttons(reply).find((b) => b.text.text === label);
  if (!found) throw new Error(`no "${label}" button in ${replyText(reply)}`);
  return found;
}

describe('customer purchase permission for Azure reservations (Slack)', () => {
  it('R-P1 is off by default for every customer', async () => {
    const { reply } = await bot.command(users.salesAgent, 'customer 台灣雲端科技');
    expect(replyText(reply)).toContain('Customer may buy Azure reservations*\nNo');
    expect(await permissionFor(bot.db, tenants.taiwanCloud)).toHaveLength(0);
  });

  it('R-P6 R-P8 the confirmation says the partner pays and that Partner Center will not notify', async () => {
    const { status, reply } = await bot.command(users.adminAgent, 'allow-reservations twcloud.example');
    expect(status).toBe(200);
    expect(reply?.response_type).toBe('ephemeral');
    const text = replyText(reply);
    expect(text).toContain('Allow 台灣雲端科技股份有限公司 to buy Azure reservations?');
    expect(text).toContain('you, the partner, pay for every purchase they make');
    expect(text).toContain('Partner Center will not tell you when they buy');
    expect(buttons(reply).map((b) => b.text.text)).toEqual(['Turn on', 'Cancel']);
    // Asking changes nothing until the button is clicked.
    expect(await permissionFor(bot.db, tenants.taiwanCloud)).toHaveLength(0);
  });

  it('R-P3 R-P10 Turn on turns it on, logs "Create customer purchase permission" and announces it in the channel', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations 台灣雲端科技', { channel: 'C0TAIPEI01' });
    const before = bot.slack.posts().length;
    const clicked = await bot.click(users.adminAgent, button(reply, 'Turn on'), { channel: 'C0TAIPEI01' });
    expect(clicked.reply?.replace_original).toBe(true);
    expect(replyText(clicked.reply)).toContain('Azure reservation purchases are now on for 台灣雲端科技股份有限公司');
    expect(buttons(clicked.reply)).toHaveLength(0);

    const [permission] = await permissionFor(bot.db, tenants.taiwanCloud);
    expect(permission?.resource).toBe('azure-reservations');
    const log = await activityFor(bot.db, tenants.taiwanCloud);
    expect(log.map((r) => [r.action, r.actorName])).toEqual([['create_customer_purchase_permission', '王小明']]);

    const posts = await bot.waitForPosts(before + 1);
    const post = posts[posts.length - 1]!;
    expect(post.body.channel).toBe('C0TAIPEI01');
    // Its first line says what changed; the guidance for the customer follows (issue 19, test/permission-guidance.test.ts).
    expect(String(post.body.text).split('\n')[0]).toBe('王小明 turned on Azure reservation purchases for 台灣雲端科技股份有限公司.');

    const activity = await bot.command(users.helpdeskAgent, `activity ${tenants.taiwanCloud}`);
    expect(replyText(activity.reply)).toMatch(/王小明 — Create customer purchase permission/);
  });

  it('R-P10 Turn off records "Delete customer purchase permission"; a repeat writes nothing', async () => {
    const { reply } = await bot.command(users.globalAdmin, 'disallow-reservations 台灣雲端科技');
    expect(replyText(reply)).toContain('Stop 台灣雲端科技股份有限公司 buying Azure reservations?');
    const turnOff = button(reply, 'Turn off');
    expect(turnOff.style).toBe('danger');
    const clicked = await bot.click(users.globalAdmin, turnOff);
    expect(replyText(clicked.reply)).toContain('Azure reservation purchases are now off for 台灣雲端科技股份有限公司.');
    expect(await permissionFor(bot.db, tenants.taiwanCloud)).toHaveLength(0);
    const log = await activityFor(bot.db, tenants.taiwanCloud);
    expect(log.map((r) => [r.action, r.actorName])).toEqual([
      ['create_customer_purchase_permission', '王小明'],
      ['delete_customer_purchase_permission', '박지훈'],
    ]);
    const activity = await bot.command(users.salesAgent, 'activity 台灣雲端科技');
    expect(replyText(activity.reply)).toMatch(/박지훈 — Delete customer purchase permission[\s\S]*王小明 — Create customer purchase permission/);

    const before = await snapshot(bot.db);
    const again = await bot.command(users.globalAdmin, 'disallow-reservations 台灣雲端科技');
    expect(replyText(again.reply)).toContain('already off');
    expect(buttons(again.reply)).toHaveLength(0);
    expect(await bot.click(users.globalAdmin, turnOff)).toMatchObject({ status: 200 });
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-P2 R-A2 a global admin can turn it on, like an admin agent', async () => {
    const { reply } = await bot.command(users.globalAdmin, 'allow-reservations Café Lumière');
    await bot.click(users.globalAdmin, button(reply, 'Turn on'));
    expect(await permissionFor(bot.db, tenants.cafe)).toHaveLength(1);
  });

  it('R-A3 sales and helpdesk agents may look but are refused toggles, naming the role needed', async () => {
    const before = await snapshot(bot.db);
    for (const user of [users.salesAgent, users.helpdeskAgent]) {
      // The role is refused before the customer is looked up, even for an ambiguous or unknown name.
      for (const command of ['allow-reservations contoso.com', 'allow-reservations contoso', 'disallow-reservations nobody-at-all', `owner-assigned 한빛소프트 ${hanbitSubscription}`]) {
        const { reply } = await bot.command(user, command);
        expect(replyText(reply)).toMatch(/Your role is (sales|helpdesk) agent\. .* needs the admin agent or global admin role/);
      }
      const look = await bot.command(user, 'customer contoso.com');
      expect(replyText(look.reply)).toContain('Contoso Ltd');
    }
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-A3 R-P2 a button clicked by a sales agent is refused at click time and changes nothing', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations contoso.com');
    const before = await snapshot(bot.db);
    const clicked = await bot.click(users.salesAgent, button(reply, 'Turn on'));
    expect(replyText(clicked.reply)).toContain('needs the admin agent or global admin role');
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-P4 is refused without an active Azure plan or Azure Global subscription, saying to buy one first', async () => {
    const before = await snapshot(bot.db);
    for (const customer of ['부산해운', '高雄精密工業']) {
      const { reply } = await bot.command(users.adminAgent, `allow-reservations ${customer}`);
      expect(replyText(reply)).toContain(`${customer} has no active Azure plan or Azure Global subscription bought through you. Buy one for the customer first`);
      expect(buttons(reply)).toHaveLength(0);
    }
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-P5 with Owner unknown the bot says so, explains how to assign it, and the admin may confirm it', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations 한빛');
    const text = replyText(reply);
    expect(text).toContain('does not know whether 한빛소프트 주식회사\'s key user holds the Owner role');
    expect(text).toContain('Access control (IAM)');
    expect(buttons(reply).map((b) => b.text.text)).toEqual(['Owner is assigned on 한빛 운영', 'Cancel']);
    expect(await permissionFor(bot.db, tenants.hanbit)).toHaveLength(0);

    const confirmed = await bot.click(users.adminAgent, button(reply, 'Owner is assigned on 한빛 운영'));
    expect(replyText(confirmed.reply)).toContain(`Recorded: 한빛소프트 주식회사's key user holds Owner on ${hanbitSubscription}.`);
    expect(replyText(confirmed.reply)).toContain('you, the partner, pay for every purchase they make');
    // Confirming Owner does not turn the permission on by itself.
    expect(await permissionFor(bot.db, tenants.hanbit)).toHaveLength(0);
    await bot.click(users.adminAgent, button(confirmed.reply, 'Turn on'));
    expect(await permissionFor(bot.db, tenants.hanbit)).toHaveLength(1);
    expect((await activityFor(bot.db, tenants.hanbit)).map((r) => r.action)).toEqual(['owner_role_confirmed', 'create_customer_purchase_permission']);
  });

  it('R-P5 owner-assigned records Owner once, only on Azure subscriptions', async () => {
    const first = await bot.command(users.globalAdmin, `owner-assigned 한빛소프트 ${hanbitSubscription.toUpperCase()}`);
    expect(replyText(first.reply)).toContain('was already recorded');
    const before = await snapshot(bot.db);
    const saas = await bot.command(users.globalAdmin, 'owner-assigned 高雄精密 saas-kp-crm');
    expect(replyText(saas.reply)).toContain('Owner matters only on an Azure plan or Azure Global subscription');
    const missing = await bot.command(users.globalAdmin, 'owner-assigned 高雄精密 nope');
    expect(replyText(missing.reply)).toContain('高雄精密工業 has no subscription "nope". Its subscriptions: saas-kp-crm.');
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('allowing an already-allowed customer says it is already on and writes nothing', async () => {
    const before = await snapshot(bot.db);
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations 한빛소프트');
    expect(replyText(reply)).toMatch(/already on for 한빛소프트 주식회사 \(since \d{4}-\d\d-\d\d \d\d:\d\d UTC, by 王小明\)/);
    expect(buttons(reply)).toHaveLength(0);
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('Cancel changes nothing', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations contoso.com');
    const before = await snapshot(bot.db);
    const clicked = await bot.click(users.adminAgent, button(reply, 'Cancel'));
    expect(replyText(clicked.reply)).toContain('Cancelled. Nothing was changed.');
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('channel activity here sends later announcements to that channel (admin only)', async () => {
    const refused = await bot.command(users.salesAgent, 'channel activity here', { channel: 'C0ACTIVITY' });
    expect(replyText(refused.reply)).toContain('needs the admin agent or global admin role');
    const set = await bot.command(users.adminAgent, 'channel activity here', { channel: 'C0ACTIVITY' });
    expect(replyText(set.reply)).toContain('Changes will be announced in this channel.');
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations contoso.com', { channel: 'C0ELSEWHERE' });
    // Announcements of the earlier tests are out first: the next post is this click's.
    await outboxSettled(bot.db);
    const before = bot.slack.posts().length;
    await bot.click(users.adminAgent, button(reply, 'Turn on'), { channel: 'C0ELSEWHERE' });
    // Contoso's contact is also told in a direct message (issue 19): the announcement is the post in C0ACTIVITY.
    const announced = await waitFor('the announcement', () => bot.slack.posts().slice(before).find((p) => p.body.channel === 'C0ACTIVITY'));
    expect(String(announced.body.text).split('\n')[0]).toBe('王小明 turned on Azure reservation purchases for Contoso Ltd.');
  });
});
