/**
 * Throughput and latency of csp-ops' Slack commands under load, side by side:
 * the real bot on PGlite, the real bot on PostgreSQL, and a bare Bolt app that
 * only acks (the floor any Bolt app pays for signature checks and parsing).
 *
 *   npm run bench                     5 s per scenario and target
 *   BENCH_SECONDS=3 npm run bench     shorter
 *   BENCH_DATABASE_URL=postgres://…   the PostgreSQL server to use (else TEST_DATABASE_URL,
 *                                     else postgres://postgres@127.0.0.1:5432/postgres)
 *
 * A benchmark, not a test: it prints figures and asserts nothing about speed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { setTimeout as sleep } from 'node:timers/promises';
import { App, HTTPReceiver } from '@slack/bolt';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { openFreshPostgres } from '../test/helpers/database.js';
import { startBot } from '../src/bot.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { startFakeSlack, type FakeSlack } from '../test/helpers/fake-slack.js';
import { tenants, testOrganization, users } from '../test/helpers/fixture.js';
import {
  blockActionBody,
  buttons,
  replyText,
  signedHeaders,
  signingSecret,
  silentLog,
  slashCommandBody,
  type SlackReply,
} from '../test/helpers/slack.js';
import { customerId } from '../test/helpers/tables.js';
import { cleanups, runBenchmark } from './cleanup.js';
import { fmt, mb, table } from './report.js';

// ---------------------------------------------------------------- settings

const seconds = Number(process.env.BENCH_SECONDS ?? 5);
if (!Number.isFinite(seconds) || seconds <= 0) {
  console.error(`BENCH_SECONDS must be a positive number of seconds, not "${process.env.BENCH_SECONDS}".`);
  process.exit(2);
}
const warmupSeconds = 1;
const connections = 50;
/** Distinct pre-signed requests per run; each connection cycles through them. */
const distinctRequests = 100;
/** How long to wait for clicks' response_url posts after the load stops. */
const drainTimeoutMs = 60_000;
/** Slack rejects signatures older than 5 minutes; each run is signed just before it starts. */
if (seconds > 280) console.warn(`BENCH_SECONDS=${seconds}: signatures expire after 300 s, later requests will be rejected.`);

const clickActionId = 'csp:allow-reservations:0';

// ---------------------------------------------------------------- cleanup

let running: autocannon.Instance | undefined;

// ---------------------------------------------------------------- targets

type TargetName = 'bare Bolt' | 'bot/PGlite' | 'bot/Postgres';

interface Target {
  name: TargetName;
  /** Short tag for response_url ids. */
  tag: string;
  url: string;
  /** The bot answers with a reply; the bare app acks with an empty body. */
  real: boolean;
  /** The UUID the "Turn on" button carries (a placeholder for the bare app). */
  customerUuid: string;
  stop(): Promise<void>;
}

