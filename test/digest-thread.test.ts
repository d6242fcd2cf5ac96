import { randomUUID } from 'node:crypto';
import { and, eq, isNotNull, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../db/schema.js';
import { outboxRenderer } from '../src/commands/purchases.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { slackSender } from '../src/delivery/slack.js';
import { startDeliveryWorker } from '../src/delivery/worker.js';
import { startFakeSlack, type FakeSlack, type RecordedCall } from './helpers/fake-slack.js';
import { aadUsers, tenants, users } from './helpers/fixture.js';
import { replyText, signedHeaders, silentLog, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { outboxSettled, testOrgId } from './helpers/tables.js';
import { cardText, startTeamsTestBot, type AdaptiveCardJson, type ConnectorCall, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

// R-N2 R-N3: a burst of purchases reaches a subscribed channel as a few messages, one of them a
// digest, and every purchase of the digest follows as a reply in its thread, paced like any post.

const customers = [
  { customer: 'hanbitsoft.example', name: '한빛소프트 주식회사' },
  { customer: tenants.taiwanCloud, name: '台灣雲端科技股份有限公司' },
  { customer: tenants.busan, name: '부산해운' },
  { customer: 'contoso.com', name: 'Contoso Ltd' },
];
const buyers = ['김지수', '陳美玲', '이서준', '林志豪'];

function burst(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `PO-${String(i).padStart(2, '0')}-${randomUUID()}`,
    customer: customers[i % customers.length]!.customer,
    kind: 'reservation',
    reservation: { product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 1, term: 'P1Y', scope: 'shared', price: 100 + i, currency: 'USD' },
    buyer: { name: `${buyers[i % buyers.length]} ${i}`, email: `buyer${i}@example.com` },
    purchasedAt: new Date(Date.UTC(2026, 10, 20, 1, 0, i)).toISOString(),
  }));
}

/**
 * Slack answers every post with a fresh ts; `replyFailure.channel` makes the next reply in a thread there fail once,
 * with an error a retry gets past; a channel in `notInChannel` refuses every post as Slack does when the bot was removed.
 */
const replyFailure: { channel?: string } = {};
const notInChannel = new Set<string>();
let ts = 7000;
let slack: FakeSlack;
let bot: TeamsTestBot;
let token: string;

beforeAll(async () => {
  slack = await startFakeSlack({
    // Slack's own limit, enforced: about one message per second per channel, bursts of three.
    channelLimit: { perSecond: 1, burst: 3 },
    answers: {
      'chat.postMessage': (body) => {
        if (notInChannel.has(String(body.channel))) return { ok: false, error: 'not_in_channel' };
        if (body.thread_ts && body.channel === replyFailure.channel) {
          delete replyFailure.channel;
          return { ok: false, error: 'internal_error' };
        }
        return { ok: true, channel: body.channel, ts: `${++ts}.000300` };
      },
    },
  });
  bot = await startTeamsTestBot({ slackApiUrl: slack.apiUrl });
  token = (await createApiToken(bot.db, await testOrgId(bot.db), 'digest threads')).token;
});
afterAll(async () => {
  await bot?.close();
  await slack?.close();
});

