import { randomUUID } from 'node:crypto';
import { and, desc, eq, like, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { activityLog, outbox, reservationRequests } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { formatTimestamp, translator } from '../src/i18n/index.js';
import { aadUsers, otherOrganization, tenants, testOrganization, users } from './helpers/fixture.js';
import { blockActionBody, buttons, replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { testOrgId, unchanged } from './helpers/tables.js';
import { cardActions, cardText, startTeamsTestBot, teamsAppId, type AdaptiveCardJson, type CardAction, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

// The home view (Slack Home tab, Teams home card): what waits for staff, a contact's own requests, built anew
// on each open in the reader's language and the organization's time zone; its Approve / Reject act as the
// approval card's (R-Q2, R-Q3): one decision, a late click told to the clicker alone.

const hour = 3_600_000;
const started = Date.now();
const hoursAgo = (hours: number) => new Date(started - hours * hour).toISOString();
const partnerBought = 'r1000000-0000-4000-8000-000000000001';
const customerBought = 'r1000000-0000-4000-8000-000000000002';

/** The test organization with a SaaS offer, and marketplace subscriptions whose cancellation windows close at different times (R-M10). */
const homeOrganization = {
  ...testOrganization,
  offers: [
    {
      id: 'tw-erp',
      name: '雲端 ERP',
      publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' },
      type: 'saas',
      categories: ['ERP'],
      countries: ['TW', 'KR'],
      plans: [
        {
          id: 'standard', name: '標準版',
          prices: [
            { term: 'monthly', market: 'TW', currency: 'TWD', price: 900 },
            { term: 'annual', market: 'KR', currency: 'KRW', price: 300000 },
          ],
        },
      ],
    },
  ],
  customers: testOrganization.customers.map((c) => {
    const saas = (id: string, friendlyName: string, term: 'monthly' | 'annual', hours: number) =>
      ({ id, offer: 'marketplace-saas' as const, friendlyName, status: 'active' as const, offerId: 'tw-erp', planId: 'standard', seats: 5, term, purchasedAt: hoursAgo(hours) });
    if (c.tenantId === tenants.taiwanCloud) {
      // Closes in 4 hours; the other closed 6 hours ago.
      return { ...c, subscriptions: [...c.subscriptions, saas('saas-tw-open', '台北 ERP', 'monthly', 20), saas('saas-tw-closed', '高雄 ERP', 'monthly', 30)] };
    }
    if (c.tenantId === tenants.hanbit) {
      // Closes in a day; the other in twelve days.
      return { ...c, subscriptions: [...c.subscriptions, saas('saas-kr-open', '본사 ERP', 'annual', 13 * 24), saas('saas-kr-later', '부산 ERP', 'annual', 48)] };
    }
    return c;
  }),
};

/** Two customer purchases through the purchase intake, a day apart (R-P8). */
async function recordPurchases(db: Database, port: number) {
  const { token } = await createApiToken(db, await testOrgId(db), 'home test intake');
  const purchases = [
    { customer: 'hanbitsoft.example', buyer: { name: '김지수', email: 'jisu.kim@hanbitsoft.example' }, purchasedAt: hoursAgo(30), product: 'Virtual Machines D4s v5' },
    { customer: 'twcloud.example', buyer: { name: '林美玲', email: 'meiling.lin@twcloud.example' }, purchasedAt: hoursAgo(6), product: 'SQL Database vCore' },
  ];
  for (const p of purchases) {
    const response = await fetch(`http://127.0.0.1:${port}/api/v1/purchases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        id: `PO-${randomUUID()}`,
        customer: p.customer,
        kind: 'reservation',
        reservation: { product: p.product, region: 'koreacentral', quantity: 2, term: 'P1Y', scope: 'shared', price: 1234.5, currency: 'USD' },
        buyer: p.buyer,
        purchasedAt: p.purchasedAt,
      }),
    });
    expect(response.status).toBeLessThan(300);
  }
}

/** The request filed last. */
async function lastRequest(db: Database) {
  const [request] = await db.select().from(reservationRequests).orderBy(desc(reservationRequests.createdAt)).limit(1);
  return request!;
}

/** Decisions recorded in the activity log for a reservation's requests: who decided what. */
async function decisionsOn(db: Database, reservation: string) {
  const rows = await db
    .select({ action: activityLog.action, actorName: activityLog.actorName })
    .from(activityLog)
    .where(and(like(activityLog.action, 'request\\_%'), sql`${activityLog.details}->>'reservation' = ${reservation}`))
    .orderBy(activityLog.createdAt);
  return rows.filter((r) => r.action !== 'request_filed');
}

/** Waits until the delivery worker gave up on at least one message (the activity channel refuses every post). */
async function someDeliveryFailed(db: Database) {
  await waitFor('a failed delivery', async () => (await db.select({ id: outbox.id }).from(outbox).where(eq(outbox.status, 'failed')).limit(1)).length > 0, 10_000);
}

/** When a subscription's cancellation window closes, as the reader reads it. */
const closes = (t: ReturnType<typeof translator>, purchasedHoursAgo: number, windowHours: number) =>
  formatTimestamp(t, new Date(Date.parse(hoursAgo(purchasedHoursAgo)) + windowHours * hour));

describe('Slack: the Home tab', () => {
  const approvals = 'C0APPROVAL';
  const customerChannel = 'C0CUSTOMER';
  const activity = 'C0ACTIVITY';
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({
      organizations: [homeOrganization, otherOrganization],
      fakeSlack: { locales: { [users.globalAdmin]: 'ko-KR', [users.salesAgent]: 'zh-TW' } },
    });
    await bot.command(users.globalAdmin, 'settings time-zone Asia/Seoul');
    await bot.command(users.adminAgent, 'channel approvals here', { channel: approvals });
    await bot.command(users.adminAgent, 'channel activity here', { channel: activity });
    // Every post to the activity channel fails for good: those deliveries give up.
    bot.slack.plan('chat.postMessage', Array.from({ length: 30 }, () => ({ status: 200, body: { ok: false, error: 'channel_not_found' }, channel: activity })));
    await recordPurchases(bot.db, bot.bot.port);
    await fileRequest(`request renew ${partnerBought} because 預算已核准 請續約`);
    await someDeliveryFailed(bot.db);
  });
  afterAll(() => bot?.close());

  /** A customer contact's request from the customer's channel, and its card once posted in the approvals channel. */
  async function fileRequest(text: string) {
    await bot.command(users.contact, text, { channel: customerChannel });
    const request = await lastRequest(bot.db);
    const card = await waitFor('the approval card', () =>
      bot.slack.posts().find((p) => p.body.channel === approvals && p.ts && buttons(p.body as SlackReply).some((b) => b.value === request.id)));
    return { request, card };
  }
  const button = (reply: SlackReply | undefined, id: 'approve' | 'reject', requestId: string) =>
    buttons(reply).find((b) => b.action_id.startsWith(`csp:${id}:`) && b.value === requestId)!;
  const cardUpdated = (ts: string, text: string) =>
    waitFor(`the approval card updated with "${text}"`, () =>
      bot.slack.updates().find((u) => u.body.channel === approvals && u.body.ts === ts && replyText(u.body as SlackReply).includes(text)), 10_000);

  it('R-Q2 a global admin reading Korean sees, in order, the request waiting with the channel card\'s Approve and Reject, the windows closing within 48 hours, the latest purchases, failed deliveries and the connector, in Seoul time', async () => {
    const { status, home } = await bot.openHome(users.globalAdmin);
    expect(status).toBe(200);
    const text = replyText(home);
    const t = translator('ko-KR', 'Asia/Seoul');
    expect(text).toContain('csp-ops 홈');
    expect(text).toMatch(/박지훈\(전역 관리자\) 님의 홈, \d{4}년 \d+월 \d+일 \d\d:\d\d \(KST\) 기준\./);
    const order = ['결정을 기다리는 요청: 1건', '預算已核准 請續約', '48시간 안에 종료되는 취소 기간', '최근 고객 구매', '전송 실패', '파트너 센터 커넥터'].map((s) => text.indexOf(s));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // R-M10: soonest first; a window closed already or closing in twelve days is not there.
    expect(text).toContain(`台灣雲端科技股份有限公司 — 台北 ERP(雲端 ERP, 標準版) — 취소 기간 종료: ${closes(t, 20, 24)} — 구독 saas-tw-open`);
    expect(text).toContain(`한빛소프트 주식회사 — 본사 ERP(雲端 ERP, 標準版) — 취소 기간 종료: ${closes(t, 13 * 24, 14 * 24)} — 구독 saas-kr-open`);
    expect(text.indexOf('saas-tw-open')).toBeLessThan(text.indexOf('saas-kr-open'));
    expect(text).not.toContain('saas-tw-closed');
    expect(text).not.toContain('saas-kr-later');
    // The newest purchase first.
    expect(text.indexOf('林美玲')).toBeGreaterThan(0);
    expect(text.indexOf('林美玲')).toBeLessThan(text.indexOf('김지수'));
    expect(text).toContain('구성되지 않음: 고객 구매 권한이 csp-ops에만 저장됩니다.');
    // The same buttons as the card in the approvals channel: action IDs and values, so a click does the same.
    const request = await lastRequest(bot.db);
    const card = bot.slack.posts().find((p) => p.body.channel === approvals && buttons(p.body as SlackReply).some((b) => b.value === request.id))!;
    const shown = (reply: SlackReply | undefined) => buttons(reply).filter((b) => b.value === request.id).map((b) => [b.action_id, b.value]);
    expect(shown(home)).toEqual(shown(card.body as SlackReply));
    expect(shown(home).map(([id]) => id)).toEqual(['csp:approve:0', 'csp:reject:1']);
    expect(buttons(home).map((b) => b.text.text)).toEqual(['승인', '거부', '다시 보내기']);
  });

  it('R-A3 a sales agent reading Traditional Chinese sees the same lists without buttons: deciding and sending again are for admins', async () => {
    const { home } = await bot.openHome(users.salesAgent);
    const text = replyText(home);
    expect(text).toContain('csp-ops 首頁');
    expect(text).toContain('陳怡君（銷售代理人）的首頁');
    expect(text).toContain('等候決定的要求：1 筆');
    expect(text).toContain('由系統管理員代理人或全域管理員決定；您可以在這裡追蹤進度。');
    expect(text).toContain('預算已核准 請續約');
    expect(text).toContain('saas-tw-open');
    expect(text).toContain('林美玲');
    expect(text).toContain('合作夥伴中心連接器');
    expect(buttons(home)).toEqual([]);
  });

  it('R-A1 a customer contact sees their customer\'s requests and how each stands, and nothing of other customers or the partner\'s own lists', async () => {
    const { home } = await bot.openHome(users.contact);
    const text = replyText(home);
    expect(text).toContain('For Dana (customer contact), as of');
    expect(text).toContain('Requests for Contoso Ltd');
    expect(text).toMatch(/renew reservation r1000000-0000-4000-8000-000000000001 for another term — asked by Dana — Waiting for an admin agent or global admin to decide\./);
    for (const hidden of ['한빛소프트', '台灣雲端', '林美玲', 'Latest customer purchases', 'gave up', 'Partner Center connector', 'Cancellation windows']) expect(text).not.toContain(hidden);
    expect(buttons(home)).toEqual([]);
  });

  it('R-A1 R-A5 someone the organization does not know, or a workspace linked to none, gets the notice help gives', async () => {
    const stranger = replyText((await bot.openHome(users.stranger)).home);
    expect(stranger).toContain('You are not registered as partner staff or a customer contact of this organization, so only help is available. Ask an admin to add you.');
    expect(stranger).not.toContain('Contoso');
    const unlinked = await bot.openHome(users.adminAgent, { team: 'T0NOLINK01' });
    expect(replyText(unlinked.home)).toContain('This workspace (team T0NOLINK01) is not linked to a partner organization, so only help is available.');
    expect(buttons(unlinked.home)).toEqual([]);
  });

  it('R-Q3 Approve in the Home tab decides once: the tab shows the outcome, the channel card is updated, and a click on the card is told privately that it was decided', async () => {
    const { request, card } = await fileRequest(`request renew ${customerBought} because 연장 부탁드립니다`);
    const { home } = await bot.openHome(users.adminAgent);
    const clicked = await bot.clickInHome(users.adminAgent, button(home, 'approve', request.id));
    expect(clicked.status).toBe(200);
    const after = replyText(clicked.home);
    // The outcome first, then the home as it is now: this request no longer waits.
    expect(after).toMatch(/as of [^\n]+\.\nRequest: renew reservation r1000000-0000-4000-8000-000000000002 for another term\n[\s\S]*Approved by 王小明 at/);
    expect(buttons(clicked.home).filter((b) => b.value === request.id)).toEqual([]);
    const updated = await cardUpdated(card.ts!, 'Approved by 王小明');
    expect(buttons(updated.body as SlackReply)).toEqual([]);

    const late = await unchanged(bot.db, () => bot.click(users.globalAdmin, button(card.body as SlackReply, 'approve', request.id), { messageTs: card.ts, channel: approvals }));
    expect([late.reply?.response_type, late.reply?.replace_original]).toEqual(['ephemeral', false]);
    expect(replyText(late.reply)).toContain('이 요청은 이미 결정되었습니다. 변경된 내용은 없습니다.');
    expect(await decisionsOn(bot.db, customerBought)).toEqual([{ action: 'request_approved', actorName: '王小明' }]);
  });

  it('R-Q3 a click in a Home tab published before the card was decided is told so in the tab alone, and changes nothing', async () => {
    const { request, card } = await fileRequest(`request cancel ${customerBought} because 더 이상 필요 없음`);
    const { home: stale } = await bot.openHome(users.adminAgent);
    const decided = await bot.click(users.globalAdmin, button(card.body as SlackReply, 'approve', request.id), { messageTs: card.ts, channel: approvals });
    expect(decided.reply?.replace_original).toBe(true);
    const since = bot.slack.calls.length;
    const late = await unchanged(bot.db, () => bot.clickInHome(users.adminAgent, button(stale, 'approve', request.id)));
    expect(replyText(late.home)).toMatch(/This request was already decided; nothing was changed\.\n[\s\S]*Approved by 박지훈 at/);
    // Only the clicker's tab was published; no message went anywhere for the click.
    const forTheClick = bot.slack.calls.slice(since).filter((c) => c.method === 'views.publish' || c.method === 'chat.postEphemeral');
    expect(forTheClick.map((c) => [c.method, c.body.user_id])).toEqual([['views.publish', users.adminAgent]]);
    expect(await decisionsOn(bot.db, customerBought)).toEqual([{ action: 'request_approved', actorName: '王小明' }, { action: 'request_approved', actorName: '박지훈' }]);
  });

  it('R-Q2 Reject in the Home tab asks for the reason in the same modal as the card, then shows the rejection there and on the card', async () => {
    const { request, card } = await fileRequest(`request renew ${partnerBought} because 한 번 더 연장`);
    // The card's own Reject, for comparison: it opens the modal and decides nothing.
    const opened = bot.slack.calls.length;
    await bot.post(blockActionBody(users.globalAdmin, button(card.body as SlackReply, 'reject', request.id).action_id, request.id, bot.slack.responseUrl('compare'), { messageTs: card.ts, channel: approvals }));
    const cardModal = (await waitFor('the card\'s modal', () => bot.slack.calls.slice(opened).find((c) => c.method === 'views.open'))).body.view as { blocks: unknown[]; callback_id: string };

    const { home } = await bot.openHome(users.adminAgent);
    const { modal } = await bot.clickInHome(users.adminAgent, button(home, 'reject', request.id));
    expect(modal?.callback_id).toBe('csp:input');
    const inputOf = (blocks: unknown[]) => (blocks as { type: string; block_id?: string }[]).filter((b) => b.type === 'input').map((b) => b.block_id);
    expect(inputOf(modal!.blocks)).toEqual(['reason']);
    expect(inputOf(modal!.blocks)).toEqual(inputOf(cardModal.blocks));
    expect((await lastRequest(bot.db)).status).toBe('pending');

    const { home: after } = await bot.submitInHome(users.adminAgent, modal!, { reason: '다음 분기에 다시 검토' });
    expect(replyText(after)).toMatch(/Rejected by 王小明 at [^\n]*: 다음 분기에 다시 검토/);
    await cardUpdated(card.ts!, '다음 분기에 다시 검토');
    expect((await lastRequest(bot.db)).status).toBe('rejected');
  });

  it('R-Q3 Approve clicked at once in the Home tab and on the card decides once; the other clicker alone is told it was decided', async () => {
    const { request, card } = await fileRequest(`request cancel ${partnerBought} because 동시에 눌렀습니다`);
    const { home } = await bot.openHome(users.adminAgent);
    const [fromHome, fromCard] = await Promise.all([
      bot.clickInHome(users.adminAgent, button(home, 'approve', request.id)),
      bot.click(users.globalAdmin, button(card.body as SlackReply, 'approve', request.id), { messageTs: card.ts, channel: approvals }),
    ]);
    const won = (await decisionsOn(bot.db, partnerBought)).filter((d) => d.action === 'request_approved');
    expect(won).toHaveLength(1);
    const homeLost = replyText(fromHome.home).includes('This request was already decided');
    const cardLost = replyText(fromCard.reply).includes('이 요청은 이미 결정되었습니다');
    expect([homeLost, cardLost].filter(Boolean)).toHaveLength(1);
    // The card is replaced only by the click that decided; the late one is ephemeral.
    if (cardLost) expect([fromCard.reply?.response_type, fromCard.reply?.replace_original]).toEqual(['ephemeral', false]);
    else expect(fromCard.reply?.replace_original).toBe(true);
    expect(won[0]!.actorName).toBe(homeLost ? '박지훈' : '王小明');
  });

  it('in a terminal, home prints the same lists as text', async () => {
    const { output, exitCode } = await runCli(bot.db, ['home', '--as', 'xiaoming.wang@partner.example']);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/^csp-ops home\nFor 王小明 \(admin agent\), as of [^\n]+ KST\.\n\nRequests waiting for a decision: 1\n/);
    for (const part of ['Cancellation windows closing in the next 48 hours', 'saas-tw-open', 'Latest customer purchases', '林美玲', 'gave up', 'Partner Center connector']) {
      expect(output).toContain(part);
    }
  });

  it('the contact\'s Home tab then shows each outcome', async () => {
    const text = replyText((await bot.openHome(users.contact)).home);
    expect(text).toMatch(/cancel reservation r1000000-0000-4000-8000-000000000002 — asked by Dana — Approved by 박지훈 at/);
    expect(text).toMatch(/Rejected by 王小明 at [^\n]*: 다음 분기에 다시 검토/);
  });
});

describe('Teams: the home card in the personal chat', () => {
  const approvals = '19:approvals@thread.tacv2';
  const customerChannel = '19:customer@thread.tacv2';
  const activity = '19:activity@thread.tacv2';
  const personal = (aad: string) => ({ conversationId: `a:personal-${aad}`, conversationType: 'personal' as const });
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot({ organizations: [homeOrganization, otherOrganization], locales: { [aadUsers.globalAdmin]: 'zh-TW', [aadUsers.salesAgent]: 'ko-KR' } });
    await bot.message(aadUsers.globalAdmin, 'settings time-zone Asia/Taipei', personal(aadUsers.globalAdmin));
    await bot.message(aadUsers.adminAgent, 'channel approvals here', { conversationId: approvals });
    await bot.message(aadUsers.adminAgent, 'channel activity here', { conversationId: activity });
    // Every post to the activity channel is refused for good: those deliveries give up.
    bot.framework.refuse(activity, Array.from({ length: 30 }, () => ({ status: 403 })));
    await recordPurchases(bot.db, bot.bot.port);
    await fileRequest(`request renew ${partnerBought} because 預算已核准 請續約`);
    await someDeliveryFailed(bot.db);
  });
  afterAll(() => bot?.close());

  async function fileRequest(text: string) {
    await bot.message(aadUsers.contact, text, { conversationId: customerChannel });
    const request = await lastRequest(bot.db);
    const card = await waitFor('the approval card', () =>
      bot.framework.calls.find((c) => c.method === 'POST' && c.conversationId === approvals && !c.body.replyToId && JSON.stringify(c.body).includes(request.id)));
    return { request, card };
  }
  /** The person's home card, asked for with `home` in their personal chat; Teams refreshes it for them at once. */
  async function openHome(aad: string) {
    const answer = await bot.message(aad, 'home', personal(aad));
    expect(answer.refresh).toMatchObject({ action: { verb: 'home' }, userIds: [`29:${aad}`] });
    return { card: answer.card!, replyToId: answer.replyToId! };
  }
  const action = (card: AdaptiveCardJson | undefined, verb: string, requestId: string) => cardActions(card).find((a) => a.verb === verb && a.data?.value === requestId)!;
  const click = (aad: string, a: CardAction, replyToId: string, o: Parameters<TeamsTestBot['click']>[3] = {}, inputs: Record<string, string> = {}) => {
    const { value, ...data } = a.data!;
    return bot.click(aad, { verb: a.verb!, value, inputs: { ...data, ...inputs } }, replyToId, o);
  };
  const cardUpdated = (activityId: string, text: string) =>
    waitFor(`the approval card updated with "${text}"`, () =>
      bot.framework.calls.find((c) => c.method === 'PUT' && c.conversationId === approvals && c.activityId === activityId && JSON.stringify(c.body).includes(text)), 10_000);

  it('a personal chat the bot is added to is greeted with the person\'s home card, which refreshes itself for them', async () => {
    const before = bot.framework.calls.length;
    const added = bot.activity('conversationUpdate', aadUsers.adminAgent, { membersAdded: [{ id: `28:${teamsAppId}` }] }, personal(aadUsers.adminAgent));
    expect((await bot.post(added, {})).status).toBe(200);
    const greeting = await waitFor('the home card', () => bot.framework.calls.slice(before).find((c) => c.conversationId === personal(aadUsers.adminAgent).conversationId));
    const card = greeting.body.attachments?.[0]?.content as AdaptiveCardJson;
    expect(cardText(card)).toContain('Requests waiting for a decision: 1');
    expect(card.refresh).toMatchObject({ action: { verb: 'home', data: { value: '' } }, userIds: [`29:${aadUsers.adminAgent}`] });
    // Opened later, the card is built anew: a request filed meanwhile is there.
    await fileRequest(`request scope ${customerBought} shared because 공유 범위로 변경`);
    const refreshed = await bot.refresh(aadUsers.adminAgent, card.refresh!.action, greeting.postedId, personal(aadUsers.adminAgent));
    expect(cardText(refreshed.card)).toContain('Requests waiting for a decision: 2');
    expect(cardText(refreshed.card)).toContain('공유 범위로 변경');
    expect(refreshed.update).toBeUndefined();
  });

  it('R-Q2 a global admin reading Traditional Chinese sees the requests with the card\'s Approve and Reject, the closing windows, purchases, failed deliveries and the connector, in Taipei time', async () => {
    const { card } = await openHome(aadUsers.globalAdmin);
    const text = cardText(card);
    const t = translator('zh-TW', 'Asia/Taipei');
    expect(text).toContain('csp-ops 首頁');
    expect(text).toContain('박지훈（全域管理員）的首頁');
    const order = ['等候決定的要求：2 筆', '預算已核准 請續約', '未來 48 小時內截止的取消期限', '最近的客戶購買', '已放棄傳送', '合作夥伴中心連接器'].map((s) => text.indexOf(s));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(text).toContain(`台灣雲端科技股份有限公司 — 台北 ERP（雲端 ERP，標準版）— 取消期限截止於 ${closes(t, 20, 24)} — 訂用帳戶 saas-tw-open`);
    expect(text).toContain(`한빛소프트 주식회사 — 본사 ERP（雲端 ERP，標準版）— 取消期限截止於 ${closes(t, 13 * 24, 14 * 24)} — 訂用帳戶 saas-kr-open`);
    expect(text).not.toContain('saas-tw-closed');
    expect(text).not.toContain('saas-kr-later');
    expect(text.indexOf('林美玲')).toBeLessThan(text.indexOf('김지수'));
    // The same verbs and values as the approval card's buttons; the home card's also say they were clicked there.
    const request = await lastRequest(bot.db);
    const channelCard = approvalCard(request.id);
    const shown = (c: AdaptiveCardJson | undefined) => cardActions(c).filter((a) => a.data?.value === request.id).map((a) => [a.verb, a.data!.value]);
    expect(shown(card)).toEqual(shown(channelCard));
    expect(cardActions(card).filter((a) => a.data?.value === request.id).map((a) => [a.title, a.data!.home])).toEqual([['核准', '1'], ['拒絕', '1']]);
  });

  /** The approval card of a request, as posted in the approvals channel. */
  const approvalCardPost = (requestId: string) =>
    bot.framework.calls.find((c) => c.method === 'POST' && c.conversationId === approvals && !c.body.replyToId && JSON.stringify(c.body).includes(requestId))!;
  const approvalCard = (requestId: string) => approvalCardPost(requestId).body.attachments?.[0]?.content as AdaptiveCardJson;

  it('R-A3 a sales agent reading Korean sees the lists without buttons', async () => {
    const { card } = await openHome(aadUsers.salesAgent);
    const text = cardText(card);
    expect(text).toContain('csp-ops 홈');
    expect(text).toContain('결정은 관리 에이전트 또는 전역 관리자가 합니다.');
    expect(text).toContain('預算已核准 請續約');
    expect(text).toContain('saas-kr-open');
    expect(cardActions(card)).toEqual([]);
  });

  it('R-A1 a customer contact sees their customer\'s requests; an unknown person and an unlinked tenant get the notice help gives', async () => {
    const contact = cardText((await openHome(aadUsers.contact)).card);
    expect(contact).toContain('Requests for Contoso Ltd');
    expect(contact).toContain('— asked by Dana — Waiting for an admin agent or global admin to decide.');
    for (const hidden of ['한빛소프트', '林美玲', 'Latest customer purchases', 'Partner Center connector']) expect(contact).not.toContain(hidden);
    const stranger = cardText((await openHome(aadUsers.stranger)).card);
    expect(stranger).toContain('You are not registered as partner staff or a customer contact of this organization, so only help is available.');
    const otherTenant = 'c0ffee00-0000-4000-8000-0000000000ff';
    const unlinked = await bot.message(aadUsers.adminAgent, 'home', { ...personal(aadUsers.adminAgent), tenantId: otherTenant });
    expect(cardText(unlinked.card)).toContain(`This Microsoft tenant (${otherTenant}) is not linked to a partner organization, so only help is available.`);
  });

  it('R-Q3 Approve in the home card decides once: the home card shows the outcome, the channel card is updated, and a click on it is told privately that it was decided', async () => {
    const { request, card } = await fileRequest(`request renew ${customerBought} because 연장 부탁드립니다`);
    const home = await openHome(aadUsers.adminAgent);
    const clicked = await click(aadUsers.adminAgent, action(home.card, 'approve', request.id), home.replyToId, personal(aadUsers.adminAgent));
    const after = cardText(clicked.card);
    expect(after).toMatch(/Request: renew reservation r1000000-0000-4000-8000-000000000002 for another term\n[\s\S]*Approved by 王小明 at/);
    expect(cardActions(clicked.card).filter((a) => a.data?.value === request.id)).toEqual([]);
    expect(clicked.card?.refresh?.action.verb).toBe('home');
    // The home card is the clicker's: nothing is updated for anyone there.
    expect(clicked.update).toBeUndefined();
    await cardUpdated(card.postedId, 'Approved by 王小明');

    const late = await unchanged(bot.db, () => click(aadUsers.globalAdmin, action(card.body.attachments?.[0]?.content as AdaptiveCardJson, 'approve', request.id), card.postedId, { conversationId: approvals }));
    expect(late.message).toContain('此要求已有決定；未做任何變更。');
    expect(late.update).toBeUndefined();
    expect(await decisionsOn(bot.db, customerBought)).toEqual([{ action: 'request_approved', actorName: '王小明' }]);
  });

  it('R-Q2 Reject in the home card asks for the reason on the card, as the approval card does, then shows the rejection', async () => {
    const { request, card } = await fileRequest(`request renew ${partnerBought} because 한 번 더 연장`);
    const home = await openHome(aadUsers.adminAgent);
    const prompt = await click(aadUsers.adminAgent, action(home.card, 'reject', request.id), home.replyToId, personal(aadUsers.adminAgent));
    const input = prompt.card?.body?.find((b) => b.type === 'Input.Text') as { id?: string } | undefined;
    expect(input?.id).toBe('reason');
    const confirm = action(prompt.card, 'reject-confirm', request.id);
    expect(confirm.data?.home).toBe('1');
    // The approval card's Reject asks the same.
    const channelPrompt = await click(aadUsers.globalAdmin, action(card.body.attachments?.[0]?.content as AdaptiveCardJson, 'reject', request.id), card.postedId, { conversationId: approvals });
    expect((channelPrompt.card?.body?.find((b) => b.type === 'Input.Text') as { id?: string } | undefined)?.id).toBe('reason');
    expect((await lastRequest(bot.db)).status).toBe('pending');

    const rejected = await click(aadUsers.adminAgent, confirm, home.replyToId, personal(aadUsers.adminAgent), { reason: '下一季再評估' });
    expect(cardText(rejected.card)).toMatch(/Rejected by 王小明 at [^\n]*: 下一季再評估/);
    expect(rejected.card?.refresh?.action.verb).toBe('home');
    await cardUpdated(card.postedId, '下一季再評估');
    expect((await lastRequest(bot.db)).status).toBe('rejected');
  });

  it('R-Q3 home asked in a channel is the asker\'s own answer: Approve in it changes their answer, never the message everyone sees', async () => {
    const ops = { conversationId: '19:ops@thread.tacv2' };
    const asked = await bot.message(aadUsers.adminAgent, 'home', ops);
    expect(cardText(asked.sharedCard)).toContain('asked csp-ops: home');
    const [waiting] = await bot.db.select().from(reservationRequests).where(and(eq(reservationRequests.status, 'pending'), eq(reservationRequests.kind, 'scope')));
    const approve = action(asked.card, 'approve', waiting!.id);
    expect(approve.data?.view).toBeTruthy();
    const clicked = await click(aadUsers.adminAgent, approve, asked.replyToId!, ops);
    expect(cardText(clicked.card)).toMatch(/Approved by 王小明 at/);
    expect(clicked.update).toBeUndefined();
    await cardUpdated(approvalCardPost(waiting!.id).postedId, 'Approved by 王小明');
  });
});
