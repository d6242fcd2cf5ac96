/**
 * csp-ops' Slack commands and clicks under load, side by side with a bare Bolt app (issue 18).
 * Every part runs in its own OS process, as in production: the Slack stand-in
 * (bench/processes/slack-stand-in.ts), the server under test (a fresh one per target and row, so
 * each row's peak RSS is its own), and the load generator (bench/processes/load.ts: autocannon,
 * 50 keep-alive connections, each request signed just before it is sent).
 *
 * Targets: a bare Bolt app of the bot's Bolt version that only acks (bench/processes/bare-bolt.ts);
 * csp-ops started as `npm start` starts it (package.json scripts.start, run directly without npm so
 * the measured process is the server itself) on PostgreSQL (DATABASE_URL, a fresh database) and
 * embedded (DATA_DIR, a fresh folder), the test organization imported by that checkout's own code.
 *
 *   npm run bench                         the whole run (a few minutes)
 *   BENCH_SECONDS=10                      seconds measured per row (default 10)
 *   BENCH_WARMUP=2                        seconds of warm-up before each (default 2)
 *   BENCH_LARGE=1                         also the large-data rows: 100,000 customers and 1,000,000
 *                                         activity entries in the organization, on both databases
 *                                         (off by default: seeding alone takes about 1.5 minutes)
 *   BENCH_TARGETS=bare,postgres,embedded  which targets to run (default all three)
 *   BENCH_ROWS=commands,clicks,large      which groups of rows to run (default commands,clicks;
 *                                         BENCH_LARGE=1 adds large)
 *   BENCH_CLICK_CUSTOMERS=30000           customers generated for the click row
 *   BENCH_DATABASE_URL=postgres://…       the PostgreSQL server (else TEST_DATABASE_URL, else
 *                                         postgres://postgres@127.0.0.1:5432/postgres); its
 *                                         databases csp_bench_* are created and dropped again
 *   BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"  node flags for the csp-ops servers only
 *   BENCH_APP_DIR=/path/to/checkout       the csp-ops checkout whose `npm start` command line is
 *                                         started, and whose code prepares its data (default: this
 *                                         one), e.g. an older commit for a "before" table
 *
 * A benchmark, not a test: it prints figures and asserts nothing about speed. It exits non-zero
 * only on wrong results: a click's effect lost or doubled, error or unexpected replies.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { tenants, users } from '../test/helpers/fixture.js';
import { cleanups, runBenchmark } from './cleanup.js';
import type { LargeDataSize } from './large-data.js';
import type { ClickCustomer, ClickEffect, DataTarget, DataTask } from './processes/data.js';
import type { LoadRequest, LoadResult, LoadTask, PhaseResult } from './processes/load.js';
import { benchSigningSecret, blockActionBody, signedHeaders, slashCommandBody } from './processes/slack-requests.js';
import { fmt, markdownTable, mb } from './report.js';

// ---------------------------------------------------------------- settings

const benchRoot = fileURLToPath(new URL('..', import.meta.url));

function numberSetting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isFinite(value) || value < min) {
    console.error(`${name} must be a number of at least ${min}, not "${raw}".`);
    process.exit(2);
  }
  return value;
}

const seconds = numberSetting('BENCH_SECONDS', 10, 1);
const warmupSeconds = numberSetting('BENCH_WARMUP', 2, 0);
const clickCustomerCount = Math.floor(numberSetting('BENCH_CLICK_CUSTOMERS', 30_000, 100));
const rowGroups = ['commands', 'clicks', 'large'] as const;
const wantedRows = new Set((process.env.BENCH_ROWS ?? 'commands,clicks').split(',').map((r) => r.trim()));
if (['1', 'true', 'yes'].includes((process.env.BENCH_LARGE ?? '').toLowerCase())) wantedRows.add('large');
for (const r of wantedRows) {
  if (!(rowGroups as readonly string[]).includes(r)) {
    console.error(`BENCH_ROWS: unknown group "${r}" (expected some of ${rowGroups.join(', ')}).`);
    process.exit(2);
  }
}
const large = wantedRows.has('large');
const largeSize: LargeDataSize = { customers: 100_000, activity: 1_000_000 };
const appDir = resolve(process.env.BENCH_APP_DIR || benchRoot);
const postgresServer = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const connections = 50;
/** Every tenth click repeats one already clicked: its effect must still be committed once. */
const repeatEvery = 10;
/** Clicks acked during the run are waited for while they keep finishing; this long without one, the rest count as lost. */
const drainStallMs = 15_000;
const clickActionId = 'csp:allow-reservations:0';
/** The bot's ack when a command's reply follows through response_url (src/i18n/en.ts common.working). */
const workingText = 'Working on it…';
/** What the first click's answer says (allow.done). */
const turnedOnText = 'Azure reservation purchases are now on for';

type TargetKey = 'bare' | 'postgres' | 'embedded';
const targetKeys: TargetKey[] = ['bare', 'postgres', 'embedded'];
const wantedTargets = new Set((process.env.BENCH_TARGETS ?? targetKeys.join(',')).split(',').map((t) => t.trim()));
for (const t of wantedTargets) {
  if (!targetKeys.includes(t as TargetKey)) {
    console.error(`BENCH_TARGETS: unknown target "${t}" (expected some of ${targetKeys.join(', ')}).`);
    process.exit(2);
  }
}

const boltVersion = (JSON.parse(readFileSync(join(benchRoot, 'node_modules/@slack/bolt/package.json'), 'utf8')) as { version: string }).version;

