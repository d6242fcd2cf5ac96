import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityLog, notificationSubscriptions, outbox, purchases, reservations } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { aadUsers, tenants, users } from './helpers/fixture.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { replyText, signedHeaders, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { outboxSettled, testOrgId, unchanged } from './helpers/tables.js';
import { cardText, startTeamsTestBot, type AdaptiveCardJson, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

// R-N1: the notify commands, through the real Slack and Teams adapters alike.
describe.each(platforms)('$name: notify', ({ start }) => {
  const p = usePlatform(start);

  it('R-N1 an admin subscribes this channel to purchases of named customers; anyone on staff lists it', async () => {
    const added = await p.command('adminAgent', 'notify here purchases 한빛소프트, contoso.com');
    expect(added.text).toContain('This channel will now hear about customer purchases for 한빛소프트 주식회사, Contoso Ltd.');
    const again = await unchanged(p.db, () => p.command('globalAdmin', 'notify here purchases 한빛소프트, contoso.com'));
    expect(again.text).toContain('already hears about customer purchases for 한빛소프트 주식회사, Contoso Ltd. Nothing was changed.');
    await p.command('globalAdmin', 'notify here requests,permissions');
    const listed = await p.command('salesAgent', 'notify list');
    expect(listed.text).toContain('this channel: customer purchases (Contoso Ltd, 한빛소프트 주식회사); permission changes (all customers); requests (all customers)');
    const log = await p.command('helpdeskAgent', 'activity');
    expect(log.text).toMatch(/王小明 — Channel \S+ subscribed to purchases/);
  });

  it('R-N1 notify off removes this channel\'s subscriptions, by kind or all', async () => {
    expect((await p.command('adminAgent', 'notify off requests')).text).toContain('will no longer hear about that (1 subscription removed)');
    expect((await p.command('adminAgent', 'notify off purchases contoso.com')).text).toContain('(1 subscription removed)');
    expect((await p.command('salesAgent', 'notify list')).text).toContain('this channel: customer purchases (한빛소프트 주식회사); permission changes (all customers)');
    expect((await p.command('adminAgent', 'notify off')).text).toContain('(2 subscriptions removed)');
    expect((await unchanged(p.db, () => p.command('adminAgent', 'notify off'))).text).toContain('had no such subscription. Nothing was changed.');
    expect((await p.command('salesAgent', 'notify list')).text).toContain('No channel has subscribed yet.');
  });

  it('R-A3 R-N1 only admins manage subscriptions; customer contacts cannot list them; bad input changes nothing', async () => {
    const cases: [Parameters<PlatformDriver['command']>[0], string, string | RegExp][] = [
      ['salesAgent', 'notify here purchases', /Your role is sales agent\. Choosing what a channel is told needs the admin agent or global admin role/],
      ['helpdeskAgent', 'notify off', /Your role is helpdesk agent\./],
      ['contact', 'notify list', 'Only partner staff can run notify list.'],
      ['adminAgent', 'notify', 'notify here <kind…> [customer, customer…]'],
      ['adminAgent', 'notify here', 'Say what this channel should hear'],
      ['adminAgent', 'notify here payments contoso', '"payments" is none of them'],
      ['adminAgent', 'notify here purchases 존재하지않는회사', 'No customer matches "존재하지않는회사"'],
      ['adminAgent', 'notify failures now', 'notify failures [retry]'],
      ['salesAgent', 'notify failures retry', 'Sending failed deliveries again needs the admin agent or global admin role'],
    ];
    for (const [person, text, expected] of cases) {
      const reply = await unchanged(p.db, () => p.command(person, text));
      if (typeof expected === 'string') expect(reply.text).toContain(expected);
      else expect(reply.text).toMatch(expected);
    }
  });
});

const purchase = (overrides: Record<string, unknown> = {}) => ({
  id: `PO-${randomUUID()}`,
  customer: 'hanbitsoft.example',
  kind: 'reservation',
  reservation: { product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 2, term: 'P1Y', scope: 'shared', price: 1234.5, currency: 'USD' },
  buyer: { name: '김지수', email: 'jisu.kim@hanbitsoft.example' },
  purchasedAt: '2026-11-20T01:02:03Z',
  ...overrides,
});

/** One bot with Slack and Teams on, a fake Slack, and an API token for the purchase intake. */
function useIntakeBot(fakeSlack: Parameters<typeof startFakeSlack>[0] = {}) {
  const env = {} as { slack: FakeSlack; bot: TeamsTestBot; token: string };
  beforeAll(async () => {
    env.slack = await startFakeSlack(fakeSlack);
    env.bot = await startTeamsTestBot({ slackApiUrl: env.slack.apiUrl });
    env.token = (await createApiToken(env.bot.db, await testOrgId(env.bot.db), 'test intake')).token;
  });
  afterAll(async () => {
    await env.bot?.close();
    await env.slack?.close();
  });
  return {
    env,
    send: (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${env.bot.bot.port}/api/v1/purchases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${env.token}`, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    /** A signed `/csp` command in a Slack channel; resolves with the reply's text. */
    async slackCommand(user: string, text: string, channel: string) {
      const body = slashCommandBody(user, text, env.slack.responseUrl(randomUUID()), { channel });
      const response = await fetch(`http://127.0.0.1:${env.bot.bot.port}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
      return replyText((await response.json()) as SlackReply);
    },
  };
}

describe('R-N2 R-P9 purchase intake to Slack and Teams channels', () => {
  const intakeBot = useIntakeBot();
  const { env, send } = intakeBot;
  let slack: FakeSlack;
  let bot: TeamsTestBot;
  let intake: string;
  const slackChannel = 'C0PURCHASE1';
  const teamsChannel = '19:purchases@thread.tacv2';
  const slackCommand = (user: string, text: string) => intakeBot.slackCommand(user, text, slackChannel);
  const teamsCommand = async (aad: string, text: string) => cardText((await bot.message(aad, text, { conversationId: teamsChannel })).card);
  const slackPosts = () => slack.posts().filter((c) => c.body.channel === slackChannel && c.ts).map((c) => replyText(c.body as SlackReply));
  const teamsPosts = () =>
    bot.framework.calls
      .filter((c) => c.method === 'POST' && !c.body.replyToId && c.conversationId === teamsChannel)
      .map((c) => cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson));

  beforeAll(() => {
    ({ slack, bot } = env);
    intake = `http://127.0.0.1:${bot.bot.port}/api/v1/purchases`;
  });

  it('R-P8 R-N2 a purchase is announced once in a subscribed Slack channel and a Teams channel, and joins the order history', async () => {
    expect(await slackCommand(users.adminAgent, 'notify here purchases')).toContain('will now hear about customer purchases for all customers');
    expect(await teamsCommand(aadUsers.globalAdmin, 'notify here purchases 한빛소프트')).toContain('for 한빛소프트 주식회사');

    const body = purchase();
    const response = await send(body);
    expect(response.status).toBe(201);
    const answer = (await response.json()) as { purchase: Record<string, unknown> };
    expect(answer.purchase).toMatchObject({
      id: body.id,
      customer: { name: '한빛소프트 주식회사', tenantId: tenants.hanbit, domain: 'hanbitsoft.example' },
      kind: 'reservation',
      reservation: { ...body.reservation, billingPlan: 'upfront' },
      buyer: body.buyer,
      purchasedAt: '2026-11-20T01:02:03.000Z',
    });

    const expected = [
      'Customer purchase: 한빛소프트 주식회사',
      'Azure reservation: 2 × Virtual Machines D4s v5 in koreacentral, 1 year, shared scope',
      '$1,234.50',
      '김지수 (jisu.kim@hanbitsoft.example)',
      '2026-11-20 01:02 UTC',
      body.id,
    ];
    const [inSlack] = await waitFor('the Slack announcement', () => slackPosts().length > 0 && slackPosts());
    const [inTeams] = await waitFor('the Teams announcement', () => teamsPosts().length > 0 && teamsPosts());
    for (const text of expected) {
      expect(inSlack).toContain(text);
      expect(inTeams).toContain(text);
    }

    // A repeat of the same purchase is answered 200 and recorded and announced once.
    const repeat = await send(body);
    expect(repeat.status).toBe(200);
    expect(((await repeat.json()) as { purchase: { id: string } }).purchase.id).toBe(body.id);
    await outboxSettled(bot.db);
    expect(slackPosts()).toHaveLength(1);
    expect(teamsPosts()).toHaveLength(1);
    expect(await bot.db.select().from(purchases)).toHaveLength(1);

    // R-P9: in the order history, the reservations and the activity log.
    expect(await teamsCommand(aadUsers.salesAgent, 'orders 한빛소프트')).toMatch(
      new RegExp(`2026-11-20 01:02 UTC — Virtual Machines D4s v5 in koreacentral, quantity 2 .* bought by the customer — ${body.id}`),
    );
    expect(await slackCommand(users.salesAgent, 'reservations hanbitsoft.example')).toContain('Virtual Machines D4s v5 in koreacentral, quantity 2');
    expect(await slackCommand(users.helpdeskAgent, 'activity 한빛소프트')).toContain(`김지수 — Bought Azure reservation 2 × Virtual Machines D4s v5 in koreacentral (P1Y) for $1,234.50, order ${body.id}`);
  });

  it('R-N1 a channel that subscribed for one customer hears nothing of another; SaaS purchases show their offer, plan and seats', async () => {
    const before = { slack: slackPosts().length, teams: teamsPosts().length };
    const saas = purchase({
      customer: tenants.contoso,
      kind: 'saas',
      reservation: undefined,
      saas: { offerId: 'contoso-analytics', planId: 'pro', seats: 25, term: 'annual', price: 900, currency: 'EUR' },
      buyer: { name: 'Dana', email: 'dana@contoso.com' },
    });
    expect((await send(saas)).status).toBe(201);
    const announced = await waitFor('the Slack announcement', () => slackPosts().length > before.slack && slackPosts().at(-1));
    expect(announced).toContain('SaaS contoso-analytics, plan pro, 25 seats, annual');
    expect(announced).toContain('€900.00');
    await outboxSettled(bot.db);
    expect(teamsPosts()).toHaveLength(before.teams);
    expect(await slackCommand(users.salesAgent, 'orders contoso.com')).toContain(`SaaS contoso-analytics, plan pro, 25 seats, annual — €900.00 — bought by Dana — ${saas.id}`);
  });

  it('R-N1 permission changes and requests reach the channels that subscribed to them, for their customer only', async () => {
    const watch = '19:contoso-watch@thread.tacv2';
    const posted = () =>
      bot.framework.calls
        .filter((c) => c.method === 'POST' && !c.body.replyToId && c.conversationId === watch)
        .map((c) => cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson));
    const added = cardText((await bot.message(aadUsers.adminAgent, 'notify here permissions,requests contoso.com', { conversationId: watch })).card);
    expect(added).toContain('This channel will now hear about permission changes, requests for Contoso Ltd.');

    // From the terminal: no channel of its own, so only the subscribers hear of it.
    expect((await runCli(bot.db, ['allow-reservations', 'contoso.com', '--as', 'xiaoming.wang@partner.example', '--yes'])).exitCode).toBe(0);
    // Its first line says what changed; the guidance for the customer follows (issue 19).
    const announced = await waitFor('the permission announcement', () => posted().find((t) => t.includes('turned on')));
    expect(announced.split('\n')[0]).toBe('王小明 turned on Azure reservation purchases for Contoso Ltd.');
    await runCli(bot.db, ['allow-reservations', 'twcloud.example', '--as', 'xiaoming.wang@partner.example', '--yes']);

    expect(await slackCommand(users.contact, 'request cancel r1000000-0000-4000-8000-000000000001 because 예산 삭감')).toContain('was sent to the partner for approval');
    expect(await waitFor('the request announcement', () => posted().find((t) => t.includes('asked to')))).toMatch(
      /^Dana asked to cancel reservation r1000000-0000-4000-8000-000000000001 of Contoso Ltd \(request [0-9a-f]{8}\)\.$/,
    );
    await outboxSettled(bot.db);
    expect(posted().filter((t) => t.includes('台灣雲端'))).toEqual([]);
  });

  it('R-N3 Teams: a conversation the bot was removed from fails at once; a 429 waits for Retry-After; a 502 is retried', async () => {
    const conversations = { removed: '19:removed@thread.tacv2', limited: '19:limited@thread.tacv2', flaky: '19:flaky@thread.tacv2' };
    for (const id of Object.values(conversations)) await bot.message(aadUsers.adminAgent, 'notify here purchases 부산해운', { conversationId: id });
    bot.framework.refuse(conversations.removed, [{ status: 403 }]);
    bot.framework.refuse(conversations.limited, [{ status: 429, retryAfter: '2' }]);
    bot.framework.refuse(conversations.flaky, [{ status: 502 }]);
    const sentAt = Date.now();
    expect((await send(purchase({ customer: tenants.busan }))).status).toBe(201);
    const rowOf = async (channelId: string) => (await bot.db.select().from(outbox).where(eq(outbox.channelId, channelId)))[0];

    const removed = await waitFor('the refusal', async () => {
      const row = await rowOf(conversations.removed);
      return row?.status === 'failed' && row;
    });
    expect(removed).toMatchObject({ attempts: 1, lastError: 'Teams answered HTTP 403' });
    for (const id of [conversations.limited, conversations.flaky]) {
      const row = await waitFor(`the delivery to ${id}`, async () => {
        const current = await rowOf(id);
        return current?.status === 'sent' && current;
      }, 10_000);
      expect(row.attempts).toBe(2);
    }
    const limitedPost = bot.framework.calls.find((c) => c.conversationId === conversations.limited && c.method === 'POST' && !c.body.replyToId);
    expect(limitedPost).toBeDefined();
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(1900);
  });

  it('R-N3 a wrong request gets a 4xx naming the problem and stores nothing', async () => {
    const stored = purchase();
    expect((await send(stored)).status).toBe(201);
    const cases: [() => Promise<Response>, number, string][] = [
      [() => send(purchase(), { authorization: '' }), 401, 'Send the organization\'s API token as "Authorization: Bearer <token>"'],
      [() => send(purchase(), { authorization: 'Bearer csp_wrong' }), 401, 'The API token is not valid or was revoked.'],
      [() => send(purchase(), { 'content-type': 'text/plain' }), 415, 'Content-Type: application/json'],
      [() => send('{"id": "PO-1",'), 400, 'The body is not valid JSON'],
      [() => send(purchase({ customer: 'nobody.example' })), 422, 'No customer has the tenant ID or domain "nobody.example".'],
      [() => send({ ...stored, buyer: { name: '다른 사람', email: 'other@hanbitsoft.example' } }), 409, `Purchase ${stored.id} was already recorded with different details.`],
      [() => send(purchase({ id: 'r1000000-0000-4000-8000-000000000001', customer: 'contoso.com' })), 409, 'A reservation with ID r1000000-0000-4000-8000-000000000001 already exists'],
      [() => send('x'.repeat(70_000)), 413, 'larger than 65536 bytes'],
      [() => fetch(intake), 405, 'Use POST for /api/v1/purchases.'],
    ];
    for (const [request, status, message] of cases) {
      const response = await unchanged(bot.db, request);
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: string }).error).toContain(message);
    }
    const invalid = await unchanged(bot.db, () =>
      send(purchase({ kind: 'reservation', reservation: { product: '', region: 'koreacentral', quantity: 0, term: 'P2Y', scope: 'single', price: -1, currency: 'dollars' }, purchasedAt: '2099-01-01T00:00:00Z' })),
    );
    expect(invalid.status).toBe(400);
    const { problems } = (await invalid.json()) as { problems: string[] };
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^reservation\.product: /),
        expect.stringMatching(/^reservation\.quantity: /),
        expect.stringMatching(/^reservation\.term: /),
        expect.stringMatching(/^reservation\.price: /),
        'reservation.currency: expected a three-letter currency code such as USD',
        'purchasedAt: expected a time that is not in the future',
      ]),
    );
  });
});

