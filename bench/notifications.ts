/**
 * Customer-purchase notifications end to end: purchases come in over the purchase
 * intake (POST /api/v1/purchases) of the bot running in this process, posted by a load
 * generator in a child process (bench/intake-load.ts); the delivery worker posts them to
 * Slack channels, and a fake Slack Web API on loopback enforces Slack's per-channel limit
 * (about one message a second, with short bursts).
 *
 *   npm run bench:notifications                  in-memory PGlite
 *   DATABASE_URL=postgres://… npm run bench:notifications
 *                                                a fresh database on that server for each form, dropped afterwards
 *   BENCH_PURCHASES=2000 npm run bench:notifications
 *                                                fewer purchases (10,000 by default)
 *   BENCH_FORMS=batch npm run bench:notifications
 *                                                one form only (single,batch by default)
 *
 * Each form runs on its own fresh database and bot: "single" posts one purchase a request,
 * 32 requests in flight; "batch" posts JSON arrays of 500 purchases, 4 requests in flight.
 * 50 customers; one channel hears every customer's purchases and five channels each
 * hear ten customers', so every purchase is owed to exactly two channels. After the
 * outbox drains, every purchase × channel pair is checked against what the fake
 * Slack answered.
 *
 * A benchmark, not a test: it prints figures and asserts nothing about speed. It exits
 * non-zero when a purchase was lost or posted twice.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq, sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/client.js';
import { customers, notificationSubscriptions, outbox, purchases } from '../db/schema.js';
import { startBot, type Bot } from '../src/bot.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import type { ImportFileInput } from '../src/core/import-schema.js';
import type { Logger } from '../src/log.js';
import { startFakeSlack, type FakeSlack } from '../test/helpers/fake-slack.js';
import { cleanups, runBenchmark } from './cleanup.js';
import { openBenchDatabase } from './database.js';
import type { LoadPlan, LoadResult } from './intake-load.js';
import { fmt, mb, table } from './report.js';

// ---------------------------------------------------------------- settings

const purchaseCount = Number(process.env.BENCH_PURCHASES ?? 10_000);
if (!Number.isInteger(purchaseCount) || purchaseCount <= 0) {
  console.error(`BENCH_PURCHASES must be a positive whole number, not "${process.env.BENCH_PURCHASES}".`);
  process.exit(2);
}
const forms = {
  single: { perRequest: 1, concurrency: 32 },
  batch: { perRequest: 500, concurrency: 4 },
} satisfies Record<string, Pick<LoadPlan, 'perRequest' | 'concurrency'>>;
type Form = keyof typeof forms;
const chosenForms = (process.env.BENCH_FORMS ?? 'single,batch').split(',').map((f) => f.trim()) as Form[];
const unknownForm = chosenForms.find((f) => !(f in forms));
if (unknownForm !== undefined || !chosenForms.length) {
  console.error(`BENCH_FORMS must list single and/or batch, not "${process.env.BENCH_FORMS}".`);
  process.exit(2);
}
const customerCount = 50;
/** The fake Slack's chat.postMessage limit per channel. */
const channelLimit = { perSecond: 1, burst: 3 };
/** Give up waiting for the outbox to drain after this long. */
const deliveryCapMs = 10 * 60_000;
const capText = deliveryCapMs % 60_000 ? `${deliveryCapMs / 1000} s` : `${deliveryCapMs / 60_000} min`;
const pollMs = 200;
const progressEveryMs = 15_000;

const allChannel = 'C0PURCHALL';
const groupChannels = ['C0PURCHG01', 'C0PURCHG02', 'C0PURCHG03', 'C0PURCHG04', 'C0PURCHG05'];
/** Customers 0–9 are heard in the first group channel, 10–19 in the second, … */
const groupSize = customerCount / groupChannels.length;
const channelsOf = (customerIndex: number) => [allChannel, groupChannels[Math.floor(customerIndex / groupSize)]!];

// ---------------------------------------------------------------- memory

let peakRss = process.memoryUsage().rss;
const rssSampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
}, 100);
rssSampler.unref();

// ---------------------------------------------------------------- the organization

