import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakePartnerCenter, partnerTenant, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { platforms, usePlatform } from './helpers/platforms.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { activityFor, permissionFor, snapshot, unchanged } from './helpers/tables.js';

const portalOnly = 'savings-plan purchases are visible only in the Azure portal, so csp-ops cannot announce them';

// Azure savings plans: the second self-serve resource, under the same rules as Azure reservations.
describe.each(platforms)('Azure savings plans, $name', ({ start }) => {
  const p = usePlatform(start);

  it('R-P6 allow-savings-plans shows what turning it on means, that csp-ops cannot announce the purchases, and changes nothing', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-savings-plans twcloud.example'));
    expect(reply.text).toContain('Allow 台灣雲端科技股份有限公司 to buy Azure savings plans?');
    expect(reply.text).toContain('you, the partner, pay for every purchase they make');
    expect(reply.text).toContain(portalOnly);
    expect(reply.buttons.map((b) => [b.label, b.style])).toEqual([['Turn on', 'primary'], ['Cancel', undefined]]);
  });

  it('R-P3 R-P10 Turn on turns it on once, logs it as an Azure savings plan permission and announces it to permissions subscribers', async () => {
    await p.command('globalAdmin', 'notify here permissions');
    const reply = await p.command('adminAgent', 'allow-savings-plans 台灣雲端科技');
    const done = await p.click('adminAgent', reply, 'Turn on');
    expect(done.text).toContain('Azure savings plan purchases are now on for 台灣雲端科技股份有限公司');
    expect(done.buttons).toHaveLength(0);
    const again = await unchanged(p.db, () => p.click('globalAdmin', reply, 'Turn on'));
    expect(again.text).toMatch(/This was already confirmed by 王小明 on .* UTC; nothing more was changed\.\nAzure savings plan purchases are now on for 台灣雲端科技股份有限公司/);
    expect((await permissionFor(p.db, tenants.taiwanCloud)).map((r) => r.resource)).toEqual(['azure-savings-plans']);
    expect((await activityFor(p.db, tenants.taiwanCloud)).map((r) => r.action)).toEqual(['create_customer_savings_plan_permission']);
    await p.posted('王小明 turned on Azure savings plan purchases for 台灣雲端科技股份有限公司.');

    const account = await p.command('salesAgent', 'customer 台灣雲端科技');
    expect(account.text).toMatch(/Customer may buy Azure reservations\W+No\n/);
    expect(account.text).toMatch(/Customer may buy Azure savings plans\W+Yes — since /);
    expect(account.text).toContain('Create customer purchase permission (Azure savings plan)');

    // Reservations are a separate permission: still off, and turning them on is its own confirmation.
    const reservations = await p.command('adminAgent', 'allow-reservations 台灣雲端科技');
    expect(reservations.text).toContain('Allow 台灣雲端科技股份有限公司 to buy Azure reservations?');
  });

  it('R-P10 Turn off records "Delete customer purchase permission (Azure savings plan)"; a repeat writes nothing', async () => {
    const reply = await p.command('globalAdmin', 'disallow-savings-plans twcloud.example');
    expect(reply.text).toContain('Stop 台灣雲端科技股份有限公司 buying Azure savings plans?');
    expect(reply.buttons.map((b) => [b.label, b.style])).toEqual([['Turn off', 'danger'], ['Cancel', undefined]]);
    const done = await p.click('globalAdmin', reply, 'Turn off');
    expect(done.text).toContain('Azure savings plan purchases are now off for 台灣雲端科技股份有限公司.');
    expect(await permissionFor(p.db, tenants.taiwanCloud)).toHaveLength(0);
    const log = await p.command('helpdeskAgent', 'activity 台灣雲端科技');
    expect(log.text).toMatch(/박지훈 — Delete customer purchase permission \(Azure savings plan\)[\s\S]*王小明 — Create customer purchase permission \(Azure savings plan\)/);

    const again = await unchanged(p.db, () => p.command('globalAdmin', 'disallow-savings-plans twcloud.example'));
    expect(again.text).toContain('Azure savings plan purchases are already off for 台灣雲端科技股份有限公司. Nothing was changed.');
    expect(again.buttons).toHaveLength(0);
    const clickedAgain = await unchanged(p.db, () => p.click('globalAdmin', reply, 'Turn off'));
    expect(clickedAgain.text).toMatch(/This was already confirmed by 박지훈 on .* UTC; nothing more was changed\./);
  });

  it('R-A3 R-P2 sales and helpdesk agents are refused, naming the role, at command and at click time', async () => {
    for (const person of ['salesAgent', 'helpdeskAgent'] as const) {
      for (const command of ['allow-savings-plans contoso.com', 'disallow-savings-plans contoso.com']) {
        const reply = await unchanged(p.db, () => p.command(person, command));
        expect(reply.text).toMatch(/Your role is (sales|helpdesk) agent\. Turning customer purchase permissions on or off needs the admin agent or global admin role/);
      }
    }
    const card = await p.command('adminAgent', 'allow-savings-plans contoso.com');
    const clicked = await unchanged(p.db, () => p.click('salesAgent', card, 'Turn on'));
    expect(clicked.text).toContain('needs the admin agent or global admin role');
  });

  it('R-P4 is refused without an active Azure plan or Azure Global subscription', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-savings-plans 부산해운'));
    expect(reply.text).toContain('부산해운 has no active Azure plan or Azure Global subscription bought through you.');
    expect(reply.buttons).toHaveLength(0);
  });

  it('R-P5 Owner not known: the admin confirms it, and the savings-plan confirmation follows', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-savings-plans 한빛'));
    expect(reply.text).toContain('Access control (IAM)');
    const confirmed = await p.click('adminAgent', reply, 'Owner is assigned on 한빛 운영');
    expect(confirmed.text).toContain('Recorded: 한빛소프트 주식회사\'s key user holds Owner');
    expect(confirmed.text).toContain('Allow 한빛소프트 주식회사 to buy Azure savings plans?');
    await p.click('adminAgent', confirmed, 'Turn on');
    expect((await activityFor(p.db, tenants.hanbit)).map((r) => r.action)).toEqual(['owner_role_confirmed', 'create_customer_savings_plan_permission']);
  });
});

