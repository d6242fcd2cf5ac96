import { lookup } from 'node:dns/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, asc, desc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceSupportRequests, customers, offerAudiencePartners, organizations, reservationRequests, subscriptions } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { loadConfig } from '../src/config.js';
import { teamId, tenants, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { unchanged } from './helpers/tables.js';

// Answers found by trying csp-ops as a new user would (issue 17): each is asked here through the real
// adapter (a signed Slack slash command, or the terminal's) and the answer checked word for word.

const nuri = { team: 'T0NURIISV1', owner: 'UNURIOWN1', manager: 'UNURIMGR1', developer: 'UNURIDEV1' };
const cloudSecurity = Array.from({ length: 12 }, (_, i) => ({
  name: `Cloud Guard ${String(i + 1).padStart(2, '0')}`,
  tenantId: `c5000000-0000-4000-8000-0000000000${String(i + 1).padStart(2, '0')}`,
  country: 'KR',
  skills: ['Cloud Security'],
}));
// Partners with each word of the skill, never the skill itself: a filter read as two words would find these.
const wordsApart = [
  { name: 'Plain Cloud Co', tenantId: 'c6000000-0000-4000-8000-000000000001', country: 'TW', skills: ['Cloud'] },
  { name: 'Plain Security Co', tenantId: 'c6000000-0000-4000-8000-000000000002', country: 'TW', skills: ['Security'] },
];

const offer = (id: string, name: string, categories: string[], audience: unknown) => ({
  id, name, type: 'saas', publisher: { name: '누리소프트', supportContact: 'support@nuri.example' }, categories, countries: ['KR', 'US', 'TW'],
  salesMaterialsUrl: 'https://nuri.example/csp', channelContact: 'csp@nuri.example',
  plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'annual', market: 'KR', currency: 'KRW', price: 120000 }, { term: 'annual', market: 'US', currency: 'USD', price: 90 }] }],
  audience,
});

const publisherOrganization = {
  organization: { name: '누리소프트', kind: 'publisher', slackTeamId: nuri.team },
  staff: [
    { name: '이서연', email: 'seoyeon@nuri.example', role: 'owner', slackUserId: nuri.owner },
    { name: '김도현', email: 'dohyun@nuri.example', role: 'manager', slackUserId: nuri.manager },
    { name: '林家豪', email: 'chiahao@nuri.example', role: 'developer', slackUserId: nuri.developer },
  ],
  offers: [
    offer('nuri-hr', '누리 HR', ['Human Resources'], { option: 'any', published: true }),
    offer('nuri-pay', '누리 급여', ['Payroll', 'Human Capital'], { option: 'any', published: true }),
    offer('nuri-sign', '누리사인', ['Legal'], { option: 'specific', published: true, partners: [{ tenantId: cloudSecurity[0]!.tenantId, regions: ['KR'] }] }),
  ],
  partnerDirectory: [...cloudSecurity, ...wordsApart],
  customers: [],
};

const hrReservation = (n: number) => `h1000000-0000-4000-8000-00000000000${n}`;
const hrBonsa = {
  name: 'HR 본사', domain: 'hr-bonsa.example', tenantId: 'e7e7e7e7-0000-4000-8000-000000000001', billingCountry: 'KR',
  subscriptions: [
    { id: 'hr-saas-0001', offer: 'marketplace-saas', friendlyName: 'HR 본사 급여', status: 'active', offerId: 'nuri-hr', planId: 'basic', seats: 3, term: 'annual', autoRenew: true, purchasedAt: '2026-01-05T00:00:00Z' },
  ],
  reservations: [1, 2].map((n) => ({
    id: hrReservation(n), product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 2, term: 'P1Y', billingPlan: 'upfront', scope: 'shared',
    price: 2400, currency: 'USD', purchasedBy: 'partner', purchasedAt: '2026-02-01T00:00:00Z',
  })),
};
const partnerOrganization = { ...testOrganization, customers: [...testOrganization.customers, hrBonsa] };
const globalAdminEmail = 'jihoon.park@partner.example';