const koreanCustomers = [
  '한빛소프트 주식회사', '부산해운', '서울데이터랩', '대한물류 주식회사', '미래에너지', '청솔제약', '누리게임즈', '새벽식품',
  '하나로테크', '동해조선', '푸른바이오', '세종회계법인', '온누리통신', '한강건설', '다온교육', '별빛미디어', '가온금융',
];
const chineseCustomers = [
  '台灣雲端科技股份有限公司', '高雄精密工業', '新竹半導體材料', '台中機械製造', '永豐物流', '福爾摩沙旅遊', '玉山生技', '大同資訊服務',
  '淡水海洋科技', '阿里山茶業', '台南紡織', '花蓮石材', '宏遠電子', '基隆港務服務', '誠品數位', '桃園航空貨運', '日月光學',
];
const englishCustomers = [
  'Contoso Ltd', 'Northwind Traders', 'Fabrikam Inc', 'Adventure Works', 'Tailspin Toys', 'Wide World Importers', 'Litware Inc',
  'Proseware Inc', 'Fourth Coffee', 'Alpine Ski House', 'Blue Yonder Airlines', 'Coho Winery', 'Humongous Insurance',
  'Lamna Healthcare', 'Margie Travel', 'Trey Research',
];
const koreanBuyers = [['김지수', 'jisu.kim'], ['이서연', 'seoyeon.lee'], ['박민준', 'minjun.park'], ['최예린', 'yerin.choi']] as const;
const chineseBuyers = [['林志明', 'zhiming.lin'], ['陳美玲', 'meiling.chen'], ['張家豪', 'jiahao.zhang'], ['黃淑芬', 'shufen.huang']] as const;
const englishBuyers = [['Alex Morgan', 'alex.morgan'], ['Priya Shah', 'priya.shah'], ['Sam Lee', 'sam.lee'], ['Jordan Kim', 'jordan.kim']] as const;

interface BenchCustomer {
  name: string;
  domain: string;
  tenantId: string;
  country: string;
  buyers: readonly (readonly [string, string])[];
}

function benchCustomers(): BenchCustomer[] {
  // Korean, Chinese and English names in turn, so every channel hears all three scripts.
  const pools = [
    { names: koreanCustomers, buyers: koreanBuyers, country: 'KR' },
    { names: chineseCustomers, buyers: chineseBuyers, country: 'TW' },
    { names: englishCustomers, buyers: englishBuyers, country: '' },
  ];
  return Array.from({ length: customerCount }, (_, i) => {
    const pool = pools[i % 3]!;
    return {
      name: pool.names[Math.floor(i / 3)]!,
      domain: `c${String(i + 1).padStart(2, '0')}.example`,
      tenantId: randomUUID(),
      // English names are billed in either country.
      country: pool.country || (i % 2 ? 'TW' : 'KR'),
      buyers: pool.buyers,
    };
  });
}

function importFile(list: BenchCustomer[]): ImportFileInput {
  return {
    organization: { name: '한빛 클라우드 파트너스 (bench)', slackTeamId: 'T0BENCH001' },
    staff: [{ name: '박지훈', email: 'jihoon.park@partner.example', role: 'global-admin', slackUserId: 'UBENCH0001' }],
    customers: list.map((c) => ({ name: c.name, domain: c.domain, tenantId: c.tenantId, billingCountry: c.country })),
  };
}

const reservationProducts = [
  { product: 'Virtual Machines D2s v5', region: 'koreacentral', price: 1234.5 },
  { product: 'SQL Database vCore', region: 'eastasia', price: 88.25 },
  { product: 'App Service Premium v3', region: 'japaneast', price: 140 },
  { product: 'Azure Cosmos DB', region: 'koreasouth', price: 512 },
];
const saasOffers = [
  { offerId: 'contoso-crm', planId: 'standard', price: 30 },
  { offerId: 'fabrikam-backup', planId: 'premium', price: 12.5 },
];