// ---------------------------------------------------------------- warnings

/** What went wrong or looks suspicious; `wrong` ones (lost or doubled effects, error replies) fail the run. */
const warnings: { text: string; wrong: boolean }[] = [];
function warn(text: string, wrong: boolean) {
  warnings.push({ text, wrong });
  console.log(`    WARNING: ${text}`);
}

// ---------------------------------------------------------------- child processes

const children = new Set<ChildProcess>();
let temporary = '';

/** A bench/processes script under tsx, talking to this process over IPC. */
function benchChild(script: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(benchRoot, script)], { cwd: benchRoot, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Runs a one-shot child: sends it the task and resolves with its one answer once it has ended. */
function ask<T>(script: string, task: unknown, env?: NodeJS.ProcessEnv): Promise<T> {
  const child = benchChild(script, env);
  return new Promise<T>((resolve, reject) => {
    let answer: { value: T } | undefined;
    child.once('message', (message) => (answer = { value: message as T }));
    child.once('error', reject);
    child.once('exit', (code, signal) => (answer ? resolve(answer.value) : reject(new Error(`${script} ended (${signal ?? `exit code ${code}`}) without an answer`))));
    child.send(task as object);
  });
}

/** Database work done by the code of the checkout under test. */
const data = <T>(task: DataTask) => ask<{ result: T }>('bench/processes/data.ts', task, { ...process.env, BENCH_APP_DIR: appDir }).then((a) => a.result);

const generateLoad = (task: LoadTask) => ask<LoadResult>('bench/processes/load.ts', task);

// ---------------------------------------------------------------- the Slack stand-in

interface StandIn {
  apiUrl: string;
  responseBase: string;
  controlUrl: string;
}
let standIn: StandIn;

async function startStandIn(): Promise<StandIn> {
  const child = benchChild('bench/processes/slack-stand-in.ts');
  return new Promise<StandIn>((resolve, reject) => {
    child.once('message', (message) => resolve(message as StandIn));
    child.once('exit', (code) => reject(new Error(`the Slack stand-in ended (exit code ${code})`)));
  });
}

/** response_url posts whose ids start with prefix (arrived between from and to, ms since the epoch), and when the last came. */
async function responsesPosted(prefix: string, window: { from?: number; to?: number } = {}): Promise<{ count: number; last: number }> {
  const query = new URLSearchParams({ prefix, ...(window.from ? { from: String(window.from) } : {}), ...(window.to ? { to: String(window.to) } : {}) });
  return (await fetch(`${standIn.controlUrl}/count?${query}`)).json() as Promise<{ count: number; last: number }>;
}

async function waitForResponse(id: string, timeoutMs = 10_000): Promise<{ text?: string } | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const answer = await fetch(`${standIn.controlUrl}/response?id=${encodeURIComponent(id)}`);
    if (answer.ok) return answer.json() as Promise<{ text?: string }>;
    await answer.body?.cancel();
    await sleep(20);
  }
  return undefined;
}

const resetStandIn = () => fetch(`${standIn.controlUrl}/reset`, { method: 'POST' }).then((r) => r.body?.cancel());

// ---------------------------------------------------------------- the server under test