describe('R-N3 pacing, digests and failures (Slack)', () => {
  // Slack's own limit, enforced: about one message per second per channel, bursts of three.
  const intakeBot = useIntakeBot({ channelLimit: { perSecond: 1, burst: 3 } });
  const { env, send } = intakeBot;
  let slack: FakeSlack;
  let bot: TeamsTestBot;
  const channel = 'C0BURST001';
  const slackCommand = (user: string, text: string, channelId = channel) => intakeBot.slackCommand(user, text, channelId);
  const delivered = (channelId: string) => slack.posts().filter((c) => c.body.channel === channelId && c.ts);

  beforeAll(() => {
    ({ slack, bot } = env);
  });

  it('R-N3 a burst of 40 purchases reaches the channel as a few messages, one digest holding the rest (each in its thread), none dropped', async () => {
    await slackCommand(users.adminAgent, 'notify here purchases');
    const customers = ['hanbitsoft.example', 'contoso.com', tenants.busan, tenants.taiwanCloud];
    const bodies = Array.from({ length: 40 }, (_, i) =>
      purchase({ customer: customers[i % 4], reservation: { ...purchase().reservation, quantity: 1, price: 100 + i }, buyer: { name: `구매자 ${i}`, email: `buyer${i}@example.com` } }),
    );
    const statuses = await Promise.all(bodies.map(async (b) => (await send(b)).status));
    expect(statuses.every((s) => s === 201)).toBe(true);

    const rows = await waitFor('every announcement sent', async () => {
      const all = await bot.db.select().from(outbox).where(eq(outbox.channelId, channel));
      const announcements = all.filter((r) => 'purchase' in (r.message as object));
      return announcements.length === 40 && all.every((r) => r.status === 'sent') && announcements;
    }, 30_000);
    // What the channel itself shows; the digests' threads are checked in digest-thread.test.ts.
    const posts = delivered(channel).filter((c) => !c.body.thread_ts);
    const texts = posts.map((c) => replyText(c.body as SlackReply));
    const digests = texts.filter((t) => /^\d+ customer purchases/.test(t));
    console.log(`R-N3 burst: purchases 40, messages ${posts.length}, digests ${digests.length}, 429s ${slack.rateLimited()}`);

    expect(posts.length).toBeLessThanOrEqual(6);
    expect(digests.length).toBeGreaterThanOrEqual(1);
    // Every purchase is carried by exactly one message the channel received: alone, or a reply in a digest's thread.
    const tsOf = new Set(delivered(channel).map((c) => c.ts));
    expect(rows.every((r) => r.postedMessageId && tsOf.has(r.postedMessageId))).toBe(true);
    const counted = texts.reduce((n, t) => n + (Number(/^(\d+) customer purchases/.exec(t)?.[1]) || 1), 0);
    expect(counted).toBe(40);
    const biggest = digests.sort((a, b) => b.length - a.length)[0]!;
    expect(biggest).toMatch(/Total\W+\$[\d,]+\.\d\d/);
    expect(biggest).toContain('Customers');
    if (Number(/^(\d+)/.exec(biggest)![1]) > 5) expect(biggest).toMatch(/…and \d+ more: every purchase is listed in the replies to this message\./);
    // Never two posts to the channel (its threads included) within a second, so Slack never had to refuse one.
    const all = delivered(channel);
    const gaps = all.slice(1).map((c, i) => c.at - all[i]!.at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(900);
    expect(slack.rateLimited()).toBe(0);
  });

  it('R-N3 a 429 with Retry-After is waited out before the next try', async () => {
    await slackCommand(users.adminAgent, 'notify here purchases', 'C0LIMITED1');
    slack.plan('chat.postMessage', [{ status: 429, headers: { 'retry-after': '3' }, body: { ok: false, error: 'ratelimited' }, channel: 'C0LIMITED1' }]);
    expect((await send(purchase({ customer: 'contoso.com' }))).status).toBe(201);
    const attempts = await waitFor('the retry', () => {
      const calls = slack.posts().filter((c) => c.body.channel === 'C0LIMITED1');
      return calls.length >= 2 && calls;
    }, 10_000);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(2900);
    expect(attempts[1]!.ts).toBeDefined();
  });

  it('R-N3 a request that hangs is cut off by the timeout and tried again', async () => {
    await slackCommand(users.adminAgent, 'notify here purchases 부산해운', 'C0HANGING1');
    slack.plan('chat.postMessage', [{ status: 200, hang: true, channel: 'C0HANGING1' }]);
    const body = purchase({ customer: tenants.busan });
    expect((await send(body)).status).toBe(201);
    const row = await waitFor('the delivery after the hang', async () => {
      const [current] = await bot.db.select().from(outbox).where(eq(outbox.channelId, 'C0HANGING1'));
      return current?.status === 'sent' && current;
    }, 30_000);
    expect(row.attempts).toBe(2);
    const calls = slack.posts().filter((c) => c.body.channel === 'C0HANGING1');
    expect(calls).toHaveLength(2);
    // The bot's default timeout is 10 s.
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(9_500);
  }, 40_000);

  it('R-N3 a channel the bot is not in fails at once with Slack\'s error; notify failures lists it and retry sends it', async () => {
    await slackCommand(users.adminAgent, 'notify here purchases 台灣雲端', 'C0NOTIN001');
    slack.plan('chat.postMessage', [{ status: 200, body: { ok: false, error: 'not_in_channel' }, channel: 'C0NOTIN001' }]);
    const body = purchase({ customer: tenants.taiwanCloud, buyer: { name: '林美玲', email: 'meiling@twcloud.example' } });
    expect((await send(body)).status).toBe(201);
    const failed = await waitFor('the failure', async () => {
      const [current] = await bot.db.select().from(outbox).where(eq(outbox.channelId, 'C0NOTIN001'));
      return current?.status === 'failed' && current;
    });
    expect(failed).toMatchObject({ attempts: 1, lastError: 'Slack error: not_in_channel' });

    const listed = await slackCommand(users.salesAgent, 'notify failures');
    expect(listed).toContain('1 delivery gave up');
    expect(listed).toContain(`Slack channel C0NOTIN001 — purchase ${body.id} by 台灣雲端科技股份有限公司 — 1 attempt — Slack error: not_in_channel`);
    const refused = await unchanged(bot.db, () => slackCommand(users.salesAgent, 'notify failures retry'));
    expect(refused).toContain('needs the admin agent or global admin role');

    expect(await slackCommand(users.globalAdmin, 'notify failures retry')).toContain('1 delivery will be sent again now.');
    const sent = await waitFor('the retried delivery', async () => {
      const [current] = await bot.db.select().from(outbox).where(eq(outbox.id, failed.id));
      return current?.status === 'sent' && current;
    });
    expect(sent.postedMessageId).toBe(delivered('C0NOTIN001')[0]!.ts);
    expect(await slackCommand(users.salesAgent, 'notify failures')).toContain('No delivery has failed.');
    const [retried] = await bot.db.select().from(activityLog).where(eq(activityLog.action, 'deliveries_retried'));
    expect(retried).toMatchObject({ actorName: '박지훈', details: { count: '1' } });
    expect(await bot.db.select().from(reservations).where(eq(reservations.id, body.id))).toHaveLength(1);
    expect(await bot.db.select().from(notificationSubscriptions).where(eq(notificationSubscriptions.channelId, 'C0NOTIN001'))).toHaveLength(1);
  });
});