/** The body of the i-th purchase: customers in turn, named by tenant ID or by domain; every fifth one a SaaS plan. */
function purchaseBody(runId: string, i: number, list: BenchCustomer[], purchasedAt: string): string {
  const customerIndex = i % list.length;
  const customer = list[customerIndex]!;
  const [buyerName, local] = customer.buyers[Math.floor(i / list.length) % customer.buyers.length]!;
  const common = {
    id: `bench-${runId}-${String(i).padStart(5, '0')}`,
    customer: i % 2 ? customer.domain : customer.tenantId,
    buyer: { name: buyerName, email: `${local}@${customer.domain}` },
    purchasedAt,
  };
  if (i % 5 === 4) {
    const s = saasOffers[i % saasOffers.length]!;
    return JSON.stringify({ ...common, kind: 'saas', saas: { offerId: s.offerId, planId: s.planId, seats: 1 + (i % 40), price: s.price * (1 + (i % 40)), currency: 'USD' } });
  }
  const r = reservationProducts[i % reservationProducts.length]!;
  return JSON.stringify({
    ...common,
    kind: 'reservation',
    reservation: { product: r.product, region: r.region, quantity: 1 + (i % 4), term: i % 3 ? 'P1Y' : 'P3Y', scope: 'shared', price: r.price, currency: 'USD' },
  });
}

// ---------------------------------------------------------------- logging

/** Counts what the bot warns about and shows the first few, so a flood of retries is visible without drowning the figures. */
function countingLog() {
  const counts = { warn: 0, error: 0 };
  const shown = { warn: 0, error: 0 };
  const at = (level: 'warn' | 'error') => (message: string, ...rest: unknown[]) => {
    counts[level]++;
    if (shown[level]++ < 5) console.log(`  [bot ${level}] ${message}`, ...rest.map((r) => (r instanceof Error ? r.message : r)));
  };
  const log: Logger = { debug() {}, info() {}, warn: at('warn'), error: at('error') };
  return { log, counts };
}

// ---------------------------------------------------------------- ingest

/** Posts the purchases from a child process, so the load generator takes no CPU time from the bot's event loop. */
async function ingest(plan: LoadPlan): Promise<LoadResult> {
  const child = fork(new URL('./intake-load.ts', import.meta.url), { execArgv: ['--import', 'tsx'] });
  cleanups.push({ name: 'load generator', run: async () => void child.kill() });
  const result = new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('exit', (code) => reject(new Error(`the load generator exited (${code}) before answering`)));
  });
  child.send(plan);
  return result;
}

// ---------------------------------------------------------------- delivery