/** How `npm start` starts csp-ops in that checkout: its command line, without npm and without `exec`. */
function startCommand(dir: string): { argv: string[]; env: Record<string, string>; text: string } {
  const text = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: { start?: string } }).scripts?.start;
  if (!text) throw new Error(`${dir}/package.json has no start script`);
  if (/[;&|<>$`()]/.test(text)) throw new Error(`npm start runs "${text}": the benchmark starts only a plain command line, not shell syntax`);
  const words = text.match(/"[^"]*"|'[^']*'|\S+/g)!.map((w) => w.replace(/^(["'])(.*)\1$/, '$2'));
  const env: Record<string, string> = {};
  for (;;) {
    if (words[0] === 'exec') words.shift();
    else if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0] ?? '')) {
      const [name, ...value] = words.shift()!.split('=');
      env[name!] = value.join('=');
    } else break;
  }
  // Only node itself: a wrapper (npm, tsx's CLI) would be the process measured instead of the server.
  if (words[0] !== 'node') throw new Error(`npm start runs "${text}": the benchmark starts only a "node …" command line, so the process it measures is the server itself`);
  return { argv: [process.execPath, ...words.slice(1)], env, text };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/** Only what a shell gives any program, so no setting of this shell leaks into the server. */
function plainEnvironment(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ['PATH', 'HOME', 'LANG', 'TZ', 'TMPDIR']) if (process.env[name] !== undefined) env[name] = process.env[name]!;
  return env;
}

interface ServerUnderTest {
  url: string;
  /** From spawn to the first 200 from GET /healthz. */
  startSeconds: number;
  /** VmHWM of the server process: the most memory it held at any moment. */
  peakRss(): number | undefined;
  /** CPU seconds the server process has used so far (user and system). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

async function startServer(label: string, command: { argv: string[]; cwd: string; env: Record<string, string> }): Promise<ServerUnderTest> {
  const port = await freePort();
  const logPath = join(temporary, `${label}.log`);
  const log = openSync(logPath, 'w');
  const started = performance.now();
  const child = spawn(command.argv[0]!, command.argv.slice(1), { cwd: command.cwd, env: { ...plainEnvironment(), ...command.env, PORT: String(port) }, stdio: ['ignore', log, log] });
  closeSync(log);
  children.add(child);
  let exited = false;
  const exit = new Promise<void>((done) => child.once('exit', () => ((exited = true), children.delete(child), done())));
  const logTail = async () => (await readFile(logPath, 'utf8').catch(() => '')).split('\n').slice(-15).join('\n');

  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (exited) throw new Error(`${label}: the server ended during start-up; its log ends:\n${await logTail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label}: no answer from ${origin}/healthz within 120 s; its log ends:\n${await logTail()}`);
    }
    const healthy = await fetch(`${origin}/healthz`).then((r) => (void r.body?.cancel(), r.ok), () => false);
    if (healthy) break;
    await sleep(25);
  }
  const startSeconds = (performance.now() - started) / 1000;

  return {
    url: `${origin}/slack/events`,
    startSeconds,
    peakRss() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1];
      return kb ? Number(kb) * 1024 : undefined;
    },
    cpuSeconds() {
      // utime and stime, the 14th and 15th fields, in clock ticks of 1/100 s; the name before them may hold spaces.
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / 100;
    },
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const killed = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(killed);
    },
  };
}

// ---------------------------------------------------------------- targets and their data

interface DataCopy {
  target: DataTarget;
  env: Record<string, string>;
  remove(): Promise<void>;
}

interface Target {
  key: TargetKey;
  name: string;
  /** csp-ops (answers with replies, has data), not the bare app. */
  real: boolean;
  /** A fresh copy of the prepared data, for one server. */
  freshData?: (label: string) => Promise<DataCopy>;
  skipped?: string;
}

const serverSettings = () => ({ SLACK_SIGNING_SECRET: benchSigningSecret, SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_API_URL: standIn.apiUrl });

async function startTarget(target: Target, copy: DataCopy | undefined, label: string): Promise<ServerUnderTest> {
  if (!target.real) {
    return startServer(label, { argv: [process.execPath, '--import', 'tsx', join(benchRoot, 'bench/processes/bare-bolt.ts')], cwd: benchRoot, env: serverSettings() });
  }
  const start = startCommand(appDir);
  // BENCH_NODE_FLAGS go to csp-ops only (--cpu-prof is not allowed in NODE_OPTIONS), so a profile is of the server under test.
  const flags = process.env.BENCH_NODE_FLAGS?.split(/\s+/).filter(Boolean) ?? [];
  const [node, ...rest] = start.argv;
  return startServer(label, { argv: [node!, ...flags, ...rest], cwd: appDir, env: { ...start.env, ...serverSettings(), ...copy!.env } });
}

let postgresAdmin: postgres.Sql | undefined;
const benchRun = `csp_bench_${randomBytes(4).toString('hex')}`;

/** A migrated database with the test organization on the PostgreSQL server, copied (CREATE DATABASE … TEMPLATE) for each server. */
async function preparePostgres(): Promise<Pick<Target, 'freshData' | 'skipped'> & { description?: string }> {
  const admin = postgres(postgresServer, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  let version: string;
  try {
    const [row] = await admin`show server_version`;
    version = String(row?.server_version ?? '?');
  } catch (error) {
    await admin.end({ timeout: 0 }).catch(() => {});
    return { skipped: `no PostgreSQL at ${redact(postgresServer)} (${(error as Error).message})` };
  }
  postgresAdmin = admin;
  cleanups.push({ name: 'PostgreSQL connection', run: () => admin.end({ timeout: 1 }) });
  const databaseUrl = (name: string) => Object.assign(new URL(postgresServer), { pathname: `/${name}` }).toString();
  const created = new Set<string>();
  const drop = async (name: string) => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    created.delete(name);
  };
  cleanups.push({ name: 'benchmark databases', run: async () => { for (const name of [...created]) await drop(name); } });
  const create = async (name: string, template?: string) => {
    await admin.unsafe(`create database ${name}${template ? ` template ${template}` : ''}`);
    created.add(name);
  };

  const base = `${benchRun}_base`;
  await create(base);
  await data({ task: 'prepare', target: { url: databaseUrl(base) } });
  let copies = 0;
  return {
    description: `PostgreSQL ${version} at ${redact(postgresServer).replace(/\/[^/]*$/, '')}`,
    async freshData() {
      const name = `${benchRun}_${++copies}`;
      await create(name, base);
      return { target: { url: databaseUrl(name) }, env: { DATABASE_URL: databaseUrl(name) }, remove: () => drop(name) };
    },
  };
}

/** A migrated data folder with the test organization, copied for each server. */
async function prepareEmbedded(): Promise<Pick<Target, 'freshData'>> {
  const base = join(temporary, 'embedded-base');
  await data({ task: 'prepare', target: { dataDir: base } });
  let copies = 0;
  return {
    async freshData() {
      const dir = join(temporary, `embedded-${++copies}`);
      await cp(base, dir, { recursive: true });
      return { target: { dataDir: dir }, env: { DATA_DIR: dir }, remove: () => rm(dir, { recursive: true, force: true }) };
    },
  };
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

// ---------------------------------------------------------------- scenarios

interface Scenario {
  key: string;
  /** As the table shows it. */
  label: string;
  text: string;
  /** What the real reply's JSON contains (the bare app acks with an empty body). */
  expect: string;
}

const contoso = { name: 'Contoso Ltd', tenantId: tenants.contoso };

const scenarios: Scenario[] = [
  { key: 'help', label: '`/csp help`', text: 'help', expect: 'allow-reservations' },
  { key: 'customer', label: '`/csp customer <name>`', text: `customer ${contoso.name}`, expect: contoso.tenantId },
  { key: 'allow', label: '`/csp allow-reservations <name>`', text: `allow-reservations ${contoso.name}`, expect: clickActionId },
];

/** The first line a reply shows, shortened. */
function firstLine(reply: { text?: string } | undefined): string {
  const line = (reply?.text ?? '').split('\n').map((l) => l.trim()).find(Boolean) ?? '(no text)';
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

/** One request before the load, to show what the load is made of and catch a wrong setup. */
async function checkCommand(server: ServerUnderTest, target: Target, text: string, expect: string, id: string): Promise<void> {
  const body = slashCommandBody(users.adminAgent, text, `${standIn.responseBase}${id}`);
  const response = await fetch(server.url, { method: 'POST', headers: signedHeaders(body), body });
  const raw = await response.text();
  const shown = `HTTP ${response.status}`;
  if (response.status !== 200) return warn(`${target.name}, /csp ${text}: the first answer is ${shown}: ${raw.slice(0, 200)}`, true);
  if (!target.real) {
    if (raw !== '') warn(`${target.name}: the ack has a body: ${raw.slice(0, 200)}`, true);
    return console.log(`    first answer: ${shown}, empty body (ack only)`);
  }
  let reply: { text?: string } | undefined;
  try {
    reply = JSON.parse(raw) as { text?: string };
  } catch {
    return warn(`${target.name}, /csp ${text}: the first answer is not JSON: ${raw.slice(0, 200)}`, true);
  }
  console.log(`    first answer: ${shown}, "${firstLine(reply)}"`);
  if (!raw.includes(expect)) warn(`${target.name}, /csp ${text}: the first answer lacks "${expect}": ${raw.slice(0, 300)}`, true);
}

// ---------------------------------------------------------------- rows

interface Measured {
  load: LoadResult;
  /** Server CPU ms per request answered (commands) or click finished, warm-up included. */
  cpuMs?: number;
  peakRss?: number;
  startSeconds: number;
}

interface CommandRow extends Partial<Measured> {
  target: Target;
  scenario: Scenario;
  /** Commands whose reply missed the ack deadline and came through response_url. */
  late?: number;
}

interface ClickRow extends Partial<Measured> {
  target: Target;
  finished?: number;
  finishedPerSecond?: number;
  finishedDuringRun?: number;
  lastFinishedAfterRun?: number;
  verified?: { clicked: number; effects: number; missing: number; duplicates: number; spurious: number; unanswered: number };
}

interface LargeRow {
  database: Target;
  label: string;
  connections: number;
  run?: PhaseResult;
}

const commandRows: CommandRow[] = [];
const clickRows: ClickRow[] = [];
const largeRows: LargeRow[] = [];
const largeServers: { target: Target; peakRss?: number; startSeconds?: number; seedSeconds?: number }[] = [];
let rowNumber = 0;

function loadTask(server: ServerUnderTest, idPrefix: string, request: LoadRequest, connectionCount = connections): LoadTask {
  return { url: server.url, connections: connectionCount, warmupSeconds, seconds, responseBase: standIn.responseBase, controlUrl: standIn.controlUrl, idPrefix, request };
}

/** Warnings every run of load deserves: non-2xx answers, socket errors, replies that are not the expected one. */
function checkLoad(what: string, run: PhaseResult) {
  if (run.completed === 0) warn(`${what}: not one request was answered during the run`, false);
  if (run.non2xx) warn(`${what}: ${run.non2xx} answers were not 2xx (${JSON.stringify(run.statusCodes)})`, true);
  // A timeout is slowness; a refused or broken connection is a server that failed.
  if (run.timeouts) warn(`${what}: ${run.timeouts} requests had no answer within 10 s`, false);
  if (run.errors > run.timeouts) warn(`${what}: ${run.errors - run.timeouts} requests failed (connection refused or broken)`, true);
  if (run.unexpected) warn(`${what}: ${run.unexpected} answers lacked the expected reply, such as: ${run.unexpectedSample}`, true);
}

const rate = (run: PhaseResult) => run.completed / run.seconds;
const describeRun = (run: PhaseResult) =>
  `${fmt(rate(run), 0)} req/s, p50 ${fmt(run.latency.p50, 1)} ms, p99 ${fmt(run.latency.p99, 1)} ms` +
  (run.non2xx ? `, ${run.non2xx} non-2xx` : '') +
  (run.errors ? `, ${run.errors} errors` : '');

/** A fresh server on a fresh copy of the data for one measurement; the server is stopped and the copy removed afterwards. */
async function withServer<T>(
  target: Target,
  label: string,
  work: (server: ServerUnderTest, copy: DataCopy | undefined) => Promise<T>,
  afterStop?: (copy: DataCopy | undefined) => Promise<void>,
  prepare?: (copy: DataCopy | undefined) => Promise<void>,
): Promise<T & { peakRss?: number; startSeconds: number }> {
  const copy = await target.freshData?.(label);
  try {
    await prepare?.(copy);
    const server = await startTarget(target, copy, label);
    console.log(`    started in ${fmt(server.startSeconds, 1)} s (spawn to /healthz)`);
    let result: T;
    let peakRss: number | undefined;
    try {
      result = await work(server, copy);
      peakRss = server.peakRss();
    } finally {
      await server.stop();
    }
    await afterStop?.(copy);
    return { ...result, peakRss, startSeconds: server.startSeconds };
  } finally {
    await copy?.remove();
  }
}

async function commandRow(target: Target, scenario: Scenario): Promise<CommandRow> {
  const prefix = `r${++rowNumber}-`;
  console.log(`\n  ${target.name} — /csp ${scenario.text}`);
  await resetStandIn();
  const measured = await withServer(target, `${prefix}${target.key}-${scenario.key}`, async (server) => {
    await checkCommand(server, target, scenario.text, scenario.expect, `check-${prefix}`);
    const cpuBefore = server.cpuSeconds();
    const load = await generateLoad(
      loadTask(server, prefix, { kind: 'command', user: users.adminAgent, text: scenario.text, expect: target.real ? scenario.expect : '', working: target.real ? workingText : undefined }),
    );
    return { load, cpuMs: ((server.cpuSeconds() - cpuBefore) * 1000) / (load.warmup.completed + load.run.completed) };
  });
  // Counted after the server stopped: replies under way when the load ended have been posted by then.
  const late = target.real ? (await responsesPosted(`${prefix}run-`)).count : 0;
  const { run } = measured.load;
  console.log(`    ${describeRun(run)}, server CPU ${fmt(measured.cpuMs!, 2)} ms a request, peak RSS ${measured.peakRss ? mb(measured.peakRss) : '?'}${late ? `, ${late} replies came late through response_url` : ''}`);
  checkLoad(`${target.name}, /csp ${scenario.text}`, run);
  return { target, scenario, ...measured, late };
}

/** The value of the reply's button with this action ID. */
function buttonValue(raw: string, actionId: string): string | undefined {
  try {
    const reply = JSON.parse(raw) as { blocks?: { type: string; elements?: { action_id?: string; value?: string }[] }[] };
    const buttons = (reply.blocks ?? []).flatMap((b) => (b.type === 'actions' ? (b.elements ?? []) : []));
    return buttons.find((b) => b.action_id === actionId)?.value;
  } catch {
    return undefined;
  }
}

/**
 * One click before the load, as a user makes it: the Turn on button of the card `/csp
 * allow-reservations Contoso Ltd` answers, clicked, answered through response_url.
 */
async function checkClick(server: ServerUnderTest, target: Target, id: string): Promise<void> {
  let value: string = randomUUID();
  if (target.real) {
    const command = slashCommandBody(users.adminAgent, `allow-reservations ${contoso.name}`, `${standIn.responseBase}${id}-command`);
    const card = await (await fetch(server.url, { method: 'POST', headers: signedHeaders(command), body: command })).text();
    const button = buttonValue(card, clickActionId);
    if (!button) return warn(`${target.name}: the allow-reservations card has no ${clickActionId} button: ${card.slice(0, 300)}`, true);
    value = button;
  }
  const body = blockActionBody(users.adminAgent, clickActionId, value, `${standIn.responseBase}${id}`);
  const ack = await fetch(server.url, { method: 'POST', headers: signedHeaders(body), body });
  const ackBody = await ack.text();
  if (ack.status !== 200) return warn(`${target.name}: the first click was answered HTTP ${ack.status}: ${ackBody.slice(0, 200)}`, true);
  if (!target.real) return console.log(`    first click: HTTP ${ack.status}, ${ackBody === '' ? 'empty body (ack only)' : ackBody.slice(0, 80)}`);
  const reply = await waitForResponse(id);
  console.log(`    first click: HTTP ${ack.status}, response_url got "${firstLine(reply)}"`);
  if (!reply) warn(`${target.name}: no response_url post for the first click within 10 s`, true);
  else if (!JSON.stringify(reply).includes(turnedOnText)) warn(`${target.name}: the first click's answer does not say "${turnedOnText}": ${JSON.stringify(reply).slice(0, 300)}`, true);
}

async function clickRow(target: Target): Promise<ClickRow> {
  const prefix = `r${++rowNumber}-`;
  console.log(`\n  ${target.name} — Turn on clicks, each on another customer (every ${repeatEvery}th a repeat)`);
  await resetStandIn();
  let customers: ClickCustomer[] = [];
  let effects: ClickEffect[] = [];
  const measured = await withServer(
    target,
    `${prefix}${target.key}-click`,
    async (server): Promise<{ load: LoadResult; cpuMs: number; posted?: { count: number; last: number }; duringRun?: { count: number } }> => {
      await checkClick(server, target, `check-${prefix}`);
      const cpuBefore = server.cpuSeconds();
      const load = await generateLoad(loadTask(server, prefix, { kind: 'click', user: users.adminAgent, actionId: clickActionId, values: customers.map(([, button]) => button), repeatEvery }));
      const cpuMs = () => ((server.cpuSeconds() - cpuBefore) * 1000) / (load.warmup.completed + load.run.completed);
      if (!target.real) return { load, cpuMs: cpuMs() };
      if (load.warmupUnfinished) warn(`${target.name}: ${load.warmupUnfinished} warm-up clicks were still unfinished when the run started`, false);
      // Acked clicks go on working after the load stops: wait until each has posted to its response_url.
      const { run } = load;
      let posted = await responsesPosted(`${prefix}run-`);
      for (let progressAt = Date.now(); posted.count < run.acked && Date.now() - progressAt < drainStallMs; ) {
        await sleep(100);
        const now = await responsesPosted(`${prefix}run-`);
        if (now.count > posted.count) progressAt = Date.now();
        posted = now;
      }
      const duringRun = await responsesPosted(`${prefix}run-`, { from: run.start, to: run.finish });
      return { load, cpuMs: cpuMs(), posted, duringRun };
    },
    async (copy) => {
      if (target.real) effects = await data<ClickEffect[]>({ task: 'verify-clicks', target: copy!.target });
    },
    async (copy) => {
      customers = target.real
        ? await data<ClickCustomer[]>({ task: 'click-customers', target: copy!.target, count: clickCustomerCount })
        : Array.from({ length: clickCustomerCount }, () => [randomUUID(), randomUUID()]);
    },
  );
  const { load } = measured;
  const { run } = load;
  const row: ClickRow = { target, load, cpuMs: measured.cpuMs, peakRss: measured.peakRss, startSeconds: measured.startSeconds };
  console.log(`    acks: ${describeRun(run)}; ${fmt(run.acked, 0)} acked, ${fmt(run.ackedRepeats, 0)} of them repeats; server CPU ${fmt(measured.cpuMs, 2)} ms a click`);
  checkLoad(`${target.name}, clicks`, run);
  if (load.ranOutOfCustomers && target.real) warn(`${target.name}: all ${fmt(clickCustomerCount, 0)} customers were clicked; later clicks all repeated earlier ones (BENCH_CLICK_CUSTOMERS raises it)`, false);
  const { posted, duringRun } = measured;
  if (!posted || !duringRun) return row;

  // Finished: the click's work is done and its answer posted to response_url.
  const lastAfterRun = Math.max(0, posted.last - run.finish) / 1000;
  row.finished = posted.count;
  row.finishedDuringRun = duringRun.count;
  row.lastFinishedAfterRun = lastAfterRun;
  row.finishedPerSecond = posted.count / (run.seconds + lastAfterRun);
  if (posted.count < run.acked) warn(`${target.name}: only ${fmt(posted.count, 0)} of ${fmt(run.acked, 0)} acked clicks posted to response_url (none came for the last ${drainStallMs / 1000} s)`, true);
  if (posted.count > run.acked + connections) warn(`${target.name}: ${fmt(posted.count, 0)} response_url posts for ${fmt(run.acked, 0)} acked clicks`, true);

  // Exactly once: every acked click's customer has the permission and one activity entry for it.
  const clicked = new Set((load.clickedCustomers ?? []).map((i) => customers[i]![0]));
  const unanswered = new Set((load.unansweredCustomers ?? []).map((i) => customers[i]![0]));
  const found = new Map(effects.map(([id, on, entries]) => [id, { on, entries }]));
  const isEffect = (e: { on: boolean; entries: number } | undefined) => e?.on === true && e.entries === 1;
  const missing = [...clicked].filter((id) => !found.get(id)?.on || (found.get(id)?.entries ?? 0) < 1).length;
  const duplicates = effects.filter(([, , entries]) => entries > 1).length;
  const spurious = effects.filter(([id, on, entries]) => !clicked.has(id) && !unanswered.has(id) && (on || entries > 0)).length;
  const inconsistent = effects.filter(([id, on, entries]) => (clicked.has(id) || unanswered.has(id)) && on !== entries > 0).length;
  row.verified = { clicked: clicked.size, effects: [...clicked].filter((id) => isEffect(found.get(id))).length, missing, duplicates, spurious, unanswered: unanswered.size };
  console.log(
    `    finished: ${fmt(posted.count, 0)} (the last ${fmt(lastAfterRun, 1)} s after the load), ${fmt(row.finishedPerSecond, 0)}/s; ` +
      `${fmt(clicked.size, 0)} customers clicked, ${fmt(row.verified.effects, 0)} effects committed once, ${missing} missing, ${duplicates} doubled`,
  );
  if (missing) warn(`${target.name}: ${missing} clicked customers lack the permission or its activity entry`, true);
  if (duplicates) warn(`${target.name}: ${duplicates} customers have more than one activity entry for turning the permission on`, true);
  if (spurious) warn(`${target.name}: ${spurious} customers never clicked have the permission or an entry`, true);
  if (inconsistent) warn(`${target.name}: ${inconsistent} customers have the permission without its activity entry or the other way round`, true);
  return row;
}

async function largeRowsFor(target: Target): Promise<void> {
  const prefix = `r${++rowNumber}-`;
  console.log(`\n  ${target.name} — ${fmt(largeSize.customers, 0)} customers, ${fmt(largeSize.activity, 0)} activity entries`);
  await resetStandIn();
  let seeded: { customerName: string; tenantId: string } | undefined;
  let seedSeconds = 0;
  const measured = await withServer(
    target,
    `${prefix}${target.key}-large`,
    async (server) => {
      const runs: LargeRow[] = [];
      const measurements = [
        { label: '`/csp customer <name>`', text: `customer ${seeded!.customerName}`, expect: seeded!.tenantId, connections: 1 },
        { label: '`/csp activity <tenant ID>`', text: `activity ${seeded!.tenantId}`, expect: seeded!.customerName, connections: 1 },
        { label: '`/csp customer <name>`', text: `customer ${seeded!.customerName}`, expect: seeded!.tenantId, connections },
      ];
      for (const [i, m] of measurements.entries()) {
        console.log(`    /csp ${m.text} at ${m.connections} connection${m.connections > 1 ? 's' : ''}`);
        await checkCommand(server, target, m.text, m.expect, `check-${prefix}${i}`);
        const { run } = await generateLoad(loadTask(server, `${prefix}${i}-`, { kind: 'command', user: users.adminAgent, text: m.text, expect: m.expect, working: workingText }, m.connections));
        console.log(`      ${describeRun(run)}`);
        checkLoad(`${target.name} with large data, /csp ${m.text}`, run);
        runs.push({ database: target, label: m.label, connections: m.connections, run });
      }
      return { runs };
    },
    undefined,
    async (copy) => {
      const started = performance.now();
      seeded = await data<{ customerName: string; tenantId: string }>({ task: 'seed-large', target: copy!.target, size: largeSize });
      seedSeconds = (performance.now() - started) / 1000;
      console.log(`    seeded in ${fmt(seedSeconds, 1)} s; querying "${seeded.customerName}" (tenant ${seeded.tenantId})`);
    },
  );
  largeRows.push(...measured.runs);
  largeServers.push({ target, peakRss: measured.peakRss, startSeconds: measured.startSeconds, seedSeconds });
}

// ---------------------------------------------------------------- printing

const ratio = (value: number, base: number | undefined, digits: number) => (base ? fmt(value / base, digits) : '—');

function printCommandTable() {
  if (!commandRows.length) return;
  console.log(
    `\nCommands: ${connections} keep-alive connections for ${seconds} s after a ${warmupSeconds} s warm-up, each row a fresh server process` +
      ` (peak RSS: its VmHWM; CPU ms/req: its user and system time over warm-up and run, per request answered), the load generator and the` +
      ` Slack stand-in in processes of their own.\n`,
  );
  const body: string[][] = [];
  for (const scenario of scenarios) {
    const rows = commandRows.filter((r) => r.scenario === scenario);
    const bare = rows.find((r) => r.target.key === 'bare')?.load?.run;
    for (const row of rows) {
      const run = row.load?.run;
      if (!run) {
        body.push([row.target.name, scenario.label, 'skipped', '', '', '', '', '', '']);
        continue;
      }
      const isBare = row.target.key === 'bare';
      body.push([
        row.target.name,
        scenario.label,
        fmt(rate(run), 0),
        fmt(run.latency.p50, 1),
        fmt(run.latency.p99, 1),
        isBare ? '1.00' : ratio(rate(run), bare && rate(bare), 2),
        isBare ? '1.0' : ratio(run.latency.p99, bare?.latency.p99, 1),
        row.cpuMs === undefined ? '?' : fmt(row.cpuMs, 2),
        row.peakRss ? mb(row.peakRss) : '?',
      ]);
    }
  }
  markdownTable(['target', 'command', 'req/s', 'p50 ms', 'p99 ms', 'req/s ÷ bare', 'p99 ÷ bare', 'CPU ms/req', 'peak RSS'], body, new Set([2, 3, 4, 5, 6, 7, 8]));
}

function printClickTable() {
  if (!clickRows.length) return;
  console.log(
    `\nTurn on clicks (action ${clickActionId}), each on another of ${fmt(clickCustomerCount, 0)} generated customers, every ${repeatEvery}th a repeat of an` +
      ` earlier one; ${connections} connections for ${seconds} s after a ${warmupSeconds} s warm-up. A click's answer goes to response_url` +
      ` after the ack (csp-ops acks once the click's work is done, or after 2.5 s), so a click is finished when its answer reached the stand-in;` +
      ` finished/s counts from the run's start to the last one; CPU ms/click is the server's per click acked, warm-up included.\n`,
  );
  const bare = clickRows.find((r) => r.target.key === 'bare')?.load?.run;
  markdownTable(
    ['target', 'acked', 'ack/s', 'ack p99 ms', 'finished', 'finished/s', 'effects once', 'missing', 'doubled', 'CPU ms/click', 'peak RSS'],
    clickRows.map((row) => {
      const run = row.load?.run;
      if (!run) return [row.target.name, 'skipped', '', '', '', '', '', '', '', '', ''];
      const v = row.verified;
      return [
        row.target.name,
        `${fmt(run.acked, 0)} (${fmt(run.ackedRepeats, 0)} repeats)`,
        fmt(rate(run), 0),
        fmt(run.latency.p99, 1),
        row.finished === undefined ? '—' : fmt(row.finished, 0),
        row.finishedPerSecond === undefined ? '—' : fmt(row.finishedPerSecond, 0),
        v ? `${fmt(v.effects, 0)} of ${fmt(v.clicked, 0)}` : '—',
        v ? fmt(v.missing, 0) : '—',
        v ? fmt(v.duplicates, 0) : '—',
        row.cpuMs === undefined ? '?' : fmt(row.cpuMs, 2),
        row.peakRss ? mb(row.peakRss) : '?',
      ];
    }),
    new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
  );
  for (const row of clickRows.filter((r) => r.finished !== undefined)) {
    console.log(
      `- ${row.target.name}: ${fmt(row.finishedDuringRun!, 0)} clicks finished during the ${seconds} s run (${fmt(row.finishedDuringRun! / seconds, 0)}/s),` +
        ` the last ${fmt(row.lastFinishedAfterRun!, 1)} s after it ended; ack/s is ${bare ? `${ratio(rate(row.load!.run), rate(bare), 2)}× bare Bolt's` : 'not compared'}.`,
    );
  }
}

function printLargeTable() {
  if (!largeRows.length) return;
  console.log(
    `\nLarge data: ${fmt(largeSize.customers, 0)} customers and ${fmt(largeSize.activity, 0)} activity entries added to the organization (bench/large-data.ts);` +
      ` one server per database for all three rows, ${seconds} s each after a ${warmupSeconds} s warm-up.\n`,
  );
  markdownTable(
    ['target', 'command', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'peak RSS (all three)'],
    largeRows.map((row) => {
      const server = largeServers.find((s) => s.target === row.database);
      const run = row.run!;
      return [row.database.name, row.label, String(row.connections), fmt(rate(run), 0), fmt(run.latency.p50, 1), fmt(run.latency.p99, 1), server?.peakRss ? mb(server.peakRss) : '?'];
    }),
    new Set([2, 3, 4, 5, 6]),
  );
}

function printNotes() {
  console.log('\nStart-up (spawn to the first 200 from /healthz, data already migrated and imported):');
  const starts = new Map<string, number[]>();
  for (const row of [...commandRows, ...clickRows]) if (row.startSeconds) starts.set(row.target.name, [...(starts.get(row.target.name) ?? []), row.startSeconds]);
  for (const [name, list] of starts) console.log(`- ${name}: ${list.map((s) => fmt(s, 1)).join(', ')} s`);
  for (const s of largeServers) console.log(`- ${s.target.name} with large data: ${fmt(s.startSeconds ?? 0, 1)} s (seeding took ${fmt(s.seedSeconds ?? 0, 1)} s)`);

  console.log('\nNotes:');
  console.log(`- csp-ops is started as \`npm start\` starts it in ${appDir}: ${startCommand(appDir).text.replace(/^exec /, '')} (without npm).`);
  console.log(`- The bare app is Bolt ${boltVersion} under node --import tsx, acking /csp and every action with an empty body; csp-ops answers commands in the ack body.`);
  console.log('- Latency is per answered 2xx request, from the request written to the answer read, in ms (load generator clock).');
  console.log('- Each request is signed by the load generator just before it is sent and names its own response_url.');
  console.log(`- The commands act for ${contoso.name} as an admin agent; allow-reservations answers the confirmation card.`);
  const late = commandRows.filter((r) => r.late);
  for (const r of late) console.log(`- ${r.target.name}, /csp ${r.scenario.text}: ${r.late} replies missed the ack deadline and came through response_url.`);
  for (const t of targets.filter((t) => t.skipped)) console.log(`- ${t.name} skipped: ${t.skipped}.`);
  if (!large) console.log('- Large-data rows not run (BENCH_LARGE=1 runs them).');
  for (const w of warnings) console.log(`- ${w.wrong ? 'WRONG' : 'WARNING'}: ${w.text}`);
}

// ---------------------------------------------------------------- main

let targets: Target[] = [];

async function main(): Promise<boolean> {
  const start = startCommand(appDir);
  console.log(`csp-ops command benchmark — Node ${process.version}, ${connections} connections, ${warmupSeconds} s warm-up + ${seconds} s per row`);
  console.log(`csp-ops from ${appDir}: ${start.text}`);
  // What npm start runs before that command line (compiling dist/): the server measured is the checkout's code as it is.
  if ((JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { scripts?: { prestart?: string } }).scripts?.prestart) {
    execFileSync('npm', ['run', '--silent', 'prestart'], { cwd: appDir, stdio: 'inherit' });
  }
  temporary = await mkdtemp(join(tmpdir(), 'csp-bench-'));
  cleanups.push({ name: 'temporary files', run: () => rm(temporary, { recursive: true, force: true }) });
  cleanups.push({
    name: 'child processes',
    run: async () => {
      for (const child of children) child.kill('SIGKILL');
    },
  });

  standIn = await startStandIn();
  console.log(`Slack stand-in: Web API ${standIn.apiUrl}, response_url ${standIn.responseBase}`);

  targets = [
    { key: 'bare', name: `bare Bolt ${boltVersion.replace(/\.0$/, '')} (ack only)`, real: false },
    { key: 'postgres', name: 'csp-ops on PostgreSQL', real: true },
    { key: 'embedded', name: 'csp-ops embedded', real: true },
  ].filter((t) => wantedTargets.has(t.key)) as Target[];

  console.log('\nPreparing data (migrations and the test organization, by the code under test)…');
  for (const target of targets) {
    if (target.key === 'postgres') {
      const prepared = await preparePostgres();
      Object.assign(target, prepared);
      console.log(`  PostgreSQL: ${prepared.skipped ?? prepared.description}`);
    } else if (target.key === 'embedded') {
      Object.assign(target, await prepareEmbedded());
    }
  }
  const measurable = targets.filter((t) => !t.skipped);

  if (wantedRows.has('commands')) {
    console.log('\nCommands');
    for (const scenario of scenarios) {
      for (const target of targets) {
        if (target.skipped) commandRows.push({ target, scenario });
        else commandRows.push(await commandRow(target, scenario));
      }
    }
  }

  if (wantedRows.has('clicks')) {
    console.log('\nClicks');
    for (const target of measurable) clickRows.push(await clickRow(target));
  }

  if (large) {
    console.log('\nLarge data');
    for (const target of measurable.filter((t) => t.real)) await largeRowsFor(target);
  }

  console.log('\n=== Results ===');
  printCommandTable();
  printClickTable();
  printLargeTable();
  printNotes();
  return !warnings.some((w) => w.wrong);
}

await runBenchmark(main, () => {
  for (const child of children) child.kill('SIGKILL');
});
