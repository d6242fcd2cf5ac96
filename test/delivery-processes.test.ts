import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '../db/client.js';
import { customers, notificationSubscriptions, outbox, purchases } from '../db/schema.js';
import { startBot, type Bot } from '../src/bot.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import type { Logger } from '../src/log.js';
import { onPostgres, openFreshPostgres } from './helpers/database.js';
import { announcedIn, startFakeSlack, type FakeSlack, type RecordedCall } from './helpers/fake-slack.js';
import { testOrganization } from './helpers/fixture.js';
import { killBotProcesses, startBotProcess } from './helpers/processes.js';

// R-N3 with real processes: the app (src/main.ts) runs as child processes against
// one database while a fake Slack records every chat.postMessage it answered. The
// database is then compared with what Slack answered: every purchase×channel
// outbox row must be 'sent' and carried by a post Slack answered (else it is lost);
// an answered post that no row points at is a duplicate (posted, never recorded).

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
const allChannel = 'C0ALLPURCH';
const signingSecret = 'test-signing-secret-delivery';

const cleanups: (() => Promise<void> | void)[] = [];

afterAll(async () => {
  killBotProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

// ---------------------------------------------------------------- helpers

async function until<T>(what: string, find: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface Health {
  pending: number;
  failed: number;
}

async function health(port: number): Promise<Health> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await response.json()) as { status: string; deliveries: Health };
  if (!response.ok) throw new Error(`healthz answered ${response.status}: ${JSON.stringify(body)}`);
  return body.deliveries;
}

/** An app instance with an HTTP port: a child process, or (PGlite, test 2) a bot in this process. */
interface App {
  label: string;
  token: string;
  port: number;
  /** Child processes only. */
  child?: ChildProcess;
  output: () => string;
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The app as a child process on this database, posting to this Slack. */
async function startProcess(label: string, token: string, database: { DATABASE_URL: string } | { DATA_DIR: string }, slackApiUrl: string): Promise<App> {
  const env = { ...database, SLACK_SIGNING_SECRET: signingSecret, SLACK_BOT_TOKEN: token, SLACK_API_URL: slackApiUrl, DELIVERY_TIMEOUT_SECONDS: '2', LOG_LEVEL: 'warn' };
  const { port, child, exited, output } = await startBotProcess(label, env, 45_000);
  return { label, token, port, child, output, exited };
}

async function stopProcess(app: App, signal: NodeJS.Signals) {
  app.child!.kill(signal);
  return app.exited!;
}

interface Setup {
  orgId: string;
  token: string;
  /** Tenant ID → the channels a purchase of that customer goes to. */
  channelsOf: Map<string, string[]>;
  tenants: string[];
}

/** The test organization, an intake token, and purchase subscriptions: one channel for all customers, one per customer. */
async function prepare(db: Database): Promise<Setup> {
  const { orgId } = await importOrganization(db, parseImportFile(testOrganization));
  const { token } = await createApiToken(db, orgId, 'delivery-processes');
  const list = await db.select({ id: customers.id, tenantId: customers.tenantId }).from(customers);
  const channelsOf = new Map<string, string[]>();
  const subscriptions: (typeof notificationSubscriptions.$inferInsert)[] = [
    { orgId, platform: 'slack', channelId: allChannel, kind: 'purchases', customerId: null, createdByName: '박지훈' },
  ];
  list.forEach((customer, i) => {
    const channelId = `C0CUST${String(i).padStart(4, '0')}`;
    subscriptions.push({ orgId, platform: 'slack', channelId, kind: 'purchases', customerId: customer.id, createdByName: '王小明' });
    channelsOf.set(customer.tenantId, [allChannel, channelId].sort());
  });
  await db.insert(notificationSubscriptions).values(subscriptions);
  return { orgId, token, channelsOf, tenants: list.map((c) => c.tenantId) };
}

const buyers = [
  { name: '김지수', email: 'jisu.kim@example.com' },
  { name: '陳美玲', email: 'meiling.chen@example.com' },
  { name: '이서준', email: 'seojun.lee@example.com' },
  { name: '林志豪', email: 'zhihao.lin@example.com' },
];

function purchaseBodies(prefix: string, count: number, tenants: string[]) {
  const start = Date.now() - count * 1000;
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}-${String(i).padStart(5, '0')}`,
    customer: tenants[i % tenants.length]!,
    kind: 'reservation',
    reservation: { product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 1 + (i % 3), term: 'P1Y', scope: 'shared', price: 100 + i, currency: 'USD' },
    buyer: buyers[i % buyers.length]!,
    purchasedAt: new Date(start + i * 1000).toISOString(),
  }));
}

/** POSTs every purchase, `inFlight` at a time, spread over the apps' ports; returns the status of each. */
async function sendPurchases(ports: number[], token: string, bodies: object[], inFlight = 16): Promise<number[]> {
  const statuses: number[] = new Array(bodies.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < bodies.length) {
        const i = next++;
        const response = await fetch(`http://127.0.0.1:${ports[i % ports.length]}/api/v1/purchases`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(bodies[i]),
        });
        await response.text();
        statuses[i] = response.status;
      }
    }),
  );
  return statuses;
}