async function healthz(port: number): Promise<{ pending: number; failed: number }> {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`);
  const body = (await response.json()) as { deliveries?: { pending: number; failed: number } };
  if (!body.deliveries) throw new Error(`/healthz answered ${response.status} ${JSON.stringify(body)}`);
  return body.deliveries;
}

/** Polls /healthz until nothing is pending; returns when that was seen (performance.now()), or undefined at the cap. */
async function waitForDelivery(bot: Bot, fake: FakeSlack, ingestStartedAt: number): Promise<{ at?: number; failed: number; pending: number }> {
  let lastProgress = performance.now();
  for (;;) {
    const { pending, failed } = await healthz(bot.port);
    const now = performance.now();
    if (pending === 0) return { at: now, failed, pending };
    if (now - ingestStartedAt > deliveryCapMs) return { failed, pending };
    if (now - lastProgress >= progressEveryMs) {
      lastProgress = now;
      console.log(`  ${fmt((now - ingestStartedAt) / 1000, 0)} s: ${fmt(pending, 0)} deliveries pending, ${failed} failed, ${fake.posts().length} posts, ${fake.rateLimited()} × 429`);
    }
    await sleep(pollMs);
  }
}

// ---------------------------------------------------------------- checking

interface ChannelFigures {
  owed: number;
  posts: number;
  singles: number;
  digests: number;
  largestDigest: number;
  /** Posts in digests' threads, each listing some of the digest's purchases. */
  replies: number;
}

interface Verdict {
  owedPairs: number;
  messagesSent: number;
  digests: number;
  purchasesInDigests: number;
  replies: number;
  lost: { missingRow: number; notSent: number; unknownTs: number; wrongChannel: number };
  duplicates: { unrecordedPosts: number; extraRows: number };
  misrouted: number;
  contentMismatches: string[];
  statusCounts: Record<string, number>;
  perChannel: Map<string, ChannelFigures>;
}

/**
 * Checks every purchase × channel pair the subscriptions owe against the outbox and
 * against the posts the fake Slack answered (each answered post has a unique ts).
 */
async function check(database: DatabaseHandle, orgId: string, fake: FakeSlack, customerIndexById: Map<string, number>): Promise<Verdict> {
  const db = database.db;
  const stored = await db.select({ id: purchases.id, sourceId: purchases.sourceId, customerId: purchases.customerId }).from(purchases).where(eq(purchases.orgId, orgId));
  const rows = await db
    .select({
      id: outbox.id,
      channelId: outbox.channelId,
      status: outbox.status,
      ts: outbox.postedMessageId,
      purchase: sql<string | null>`${outbox.message}->>'purchase'`,
      parentId: outbox.parentId,
    })
    .from(outbox)
    .where(eq(outbox.orgId, orgId));

  const answered = new Map<string, { channel: string; text: string; blocks: string; threadTs?: string }>();
  for (const p of fake.posts()) {
    if (p.ts) answered.set(p.ts, { channel: String(p.body.channel), text: String(p.body.text ?? ''), blocks: JSON.stringify(p.body.blocks ?? []), threadTs: p.body.thread_ts as string | undefined });
  }

  const pairKey = (purchase: string, channel: string) => `${purchase} ${channel}`;
  const owed = new Map<string, { sourceId: string }>();
  const perChannel = new Map<string, ChannelFigures>([allChannel, ...groupChannels].map((c) => [c, { owed: 0, posts: 0, singles: 0, digests: 0, largestDigest: 0, replies: 0 }]));
  for (const p of stored) {
    for (const channel of channelsOf(customerIndexById.get(p.customerId)!)) {
      owed.set(pairKey(p.id, channel), { sourceId: p.sourceId });
      perChannel.get(channel)!.owed++;
    }
  }

  const lost = { missingRow: 0, notSent: 0, unknownTs: 0, wrongChannel: 0 };
  const duplicates = { unrecordedPosts: 0, extraRows: 0 };
  let misrouted = 0;
  const statusCounts: Record<string, number> = {};
  const rowsByPair = new Map<string, typeof rows>();
  const rowsByTs = new Map<string, typeof rows>();
  /** The digests' rows by the ts of their post, and how many purchases each folded. */
  const digestByTs = new Map<string, (typeof rows)[number]>();
  const folded = new Map<number, number>();
  for (const row of rows) {
    statusCounts[row.status] = (statusCounts[row.status] ?? 0) + 1;
    if (row.parentId) folded.set(row.parentId, (folded.get(row.parentId) ?? 0) + 1);
    if (!row.purchase) {
      if (row.ts) digestByTs.set(row.ts, row);
      continue;
    }
    const key = pairKey(row.purchase, row.channelId);
    if (!owed.has(key)) misrouted++;
    rowsByPair.set(key, [...(rowsByPair.get(key) ?? []), row]);
    if (row.ts) rowsByTs.set(row.ts, [...(rowsByTs.get(row.ts) ?? []), row]);
  }

  for (const key of owed.keys()) {
    const carried = rowsByPair.get(key) ?? [];
    if (!carried.length) {
      lost.missingRow++;
      continue;
    }
    // More than one row for a pair means the purchase was queued (and so posted) to the channel more than once.
    duplicates.extraRows += carried.length - 1;
    const delivered = carried.filter((r) => r.status === 'sent' && r.ts && answered.get(r.ts)?.channel === r.channelId);
    if (delivered.length) continue;
    const row = carried[0]!;
    if (row.status !== 'sent') lost.notSent++;
    else if (!row.ts || !answered.has(row.ts)) lost.unknownTs++;
    else lost.wrongChannel++;
  }

  let digests = 0;
  let purchasesInDigests = 0;
  let replies = 0;
  const contentMismatches: string[] = [];
  const sourceIdOf = new Map(stored.map((p) => [p.id, p.sourceId]));
  const digestTsOf = new Map([...digestByTs].map(([ts, row]) => [row.id, ts]));
  for (const [ts, post] of answered) {
    const carried = rowsByTs.get(ts);
    const digest = digestByTs.get(ts);
    const figures = perChannel.get(post.channel);
    if (figures) figures.posts++;
    if (digest) {
      // A digest says how many purchases it folded; each follows in its thread.
      const count = folded.get(digest.id) ?? 0;
      digests++;
      purchasesInDigests += count;
      if (figures) {
        figures.digests++;
        figures.largestDigest = Math.max(figures.largestDigest, count);
      }
      if (!post.text.startsWith(`${fmt(count, 0)} customer purchases`)) contentMismatches.push(`ts ${ts} folded ${count} purchases but reads "${post.text.slice(0, 60)}"`);
      continue;
    }
    if (!carried?.length) {
      // Answered by Slack but no outbox row says so: it was posted without being recorded, and will be posted again.
      duplicates.unrecordedPosts++;
      continue;
    }
    if (carried[0]!.parentId) {
      replies++;
      if (figures) figures.replies++;
      if (post.threadTs !== digestTsOf.get(carried[0]!.parentId)) contentMismatches.push(`ts ${ts} is not in its digest's thread`);
      for (const row of carried) {
        const sourceId = sourceIdOf.get(row.purchase!);
        if (sourceId && !post.blocks.includes(sourceId)) contentMismatches.push(`ts ${ts} should list ${sourceId} but does not name it`);
      }
    } else {
      if (figures) figures.singles++;
      const sourceId = carried[0]!.purchase ? sourceIdOf.get(carried[0]!.purchase) : undefined;
      if (sourceId && !post.blocks.includes(sourceId)) contentMismatches.push(`ts ${ts} should announce ${sourceId} but does not name it`);
    }
  }

  return {
    owedPairs: owed.size,
    messagesSent: answered.size,
    digests,
    purchasesInDigests,
    replies,
    lost,
    duplicates,
    misrouted,
    contentMismatches,
    statusCounts,
    perChannel,
  };
}