let bot: TestBot;
beforeAll(async () => {
  // The sales agent's Slack speaks Traditional Chinese, the helpdesk agent's Korean.
  bot = await startTestBot({
    organizations: [publisherOrganization, partnerOrganization],
    fakeSlack: { locales: { [users.salesAgent]: 'zh-TW', [users.helpdeskAgent]: 'ko-KR' } },
  });
});
afterAll(() => bot?.close());

const say = async (user: string, text: string, team?: string) => replyText((await bot.command(user, text, team ? { team } : {})).reply);
const publisherSays = (user: string, text: string) => say(user, text, nuri.team);
const cli = (...argv: string[]) => runCli(bot.db, argv);

async function click(user: string, reply: SlackReply | undefined, label: string) {
  const button = buttons(reply).find((b) => b.text.text === label);
  if (!button) throw new Error(`no "${label}" button in ${replyText(reply)}`);
  return replyText((await bot.click(user, button)).reply);
}

async function partnerCustomer(tenantId: string) {
  const [row] = await bot.db
    .select({ orgId: customers.orgId, customerId: customers.id })
    .from(customers)
    .innerJoin(organizations, eq(organizations.id, customers.orgId))
    .where(and(eq(organizations.slackTeamId, teamId), eq(customers.tenantId, tenantId)));
  return row!;
}

const latestRequest = async () => (await bot.db.select().from(reservationRequests).orderBy(desc(reservationRequests.createdAt)).limit(1))[0]!;

describe('a command of the other kind of organization says whose it is', () => {
  it('a partner\'s global admin running audience or partners is told they are publisher commands', async () => {
    expect(await unchanged(bot.db, () => say(users.globalAdmin, 'audience nuri-hr'))).toContain(
      'audience is a publisher command: it manages which CSP partners may resell a publisher\'s offers. Your organization is a CSP partner; /csp marketplace shows the offers you may resell.',
    );
    expect(await say(users.globalAdmin, 'partners skill:Security')).toContain(
      'partners is a publisher command: it searches the CSP partner directory when a publisher chooses who may resell its offers. Your organization is a CSP partner.',
    );
    // A customer contact is told the same, not that only staff may run it.
    expect(await say(users.contact, 'audience nuri-hr')).toContain('audience is a publisher command');
  });

  it('a publisher running customers, notify list or allow-reservations is told they are for CSP partners, not that it has no customers', async () => {
    const partnerCommand = (command: string) =>
      `${command} is a command for CSP partners, who resell Microsoft cloud and marketplace offers to their customers. Your organization is a publisher: /csp audience <offer> manages which partners may resell your offers, and /csp partners searches the CSP partner directory.`;
    const customersAnswer = await publisherSays(nuri.owner, 'customers');
    expect(customersAnswer).toContain(partnerCommand('customers'));
    expect(customersAnswer).not.toContain('No customers yet');
    expect(await publisherSays(nuri.owner, 'notify list')).toContain(partnerCommand('notify list'));
    expect(await publisherSays(nuri.owner, 'channel activity here')).toContain(partnerCommand('channel activity here'));
    expect(await publisherSays(nuri.manager, 'allow-reservations contoso')).toContain(partnerCommand('allow-reservations'));
    // What every organization has still runs.
    expect(await publisherSays(nuri.developer, 'activity')).toContain('Activity');
    expect(await publisherSays(nuri.developer, 'audience nuri-hr')).toContain('CSP audience of 누리 HR (nuri-hr)');
  });
});

