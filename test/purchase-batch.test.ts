import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityLog, outbox, purchases, reservations } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { tenants, users } from './helpers/fixture.js';
import { replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { outboxSettled, snapshot, testOrgId, unchanged } from './helpers/tables.js';

// R-P8, R-N2, R-N3: POST /api/v1/purchases with a JSON array of purchases (a batch), through the real HTTP server.

const channel = 'C0BATCH001';
let p: TestBot;
let orgId: string;
let token: string;

beforeAll(async () => {
  p = await startTestBot();
  orgId = await testOrgId(p.db);
  token = (await createApiToken(p.db, orgId, 'batch intake')).token;
  const subscribed = await p.command(users.adminAgent, 'notify here purchases', { channel });
  expect(replyText(subscribed.reply)).toContain('will now hear about customer purchases for all customers');
});
afterAll(() => p?.close());

const reservation = (overrides: Record<string, unknown> = {}) => ({
  id: `PO-${randomUUID()}`,
  customer: 'hanbitsoft.example',
  kind: 'reservation',
  reservation: { product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 2, term: 'P1Y', scope: 'shared', price: 1234.5, currency: 'USD' },
  buyer: { name: '김지수', email: 'jisu.kim@hanbitsoft.example' },
  purchasedAt: '2026-11-20T01:02:03Z',
  ...overrides,
});
const saas = (overrides: Record<string, unknown> = {}) => ({
  id: `PO-${randomUUID()}`,
  customer: tenants.taiwanCloud,
  kind: 'saas',
  saas: { offerId: 'contoso-analytics', planId: 'pro', seats: 25, term: 'annual', price: 900, currency: 'TWD' },
  buyer: { name: '陳美玲', email: 'meiling.chen@twcloud.example' },
  purchasedAt: '2026-11-21T08:30:00+08:00',
  ...overrides,
});

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${p.origin}/api/v1/purchases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

/** The single form's answer: its status and body. */
async function alone(body: unknown) {
  const response = await post(body);
  return { status: response.status, ...((await response.json()) as object) };
}

type Result = { status: number; purchase?: { id: string; recordedAt: string }; error?: string; problems?: string[] };

async function batch(items: unknown[]): Promise<Result[]> {
  const response = await post(items);
  expect(response.status).toBe(207);
  const { results } = (await response.json()) as { results: Result[] };
  expect(results).toHaveLength(items.length);
  return results;
}

/** Rows added to a table since `before` (snapshot contents). */
const added = (before: string[], after: string[]) => after.filter((row) => !before.includes(row)).map((row) => JSON.parse(row) as Record<string, unknown>);

describe('R-P8 R-N2 the batch form of the purchase intake', () => {
  it('R-P8 R-N2 R-P9 each purchase of a batch is answered on its own, in order; only the good ones are stored and announced', async () => {
    const earlier = reservation({ customer: tenants.busan, buyer: { name: '이서준', email: 'seojun@busan.example' } });
    expect((await post(earlier)).status).toBe(201);
    await outboxSettled(p.db);

    const good = reservation();
    const goodSaas = saas();
    const items = [
      good,
      reservation({ customer: 'nobody.example' }),
      goodSaas,
      reservation({ reservation: { product: '', region: 'koreacentral', quantity: 0, term: 'P2Y', scope: 'single', price: -1, currency: 'dollars' } }),
      42,
      earlier,
      { ...earlier, buyer: { name: '다른 사람', email: 'other@busan.example' } },
      reservation({ id: 'r1000000-0000-4000-8000-000000000001', customer: 'contoso.com' }),
      good,
    ];
    const before = await snapshot(p.db);
    const results = await batch(items);
    const after = await snapshot(p.db);

    expect(results.map((r) => r.status)).toEqual([201, 422, 201, 400, 400, 200, 409, 409, 200]);
    expect(results[0]!.purchase).toMatchObject({ id: good.id, customer: { name: '한빛소프트 주식회사' }, kind: 'reservation', buyer: good.buyer });
    expect(results[2]!.purchase).toMatchObject({ id: goodSaas.id, customer: { name: '台灣雲端科技股份有限公司' }, kind: 'saas', buyer: goodSaas.buyer });
    // A copy later in the same batch meets the first as stored: a repeat of it.
    expect(results[8]).toEqual(results.map((r) => ({ ...r, status: 200 }))[0]);
    expect(results[3]!.problems).toEqual(expect.arrayContaining([expect.stringMatching(/^reservation\.product: /), 'reservation.currency: expected a three-letter currency code such as USD']));
    expect(results[4]!.problems).toEqual([expect.stringMatching(/^\(file\): /)]);

    // Only the two good purchases were stored: their purchase, reservation, activity and one announcement each.
    const newPurchases = added(before.purchases!, after.purchases!);
    expect(newPurchases.map((r) => r.sourceId).sort()).toEqual([good.id, goodSaas.id].sort());
    expect(added(before.reservations!, after.reservations!).map((r) => r.id)).toEqual([good.id]);
    expect(added(before.activityLog!, after.activityLog!).map((r) => [r.actorName, r.action])).toEqual(
      expect.arrayContaining([['김지수', 'customer_purchase_reservation'], ['陳美玲', 'customer_purchase_saas']]),
    );
    expect(added(before.activityLog!, after.activityLog!)).toHaveLength(2);
    const idOf = new Map(newPurchases.map((r) => [r.sourceId, r.id]));
    expect(added(before.outbox!, after.outbox!).map((r) => [r.channelId, r.message])).toEqual([
      [channel, { purchase: idOf.get(good.id) }],
      [channel, { purchase: idOf.get(goodSaas.id) }],
    ]);
    for (const table of ['customers', 'organizations', 'subscriptions', 'notificationSubscriptions', 'apiTokens'] as const) expect(after[table]).toEqual(before[table]);

    // Each answer is the one the purchase gets alone; the recorded ones are now repeats of themselves.
    for (const [i, item] of items.entries()) {
      const single = await alone(item);
      expect(single).toEqual(results[i]!.status === 201 ? { ...results[i], status: 200 } : results[i]);
    }

    await outboxSettled(p.db);
    const posts = p.slack.posts().filter((c) => c.body.channel === channel && c.ts).map((c) => replyText(c.body as SlackReply));
    expect(posts.filter((t) => t.includes(good.id))).toHaveLength(1);
    expect(posts.find((t) => t.includes(good.id))).toContain('김지수 (jisu.kim@hanbitsoft.example)');
    expect(posts.filter((t) => t.includes(goodSaas.id))).toHaveLength(1);
    expect(posts.find((t) => t.includes(goodSaas.id))).toContain('陳美玲 (meiling.chen@twcloud.example)');
    expect(posts.filter((t) => t.includes(earlier.id))).toHaveLength(1);
  });

  it('R-P8 a batch of 500 purchases, far past the single form\'s 64 KB, is recorded whole and announced in order', async () => {
    const items = Array.from({ length: 500 }, (_, i) => (i % 2 ? saas({ buyer: { name: `林志豪 ${i}`, email: `buyer${i}@twcloud.example` } }) : reservation({ buyer: { name: `박민준 ${i}`, email: `buyer${i}@hanbitsoft.example` } })));
    expect(JSON.stringify(items).length).toBeGreaterThan(64 * 1024);
    const results = await batch(items);
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(results.map((r) => r.purchase!.id)).toEqual(items.map((i) => i.id));
    const stored = await p.db.select({ id: purchases.id, sourceId: purchases.sourceId }).from(purchases).where(sql`${purchases.sourceId} = any(${sql.param(items.map((i) => i.id))})`);
    expect(stored).toHaveLength(500);
    const idOf = new Map(stored.map((r) => [r.id, r.sourceId]));
    const queued = await p.db
      .select({ purchase: sql<string>`${outbox.message}->>'purchase'` })
      .from(outbox)
      .where(and(eq(outbox.channelId, channel), sql`${outbox.message}->>'purchase' = any(${sql.param(stored.map((r) => r.id))})`))
      .orderBy(outbox.id);
    expect(queued.map((r) => idOf.get(r.purchase))).toEqual(items.map((i) => i.id));
    expect(await p.db.select().from(reservations).where(sql`${reservations.id} = any(${sql.param(items.filter((i) => i.kind === 'reservation').map((i) => i.id))})`)).toHaveLength(250);
    const logged = await p.db.select({ n: sql<number>`count(*)::int` }).from(activityLog).where(sql`${activityLog.details}->>'order' = any(${sql.param(items.map((i) => i.id))})`);
    expect(logged[0]!.n).toBe(500);
  });

  it('R-P8 a batch of more than 500 purchases, an empty one or a body past 1 MB is refused whole and stores nothing', async () => {
    const tooMany = Array.from({ length: 501 }, () => reservation());
    const refused = await unchanged(p.db, () => post(tooMany));
    expect(refused.status).toBe(413);
    expect(await refused.json()).toEqual({ error: 'The batch holds 501 purchases; send at most 500 a request. Nothing was recorded.' });

    const empty = await unchanged(p.db, () => post([]));
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ error: 'The batch holds no purchase: send 1 to 500 purchases in the array. Nothing was recorded.' });

    const huge = await unchanged(p.db, () => post(`[${' '.repeat(1024 * 1024)}]`));
    expect(huge.status).toBe(413);
    expect(((await huge.json()) as { error: string }).error).toBe('The body is larger than 1048576 bytes. Nothing was recorded.');
  });

  it('R-P8 a batch is refused whole like a single purchase for a missing or wrong token, a wrong content type or a body that is not JSON', async () => {
    const items = [reservation(), saas()];
    const cases: [() => Promise<Response>, number, string][] = [
      [() => post(items, { authorization: '' }), 401, 'Send the organization\'s API token as "Authorization: Bearer <token>"'],
      [() => post(items, { authorization: 'Bearer csp_wrong' }), 401, 'The API token is not valid or was revoked.'],
      [() => post(items, { 'content-type': 'text/plain' }), 415, 'Content-Type: application/json'],
      [() => post('[{"id": "PO-1",'), 400, 'The body is not valid JSON'],
    ];
    for (const [request, status, message] of cases) {
      const response = await unchanged(p.db, request);
      expect(response.status).toBe(status);
      expect(((await response.json()) as { error: string }).error).toContain(message);
    }
  });

  it('R-P8 single purchases sent at once are each answered as if sent alone: one copy recorded (201), its repeats 200, a reused ID 409', async () => {
    const body = saas({ buyer: { name: '張家豪', email: 'jiahao@twcloud.example' } });
    const others = Array.from({ length: 6 }, () => reservation({ customer: tenants.hanbit, buyer: { name: '최예린', email: 'yerin@hanbitsoft.example' } }));
    const sent = [body, ...others, body, body, { ...body, saas: { ...body.saas, seats: 26 } }];
    const answers = await Promise.all(sent.map(async (b) => {
      const response = await post(b);
      return { status: response.status, body: (await response.json()) as Result };
    }));
    const forBody = answers.filter((_, i) => sent[i]!.id === body.id);
    expect(forBody.map((a) => a.status).sort()).toEqual([200, 200, 201, 409].sort());
    expect(answers.filter((_, i) => sent[i]!.id !== body.id).map((a) => a.status)).toEqual(Array(6).fill(201));
    expect(await p.db.select().from(purchases).where(and(eq(purchases.orgId, orgId), eq(purchases.sourceId, body.id)))).toHaveLength(1);
    const [stored] = await p.db.select({ id: purchases.id }).from(purchases).where(eq(purchases.sourceId, body.id));
    expect(await p.db.select().from(outbox).where(sql`${outbox.message}->>'purchase' = ${stored!.id}`)).toHaveLength(1);
  });

  it('R-P8 R-N3 a purchase the database cannot store is answered 500 on its own; the others sent with it are recorded', async () => {
    // The database refuses this buyer's purchases (a trigger standing in for any failure no purchase names).
    await p.db.execute(sql.raw(`
      create function refuse_test_buyer() returns trigger language plpgsql as $$
      begin if new.buyer_name = '김불가' then raise exception 'cannot store this purchase'; end if; return new; end $$`));
    await p.db.execute(sql.raw('create trigger refuse_test_buyer before insert on purchases for each row execute function refuse_test_buyer()'));
    try {
      const unstorable = reservation({ buyer: { name: '김불가', email: 'bulga.kim@hanbitsoft.example' } });
      const good = [saas(), reservation()];
      const results = await batch([good[0], unstorable, good[1]]);
      expect(results.map((r) => r.status)).toEqual([201, 500, 201]);
      expect(results[1]).toEqual({ status: 500, error: 'This purchase could not be stored because of an internal error; it was not recorded. Send it again.' });

      const sentAlone = [saas(), unstorable, reservation()];
      const statuses = await Promise.all(sentAlone.map(async (b) => (await post(b)).status));
      expect(statuses).toEqual([201, 500, 201]);
      const stored = await p.db.select({ sourceId: purchases.sourceId }).from(purchases).where(sql`${purchases.sourceId} = any(${sql.param([...good, ...sentAlone].map((b) => b.id))})`);
      expect(stored.map((r) => r.sourceId).sort()).toEqual([good[0]!.id, good[1]!.id, sentAlone[0]!.id, sentAlone[2]!.id].sort());
    } finally {
      await p.db.execute(sql.raw('drop trigger refuse_test_buyer on purchases'));
      await p.db.execute(sql.raw('drop function refuse_test_buyer()'));
    }
  });

  it('R-P8 text holding a NUL character, which PostgreSQL cannot store, is refused 400 naming its field, alone or in a batch; nothing of it is stored', async () => {
    const withNul = reservation({ buyer: { name: '김\u0000지수', email: 'jisu.kim@hanbitsoft.example' }, reservation: { ...reservation().reservation, product: 'VM\u0000D4s' } });
    const nulProblems = ['reservation.product: expected text without NUL characters (\\u0000)', 'buyer.name: expected text without NUL characters (\\u0000)'];
    const good = saas({ buyer: { name: '林志明', email: 'zhiming@twcloud.example' } });
    const results = await batch([withNul, good]);
    expect(results.map((r) => r.status)).toEqual([400, 201]);
    expect(results[0]!.problems).toEqual(nulProblems);
    const single = await unchanged(p.db, () => alone(withNul));
    expect(single).toEqual({ status: 400, error: 'The purchase is not valid; each problem is listed under "problems". Nothing was recorded.', problems: nulProblems });
    const stored = await p.db.select({ sourceId: purchases.sourceId }).from(purchases).where(sql`${purchases.sourceId} = any(${sql.param([withNul.id, good.id])})`);
    expect(stored.map((r) => r.sourceId)).toEqual([good.id]);
  });

  it('R-P8 a revoked token is refused at the next request', async () => {
    const { id, token: revocable } = await createApiToken(p.db, orgId, 'revoked at once');
    const send = (body: unknown) => fetch(`${p.origin}/api/v1/purchases`, { method: 'POST', headers: { authorization: `Bearer ${revocable}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await send([saas()])).status).toBe(207);
    const revoked = await runCli(p.db, ['api-token', 'revoke', id, '--org', '한빛 클라우드 파트너스']);
    expect(revoked.exitCode, revoked.output).toBe(0);
    const refused = await unchanged(p.db, () => send(saas()));
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe('The API token is not valid or was revoked. Nothing was recorded.');
  });
});