// ---------------------------------------------------------------- printing

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;


// ---------------------------------------------------------------- main

interface FormSummary {
  form: Form;
  database: string;
  rate: number;
  p50: number;
  p99: number;
  cpuMsPerThousand: number;
  deliveredSeconds?: number;
  owed: number;
  lost: number;
  duplicates: number;
  rateLimited: number;
  peakRss: number;
  ok: boolean;
}

/** One form's run on a fresh database, organization, fake Slack and bot, closed again at its end. */
async function runForm(form: Form): Promise<FormSummary> {
  const { perRequest, concurrency } = forms[form];
  console.log(
    `\n##### ${form}: ${perRequest === 1 ? 'one purchase a request' : `${perRequest} purchases a request (a JSON array)`}, ${concurrency} requests in flight\n`,
  );
  const stack = cleanups.length;
  const closeAll = async () => {
    while (cleanups.length > stack) await cleanups.pop()!.run().catch((error) => console.error('clean-up failed:', (error as Error).message));
  };
  peakRss = process.memoryUsage().rss;

  const { handle: database, description } = await openBenchDatabase('csp_bench_notify');
  cleanups.push({ name: 'database', run: () => database.close() });
  console.log(`database: ${description}`);

  const list = benchCustomers();
  const { orgId } = await importOrganization(database.db, parseImportFile(importFile(list)));
  const stored = await database.db.select({ id: customers.id, tenantId: customers.tenantId }).from(customers).where(eq(customers.orgId, orgId));
  const indexByTenant = new Map(list.map((c, i) => [c.tenantId, i]));
  const customerIndexById = new Map(stored.map((c) => [c.id, indexByTenant.get(c.tenantId)!]));
  const customerIdByIndex = new Map(stored.map((c) => [indexByTenant.get(c.tenantId)!, c.id]));
  await database.db.insert(notificationSubscriptions).values([
    { orgId, platform: 'slack', channelId: allChannel, kind: 'purchases', customerId: null, createdByName: '박지훈' },
    ...list.map((_, i) => ({
      orgId,
      platform: 'slack' as const,
      channelId: channelsOf(i)[1]!,
      kind: 'purchases' as const,
      customerId: customerIdByIndex.get(i)!,
      createdByName: '박지훈',
    })),
  ]);
  const { token } = await createApiToken(database.db, orgId, 'notification bench');
  console.log(
    `organization: ${customerCount} customers (KR/TW, Korean, Chinese and English names); ${allChannel} hears every customer, ` +
      `${groupChannels.join(', ')} hear ${groupSize} customers each`,
  );

  const fake = await startFakeSlack({ channelLimit });
  cleanups.push({ name: 'fake Slack', run: () => fake.close() });
  const { log, counts: logCounts } = countingLog();
  const bot = await startBot({
    db: database.db,
    config: { PORT: 0, SLACK_SIGNING_SECRET: 'bench-signing-secret', SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_APP_TOKEN: undefined, SLACK_API_URL: fake.apiUrl },
    log,
  });
  let botStopped = false;
  const stopBot = async () => {
    if (botStopped) return;
    botStopped = true;
    await bot.stop();
  };
  cleanups.push({ name: 'bot', run: stopBot });
  console.log(`fake Slack: chat.postMessage limited to ${channelLimit.perSecond}/s per channel, bursts of ${channelLimit.burst}, 429 with Retry-After: 1 beyond`);

  const runId = randomUUID().slice(0, 8);
  const purchasedAt = new Date(Date.now() - 60_000).toISOString();
  const bodies = Array.from({ length: purchaseCount }, (_, i) => purchaseBody(runId, i, list, purchasedAt));

  console.log(`\ningesting ${fmt(purchaseCount, 0)} purchases into http://127.0.0.1:${bot.port}/api/v1/purchases from a child process …`);
  const ingestStartedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const result = await ingest({ url: `http://127.0.0.1:${bot.port}/api/v1/purchases`, token, bodies, perRequest, concurrency });
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMsPerThousand = ((cpu.user + cpu.system) / 1000 / purchaseCount) * 1000;
  const created = result.statuses[201] ?? 0;
  const afterIngest = await healthz(bot.port);
  console.log(
    `  done in ${fmt(result.seconds, 1)} s; ${fmt(afterIngest.pending, 0)} deliveries still pending, ${fake.posts().length} posts so far`,
  );
  for (const f of result.failures) console.log(`  NOT 201: ${f}`);

  console.log('waiting for the outbox to drain …');
  const drained = await waitForDelivery(bot, fake, ingestStartedAt);
  // Stop the worker before reading the outbox, so the figures are final.
  await stopBot();
  const verdict = await check(database, orgId, fake, customerIndexById);

  const deliveredSeconds = drained.at === undefined ? undefined : (drained.at - ingestStartedAt) / 1000;
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const lostTotal = verdict.lost.missingRow + verdict.lost.notSent + verdict.lost.unknownTs + verdict.lost.wrongChannel;
  const duplicateTotal = verdict.duplicates.unrecordedPosts + verdict.duplicates.extraRows;
  const statusLine = Object.entries(result.statuses).map(([s, n]) => `${s === '0' ? 'network error' : s}: ${fmt(n, 0)}`).join(', ');

  console.log(`\n=== Results (${description}) ===\n`);
  const figures: [string, string][] = [
    ['purchases posted', `${fmt(purchaseCount, 0)} (${statusLine})`],
    [
      'ingest rate',
      `${fmt(purchaseCount / result.seconds, 0)} purchases/s (${fmt(result.seconds, 1)} s; ${fmt(sorted.length, 0)} requests, latency p50 ${fmt(percentile(sorted, 50), 1)} ms, ` +
        `p99 ${fmt(percentile(sorted, 99), 1)} ms, max ${fmt(sorted.at(-1) ?? 0, 1)} ms)`,
    ],
    ['bot CPU during the ingest', `${fmt(cpuMsPerThousand, 0)} ms per 1,000 purchases (this process, the delivery worker included)`],
    [
      'time until all delivered',
      deliveredSeconds === undefined
        ? `NOT within ${capText}: ${fmt(drained.pending, 0)} still pending`
        : `${fmt(deliveredSeconds, 1)} s from the first purchase (${fmt(deliveredSeconds - result.seconds, 1)} s after the ingest ended)`,
    ],
    ['purchase × channel owed', fmt(verdict.owedPairs, 0)],
    ['outbox rows', Object.entries(verdict.statusCounts).map(([s, n]) => `${s} ${fmt(n, 0)}`).join(', ') || 'none'],
    [
      'messages sent',
      `${fmt(verdict.messagesSent, 0)} (${fmt(verdict.messagesSent - verdict.digests - verdict.replies - verdict.duplicates.unrecordedPosts, 0)} single purchases, ${fmt(verdict.digests, 0)} digests, ${fmt(verdict.replies, 0)} replies in their threads)`,
    ],
    ['digests', `${fmt(verdict.digests, 0)}, folding ${fmt(verdict.purchasesInDigests, 0)} purchase × channel pairs, each listed in a reply`],
    [
      'lost',
      `${fmt(lostTotal, 0)}` +
        (lostTotal
          ? ` (never queued ${verdict.lost.missingRow}, not sent ${verdict.lost.notSent}, sent with a ts Slack never answered ${verdict.lost.unknownTs}, ts of another channel ${verdict.lost.wrongChannel})`
          : ''),
    ],
    [
      'duplicates',
      `${fmt(duplicateTotal, 0)}` +
        (duplicateTotal ? ` (posts no outbox row records ${verdict.duplicates.unrecordedPosts}, extra rows for one purchase × channel ${verdict.duplicates.extraRows})` : ''),
    ],
    ['misrouted', `${verdict.misrouted} rows for a channel that did not subscribe to the customer`],
    ['429s received', `${fmt(fake.rateLimited(), 0)}`],
    ['bot warnings / errors', `${logCounts.warn} / ${logCounts.error}`],
    ['peak RSS', `${mb(peakRss)} (this process: the bot and the fake Slack)`],
  ];
  const width = Math.max(...figures.map(([k]) => k.length));
  for (const [k, v] of figures) console.log(`${k.padEnd(width)}  ${v}`);

  console.log('\nPer channel:\n');
  table(
    ['channel', 'hears', 'purchases owed', 'posts', 'single', 'digests', 'largest digest', 'replies'],
    [...verdict.perChannel].map(([channel, f]) => [
      channel,
      channel === allChannel ? 'all customers' : `${groupSize} customers`,
      fmt(f.owed, 0),
      fmt(f.posts, 0),
      fmt(f.singles, 0),
      fmt(f.digests, 0),
      fmt(f.largestDigest, 0),
      fmt(f.replies, 0),
    ]),
    new Set([2, 3, 4, 5, 6, 7]),
  );

  for (const m of verdict.contentMismatches.slice(0, 5)) console.log(`WARNING: ${m}`);
  if (verdict.contentMismatches.length > 5) console.log(`WARNING: … and ${verdict.contentMismatches.length - 5} more posts whose content does not match their outbox rows`);

  const problems: string[] = [];
  if (created !== purchaseCount) problems.push(`${purchaseCount - created} purchases were not answered 201`);
  if (deliveredSeconds === undefined) problems.push(`the outbox did not drain within ${capText}`);
  if (lostTotal) problems.push(`${lostTotal} purchase notifications lost`);
  if (duplicateTotal) problems.push(`${duplicateTotal} purchase notifications duplicated`);
  if (verdict.misrouted) problems.push(`${verdict.misrouted} notifications went to a channel that did not subscribe`);
  if (verdict.contentMismatches.length) problems.push(`${verdict.contentMismatches.length} posts do not show what their outbox rows say they carry`);
  console.log(problems.length ? `\nFAILED: ${problems.join('; ')}.` : '\nOK: every purchase reached each of its channels exactly once.');
  await closeAll();
  return {
    form,
    database: database.kind === 'pglite' ? 'PGlite' : 'PostgreSQL',
    rate: purchaseCount / result.seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuMsPerThousand,
    deliveredSeconds,
    owed: verdict.owedPairs,
    lost: lostTotal,
    duplicates: duplicateTotal,
    rateLimited: fake.rateLimited(),
    peakRss,
    ok: problems.length === 0,
  };
}