/** A Bolt app that only acks: what the bot costs above Bolt itself. */
async function startBareBolt(fake: FakeSlack): Promise<Target> {
  const receiver = new HTTPReceiver({ signingSecret, endpoints: '/slack/events' });
  const app = new App({
    receiver,
    token: 'xoxb-bench',
    clientOptions: { slackApiUrl: fake.apiUrl },
    botId: 'B1',
    botUserId: 'U1',
  });
  app.command('/csp', async ({ ack }) => ack());
  app.action(/.*/, async ({ ack }) => ack());
  const server: Server = createServer(receiver.requestListener);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  return {
    name: 'bare Bolt',
    tag: 'bare',
    url: `http://127.0.0.1:${port}/slack/events`,
    real: false,
    customerUuid: randomUUID(),
    stop: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** The csp-ops bot as production wires it, on an open database with the test organization imported. */
async function startRealBot(name: TargetName, tag: string, database: DatabaseHandle, fake: FakeSlack): Promise<Target> {
  await importOrganization(database.db, parseImportFile(testOrganization));
  const customerUuid = await customerId(database.db, tenants.contoso);
  const bot = await startBot({
    db: database.db,
    config: { PORT: 0, SLACK_SIGNING_SECRET: signingSecret, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_APP_TOKEN: undefined, SLACK_API_URL: fake.apiUrl },
    log: silentLog,
  });
  return {
    name,
    tag,
    url: `http://127.0.0.1:${bot.port}/slack/events`,
    real: true,
    customerUuid,
    stop: () => bot.stop(),
  };
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** A fresh database on the PostgreSQL server, dropped on clean-up; skipped (with a note) when none answers. */
async function openBenchPostgres(): Promise<{ handle: DatabaseHandle; description: string } | { skipped: string }> {
  const serverUrl = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
  const probe = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 3 });
  let version: string;
  try {
    const [row] = await probe`show server_version`;
    version = String(row?.server_version ?? '?');
  } catch (error) {
    return { skipped: `no PostgreSQL at ${redact(serverUrl)} (${(error as Error).message})` };
  } finally {
    await probe.end({ timeout: 0 }).catch(() => {});
  }
  const handle = await openFreshPostgres(serverUrl, 'csp_bench');
  return { handle, description: `PostgreSQL ${version}, database ${handle.name} on ${redact(serverUrl).replace(/\/[^/]*$/, '')}` };
}

// ---------------------------------------------------------------- scenarios

interface Scenario {
  key: string;
  title: string;
  body(target: Target, responseUrl: string): string;
}

const scenarios: Scenario[] = [
  {
    key: 'customer',
    title: '/csp customer contoso.com',
    body: (_target, responseUrl) => slashCommandBody(users.adminAgent, 'customer contoso.com', responseUrl),
  },
  {
    key: 'allow',
    title: '/csp allow-reservations contoso.com',
    body: (_target, responseUrl) => slashCommandBody(users.adminAgent, 'allow-reservations contoso.com', responseUrl),
  },
  {
    key: 'click',
    title: 'Turn on click (repeat)',
    body: (target, responseUrl) => blockActionBody(users.adminAgent, clickActionId, target.customerUuid, responseUrl),
  },
];

/** `count` distinct requests, signed now (a signature stays valid for 5 minutes). */
function signedRequests(scenario: Scenario, target: Target, fake: FakeSlack, idPrefix: string, count: number): autocannon.Request[] {
  const path = new URL(target.url).pathname;
  return Array.from({ length: count }, (_, i) => {
    const body = scenario.body(target, fake.responseUrl(`${idPrefix}${i}`));
    return { method: 'POST', path, headers: signedHeaders(body), body };
  });
}

function runLoad(url: string, requests: autocannon.Request[], duration: number): Promise<autocannon.Result> {
  // The load runs in one worker thread of this process, so the servers keep the main thread to themselves.
  running = autocannon({ url, connections, duration, requests, workers: 1, timeout: 10 });
  return Promise.resolve(running).finally(() => {
    running = undefined;
  });
}

function responsesFor(fake: FakeSlack, prefix: string): number {
  let n = 0;
  for (const r of fake.responses) if (r.id.startsWith(prefix)) n++;
  return n;
}

/**
 * Waits until at least `acked` response_url posts with this prefix arrived and no more came for a
 * moment (requests still in flight when the load stopped finish too); returns how many arrived and
 * when the last one did, in seconds after the load stopped.
 */
async function drain(fake: FakeSlack, prefix: string, acked: number) {
  const started = performance.now();
  let got = responsesFor(fake, prefix);
  let lastChange = started;
  while (performance.now() - started < drainTimeoutMs) {
    await sleep(20);
    const now = responsesFor(fake, prefix);
    if (now !== got) {
      got = now;
      lastChange = performance.now();
    } else if (got >= acked && performance.now() - lastChange >= 300) {
      break;
    }
  }
  if (got < acked) warnings.push(`${prefix}*: only ${got} of ${acked} acked clicks reached response_url within ${drainTimeoutMs / 1000} s`);
  return { got, seconds: (lastChange - started) / 1000 };
}

function firstLine(reply: SlackReply | undefined): string {
  const line = replyText(reply).split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  return line.length > 72 ? `${line.slice(0, 71)}…` : line;
}

async function waitForResponse(fake: FakeSlack, id: string, timeoutMs = 5000): Promise<SlackReply | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = fake.responses.find((r) => r.id === id);
    if (found) return found.body as SlackReply;
    await sleep(10);
  }
  return undefined;
}