async function send(bodies: object[]) {
  const statuses = await Promise.all(
    bodies.map(async (body) => {
      const response = await fetch(`http://127.0.0.1:${bot.bot.port}/api/v1/purchases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return response.status;
    }),
  );
  expect(statuses.every((s) => s === 201)).toBe(true);
}

async function slackCommand(user: string, text: string, channel: string) {
  const body = slashCommandBody(user, text, slack.responseUrl(randomUUID()), { channel });
  const response = await fetch(`http://127.0.0.1:${bot.bot.port}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
  return replyText((await response.json()) as SlackReply);
}

/** What a Slack message shows (its blocks; its `text` repeats them for notifications). */
const shown = (c: RecordedCall) => replyText({ ...(c.body as SlackReply), text: '' }).trimStart();

/** Every outbox row of the channel sent: the purchases, and the digests the worker made of them. */
function allSent(channelId: string, purchases: number) {
  return waitFor('every purchase and digest sent', async () => {
    const rows = await bot.db.select().from(outbox).where(eq(outbox.channelId, channelId));
    const purchaseRows = rows.filter((r) => 'purchase' in (r.message as object));
    return purchaseRows.length === purchases && rows.every((r) => r.status === 'sent') && rows;
  }, 60_000);
}

/** Posts never less than a second apart, in the channel and its threads alike. */
function expectPaced(at: number[]) {
  const gaps = at.slice(1).map((time, i) => time - at[i]!);
  expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
}

/** How a channel's language writes a digest's count, its "more" line and a reply's range. */
const wording = {
  en: { count: /^(\d+) customer purchases/, more: (n: number) => `…and ${n} more: every purchase is listed in the replies to this message.`, all: 'Every purchase is listed in the replies to this message.', part: (n: number) => new RegExp(`^Purchases 1–\\d+ of ${n}\n`) },
  ko: { count: /^고객 구매 (\d+)건/, more: (n: number) => `…외 ${n}건. 모든 구매 내역은 이 메시지의 답글에 있습니다.`, all: '모든 구매 내역은 이 메시지의 답글에 있습니다.', part: (n: number) => new RegExp(`^구매 1–\\d+ / 전체 ${n}건\n`) },
};

/**
 * Each digest shows its count and first five, and says where the rest are; its thread lists the
 * purchases it folded, numbered 1…n in order, each once. Returns every thread's text.
 */
function expectThreads(language: keyof typeof wording, digests: { text: string; replies: string[] }[]): string {
  const w = wording[language];
  for (const digest of digests) {
    const folded = Number(w.count.exec(digest.text)![1]);
    expect(digest.text).toContain(folded > 5 ? w.more(folded - 5) : w.all);
    expect(digest.replies[0]).toMatch(w.part(folded));
    const numbers = digest.replies.flatMap((t) => [...t.matchAll(/^(\d+)\. /gm)].map((m) => Number(m[1])));
    expect(numbers).toEqual(Array.from({ length: folded }, (_, i) => i + 1));
  }
  return digests.flatMap((d) => d.replies).join('\n');
}

/** The order IDs a message names (a Slack message names them in its text and again in its blocks). */
const ordersIn = (text: string) => [...new Set([...text.matchAll(/PO-\d{2,}-[0-9a-f-]{36}/g)].map((m) => m[0]))];

describe('R-N2 R-N3 a digest names every purchase in its thread (Slack)', () => {
  it('R-N3 a burst of 40 purchases: a few channel messages, the digest\'s thread lists every purchase it folded, pacing kept', async () => {
    const channel = 'C0THREAD01';
    await slackCommand(users.adminAgent, 'notify here purchases', channel);
    const bodies = burst(40);
    await send(bodies);
    const rows = await allSent(channel, 40);

    const posts = slack.posts().filter((c) => c.body.channel === channel && c.ts);
    const inChannel = posts.filter((c) => !c.body.thread_ts);
    const replies = posts.filter((c) => c.body.thread_ts);
    const text = shown;
    const digests = inChannel.filter((c) => /^\d+ customer purchases/.test(text(c)));
    console.log(`R-N3 thread burst (Slack): purchases 40, channel messages ${inChannel.length} (${digests.length} digests), replies ${replies.length}, 429s ${slack.rateLimited()}`);

    // The channel itself stays short: a few messages, the digests with their count, totals and first five.
    expect(inChannel.length).toBeLessThanOrEqual(6);
    expect(digests.length).toBeGreaterThanOrEqual(1);
    for (const digest of digests) expect(text(digest)).toMatch(/Total\W+\$[\d,]+\.\d\d/);

    // Every reply is in a digest's thread, which lists each purchase the digest folded.
    const digestTs = new Set(digests.map((d) => d.ts));
    expect(replies.length).toBeGreaterThanOrEqual(digests.length);
    for (const reply of replies) expect(digestTs.has(reply.body.thread_ts as string)).toBe(true);
    const threadText = expectThreads('en', digests.map((d) => ({ text: text(d), replies: replies.filter((r) => r.body.thread_ts === d.ts).map(text) })));

    // Every purchase is in the channel, alone or in a digest's thread, exactly once, with its customer and buyer.
    const named = [...inChannel.filter((c) => !digestTs.has(c.ts)), ...replies].flatMap((c) => ordersIn(text(c)));
    expect(named.sort()).toEqual(bodies.map((b) => b.id).sort());
    for (const body of bodies.filter((b) => threadText.includes(b.id))) {
      const line = threadText.split('\n').find((l) => l.includes(body.id))!;
      expect(line).toContain(customers.find((c) => c.customer === body.customer)!.name);
      expect(line).toContain(body.buyer.name);
    }

    // Each purchase row names the message that carries it; the digest row names the digest.
    const tsOf = new Map(posts.map((c) => [c.ts!, c]));
    for (const row of rows) {
      const post = tsOf.get(row.postedMessageId!);
      expect(post, `row ${row.id} names a post`).toBeDefined();
      if ('digest' in (row.message as object)) expect(digestTs.has(post!.ts)).toBe(true);
      else if (row.parentId) expect(post!.body.thread_ts).toBe(rows.find((r) => r.id === row.parentId)!.postedMessageId);
    }

    // Pacing: the whole channel, threads included, never saw two posts within a second, so Slack never refused one.
    expectPaced(posts.map((c) => c.at));
    expect(slack.rateLimited()).toBe(0);
    await slackCommand(users.adminAgent, 'notify off', channel);
  }, 90_000);

  it('R-N3 230 purchases waiting at once, more than a turn reads first: one digest, its thread numbering all 230, each once', async () => {
    const channel = 'C0THREAD02';
    await slackCommand(users.adminAgent, 'notify here purchases', channel);
    const bodies = burst(230);
    // One batch: all 230 are waiting when the worker first looks.
    const response = await fetch(`http://127.0.0.1:${bot.bot.port}/api/v1/purchases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(bodies),
    });
    expect(response.status).toBe(207);
    await allSent(channel, 230);

    const posts = slack.posts().filter((c) => c.body.channel === channel && c.ts);
    const digests = posts.filter((c) => !c.body.thread_ts);
    expect(digests.map(shown)).toEqual([expect.stringMatching(/^230 customer purchases/)]);
    const replies = posts.filter((c) => c.body.thread_ts === digests[0]!.ts).map(shown);
    expectThreads('en', [{ text: shown(digests[0]!), replies }]);
    expect(replies.flatMap(ordersIn).sort()).toEqual(bodies.map((b) => b.id).sort());
    expectPaced(posts.map((c) => c.at));
    await slackCommand(users.adminAgent, 'notify off', channel);
  }, 90_000);

});

describe('R-N2 R-N3 a digest names every purchase in its replies (Teams), in the channel\'s language', () => {
  it('R-N3 a burst of 40 purchases: a few channel messages, replies to the digest list each purchase in Korean, pacing kept', async () => {
    const channel = '19:digest-thread@thread.tacv2';
    const teamsCommand = async (text: string) => cardText((await bot.message(aadUsers.adminAgent, text, { conversationId: channel })).card);
    expect(await teamsCommand('notify here purchases')).toContain('will now hear about customer purchases');
    expect(await teamsCommand('channel language ko-KR')).toContain('Korean (한국어)');
    const bodies = burst(40);
    await send(bodies);
    await allSent(channel, 40);

    const text = (c: ConnectorCall) => cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson);
    // The bot's answers to the commands typed there name the typed message (a UUID here); what the worker posts does not.
    const posted = bot.framework.calls.filter((c) => c.method === 'POST' && c.conversationId.startsWith(channel) && !c.body.replyToId?.includes('-'));
    const inChannel = posted.filter((c) => c.conversationId === channel);
    const replies = posted.filter((c) => c.conversationId !== channel);
    const digests = inChannel.filter((c) => wording.ko.count.test(text(c)));
    console.log(`R-N3 thread burst (Teams): purchases 40, channel messages ${inChannel.length} (${digests.length} digests), replies ${replies.length}`);

    expect(inChannel.length).toBeLessThanOrEqual(6);
    expect(digests.length).toBeGreaterThanOrEqual(1);
    for (const digest of digests) expect(text(digest)).toMatch(/합계\W+US\$[\d,]+\.\d\d/);

    // Replies go to the digest's thread (`;messageid=` its ID) and name it as the message they answer.
    const digestIds = new Set(digests.map((d) => d.postedId));
    for (const reply of replies) {
      expect(reply.conversationId).toBe(`${channel};messageid=${reply.body.replyToId}`);
      expect(digestIds.has(reply.body.replyToId!)).toBe(true);
    }
    const thread = expectThreads('ko', digests.map((d) => ({ text: text(d), replies: replies.filter((r) => r.body.replyToId === d.postedId).map(text) })));
    expect(thread).toContain('— 주문 PO-');

    const named = [...inChannel.filter((c) => !digestIds.has(c.postedId)), ...replies].flatMap((c) => ordersIn(text(c)));
    expect(named.sort()).toEqual(bodies.map((b) => b.id).sort());
    for (const name of customers.map((c) => c.name)) expect(thread).toContain(name);

    expectPaced(posted.map((c) => c.at));
    await teamsCommand('notify off');
  }, 90_000);
});

describe('R-N3 a digest that cannot be posted is not lost (Slack)', () => {
  it('R-N3 a digest refused for good fails with its purchases; notify failures lists it, and its retry posts the digest and every reply', async () => {
    const channel = 'C0REFUSED1';
    await slackCommand(users.adminAgent, 'notify here purchases', channel);
    notInChannel.add(channel);
    const bodies = burst(12);
    await send(bodies);
    const failed = await waitFor('every row failed', async () => {
      const rows = await bot.db.select().from(outbox).where(eq(outbox.channelId, channel));
      return rows.filter((r) => 'purchase' in (r.message as object)).length === 12 && rows.every((r) => r.status === 'failed') && rows;
    }, 20_000);
    const digests = failed.filter((r) => 'digest' in (r.message as object));
    expect(digests.length).toBeGreaterThanOrEqual(1);
    expect(failed.filter((r) => r.parentId !== null).every((r) => r.lastError === 'Slack error: not_in_channel')).toBe(true);
    const listed = await slackCommand(users.salesAgent, 'notify failures', channel);
    expect(listed).toContain(`${failed.length} deliveries gave up`);
    expect(listed).toMatch(/this channel — digest of \d+ purchases \(each follows as a reply to it\) — 1 attempt — Slack error: not_in_channel/);

    // The bot is back in the channel: the retry posts every digest again, then each of its purchases in its thread.
    notInChannel.delete(channel);
    expect(await slackCommand(users.globalAdmin, 'notify failures retry', channel)).toContain(`${failed.length} deliveries will be sent again now.`);
    await allSent(channel, 12);
    const posts = slack.posts().filter((c) => c.body.channel === channel && c.ts);
    const digestTs = new Set(posts.filter((c) => wording.en.count.test(shown(c))).map((c) => c.ts));
    const replies = posts.filter((c) => c.body.thread_ts);
    expect(replies.length).toBeGreaterThanOrEqual(1);
    for (const reply of replies) expect(digestTs.has(reply.body.thread_ts as string)).toBe(true);
    const named = posts.filter((c) => !digestTs.has(c.ts)).flatMap((c) => ordersIn(shown(c)));
    expect(named.sort()).toEqual(bodies.map((b) => b.id).sort());
    await slackCommand(users.adminAgent, 'notify off', channel);
  }, 60_000);
});

// Last: it stops the bot's own delivery worker.
describe('R-N3 a digest\'s replies survive a stop (Slack)', () => {
  it('R-N3 a delivery stopped between the digest and its replies: the next worker posts the replies in the digest\'s thread, retrying a failed one', async () => {
    const channel = 'C0RESTART1';
    await slackCommand(users.adminAgent, 'notify here purchases', channel);
    // As if the process were down: purchases are recorded, nothing is posted.
    await outboxSettled(bot.db);
    await bot.bot.worker.stop();
    const bodies = burst(12);
    await send(bodies);
    const worker = () =>
      startDeliveryWorker({ db: bot.db, senders: { slack: slackSender('xoxb-test-token', slack.apiUrl) }, render: outboxRenderer(bot.db), log: silentLog, intervalMs: 20 });

    // The first process posts the digest (more purchases than the channel's bucket) and stops before any reply.
    const first = worker();
    const digestRow = await waitFor('the digest sent', async () => {
      const [row] = await bot.db.select().from(outbox).where(and(eq(outbox.channelId, channel), sql`${outbox.message} ? 'digest'`, eq(outbox.status, 'sent')));
      return row;
    }, 10_000);
    await first.stop();
    const waiting = await bot.db.select().from(outbox).where(and(eq(outbox.channelId, channel), isNotNull(outbox.parentId)));
    expect(waiting).toHaveLength(12);
    expect(waiting.every((r) => r.status === 'pending' && r.parentId === digestRow.id)).toBe(true);
    expect(slack.posts().filter((c) => c.body.channel === channel && c.body.thread_ts)).toEqual([]);

    // After the restart the first reply fails once (Slack's internal_error) and is tried again.
    replyFailure.channel = channel;
    const second = worker();
    try {
      await allSent(channel, 12);
    } finally {
      await second.stop();
    }
    const calls = slack.calls.filter((c) => c.method === 'chat.postMessage' && c.body.channel === channel);
    const replies = calls.filter((c) => c.body.thread_ts);
    expect(replies.every((c) => c.body.thread_ts === digestRow.postedMessageId)).toBe(true);
    expect(replies[0]!.ts).toBeUndefined();
    expect(replies[1]!.at - replies[0]!.at).toBeGreaterThanOrEqual(900);
    const named = replies.filter((c) => c.ts).flatMap((c) => ordersIn(replyText(c.body as SlackReply)));
    expect(named.sort()).toEqual(bodies.map((b) => b.id).sort());
    const rows = await bot.db.select().from(outbox).where(eq(outbox.parentId, digestRow.id));
    expect(rows.every((r) => r.status === 'sent' && r.attempts === 2 && r.lastError === null)).toBe(true);
  }, 60_000);
});