async function main(): Promise<boolean> {
  console.log(
    `csp-ops notification benchmark — Node ${process.version}, ${fmt(purchaseCount, 0)} purchases per form (${chosenForms.join(', ')}), ` +
      `${customerCount} customers, ${1 + groupChannels.length} channels`,
  );
  const summaries: FormSummary[] = [];
  for (const form of chosenForms) summaries.push(await runForm(form));
  console.log('\n=== Summary ===\n');
  table(
    ['form', 'database', 'purchases/s', 'p50 ms', 'p99 ms', 'CPU ms/1k', 'all delivered after', 'owed', 'lost', 'duplicates', '429s', 'peak RSS', 'verdict'],
    summaries.map((s) => [
      s.form,
      s.database,
      fmt(s.rate, 0),
      fmt(s.p50, 1),
      fmt(s.p99, 1),
      fmt(s.cpuMsPerThousand, 0),
      s.deliveredSeconds === undefined ? 'not drained' : `${fmt(s.deliveredSeconds, 1)} s`,
      fmt(s.owed, 0),
      fmt(s.lost, 0),
      fmt(s.duplicates, 0),
      fmt(s.rateLimited, 0),
      mb(s.peakRss),
      s.ok ? 'OK' : 'FAILED',
    ]),
    new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
  );
  return summaries.every((s) => s.ok);
}

await runBenchmark(main);
clearInterval(rssSampler);