const warnings: string[] = [];

/** One request before the load, to show what the load is made of and catch a wrong setup. */
async function check(scenario: Scenario, target: Target, fake: FakeSlack, label: string): Promise<void> {
  const id = `${target.tag}-${scenario.key}-check-${randomUUID()}`;
  const body = scenario.body(target, fake.responseUrl(id));
  const response = await fetch(target.url, { method: 'POST', headers: signedHeaders(body), body });
  const type = response.headers.get('content-type') ?? 'no content-type';
  const raw = await response.text();
  const say = (what: string) => console.log(`    ${label}: ${response.status} ${type.split(';')[0]} — ${what}`);
  if (response.status !== 200) warnings.push(`${target.name} ${scenario.title}: the check request got HTTP ${response.status}`);
  if (!target.real) return say(raw ? `body ${JSON.stringify(raw.slice(0, 60))}` : 'empty body (ack only)');
  if (scenario.key === 'click') {
    const reply = await waitForResponse(fake, id);
    if (!reply) warnings.push(`${target.name} ${scenario.title}: no response_url post within 5 s`);
    return say(`response_url got "${firstLine(reply)}"`);
  }
  let reply: SlackReply | undefined;
  try {
    reply = JSON.parse(raw) as SlackReply;
  } catch {
    warnings.push(`${target.name} ${scenario.title}: the reply is not JSON`);
    return say(`not JSON: ${JSON.stringify(raw.slice(0, 60))}`);
  }
  const labels = buttons(reply).map((b) => b.text.text);
  say(`"${firstLine(reply)}"${labels.length ? ` [${labels.join('] [')}]` : ''}`);
  // The click scenario sends what this card's "Turn on" button carries; make sure it is the same.
  const turnOn = buttons(reply).find((b) => b.action_id === clickActionId);
  if (scenario.key === 'allow' && !turnOn) {
    warnings.push(`${target.name}: the allow-reservations reply has no ${clickActionId} button; the click scenario may not match the card`);
  } else if (scenario.key === 'allow' && turnOn && turnOn.value !== target.customerUuid) {
    warnings.push(`${target.name}: the card's Turn on button carries ${turnOn.value}, the click scenario sends ${target.customerUuid}`);
  }
}

// ---------------------------------------------------------------- measuring

interface Row {
  scenario: Scenario;
  target: TargetName;
  result?: autocannon.Result;
  skipped?: string;
  /** Clicks only: the work Bolt runs after the ack, seen as response_url posts. */
  followUp?: { acked: number; completed: number; drainSeconds: number; perSecond: number };
  /** Commands only: replies sent through response_url because the ack deadline passed. */
  late?: number;
}

const rows: Row[] = [];
const memory: { label: string; rss: number; heap: number; external: number }[] = [];