describe('publishers\' refusals name the publisher role needed', () => {
  it('a developer changing an audience needs the owner or manager role; a manager deciding a support request or the settings needs the owner', async () => {
    const audienceOf = () => bot.db.select().from(offerAudiencePartners).where(eq(offerAudiencePartners.offerId, 'nuri-sign'));
    const before = await audienceOf();
    expect(await publisherSays(nuri.developer, 'audience nuri-hr set specific')).toContain(
      'Your role is developer. Changing CSP audiences needs the owner or manager role; ask someone with that role.',
    );
    await bot.db.insert(audienceSupportRequests).values({ id: 'ab120000-0000-4000-8000-000000000001', offerId: 'nuri-sign', fromOption: 'specific', toOption: 'any', requestedByName: '김도현' });
    expect(await publisherSays(nuri.manager, 'audience nuri-sign grant ab12')).toContain(
      'Your role is manager. Marking support requests granted or refused needs the owner role; ask someone with that role.',
    );
    expect(await unchanged(bot.db, () => publisherSays(nuri.manager, 'settings time-zone Asia/Seoul'))).toContain(
      'Your role is manager. Changing the organization\'s language or time zone needs the owner role; ask someone with that role.',
    );
    expect(await audienceOf()).toEqual(before);
    expect((await bot.db.select().from(audienceSupportRequests))[0]!.status).toBe('pending');
  });

  it('a support request ID takes an unambiguous start: too short and ambiguous ones are refused, naming the matches', async () => {
    await bot.db.insert(audienceSupportRequests).values({ id: 'ab12ffff-0000-4000-8000-000000000002', offerId: 'nuri-sign', fromOption: 'specific', toOption: 'any', requestedByName: '김도현' });
    const before = await bot.db.select().from(audienceSupportRequests).orderBy(asc(audienceSupportRequests.id));
    expect(await publisherSays(nuri.owner, 'audience nuri-sign refuse ab1')).toContain(
      '"ab1" is too short to pick a support request: type at least 4 characters of its ID (/csp audience <offer> shows them).',
    );
    expect(await publisherSays(nuri.owner, 'audience nuri-sign refuse ab12')).toContain(
      '"ab12" is the start of several support request IDs: ab120000-0000-4000-8000-000000000001, ab12ffff-0000-4000-8000-000000000002. Type more of it.',
    );
    expect(await bot.db.select().from(audienceSupportRequests).orderBy(asc(audienceSupportRequests.id))).toEqual(before);
    expect(await publisherSays(nuri.owner, 'audience nuri-sign refuse ab12f')).toContain('Support request ab12ffff is refused: the published audience stays as it was.');
  });
});

describe('Azure savings plans are spoken of as savings plans', () => {
  it('a customer without an Azure subscription cannot be allowed savings plans, and the refusal says savings plans', async () => {
    expect(await unchanged(bot.db, () => say(users.globalAdmin, 'allow-savings-plans HR 본사'))).toContain(
      'HR 본사 has no active Azure plan or Azure Global subscription bought through you. Buy one for the customer first; then they can be allowed to purchase Azure savings plans.',
    );
    expect(await say(users.globalAdmin, 'allow-reservations HR 본사')).toContain('then they can be allowed to purchase Azure reservations.');
  });

  it('a customer whose Owner is not known is asked about Owner, then confirmed for savings plans, never reservations', async () => {
    const { reply } = await bot.command(users.globalAdmin, 'allow-savings-plans 한빛소프트');
    expect(replyText(reply)).toContain('Is the Owner role assigned for 한빛소프트 주식회사?');
    expect(replyText(reply)).not.toMatch(/reservation/i);
    const next = await click(users.globalAdmin, reply, 'Owner is assigned on 한빛 운영');
    expect(next).toContain('Allow 한빛소프트 주식회사 to buy Azure savings plans?');
    expect(next).not.toMatch(/reservation/i);
  });
});

