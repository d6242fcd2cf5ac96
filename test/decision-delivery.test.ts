import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox, reservationRequests } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { remindPendingRequests } from '../src/core/request-messages.js';
import type { DatabaseHandle } from '../db/client.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { onPostgres, openTestDatabase, secondConnection } from './helpers/database.js';
import { directMessageChannel, startFakeSlack, type FakeSlack, type RecordedCall } from './helpers/fake-slack.js';
import { aadUsers, otherOrganization, teamsTenantId, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { cardActions, cardText, newConversation, startTeamsTestBot, type AdaptiveCardJson, type ConnectorCall, type TeamsTestBot } from './helpers/teams.js';
import type { Database } from '../db/client.js';
import { waitFor } from './helpers/wait.js';

// R-Q5: whatever decides a request, every posted copy of its card shows the
// decision without buttons, and the requester hears it where they can read it.

const partnerBought = 'r1000000-0000-4000-8000-000000000001';
const hour = 3_600_000;

/** The request filed last. */
async function lastRequest(db: Database) {
  const [request] = await db.select().from(reservationRequests).orderBy(desc(reservationRequests.createdAt)).limit(1);
  return request!;
}

/** The outbox rows of one kind for a request, once none of them waits any more. */
async function settled(db: Database, kind: 'requestCard' | 'refreshRequestCard' | 'decisionNotice', requestId: string, count = 1) {
  const rows = () =>
    db
      .select()
      .from(outbox)
      .where(and(sql`${outbox.message}->>${kind} = ${requestId}`, inArray(outbox.status, ['sent', 'failed'])))
      .orderBy(outbox.id);
  // A busy approvals channel gets about one message a second (the outbox's pacing), so this may take a while.
  return waitFor(
    `${count} ${kind} of ${requestId} delivered or given up`,
    async () => {
      const found = await rows();
      return found.length >= count && found;
    },
    30_000,
  );
}

/** A request a little over a day old, reminded once: its card then has a second copy in the approvals channel. */
async function remind(db: Database, requestId: string) {
  await db.update(reservationRequests).set({ createdAt: new Date(Date.now() - 25 * hour), lastRemindedAt: null }).where(eq(reservationRequests.id, requestId));
  expect(await remindPendingRequests(db, new Date())).toBeGreaterThanOrEqual(1);
  return settled(db, 'requestCard', requestId, 2);
}

describe('Slack: a decision reaches every copy of the card and the requester (R-Q5)', () => {
  const approvals = 'C0APPROVAL';
  const customerChannel = 'C0CUSTOMER';
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot();
    await bot.command(users.globalAdmin, 'channel approvals here', { channel: approvals });
  });
  afterAll(() => bot?.close());

  const updatesOf = (ts: string) => bot.slack.updates().filter((u) => u.body.channel === approvals && u.body.ts === ts);
  const postWithTs = (ts: string | null) => bot.slack.posts().find((p) => p.ts === ts)!;

  /** Waits until each copy was updated to show this outcome, and returns the updates. */
  async function updatedCopies(copies: { postedMessageId: string | null }[], outcome: string) {
    return waitFor(`${copies.length} copies updated with "${outcome}"`, () => {
      const updates = copies.map((c) => updatesOf(c.postedMessageId!).find((u) => replyText(u.body as SlackReply).includes(outcome)));
      return updates.every(Boolean) && (updates as RecordedCall[]);
    }, 30_000);
  }

  it('R-Q5 a typed approve updates the approvals copy and the reminder copy (chat.update, no buttons); the requester is told in the channel they asked in', async () => {
    await bot.command(users.contact, `request renew ${partnerBought} because 預算已核准 請續約`, { channel: customerChannel });
    const request = await lastRequest(bot.db);
    expect([request.requestedByUserId, request.requestedChannelId]).toEqual([users.contact, customerChannel]);
    const copies = await remind(bot.db, request.id);
    expect(copies.map((c) => c.channelId)).toEqual([approvals, approvals]);
    for (const copy of copies) expect(buttons(postWithTs(copy.postedMessageId).body as SlackReply).map((b) => b.text.text)).toEqual(['Approve', 'Reject']);

    const typed = await bot.command(users.adminAgent, `approve ${request.id.slice(0, 8)}`, { channel: approvals });
    expect(replyText(typed.reply)).toMatch(/Approved by 王小明 at/);
    const updates = await updatedCopies(copies, 'Approved by 王小明');
    for (const update of updates) {
      expect(buttons(update.body as SlackReply)).toEqual([]);
      expect(replyText(update.body as SlackReply)).toContain('預算已核准 請續約');
    }
    const [notice] = await settled(bot.db, 'decisionNotice', request.id);
    expect([notice!.status, notice!.channelId, notice!.postedChannelId]).toEqual(['sent', customerChannel, null]);
    const told = postWithTs(notice!.postedMessageId);
    expect(told.body.channel).toBe(customerChannel);
    expect(replyText(told.body as SlackReply)).toMatch(/Request: renew reservation r1000000[\s\S]*Approved by 王小明 at/);
    expect(buttons(told.body as SlackReply)).toEqual([]);
  });

  it('R-Q3 R-Q5 a click on the reminder copy updates the first copy as well', async () => {
    await bot.command(users.contact, `request renew ${partnerBought} because 연장 부탁드립니다`, { channel: customerChannel });
    const request = await lastRequest(bot.db);
    const [first, reminder] = await remind(bot.db, request.id);
    const reject = buttons(postWithTs(reminder!.postedMessageId).body as SlackReply).find((b) => b.text.text === 'Reject')!;
    const { reply } = await bot.clickAndSubmit(users.globalAdmin, reject, { reason: '下一季再評估' });
    expect(replyText(reply)).toMatch(/Rejected by 박지훈 at .*: 下一季再評估/);
    const [update] = await updatedCopies([first!], '下一季再評估');
    expect(buttons(update!.body as SlackReply)).toEqual([]);
    expect(replyText(update!.body as SlackReply)).toContain('연장 부탁드립니다');
  });

  it('R-Q5 a copy still waiting when the decision commits is posted already decided, and is not left with buttons', async () => {
    // The card's first post fails with a 500, so it is still waiting (backing off) when the request is decided.
    bot.slack.plan('chat.postMessage', [{ status: 500, body: { ok: false, error: 'internal_error' }, channel: approvals }]);
    await bot.command(users.contact, `request renew ${partnerBought}`, { channel: customerChannel });
    const request = await lastRequest(bot.db);
    await waitFor('the failed first try', async () => {
      const [card] = await bot.db.select().from(outbox).where(sql`${outbox.message}->>'requestCard' = ${request.id}`);
      return card!.attempts === 1 && card!.status === 'pending';
    });
    await bot.command(users.adminAgent, `reject ${request.id.slice(0, 8)} 이미 갱신됨`, { channel: approvals });
    const [card] = await settled(bot.db, 'requestCard', request.id);
    const posted = postWithTs(card!.postedMessageId);
    expect(replyText(posted.body as SlackReply)).toContain('Rejected by 王小明');
    expect(buttons(posted.body as SlackReply)).toEqual([]);
    const [refresh] = await settled(bot.db, 'refreshRequestCard', request.id);
    expect(refresh!.status).toBe('sent');
    expect(updatesOf(card!.postedMessageId!).every((u) => buttons(u.body as SlackReply).length === 0)).toBe(true);
  });

  it('R-Q5 a request typed in a DM the bot is not in is told by conversations.open and a DM', async () => {
    const humanDm = 'D0HUMANDM1';
    await bot.command(users.contact, `request renew ${partnerBought} because 請盡快處理`, { channel: humanDm });
    const request = await lastRequest(bot.db);
    bot.slack.plan('chat.postMessage', [{ status: 200, body: { ok: false, error: 'channel_not_found' }, channel: humanDm }]);
    await bot.command(users.adminAgent, `approve ${request.id.slice(0, 8)}`, { channel: approvals });
    const [notice] = await settled(bot.db, 'decisionNotice', request.id);
    const dm = directMessageChannel(users.contact);
    expect([notice!.status, notice!.channelId, notice!.postedChannelId]).toEqual(['sent', humanDm, dm]);
    expect(bot.slack.calls.filter((c) => c.method === 'conversations.open').map((c) => c.body.users)).toContain(users.contact);
    const told = postWithTs(notice!.postedMessageId);
    expect(told.body.channel).toBe(dm);
    expect(replyText(told.body as SlackReply)).toContain('Approved by 王小明');
    expect(replyText(told.body as SlackReply)).toContain('請盡快處理');
  });

  it('R-Q5 R-N3 a notice that reaches neither the channel nor a DM is listed by notify failures with both reasons; retry sends it', async () => {
    const archived = 'C0ARCHIVED';
    await bot.command(users.contact, `request renew ${partnerBought} because 보관된 채널에서 요청`, { channel: archived });
    const request = await lastRequest(bot.db);
    bot.slack.plan('chat.postMessage', [{ status: 200, body: { ok: false, error: 'is_archived' }, channel: archived }]);
    bot.slack.plan('conversations.open', [{ status: 200, body: { ok: false, error: 'user_disabled' } }]);
    await bot.command(users.adminAgent, `reject ${request.id.slice(0, 8)} 채널이 보관됨`, { channel: approvals });
    const [notice] = await settled(bot.db, 'decisionNotice', request.id);
    expect([notice!.status, notice!.attempts]).toEqual(['failed', 1]);

    const failures = replyText((await bot.command(users.globalAdmin, 'notify failures', { channel: approvals })).reply);
    expect(failures).toContain(`the requester's notice of the decision on request ${request.id.slice(0, 8)}`);
    expect(failures).toContain(`Slack error: is_archived in ${archived}; direct message: Slack error: user_disabled`);

    expect(replyText((await bot.command(users.globalAdmin, 'notify failures retry', { channel: approvals })).reply)).toContain('will be sent again now');
    const [retried] = await settled(bot.db, 'decisionNotice', request.id);
    expect(retried!.status).toBe('sent');
    expect(replyText(postWithTs(retried!.postedMessageId).body as SlackReply)).toContain('채널이 보관됨');
  });

  it('R-Q5 a copy that was deleted cannot be updated: notify failures shows Slack\'s reason', async () => {
    await bot.command(users.contact, `request renew ${partnerBought}`, { channel: customerChannel });
    const request = await lastRequest(bot.db);
    await settled(bot.db, 'requestCard', request.id);
    bot.slack.plan('chat.update', [{ status: 200, body: { ok: false, error: 'message_not_found' }, channel: approvals }]);
    await bot.command(users.globalAdmin, `reject ${request.id.slice(0, 8)} 重複的請求`, { channel: approvals });
    const [refresh] = await settled(bot.db, 'refreshRequestCard', request.id);
    expect([refresh!.status, refresh!.lastError]).toEqual(['failed', 'Slack error: message_not_found']);
    const failures = replyText((await bot.command(users.globalAdmin, 'notify failures', { channel: approvals })).reply);
    expect(failures).toContain(`update of the approval cards of request ${request.id.slice(0, 8)} to show its decision`);
    expect(failures).toContain('Slack error: message_not_found');
  });

  it('R-Q5 R-N3 an update refused with 429 waits for Retry-After and is tried again', async () => {
    await bot.command(users.contact, `request renew ${partnerBought} because 請稍後再試`, { channel: customerChannel });
    const request = await lastRequest(bot.db);
    const [card] = await settled(bot.db, 'requestCard', request.id);
    bot.slack.plan('chat.update', [{ status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' }, channel: approvals }]);
    await bot.command(users.adminAgent, `approve ${request.id.slice(0, 8)}`, { channel: approvals });
    const [update] = await updatedCopies([card!], 'Approved by 王小明');
    const refused = bot.slack.calls.find((c) => c.method === 'chat.update' && c.body.ts === card!.postedMessageId && !c.ts)!;
    expect(update!.at - refused.at).toBeGreaterThanOrEqual(1000);
    const [refresh] = await settled(bot.db, 'refreshRequestCard', request.id);
    expect([refresh!.status, refresh!.attempts]).toEqual(['sent', 2]);
  });

  it('R-Q5 a request filed and decided in the terminal updates the Slack card and reaches the requester by DM', async () => {
    const asked = await runCli(bot.db, ['request', 'renew', partnerBought, 'for', 'contoso.com', 'because', '터미널에서', '요청', '--as', 'xiaoming.wang@partner.example']);
    expect(asked.exitCode).toBe(0);
    const request = await lastRequest(bot.db);
    expect([request.requestedPlatform, request.requestedChannelId, request.requestedByUserId]).toEqual(['cli', null, null]);
    const [card] = await settled(bot.db, 'requestCard', request.id);
    const decided = await runCli(bot.db, ['approve', request.id.slice(0, 8), '--as', 'jihoon.park@partner.example']);
    expect(decided.output).toContain('Approved by 박지훈');
    await updatedCopies([card!], 'Approved by 박지훈');
    const [notice] = await settled(bot.db, 'decisionNotice', request.id);
    expect([notice!.status, notice!.channelId, notice!.postedChannelId]).toEqual(['sent', users.adminAgent, directMessageChannel(users.adminAgent)]);
    expect(replyText(postWithTs(notice!.postedMessageId).body as SlackReply)).toContain('터미널에서 요청');
  });
});

describe('Teams: a decision reaches every copy of the card and the requester (R-Q5)', () => {
  const approvals = '19:approvals@thread.tacv2';
  const customerChannel = '19:customer-requests@thread.tacv2';
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot();
    await bot.message(aadUsers.globalAdmin, 'channel approvals here', { conversationId: approvals });
  });
  afterAll(() => bot?.close());

  const cardOf = (call: ConnectorCall) => call.body.attachments?.[0]?.content as AdaptiveCardJson;
  const postedAs = (id: string | null) => bot.framework.calls.find((c) => c.method === 'POST' && c.postedId === id)!;
  const updatesOf = (activityId: string) => bot.framework.calls.filter((c) => c.method === 'PUT' && c.conversationId === approvals && c.activityId === activityId);

  async function updatedCopies(copies: { postedMessageId: string | null }[], outcome: string) {
    return waitFor(`${copies.length} copies updated with "${outcome}"`, () => {
      const updates = copies.map((c) => updatesOf(c.postedMessageId!).find((u) => cardText(cardOf(u)).includes(outcome)));
      return updates.every(Boolean) && (updates as ConnectorCall[]);
    }, 30_000);
  }

  it('R-Q5 a typed approve updates the approvals copy and the reminder copy (activity PUT, no buttons); the requester is told in the conversation they asked in', async () => {
    await bot.message(aadUsers.contact, `request renew ${partnerBought} because 預算已核准 請續約`, { conversationId: customerChannel });
    const request = await lastRequest(bot.db);
    expect([request.requestedByUserId, request.requestedByAadObjectId, request.requestedChannelId]).toEqual([`29:${aadUsers.contact}`, aadUsers.contact, customerChannel]);
    const copies = await remind(bot.db, request.id);
    for (const copy of copies) expect(cardActions(cardOf(postedAs(copy.postedMessageId))).map((a) => a.title)).toEqual(['Approve', 'Reject']);

    const typed = await bot.message(aadUsers.adminAgent, `approve ${request.id.slice(0, 8)}`, { conversationId: approvals });
    expect(cardText(typed.card)).toMatch(/Approved by 王小明 at/);
    for (const update of await updatedCopies(copies, 'Approved by 王小明')) {
      expect(cardActions(cardOf(update))).toEqual([]);
      expect(cardText(cardOf(update))).toContain('預算已核准 請續約');
    }
    const [notice] = await settled(bot.db, 'decisionNotice', request.id);
    expect([notice!.status, notice!.channelId, notice!.postedChannelId]).toEqual(['sent', customerChannel, null]);
    const told = postedAs(notice!.postedMessageId);
    expect(told.conversationId).toBe(customerChannel);
    expect(cardText(cardOf(told))).toMatch(/Request: renew reservation r1000000[\s\S]*Approved by 王小明 at/);
  });

  it('R-Q3 R-Q5 a click on the reminder copy updates the first copy as well', async () => {
    await bot.message(aadUsers.contact, `request renew ${partnerBought} because 연장 부탁드립니다`, { conversationId: customerChannel });
    const request = await lastRequest(bot.db);
    const [first, reminder] = await remind(bot.db, request.id);
    const clicked = await bot.click(aadUsers.globalAdmin, { verb: 'approve', value: request.id }, reminder!.postedMessageId!, { conversationId: approvals });
    expect(cardText(clicked.card)).toMatch(/Approved by 박지훈 at/);
    const [update] = await updatedCopies([first!], 'Approved by 박지훈');
    expect(cardActions(cardOf(update!))).toEqual([]);
    expect(cardText(cardOf(update!))).toContain('연장 부탁드립니다');
  });

  for (const status of [403, 404]) {
    it(`R-Q5 when the conversation the request came from answers ${status}, the notice goes to a personal chat created for the requester`, async () => {
      const groupChat = `19:group-${status}@unq.gbl.spaces`;
      await bot.message(aadUsers.contact, `request renew ${partnerBought} because 群組聊天 ${status}`, { conversationId: groupChat, conversationType: 'groupChat' });
      const request = await lastRequest(bot.db);
      bot.framework.refuse(groupChat, [{ status }]);
      await bot.message(aadUsers.adminAgent, `reject ${request.id.slice(0, 8)} 請改用新的訂閱`, { conversationId: approvals });
      const [notice] = await settled(bot.db, 'decisionNotice', request.id);
      const created = bot.framework.calls.filter((c) => c.path === '/v3/conversations').at(-1)! as ConnectorCall & { body: Record<string, unknown> };
      expect(created.body).toMatchObject({ isGroup: false, tenantId: teamsTenantId, members: [{ id: `29:${aadUsers.contact}`, aadObjectId: aadUsers.contact }] });
      expect([notice!.status, notice!.channelId, notice!.postedChannelId]).toEqual(['sent', groupChat, created.conversationId]);
      const told = postedAs(notice!.postedMessageId);
      expect(told.conversationId).toBe(created.conversationId);
      expect(cardText(cardOf(told))).toMatch(/Rejected by 王小明 at .*: 請改用新的訂閱/);
    });
  }

  it('R-Q5 R-N3 a notice that reaches neither the conversation nor a personal chat is listed by notify failures with both reasons', async () => {
    const groupChat = '19:group-gone@unq.gbl.spaces';
    await bot.message(aadUsers.contact, `request renew ${partnerBought} because 그룹 채팅`, { conversationId: groupChat, conversationType: 'groupChat' });
    const request = await lastRequest(bot.db);
    bot.framework.refuse(groupChat, [{ status: 403 }]);
    bot.framework.refuse(newConversation, [{ status: 403 }]);
    await bot.message(aadUsers.adminAgent, `reject ${request.id.slice(0, 8)} 채팅방이 없어짐`, { conversationId: approvals });
    const [notice] = await settled(bot.db, 'decisionNotice', request.id);
    expect(notice!.status).toBe('failed');
    const failures = cardText((await bot.message(aadUsers.globalAdmin, 'notify failures', { conversationId: approvals })).card);
    expect(failures).toContain(`the requester's notice of the decision on request ${request.id.slice(0, 8)}`);
    expect(failures).toContain(`Teams answered HTTP 403 in ${groupChat}; personal chat: Teams answered HTTP 403`);
  });

  it('R-Q5 a copy that was deleted cannot be updated: notify failures shows the 404', async () => {
    await bot.message(aadUsers.contact, `request renew ${partnerBought}`, { conversationId: customerChannel });
    const request = await lastRequest(bot.db);
    await settled(bot.db, 'requestCard', request.id);
    bot.framework.refuse(approvals, [{ status: 404, method: 'PUT' }]);
    await bot.message(aadUsers.globalAdmin, `reject ${request.id.slice(0, 8)} 重複的請求`, { conversationId: approvals });
    const [refresh] = await settled(bot.db, 'refreshRequestCard', request.id);
    expect([refresh!.status, refresh!.lastError]).toEqual(['failed', 'Teams answered HTTP 404']);
    const failures = cardText((await bot.message(aadUsers.globalAdmin, 'notify failures', { conversationId: approvals })).card);
    expect(failures).toContain(`update of the approval cards of request ${request.id.slice(0, 8)} to show its decision`);
  });
});