/** Node's gc(), reached without a command-line flag so that `npm run bench` stays plain. */
const collectGarbage: (() => void) | undefined = (() => {
  try {
    v8.setFlagsFromString('--expose-gc');
    return vm.runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();

function noteMemory(label: string) {
  // Collect first, so the figure shows what the target holds rather than when V8 last collected.
  collectGarbage?.();
  const { rss, heapUsed, external } = process.memoryUsage();
  memory.push({ label, rss, heap: heapUsed, external });
  console.log(`  memory after ${label}: RSS ${mb(rss)}, JS heap ${mb(heapUsed)}, external ${mb(external)}`);
}

async function measure(target: Target, fake: FakeSlack) {
  console.log(`\n${target.name} — ${target.url}`);
  for (const scenario of scenarios) {
    console.log(`  ${scenario.title}`);
    if (scenario.key === 'click' && target.real) {
      // The first click turns the permission on; every measured click then finds it on already.
      await check(scenario, target, fake, 'first click');
      await check(scenario, target, fake, 'repeat click');
    } else {
      await check(scenario, target, fake, 'check');
    }

    const warmPrefix = `${target.tag}-${scenario.key}-warm-`;
    const warm = await runLoad(target.url, signedRequests(scenario, target, fake, warmPrefix, distinctRequests), warmupSeconds);
    // Let clicks acked during the warm-up finish, so their work does not spill into the measured run.
    if (scenario.key === 'click' && target.real) await drain(fake, warmPrefix, warm['2xx']);

    const runPrefix = `${target.tag}-${scenario.key}-run-`;
    const result = await runLoad(target.url, signedRequests(scenario, target, fake, runPrefix, distinctRequests), seconds);
    const row: Row = { scenario, target: target.name, result };
    if (target.real && scenario.key === 'click') {
      const { got, seconds: drainSeconds } = await drain(fake, runPrefix, result['2xx']);
      row.followUp = { acked: result['2xx'], completed: got, drainSeconds, perSecond: got / (result.duration + drainSeconds) };
    } else if (target.real) {
      row.late = responsesFor(fake, runPrefix);
    }
    rows.push(row);
    console.log(
      `    ${fmt(rate(result), 0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}` +
        (result.errors ? `, ${result.errors} errors (${result.timeouts} timeouts)` : '') +
        (row.followUp ? `; ${row.followUp.completed}/${row.followUp.acked} clicks finished ${fmt(row.followUp.drainSeconds, 1)} s after the load stopped` : ''),
    );
    fake.responses.length = 0;
    fake.calls.length = 0;
  }
}

// ---------------------------------------------------------------- printing

/** Completed requests per second of the measured run. */
const rate = (r: autocannon.Result) => r.requests.total / r.duration;


function printResults() {
  console.log(`\n=== Results: ${connections} connections, ${seconds} s per run after a ${warmupSeconds} s warm-up ===\n`);
  const body: string[][] = [];
  for (const scenario of scenarios) {
    const bare = rows.find((r) => r.scenario === scenario && r.target === 'bare Bolt')?.result;
    for (const row of rows.filter((r) => r.scenario === scenario)) {
      const r = row.result;
      if (!r) {
        body.push([scenario.title, row.target, 'skipped', '', '', '', '', '']);
        continue;
      }
      const errors = r.errors ? ` +${r.errors} err` : '';
      const isBare = row.target === 'bare Bolt';
      const throughputRatio = bare && rate(bare) > 0 ? `${fmt((rate(r) / rate(bare)) * 100, 1)}%` : '—';
      const p99Ratio = bare && bare.latency.p99 > 0 ? `${fmt(r.latency.p99 / bare.latency.p99, 1)}×` : '—';
      body.push([
        scenario.title,
        row.target,
        fmt(rate(r), 0),
        String(r.latency.p50),
        String(r.latency.p99),
        `${r.non2xx}${errors}`,
        isBare ? '(base)' : throughputRatio,
        isBare ? '(base)' : p99Ratio,
      ]);
    }
  }
  table(['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'req/s vs bare', 'p99 vs bare'], body, new Set([2, 3, 4, 5, 6, 7]));

  const followUps = rows.filter((r) => r.followUp);
  if (followUps.length) {
    console.log('\nClicks after the ack (Bolt acks a block action before the handler runs; the database work and');
    console.log('the response_url post follow, so the click rows above time the ack and this times the work;');
    console.log(`"finished" includes up to ${connections} clicks still in flight when the load stopped):\n`);
    table(
      ['target', 'clicks acked', 'finished', 'finished/s', 'last one after load stopped'],
      followUps.map((r) => [
        r.target,
        fmt(r.followUp!.acked, 0),
        fmt(r.followUp!.completed, 0),
        fmt(r.followUp!.perSecond, 0),
        `${fmt(r.followUp!.drainSeconds, 2)} s`,
      ]),
      new Set([1, 2, 3, 4]),
    );
  }

  console.log(`\nProcess memory after each target's runs, the target still up${collectGarbage ? ', after a forced GC' : ''}:`);
  table(
    ['after', 'RSS', 'JS heap', 'external (incl. WASM)'],
    memory.map((m) => [m.label, mb(m.rss), mb(m.heap), mb(m.external)]),
    new Set([1, 2, 3]),
  );
  console.log('RSS is the whole process and seldom shrinks: a later figure still holds pages earlier targets and');
  console.log("the load generator's worker threads touched.");

  const late = rows.filter((r) => r.late);
  console.log('\nNotes:');
  console.log(`- Load: autocannon, ${connections} keep-alive connections, ${distinctRequests} distinct requests signed at the start of each run, generated in a worker thread.`);
  console.log('- autocannon records latency in whole milliseconds.');
  console.log('- The bare Bolt app acks with an empty body; the bot acks slash commands with the full reply (JSON).');
  console.log('- allow-reservations runs before the click on each target, so it measures the confirmation card.');
  console.log('- The first click (the check above) turned the permission on; every measured click found it already');
  console.log('  on — the idempotent repeat path users hit when they click twice or a card is clicked again.');
  for (const r of late) console.log(`- ${r.target} ${r.scenario.title}: ${r.late} commands missed the 2.5 s ack deadline and replied through response_url.`);
  const skipped = rows.find((r) => r.skipped);
  if (skipped) console.log(`- ${skipped.target} skipped: ${skipped.skipped}. Set BENCH_DATABASE_URL to a server to include it.`);
  for (const w of warnings) console.log(`- WARNING: ${w}`);
}

// ---------------------------------------------------------------- main

async function main() {
  console.log(`csp-ops command benchmark — Node ${process.version}, ${connections} connections, ${seconds} s per run`);
  noteMemory('start');

  const fake = await startFakeSlack();
  cleanups.push({ name: 'fake Slack', run: () => fake.close() });

  // (c) bare Bolt
  const bare = await startBareBolt(fake);
  cleanups.push({ name: 'bare Bolt', run: () => bare.stop() });
  await measure(bare, fake);
  noteMemory('bare Bolt');
  await cleanups.pop()!.run();

  // (a) the bot on PGlite in memory
  const pglite = await openDatabase({});
  cleanups.push({ name: 'PGlite', run: () => pglite.close() });
  const pgliteBot = await startRealBot('bot/PGlite', 'pglite', pglite, fake);
  cleanups.push({ name: 'bot on PGlite', run: () => pgliteBot.stop() });
  await measure(pgliteBot, fake);
  noteMemory('bot/PGlite');
  await cleanups.pop()!.run();
  await cleanups.pop()!.run();

  // (b) the bot on PostgreSQL
  const pg = await openBenchPostgres();
  if ('skipped' in pg) {
    console.log(`\nbot/Postgres — skipped: ${pg.skipped}`);
    for (const scenario of scenarios) rows.push({ scenario, target: 'bot/Postgres', skipped: pg.skipped });
  } else {
    cleanups.push({ name: 'PostgreSQL database', run: () => pg.handle.close() });
    console.log(`\n${pg.description}`);
    const pgBot = await startRealBot('bot/Postgres', 'pg', pg.handle, fake);
    cleanups.push({ name: 'bot on Postgres', run: () => pgBot.stop() });
    await measure(pgBot, fake);
    noteMemory('bot/Postgres');
    await cleanups.pop()!.run();
    await cleanups.pop()!.run();
  }

  printResults();
}

await runBenchmark(main, () => running?.stop());