describe('request IDs take an unambiguous start, as reservation IDs do', () => {
  const ids = ['ee77aaaa-0000-4000-8000-000000000001', 'ee77bbbb-0000-4000-8000-000000000002', 'ee77cccc-0000-4000-8000-000000000003'];
  beforeAll(async () => {
    const { orgId, customerId } = await partnerCustomer(tenants.contoso);
    const request = (id: string, kind: 'cancel' | 'renew', reservationId: string) => ({ id, orgId, customerId, kind, reservationId, requestedByName: 'Dana', requestedPlatform: 'slack' });
    await bot.db.insert(reservationRequests).values([
      request(ids[0]!, 'cancel', 'r1000000-0000-4000-8000-000000000001'),
      request(ids[1]!, 'renew', 'r1000000-0000-4000-8000-000000000002'),
      request(ids[2]!, 'renew', 'r1000000-0000-4000-8000-000000000001'),
    ]);
  });

  it('too short, ambiguous and unknown starts are refused and change nothing; ambiguous ones list the matches', async () => {
    expect(await unchanged(bot.db, () => say(users.globalAdmin, 'approve ee7'))).toContain(
      '"ee7" is too short to pick a request: type at least 4 characters of its ID (/csp requests shows them).',
    );
    expect(await unchanged(bot.db, () => say(users.globalAdmin, 'approve ee77'))).toContain(`"ee77" is the start of several request IDs: ${ids.join(', ')}. Type more of it.`);
    expect(await unchanged(bot.db, () => say(users.globalAdmin, 'reject ffff0000 no'))).toContain('No request ffff0000 was found.');
  });

  it('approve ee77a decides the one request it starts', async () => {
    expect(await say(users.globalAdmin, 'approve ee77a')).toMatch(/Request: cancel reservation r1000000-0000-4000-8000-000000000001[\s\S]*Approved by 박지훈 at /);
    const [decided] = await bot.db.select().from(reservationRequests).where(eq(reservationRequests.id, ids[0]!));
    expect(decided!.status).toBe('approved');
  });

  it('from the terminal a successful reject exits 0; a decision refused, or one already made the other way, exits 1', async () => {
    const rejected = await cli('reject', 'ee77b', '기간', '연장', '불필요', '--as', globalAdminEmail);
    expect(rejected.output).toMatch(/Rejected by 박지훈 at .*: 기간 연장 불필요/);
    expect(rejected.exitCode).toBe(0);
    // The same decision again changes nothing and is no failure; the other decision is refused.
    const again = await cli('reject', 'ee77b', '기간', '연장', '불필요', '--as', globalAdminEmail);
    expect(again).toMatchObject({ exitCode: 0, output: expect.stringContaining('This request was already decided; nothing was changed.') });
    expect((await cli('approve', 'ee77b', '--as', globalAdminEmail)).exitCode).toBe(1);
    // R-Q4: the reservation was cancelled meanwhile, so approving its renewal is refused.
    const refused = await cli('approve', 'ee77c', '--as', globalAdminEmail);
    expect(refused.output).toContain('Reservation r1000000-0000-4000-8000-000000000001 is cancelled, so it cannot be changed.');
    expect(refused.exitCode).toBe(1);
    expect((await cli('approve', 'ee7', '--as', globalAdminEmail)).exitCode).toBe(1);
  });
});