interface Audit {
  purchases: number;
  /** Purchase × channel rows; the digests the worker made of them are not counted. */
  rows: number;
  posts: RecordedCall[];
  /** Rows not sent, or pointing at a ts Slack never answered. */
  lost: number;
  /** Answered posts that no row points at: posted, but never recorded as such. */
  duplicates: RecordedCall[];
  /** Rows carried, by the token of the process that posted them. */
  rowsBy: Map<string, number>;
  postsBy: Map<string, number>;
}

/** Compares the database (after every app stopped) with what the fake Slack answered. */
async function audit(db: Database, slack: FakeSlack, setup: Setup, bodies: { id: string; customer: string }[]): Promise<Audit> {
  const stored = await db.select({ id: purchases.id, sourceId: purchases.sourceId }).from(purchases);
  expect(stored.map((p) => p.sourceId).sort()).toEqual(bodies.map((b) => b.id).sort());
  const sourceOf = new Map(stored.map((p) => [p.id, p.sourceId]));
  const customerOf = new Map(bodies.map((b) => [b.id, b.customer]));

  const rows = await db.select().from(outbox);
  const isDigest = (row: (typeof rows)[number]) => 'digest' in (row.message as object);
  const folded = new Map<number, number>();
  for (const row of rows) if (row.parentId) folded.set(row.parentId, (folded.get(row.parentId) ?? 0) + 1);
  const channelsByPurchase = new Map<string, string[]>();
  for (const row of rows) {
    if (isDigest(row)) continue;
    const purchase = (row.message as { purchase?: string }).purchase;
    expect(purchase, `outbox row ${row.id} is a purchase announcement`).toBeDefined();
    const list = channelsByPurchase.get(purchase!) ?? [];
    list.push(row.channelId);
    channelsByPurchase.set(purchase!, list);
  }
  // Every purchase was queued once to each channel that hears it.
  for (const p of stored) {
    expect(channelsByPurchase.get(p.id)?.sort(), `channels of ${p.sourceId}`).toEqual(setup.channelsOf.get(customerOf.get(p.sourceId)!));
  }

  const posts = slack.posts();
  const answered = new Map<string, RecordedCall>();
  for (const post of posts) {
    expect(post.ts, 'every post was answered ok').toBeDefined();
    expect(answered.has(post.ts!)).toBe(false);
    answered.set(post.ts!, post);
  }
  const carried = new Map<string, typeof rows>();
  let lost = 0;
  for (const row of rows) {
    const post = row.postedMessageId ? answered.get(row.postedMessageId) : undefined;
    if (row.status !== 'sent' || !post) {
      lost += 1;
      continue;
    }
    expect(post.body.channel, `row ${row.id} was posted to its own channel`).toBe(row.channelId);
    if (row.parentId) expect(post.body.thread_ts, `row ${row.id} replies in its digest's thread`).toBe(rows.find((r) => r.id === row.parentId)!.postedMessageId);
    carried.set(post.ts!, [...(carried.get(post.ts!) ?? []), row]);
  }
  const rowsBy = new Map<string, number>();
  const postsBy = new Map<string, number>();
  for (const post of posts) postsBy.set(post.token!, (postsBy.get(post.token!) ?? 0) + 1);
  const duplicates: RecordedCall[] = [];
  for (const post of posts) {
    const its = carried.get(post.ts!);
    if (!its) {
      duplicates.push(post);
      continue;
    }
    // What the message says matches the rows it carried: as many purchases (a digest's, those folded into it), and a single one names its order.
    const purchasesOf = its.filter((r) => !isDigest(r));
    expect(announcedIn(post), `purchases announced in ${post.ts}`).toBe(purchasesOf.length + its.filter(isDigest).reduce((n, r) => n + folded.get(r.id)!, 0));
    if (purchasesOf.length === 1) expect(JSON.stringify(post.body.blocks)).toContain(sourceOf.get((purchasesOf[0]!.message as { purchase: string }).purchase)!);
    rowsBy.set(post.token!, (rowsBy.get(post.token!) ?? 0) + purchasesOf.length);
  }
  return { purchases: stored.length, rows: rows.filter((r) => !isDigest(r)).length, posts, lost, duplicates, rowsBy, postsBy };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- 1. crash and restart

describe(`R-N3 delivery survives SIGKILL of the delivery process (${engine}, child processes)`, () => {
  it('a delivery process killed mid-run and restarted delivers every purchase; duplicates only for posts of the crash instant', async () => {
    const started = Date.now();
    // Each answer of chat.postMessage is stamped; once armed, the first post that arrives kills the
    // process that sent it before Slack's answer reaches it: posted, but never recorded.
    const answeredAt = new Map<string, number>();
    let ts = 5000;
    let victim: App | undefined;
    let armed = false;
    let killedAt = 0;
    const slack = await startFakeSlack({
      delayMs: 40,
      answers: {
        'chat.postMessage': (body) => {
          if (armed && victim && !killedAt) {
            killedAt = Date.now();
            victim.child!.kill('SIGKILL');
          }
          const answer = { ok: true, channel: body.channel, ts: `${++ts}.000200` };
          answeredAt.set(answer.ts, Date.now());
          return answer;
        },
      },
    });
    cleanups.push(() => slack.close());

    let target: { DATABASE_URL: string } | { DATA_DIR: string };
    let setup: Setup;
    /** The database for the audit, once every child stopped. */
    let openForAudit: () => Promise<{ db: Database; close(): Promise<void> }>;
    if (onPostgres) {
      const fresh = await openFreshPostgres(process.env.TEST_DATABASE_URL!, 'csp_crash');
      cleanups.push(() => fresh.close());
      const url = new URL(process.env.TEST_DATABASE_URL!);
      url.pathname = `/${fresh.name}`;
      target = { DATABASE_URL: url.toString() };
      setup = await prepare(fresh.db);
      openForAudit = async () => ({ db: fresh.db, close: async () => {} });
    } else {
      // The child owns the folder while it runs: prepare it, close it, and open it again only after the last child stopped.
      const dataDir = mkdtempSync(join(tmpdir(), 'csp-crash-'));
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
      const prep = await openDatabase({ dataDir });
      setup = await prepare(prep.db);
      await prep.close();
      target = { DATA_DIR: dataDir };
      openForAudit = () => openDatabase({ dataDir });
    }

    const first = await startProcess('first', 'xoxb-first-process', target, slack.apiUrl);
    victim = first;
    const bodies = purchaseBodies('crash', 200, setup.tenants);
    const statuses = await sendPurchases([first.port], setup.token, bodies);
    expect(statuses.filter((s) => s !== 201), 'every purchase recorded (201)').toEqual([]);
    const postsBeforeArming = slack.posts().length;
    const pendingAtArming = (await health(first.port)).pending;
    expect(pendingAtArming, 'delivery still under way when the crash is armed').toBeGreaterThan(0);
    armed = true;
    const death = await Promise.race([first.exited!, sleep(30_000).then(() => undefined)]);
    expect(death, `the first process was killed at a post (${first.output()})`).toEqual({ code: null, signal: 'SIGKILL' });
    const postsAtKill = slack.posts().length;

    const restartStarted = Date.now();
    const second = await startProcess('restarted', 'xoxb-restarted-process', target, slack.apiUrl);
    const restartReady = Date.now() - restartStarted;
    // Channels the dead process held stay leased for DELIVERY_TIMEOUT_SECONDS + 15 s.
    await until(
      'the restarted process to deliver everything',
      async () => {
        const h = await health(second.port);
        return h.pending === 0 && h;
      },
      45_000,
      200,
    );
    const finished = Date.now();
    const { failed } = await health(second.port);
    expect(await stopProcess(second, 'SIGTERM'), second.output()).toEqual({ code: 0, signal: null });

    const audited = await openForAudit();
    let result: Audit;
    try {
      result = await audit(audited.db, slack, setup, bodies);
    } finally {
      await audited.close();
    }

    const byFirst = result.postsBy.get(first.token) ?? 0;
    const bySecond = result.postsBy.get(second.token) ?? 0;
    const window = result.duplicates.map((p) => answeredAt.get(p.ts!)! - killedAt);
    console.log(
      `R-N3 crash (${engine}): purchases ${result.purchases}, outbox rows ${result.rows}, messages posted ${result.posts.length} ` +
        `(${byFirst} before the kill, ${bySecond} after the restart; ${postsBeforeArming} before arming, ${postsAtKill} at the kill, ` +
        `${pendingAtArming} rows pending when armed), lost ${result.lost}, duplicates ${result.duplicates.length} ` +
        `(answered ${window.map((ms) => `${ms >= 0 ? '+' : ''}${ms} ms`).join(', ') || 'none'} from the kill); rows delivered after restart ${result.rowsBy.get(second.token) ?? 0}; ` +
        `restart ready in ${seconds(restartReady)}, delivery done ${seconds(finished - restartStarted)} after restart, test ${seconds(Date.now() - started)}`,
    );
    for (const app of [first, second]) if (app.output().trim()) console.log(`R-N3 crash: output of the ${app.label} process:\n${app.output().trim().slice(0, 2000)}`);

    expect(result.purchases).toBe(200);
    expect(result.rows).toBe(400);
    expect(result.lost).toBe(0);
    expect(failed).toBe(0);
    expect(bySecond, 'the restarted process had work left to do').toBeGreaterThan(0);
    // A duplicate is a post the killed process sent in the instant of the crash: Slack answered it, the process never heard.
    for (const post of result.duplicates) {
      expect(post.token).toBe(first.token);
      expect(answeredAt.get(post.ts!)! - killedAt).toBeGreaterThanOrEqual(-1000);
    }
    // A channel has one poster at a time, so the crash instant holds at most one post per channel.
    const duplicateChannels = result.duplicates.map((p) => String(p.body.channel));
    expect(new Set(duplicateChannels).size).toBe(duplicateChannels.length);
    expect(result.duplicates.length).toBeLessThanOrEqual(setup.channelsOf.size + 1);
    if (!onPostgres) console.log(`R-N3 crash (PGlite): the SIGKILLed data folder reopened in the restarted process and again in the test, with all ${result.purchases} committed purchases and ${result.rows} outbox rows.`);
  }, 120_000);
});

// ---------------------------------------------------------------- 2. two app instances

describe(
  onPostgres
    ? 'R-N3 two app processes on one PostgreSQL database announce each purchase once (PostgreSQL, two child processes)'
    : 'R-N3 two app instances on one database announce each purchase once (PGlite: one process per database, so two bots in this process on one shared handle)',
  () => {
    it('1,000 purchases through two instances: each announced once on each channel, no duplicates', async () => {
      const started = Date.now();
      const slack = await startFakeSlack({ delayMs: 20 });
      cleanups.push(() => slack.close());
      const tokens = ['xoxb-app-one', 'xoxb-app-two'];
      let handle: DatabaseHandle;
      let apps: App[];
      const errors: string[] = [];
      let stopAll: () => Promise<void>;
      let setup: Setup;
      if (onPostgres) {
        const fresh = await openFreshPostgres(process.env.TEST_DATABASE_URL!, 'csp_twoapps');
        cleanups.push(() => fresh.close());
        handle = fresh;
        const url = new URL(process.env.TEST_DATABASE_URL!);
        url.pathname = `/${fresh.name}`;
        setup = await prepare(handle.db);
        apps = await Promise.all(tokens.map((token, i) => startProcess(`app ${i + 1}`, token, { DATABASE_URL: url.toString() }, slack.apiUrl)));
        stopAll = async () => {
          const exits = await Promise.all(apps.map((app) => stopProcess(app, 'SIGTERM')));
          exits.forEach((exit, i) => expect(exit, apps[i]!.output()).toEqual({ code: 0, signal: null }));
          for (const app of apps) if (/error/i.test(app.output())) errors.push(`${app.label}: ${app.output()}`);
        };
      } else {
        handle = await openDatabase({});
        cleanups.push(() => handle.close());
        setup = await prepare(handle.db);
        const log: Logger = { debug() {}, info() {}, warn: (m: string) => errors.push(`warn ${m}`), error: (m: string, e?: unknown) => errors.push(`error ${m} ${String(e)}`) };
        const bots: Bot[] = [];
        for (const token of tokens) {
          bots.push(
            await startBot({
              db: handle.db,
              config: { PORT: 0, SLACK_SIGNING_SECRET: signingSecret, SLACK_BOT_TOKEN: token, SLACK_APP_TOKEN: undefined, SLACK_API_URL: slack.apiUrl, DELIVERY_TIMEOUT_SECONDS: 2 },
              log,
            }),
          );
        }
        apps = bots.map((bot, i) => ({ label: `bot ${i + 1}`, token: tokens[i]!, port: bot.port, output: () => '' }));
        stopAll = async () => {
          for (const bot of bots) await bot.stop();
        };
      }

      const bodies = purchaseBodies('twoapps', 1000, setup.tenants);
      const intakeStarted = Date.now();
      const statuses = await sendPurchases(
        apps.map((a) => a.port),
        setup.token,
        bodies,
      );
      const intakeMs = Date.now() - intakeStarted;
      expect(statuses.filter((s) => s !== 201), 'every purchase recorded (201)').toEqual([]);
      await until(
        'both instances to deliver everything',
        async () => {
          const h = await health(apps[0]!.port);
          return h.pending === 0 && h;
        },
        60_000,
        200,
      );
      const deliveredMs = Date.now() - intakeStarted;
      const { failed } = await health(apps[1]!.port);
      // Nothing more may arrive after the backlog is empty.
      const postsWhenDone = slack.posts().length;
      await sleep(500);
      expect(slack.posts().length).toBe(postsWhenDone);
      await stopAll();

      const result = await audit(handle.db, slack, setup, bodies);
      const figures = apps.map((a) => `${a.label} ${result.postsBy.get(a.token) ?? 0} posts carrying ${result.rowsBy.get(a.token) ?? 0} rows`).join(', ');
      console.log(
        `R-N3 two instances (${engine}${onPostgres ? ', two processes' : ', two bots in one process'}): purchases ${result.purchases}, outbox rows ${result.rows}, ` +
          `messages posted ${result.posts.length} (${figures}), lost ${result.lost}, duplicates ${result.duplicates.length}; ` +
          `intake ${seconds(intakeMs)}, delivered ${seconds(deliveredMs)} after intake began, test ${seconds(Date.now() - started)}` +
          (errors.length ? `; logged: ${errors.join(' | ').slice(0, 2000)}` : ''),
      );

      expect(result.purchases).toBe(1000);
      expect(result.rows).toBe(2000);
      expect(result.lost).toBe(0);
      expect(result.duplicates).toEqual([]);
      expect(failed).toBe(0);
      // Each row was carried by exactly one post (a row holds one posted ts), and each post's count matched its rows (audit).
      expect([...result.rowsBy.values()].reduce((a, b) => a + b, 0)).toBe(2000);
      for (const app of apps) expect(result.postsBy.get(app.token) ?? 0, `${app.label} posted`).toBeGreaterThan(0);
    }, 120_000);
  },
);