// Two app instances on one database (each with its own pool on PostgreSQL; PGlite allows one
// process per database, so there they share the handle) posting to one Slack workspace.
describe(`R-Q5 a card on its way to Slack while the request is decided (${onPostgres ? 'PostgreSQL, two instances' : 'PGlite, two instances'})`, () => {
  const approvals = 'C0APPROVAL';
  let database: DatabaseHandle;
  let second: DatabaseHandle;
  let slack: FakeSlack;
  let instances: TestBot[];
  beforeAll(async () => {
    database = await openTestDatabase();
    for (const file of [testOrganization, otherOrganization]) await importOrganization(database.db, parseImportFile(file));
    second = await secondConnection(database);
    // Every Web API call takes a while, so the decision commits while the card is being posted.
    slack = await startFakeSlack({ delayMs: 300 });
    instances = [await startTestBot({ database, slack }), await startTestBot({ database: second, slack })];
  });
  afterAll(async () => {
    for (const instance of instances ?? []) await instance.close();
    await slack?.close();
    if (second !== database) await second?.close();
    await database?.close();
  });

  it('R-Q5 the copy rendered with buttons just before the decision committed is updated without them afterwards', async () => {
    const [one, two] = instances as [TestBot, TestBot];
    await one.command(users.globalAdmin, 'channel approvals here', { channel: approvals });
    await one.command(users.contact, `request renew ${partnerBought} because 동시에 게시됨`, { channel: 'C0CUSTOMER' });
    const request = await lastRequest(database.db);
    const inFlight = await waitFor('the card on its way to Slack', () =>
      slack.arrived.find((c) => c.method === 'chat.postMessage' && c.body.channel === approvals && JSON.stringify(c.body).includes(request.id)),
    );
    expect(buttons(inFlight.body as SlackReply).map((b) => b.text.text)).toEqual(['Approve', 'Reject']);

    await two.command(users.adminAgent, `approve ${request.id.slice(0, 8)}`, { channel: approvals });
    const [card] = await settled(database.db, 'requestCard', request.id);
    const [refresh] = await settled(database.db, 'refreshRequestCard', request.id);
    expect([card!.status, refresh!.status]).toEqual(['sent', 'sent']);
    const last = slack.updates().filter((u) => u.body.channel === approvals && u.body.ts === card!.postedMessageId).at(-1);
    expect(buttons(last?.body as SlackReply)).toEqual([]);
    expect(replyText(last?.body as SlackReply)).toContain('Approved by 王小明');
  });
});