describe('filing a request', () => {
  it('staff are told their request was filed and waits for an admin, with its ID; a customer is told it went to the partner', async () => {
    const staffAnswer = await say(users.salesAgent, 'request cancel r2000000-0000-4000-8000-000000000001 for contosopharma.com 너무 비싸요');
    const filed = await latestRequest();
    const id = filed.id.slice(0, 8);
    // The sales agent reads Traditional Chinese.
    expect(staffAnswer).toContain(
      `已為 Contoso Pharmaceuticals 提出要求 ${id}：取消保留 r2000000-0000-4000-8000-000000000001。此要求等候系統管理員代理人或全域管理員以卡片上的按鈕，或以 /csp approve ${id} / /csp reject ${id} <原因> 決定。`,
    );
    expect(filed.reason).toBe('너무 비싸요');
    const adminAnswer = await say(users.adminAgent, `request renew ${hrReservation(1)} for HR 본사 너무 비싸요`);
    const second = (await latestRequest()).id.slice(0, 8);
    expect(adminAnswer).toContain(
      `Filed request ${second} for HR 본사: renew reservation ${hrReservation(1)} for another term. It waits for an admin agent or global admin to decide it, with the buttons on its card or /csp approve ${second} / /csp reject ${second} <reason>.`,
    );
    expect(adminAnswer).not.toContain('sent to the partner');
    expect(await say(users.contact, 'request cancel r1000000-0000-4000-8000-000000000002 for contoso.com 너무 비싸요')).toContain(
      'Your request to cancel reservation r1000000-0000-4000-8000-000000000002 was sent to the partner for approval',
    );
    expect((await latestRequest()).reason).toBe('너무 비싸요');
  });

  it('for <customer> ends at the customer\'s name, however many words it has; the rest is the reason, and because still works', async () => {
    await say(users.adminAgent, `request cancel ${hrReservation(2)} for hr-bonsa.example 다른 지역으로 이전`);
    expect((await latestRequest()).reason).toBe('다른 지역으로 이전');
    await say(users.adminAgent, `request cancel ${hrReservation(2)} for HR 본사 because 예산 삭감`);
    expect((await latestRequest()).reason).toBe('예산 삭감');
    await say(users.adminAgent, `request cancel ${hrReservation(2)} for ${hrBonsa.tenantId}`);
    expect((await latestRequest()).reason).toBeNull();
  });

  it('buy\'s for <customer> ends at seats, so a name of several words is the customer', async () => {
    expect(await unchanged(bot.db, () => say(users.adminAgent, 'buy nuri-hr basic for HR 본사 seats 2 annual'))).toContain('Buy 누리 HR for HR 본사?');
  });

  it('a name that is another customer\'s, or no customer\'s, is refused and files nothing', async () => {
    expect(await unchanged(bot.db, () => say(users.adminAgent, 'request cancel r2000000-0000-4000-8000-000000000001 for contoso.com 너무 비싸요'))).toContain(
      'Reservation r2000000-0000-4000-8000-000000000001 does not belong to contoso.com.',
    );
    expect(await unchanged(bot.db, () => say(users.adminAgent, `request cancel ${hrReservation(2)} for 없는 회사 너무 비싸요`))).toContain(
      `Reservation ${hrReservation(2)} belongs to HR 본사, and "없는 회사 너무 비싸요" does not start with its name, domain or tenant ID. After for, write the customer and then the reason (or put the reason after because).`,
    );
  });
});

describe('the terminal suggests only what runs there', () => {
  it('notify list names the chat command to type in a channel, not one the terminal refuses', async () => {
    const listed = await cli('notify', 'list', '--as', globalAdminEmail);
    expect(listed.exitCode).toBe(0);
    expect(listed.output).toContain('No activity channel is set: in the channel that should hear everything, type /csp channel activity here (Slack) or @csp-ops channel activity here (Teams).');
    expect(listed.output).toContain('No channel has subscribed yet: in the channel that should hear about purchases, type /csp notify here purchases (Slack) or @csp-ops notify here purchases (Teams).');
    expect(listed.output).not.toContain('npm run csp -- channel');
    expect(await cli('channel', 'activity', 'here', '--as', globalAdminEmail)).toEqual({
      output: 'This command must run in a channel: type it in the Slack channel (/csp …) or Teams channel (@csp-ops …) it is for.',
      exitCode: 1,
    });
    // In Slack, the command is typed where the list is read.
    expect(await say(users.globalAdmin, 'notify list')).toContain('No activity channel is set (/csp channel activity here sets one).');
  });
});