describe('Azure savings plans in Slack, Partner Center connector on', () => {
  const tuning = { timeoutMs: 300, retryDelayMs: 10 };
  let pc: FakePartnerCenter;
  let bot: TestBot;
  beforeAll(async () => {
    pc = await startFakePartnerCenter();
    bot = await startTestBot({ organizations: [connectedOrganization(partnerTenant), otherOrganization], partnerCenter: pc.config, partnerCenterTuning: tuning });
  });
  afterAll(async () => {
    await bot?.close();
    await pc?.close();
  });
  afterEach(() => {
    pc.requests.length = 0;
  });

  async function click(command: string, label: string) {
    const card = await bot.command(users.adminAgent, command);
    const button = buttons(card.reply).find((b) => b.text.text === label);
    expect(button, replyText(card.reply)).toBeDefined();
    return bot.click(users.adminAgent, button!);
  }

  it('R-P10 Partner Center refusing: the reply shows its error, and nothing changes here', async () => {
    pc.plan({ method: 'POST', path: '/v1/SelfServePolicy', status: 403, body: { code: 600054, description: 'The partner is not authorized for this customer.', errorName: 'Forbidden' } });
    const before = await snapshot(bot.db);
    const text = replyText((await click('allow-savings-plans contoso.com', 'Turn on')).reply);
    expect(text).toContain('Partner Center refused the change (HTTP 403, code 600054): The partner is not authorized for this customer.');
    expect(text).toContain('Nothing was changed here.');
    expect(await snapshot(bot.db)).toEqual(before);
    expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(0);
  });

  it('R-P3 turning it on posts a SelfServePolicy for AzureSavingsPlan, then records it here', async () => {
    await click('allow-savings-plans contoso.com', 'Turn on');
    const posts = pc.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.body).toEqual({
      SelfServeEntity: { SelfServeEntityType: 'customer', TenantID: tenants.contoso },
      Grantor: { GrantorType: 'billToPartner', TenantID: partnerTenant },
      Permissions: [{ Action: 'Purchase', Resource: 'AzureSavingsPlan' }],
    });
    expect((await permissionFor(bot.db, tenants.contoso)).map((r) => r.resource)).toEqual(['azure-savings-plans']);
    expect((await activityFor(bot.db, tenants.contoso)).map((a) => a.action)).toContain('create_customer_savings_plan_permission');
  });

  it('R-P10 turning it off deletes the AzureSavingsPlan policy in Partner Center, then locally', async () => {
    await click('disallow-savings-plans contoso.com', 'Turn off');
    expect(pc.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(pc.policies.size).toBe(0);
    expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(0);
    expect((await activityFor(bot.db, tenants.contoso)).map((a) => a.action)).toContain('delete_customer_savings_plan_permission');
  });
});