describe('answers say what changed and read naturally', () => {
  it('auto-renew says whether it is now on or off; asking again says it already is', async () => {
    const { reply } = await bot.command(users.adminAgent, 'subscription hr-saas-0001 auto-renew off');
    expect(await click(users.adminAgent, reply, 'Confirm')).toContain('Auto-renew of HR 본사 급여 is now off: it ends with its current term.');
    expect(await unchanged(bot.db, () => say(users.adminAgent, 'subscription hr-saas-0001 auto-renew off'))).toContain('Auto-renew of HR 본사 급여 is already off. Nothing was changed.');
    expect(await say(users.adminAgent, 'subscription hr-saas-0001 seats 3')).toContain('HR 본사 급여 already has 3 seats. Nothing was changed.');
    const on = await bot.command(users.adminAgent, 'subscription hr-saas-0001 auto-renew on');
    expect(await click(users.adminAgent, on.reply, 'Confirm')).toContain('Auto-renew of HR 본사 급여 is now on: it renews at the end of its term.');
    const [row] = await bot.db.select({ autoRenew: subscriptions.autoRenew }).from(subscriptions).where(eq(subscriptions.id, 'hr-saas-0001'));
    expect(row!.autoRenew).toBe(true);
  });

  it('a customer\'s purchase permissions read as a label and a yes or no, in English, Traditional Chinese and Korean', async () => {
    const english = await say(users.globalAdmin, 'customer HR 본사');
    expect(english).toContain('*Customer may buy Azure reservations*\nNo');
    expect(english).toContain('*Customer may buy Azure savings plans*\nNo');
    expect(english).not.toContain('customer can purchase');
    expect(await say(users.salesAgent, 'customer HR 본사')).toContain('*客戶可自行購買 Azure 保留*\n否');
    expect(await say(users.helpdeskAgent, 'customer HR 본사')).toContain('*고객의 Azure 절약 플랜 직접 구매*\n허용 안 함');
    const { reply } = await bot.command(users.globalAdmin, 'allow-reservations Café Lumière');
    await click(users.globalAdmin, reply, 'Turn on');
    expect(await say(users.globalAdmin, 'customer Café Lumière')).toMatch(/\*Customer may buy Azure reservations\*\nYes — since \d{4}-\d\d-\d\d \d\d:\d\d UTC, by 박지훈/);
  });
});

describe('API tokens are labelled by what they do', () => {
  it('a publisher\'s token is for its SaaS activations, and it activates its subscriptions; a partner\'s is for the purchase intake', async () => {
    const created = await cli('api-token', 'create', '--org', '누리소프트');
    expect(created.exitCode).toBe(0);
    expect(created.output).toContain('Publisher API token "SaaS activation" for 누리소프트 (ID ');
    expect(created.output).not.toContain('purchase intake');
    const token = /^(csp_\S+)$/m.exec(created.output)![1]!;
    const id = /\(ID ([0-9a-f-]{36})\)/.exec(created.output)![1]!;
    expect((await cli('api-token', 'list', '--org', '누리소프트')).output).toMatch(new RegExp(`^${id} — SaaS activation \\(SaaS activations of 누리소프트\\) — created .* — last used never$`));
    const licenses = await fetch(`${bot.origin}/api/v1/saas/subscriptions/hr-saas-0001/licenses`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(licenses.status).toBe(200);

    const partner = await cli('api-token', 'create');
    expect(partner.output).toContain('API token "purchase intake" for 한빛 클라우드 파트너스 (ID ');
    const partnerId = /\(ID ([0-9a-f-]{36})\)/.exec(partner.output)![1]!;
    expect((await cli('api-token', 'list')).output).toMatch(new RegExp(`^${partnerId} — purchase intake \\(purchase intake\\) — created `, 'm'));
  });

  it('a publisher records no purchases from the terminal', async () => {
    const purchase = { id: 'PO-NURI-1', customer: 'hr-bonsa.example', kind: 'saas', saas: { offerId: 'nuri-hr', planId: 'basic', seats: 1, price: 90, currency: 'USD' }, buyer: { name: 'Kim', email: 'kim@hr-bonsa.example' }, purchasedAt: '2026-03-01T00:00:00Z' };
    expect(await unchanged(bot.db, () => cli('record-purchase', JSON.stringify(purchase), '--org', '누리소프트'))).toEqual({
      output: '누리소프트 is a publisher: purchases are recorded for a CSP partner\'s customers, so nothing was recorded. Name the partner organization with --org <organization name>.',
      exitCode: 1,
    });
  });
});

describe('directory and catalog filter values may be quoted', () => {
  it('partners skill:"Cloud Security" (straight or typographic quotes) finds that skill, and the next page keeps the filter', async () => {
    const first = await bot.command(nuri.developer, 'partners skill:"Cloud Security"', { team: nuri.team });
    const text = replyText(first.reply);
    expect(text).toContain('Partner directory: 12 partners');
    expect(text).not.toContain('Plain');
    const next = buttons(first.reply).find((b) => b.text.text === 'Next page')!;
    expect(next.value).toBe('partners skill:"Cloud Security" page 2');
    const second = replyText((await bot.click(nuri.developer, next, { team: nuri.team })).reply);
    expect(second).toContain('Cloud Guard 12');
    expect(second).not.toContain('Plain');
    expect(await publisherSays(nuri.developer, 'partners skill:“Cloud Security” country:KR')).toContain('Partner directory: 12 partners');
  });

  it('marketplace category:"Human Resources" matches that category, not each word', async () => {
    const straight = await say(users.globalAdmin, 'marketplace category:"Human Resources"');
    expect(straight).toContain('Marketplace: 1 offer');
    expect(straight).toContain('누리 HR (nuri-hr)');
    expect(await say(users.globalAdmin, 'marketplace category:“human resources”')).toContain('Marketplace: 1 offer');
  });
});

describe('audience … import reads intranet hosts only when AUDIENCE_IMPORT_ALLOWED_HOSTS names them', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    const csv = `Tenant ID,Regions\r\n${cloudSecurity[1]!.tenantId},KR\r\n`;
    server = createServer((_, res) => res.writeHead(200, { 'content-type': 'text/csv' }).end(csv));
    // Served on the address the name resolves to first, which is how the bot will reach it.
    const { address } = await lookup('localhost');
    await new Promise<void>((resolve) => server.listen(0, address, resolve));
    url = `http://localhost:${(server.address() as AddressInfo).port}/partners.csv`;
  });
  afterAll(() => new Promise<void>((resolve) => server?.close(() => resolve())));

  const draft = () => bot.db.select().from(offerAudiencePartners).where(and(eq(offerAudiencePartners.offerId, 'nuri-sign'), eq(offerAudiencePartners.draft, true)));

  it('refuses a file on a local address while the setting does not name its host', async () => {
    const before = await draft();
    expect(await publisherSays(nuri.manager, `audience nuri-sign import ${url}`)).toContain(
      `${url} is on a private or local network address. csp-ops reads partner lists only from public addresses, and from the hosts named in its AUDIENCE_IMPORT_ALLOWED_HOSTS setting (set by whoever runs csp-ops).`,
    );
    expect(await draft()).toEqual(before);
  });

  it('reads it when the setting names its host', async () => {
    const config = loadConfig({ AUDIENCE_IMPORT_ALLOWED_HOSTS: 'intranet.example, LocalHost' });
    expect(config.AUDIENCE_IMPORT_ALLOWED_HOSTS).toEqual(['intranet.example', 'localhost']);
    expect(() => loadConfig({ AUDIENCE_IMPORT_ALLOWED_HOSTS: 'https://files.corp/' })).toThrow(
      'Invalid setting AUDIENCE_IMPORT_ALLOWED_HOSTS: expected host names separated by commas, such as intranet.example,files.corp.',
    );
    // A second instance on the same database with the setting, as an intranet deployment runs it.
    const intranet = await startTestBot({ database: bot.database, slack: bot.slack, config: { AUDIENCE_IMPORT_ALLOWED_HOSTS: config.AUDIENCE_IMPORT_ALLOWED_HOSTS } });
    try {
      const answer = replyText((await intranet.command(nuri.manager, `audience nuri-sign import ${url}`, { team: nuri.team })).reply);
      expect(answer).toContain('Added 1 partner from the file to the draft audience of 누리사인');
      expect((await draft()).map((p) => [p.tenantId, p.regions]).sort()).toEqual([
        [cloudSecurity[0]!.tenantId, ['KR']],
        [cloudSecurity[1]!.tenantId, ['KR']],
      ]);
    } finally {
      await intranet.close();
    }
  });
});
