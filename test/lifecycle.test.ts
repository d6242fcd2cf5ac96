import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isNotNull, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { customers, deliveryChannels, notificationSubscriptions, outbox, partnerCenterSyncs, purchases } from '../db/schema.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { onPostgres } from './helpers/database.js';
import { partnerTenant, startFakePartnerCenter } from './helpers/fake-partner-center.js';
import { announcedIn, startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { connectedOrganization } from './helpers/fixture.js';
import { freePort, killBotProcesses, sharedDatabase, startBotProcess, type BotProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

// Running csp-ops in production: a clean stop on SIGTERM (also through `npm start`), migrations
// applied once under an advisory lock when replicas start together, `npm run migrate`, and one
// line, with no stack trace and no password, for a database that cannot be used.

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
const root = fileURLToPath(new URL('..', import.meta.url));
const migrationCount = (JSON.parse(readFileSync(join(root, 'db/migrations/meta/_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;
const cleanups: (() => Promise<unknown> | void)[] = [];
const spawned = new Set<ChildProcess>();

afterAll(async () => {
  killBotProcesses();
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** Settings a child must not inherit from this process: only what each test gives counts. */
const cleared = { DATABASE_URL: '', DATA_DIR: '', SLACK_SIGNING_SECRET: '', SLACK_BOT_TOKEN: '', SLACK_APP_TOKEN: '', MICROSOFT_APP_ID: '', LOG_LEVEL: 'warn' };

/** Runs an entry point (src/main.ts, src/migrate.ts, src/cli.ts) to its end. */
async function runEntry(entry: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', entry, ...args], { cwd: root, env: { ...process.env, ...cleared, ...env } }).then(
    (done) => ({ code: 0, ...done }),
    (failed: { code: number; stdout: string; stderr: string }) => failed,
  );
  return { code: result.code, stdout: result.stdout, stderr: result.stderr };
}

/** Whether something listens on the port. */
const listening = (port: number) =>
  new Promise<boolean>((done) => {
    const probe = createNetServer().once('error', () => done(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(false)));
  });

/** A new, empty database on the test server (not migrated), dropped after the file. */
async function emptyPostgres(prefix: string): Promise<string> {
  const name = `${prefix}_${Math.random().toString(16).slice(2, 10)}`;
  const admin = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  cleanups.push(async () => {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  });
  const url = new URL(process.env.TEST_DATABASE_URL!);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Who holds an embedded data folder, once the bot serves (it adds its port). */
function servingHolder(dataDir: string): { pid: number; cliPort: number } | undefined {
  const path = join(dataDir, 'csp-ops.lock');
  const holder = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8') || '{}') as { pid: number; cliPort?: number }) : undefined;
  return holder?.cliPort ? { pid: holder.pid, cliPort: holder.cliPort } : undefined;
}

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------- SIGTERM under load

/**
 * Each outbox row went out exactly once: it is sent and names a post Slack answered in its
 * channel, and every post Slack answered is named by as many rows as it announced purchases
 * (a digest's row counts the purchases folded into it, each of which a reply in its thread carries).
 */
async function auditDeliveries(db: Database, slack: FakeSlack) {
  const rows = await db.select().from(outbox);
  const posts = new Map(slack.posts().map((post) => [post.ts!, post]));
  const folded = new Map<number, number>();
  for (const row of rows) if (row.parentId) folded.set(row.parentId, (folded.get(row.parentId) ?? 0) + 1);
  const carried = new Map<string, number>();
  for (const row of rows) {
    expect(row.status, `outbox row ${row.id}`).toBe('sent');
    const post = posts.get(row.postedMessageId!);
    expect(post?.body.channel, `outbox row ${row.id} names a post in its channel`).toBe(row.channelId);
    if (row.parentId) expect(post!.body.thread_ts, `outbox row ${row.id} replies in its digest's thread`).toBe(rows.find((r) => r.id === row.parentId)!.postedMessageId);
    carried.set(post!.ts!, (carried.get(post!.ts!) ?? 0) + ('digest' in (row.message as object) ? folded.get(row.id)! : 1));
  }
  for (const post of posts.values()) expect(carried.get(post.ts!) ?? 0, `rows carried by post ${post.ts} (a post no row names was sent twice)`).toBe(announcedIn(post));
  // Purchase × channel rows; the digests the worker made of them are not counted.
  return { rows: rows.filter((r) => !('digest' in (r.message as object))).length, posts: posts.size };
}

describe(`a clean stop on SIGTERM (${engine}, child processes)`, () => {
  it('under a stream of purchases, with a post and a Partner Center sync under way: exits 0 within 10 s, keeps every 2xx, leaves no lease held, and the rest goes out once after a restart', { timeout: 240_000 }, async () => {
    const started = Date.now();
    // Every Slack call takes 400 ms, so posts are under way whenever the stream runs.
    const slack = await startFakeSlack({ delayMs: 400 });
    cleanups.push(() => slack.close());
    const pc = await startFakePartnerCenter();
    cleanups.push(() => pc.close());
    const { settings, open } = await sharedDatabase('csp_lifecycle', cleanups);

    // A partner whose customers' purchases are heard in one channel for all and one per customer,
    // and a Partner Center sync an earlier stop cut off, which start-up resumes.
    const setup = await open();
    const { orgId } = await importOrganization(setup.db, parseImportFile(connectedOrganization(partnerTenant)));
    const { token } = await createApiToken(setup.db, orgId, 'lifecycle');
    const customerList = await setup.db.select({ id: customers.id, tenantId: customers.tenantId }).from(customers);
    await setup.db.insert(notificationSubscriptions).values([
      { orgId, platform: 'slack', channelId: 'C0ALLBUYS1', kind: 'purchases', customerId: null, createdByName: '박지훈' },
      ...customerList.map((c, i) => ({ orgId, platform: 'slack' as const, channelId: `C0BUYS${String(i).padStart(4, '0')}`, kind: 'purchases' as const, customerId: c.id, createdByName: '王小明' })),
    ]);
    await setup.db.insert(partnerCenterSyncs).values({ orgId, runStartedAt: new Date(Date.now() - 3600_000) });
    await setup.close();

    const env = { ...settings, SLACK_SIGNING_SECRET: 'lifecycle-signing-secret', SLACK_BOT_TOKEN: 'xoxb-lifecycle', SLACK_API_URL: slack.apiUrl, DELIVERY_TIMEOUT_SECONDS: '5', LOG_LEVEL: 'info', ...pc.config };
    const syncHeld = pc.hold('GET', '/v1/customers?');
    const first = await startBotProcess('the bot', env, 120_000);
    await syncHeld.arrived;

    // Eight clients post purchases one after another until the bot refuses (503) or is gone.
    const answers = new Map<string, number | 'no answer'>();
    let sent = 0;
    const sources = customerList.map((c) => c.tenantId);
    const stream = Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          const i = sent++;
          const id = `life-${String(i).padStart(5, '0')}`;
          const body = {
            id,
            customer: sources[i % sources.length],
            kind: 'reservation',
            reservation: { product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 1, term: 'P1Y', scope: 'shared', price: 100 + i, currency: 'USD' },
            buyer: { name: '김지수', email: 'jisu.kim@example.com' },
            purchasedAt: new Date(Date.now() - 60_000).toISOString(),
          };
          const answer = await fetch(`http://127.0.0.1:${first.port}/api/v1/purchases`, {
            method: 'POST',
            headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          }).then(
            async (response) => (await response.text(), response.status),
            () => 'no answer' as const,
          );
          answers.set(id, answer);
          if (answer !== 201) return;
        }
      }),
    );
    const postsInFlight = () => slack.arrived.filter((c) => c.method === 'chat.postMessage').length - slack.posts().length;
    await waitFor('purchases recorded while a post is under way', () => [...answers.values()].filter((a) => a === 201).length >= 10 && postsInFlight() > 0, 60_000);
    const inFlightAtSignal = postsInFlight();
    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    const exit = await first.exited;
    const stopMs = Date.now() - signalledAt;
    await stream;
    syncHeld.release();
    expect(exit, first.output()).toEqual({ code: 0, signal: null });
    expect(stopMs).toBeLessThan(10_000);
    expect(first.output()).toContain('SIGTERM: stopping');
    expect(first.output()).toContain('Partner Center sync: stopped; it resumes after the restart');
    expect(first.output()).not.toMatch(/ error /);

    const ok = [...answers].filter(([, a]) => a === 201).map(([id]) => id);
    const refused = [...answers].filter(([, a]) => a === 503).map(([id]) => id);
    const unanswered = [...answers].filter(([, a]) => a === 'no answer').map(([id]) => id);
    expect([...answers.values()].filter((a) => a !== 201 && a !== 503 && a !== 'no answer'), 'answers other than 201, 503 or none').toEqual([]);

    const stopped = await open();
    const stored = new Set((await stopped.db.select({ id: purchases.sourceId }).from(purchases)).map((p) => p.id));
    // Every 201 is committed, and nothing else is: a 503 was refused before anything was done, and
    // every request the bot took was answered (one left unanswered never reached it).
    expect([...stored].sort()).toEqual([...ok].sort());
    // Nothing half-done: no channel and no sync is held, and the cut-off sync waits to be resumed.
    expect(await stopped.db.select().from(deliveryChannels).where(isNotNull(deliveryChannels.lockedUntil))).toEqual([]);
    const [sync] = await stopped.db.select().from(partnerCenterSyncs);
    expect(sync).toMatchObject({ leaseUntil: null, lastError: null });
    expect(sync!.runStartedAt).not.toBeNull();
    const left = await stopped.db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(sql`${outbox.status} = 'pending'`);
    const pendingAtStop = left[0]!.n;
    expect(pendingAtStop, 'deliveries left for the restart').toBeGreaterThan(0);
    await stopped.close();

    // After a restart the rest goes out, each message once, and the sync is resumed and finished.
    const restartedAt = Date.now();
    const second = await startBotProcess('the restarted bot', env, 120_000);
    await waitFor(
      'the restarted bot to deliver everything',
      async () => {
        const health = (await (await fetch(`http://127.0.0.1:${second.port}/healthz`)).json()) as { deliveries: { pending: number; failed: number } };
        return health.deliveries.pending === 0 && health.deliveries;
      },
      90_000,
    );
    const deliveredMs = Date.now() - restartedAt;
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toEqual({ code: 0, signal: null });
    expect(second.output()).not.toMatch(/ error /);

    const after = await open();
    const audit = await auditDeliveries(after.db, slack);
    const [resumed] = await after.db.select().from(partnerCenterSyncs);
    await after.close();
    expect(resumed).toMatchObject({ runStartedAt: null, leaseUntil: null, lastError: null });
    expect(resumed!.lastFinishedAt).not.toBeNull();
    expect(audit.rows).toBe(stored.size * 2);
    console.log(
      `SIGTERM under load (${engine}): ${ok.length} purchases answered 201, ${refused.length} refused with 503, ${unanswered.length} unanswered (${stored.size} stored); ` +
        `${inFlightAtSignal} post(s) under way at the signal; exit 0 after ${seconds(stopMs)}; ${pendingAtStop} deliveries left, sent after the restart in ${seconds(deliveredMs)}; ` +
        `${audit.rows} outbox rows in ${audit.posts} posts, each once; test ${seconds(Date.now() - started)}`,
    );
  });
});

// ---------------------------------------------------------------- npm start

describe('npm start', () => {
  it('kill -TERM of the npm process stops the bot: port freed, data-folder lock released, exit 0', { timeout: 180_000 }, async () => {
    const dataDir = tempDir('csp-npm-start');
    const port = await freePort();
    // A process group of its own, so a failed test can kill the bot under npm too.
    const npm = spawn('npm', ['start'], { cwd: root, env: { ...process.env, ...cleared, LOG_LEVEL: 'info', DATA_DIR: dataDir, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    cleanups.push(() => {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    let output = '';
    npm.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npm.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => npm.once('exit', (code) => done(code)));
    const bot = await waitFor(
      'npm start to serve',
      () => {
        if (npm.exitCode !== null) throw new Error(`npm start exited (${npm.exitCode}):\n${output}`);
        // Its last start-up line says how to try it.
        return output.includes('Try it from another terminal') && servingHolder(dataDir);
      },
      150_000,
    );
    expect(bot.cliPort).toBe(port);
    expect(bot.pid, 'the bot is a process of its own under npm').not.toBe(npm.pid);
    expect(output).toContain('Loaded the demo partner');

    const signalledAt = Date.now();
    npm.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    const stopMs = Date.now() - signalledAt;
    expect(stopMs).toBeLessThan(10_000);
    expect(() => process.kill(bot.pid, 0), 'the bot process is gone').toThrow(/ESRCH/);
    expect(existsSync(join(dataDir, 'csp-ops.lock'))).toBe(false);
    expect(await listening(port)).toBe(false);
    expect(output).toContain('SIGTERM: stopping');
    console.log(`npm start: kill -TERM ${npm.pid} (npm) stopped the bot (pid ${bot.pid}) in ${seconds(stopMs)}; port ${port} free, lock file gone.`);
  });
});

// ---------------------------------------------------------------- replicas starting together

describe(
  onPostgres
    ? 'two replicas starting at once on one fresh PostgreSQL database: both serve, the migrations applied once under the advisory lock'
    : 'two replicas starting at once on one fresh data folder (PGlite: one process per folder): one serves, the other stops with one line',
  () => {
    it('start together', { timeout: 180_000 }, async () => {
      const started = Date.now();
      if (onPostgres) {
        const url = await emptyPostgres('csp_replicas');
        const replicas = await Promise.all(['replica 1', 'replica 2'].map((label) => startBotProcess(label, { DATABASE_URL: url, LOG_LEVEL: 'info' }, 150_000)));
        for (const replica of replicas) expect((await fetch(`http://127.0.0.1:${replica.port}/healthz`)).status).toBe(200);
        const db = postgres(url, { max: 1, onnotice: () => {} });
        const applied = await db<{ hash: string; n: number }[]>`select hash, count(*)::int as n from drizzle.__drizzle_migrations group by hash`;
        await db.end();
        expect(applied).toHaveLength(migrationCount);
        expect(applied.filter((m) => m.n !== 1)).toEqual([]);
        // One replica migrated (and refreshed the name keys); the other found nothing left to do.
        const migrated = replicas.filter((r) => r.output().includes(`Applied ${migrationCount} database migrations`));
        expect(migrated, replicas.map((r) => r.output()).join('\n---\n')).toHaveLength(1);
        expect(replicas.filter((r) => /Applied \d+ database migrations/.test(r.output()))).toHaveLength(1);
        await stopAll(replicas);
      } else {
        const dataDir = tempDir('csp-replicas');
        const children = ['replica 1', 'replica 2'].map(() => {
          const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: { ...process.env, ...cleared, DATA_DIR: dataDir, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
          spawned.add(child);
          let stderr = '';
          child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
          return { child, stderr: () => stderr, exited: new Promise<number | null>((done) => child.once('exit', (code) => done(code))) };
        });
        const refused = await Promise.race(children.map((c) => c.exited.then(() => c)));
        const serving = children.find((c) => c !== refused)!;
        const holder = await waitFor('the serving replica to hold the folder', () => servingHolder(dataDir), 150_000);
        expect(holder.pid).toBe(serving.child.pid);
        expect(refused.child.exitCode).toBe(1);
        expect(refused.stderr()).toBe(`The data folder ${dataDir} is in use by another csp-ops process (pid ${serving.child.pid}). Stop it first, or set DATA_DIR to another folder.\n`);
        expect((await fetch(`http://127.0.0.1:${holder.cliPort}/healthz`)).status).toBe(200);
        serving.child.kill('SIGTERM');
        expect(await serving.exited).toBe(0);
      }
      console.log(`replicas (${engine}): started together and stopped in ${seconds(Date.now() - started)}.`);
    });
  },
);

async function stopAll(bots: BotProcess[]) {
  for (const bot of bots) bot.child.kill('SIGTERM');
  for (const bot of bots) expect(await bot.exited, bot.output()).toEqual({ code: 0, signal: null });
}

// ---------------------------------------------------------------- npm run migrate and the one-line errors

/**
 * A stand-in PostgreSQL server that refuses every login the way a real one does (protocol 3.0):
 * it asks for the password in clear when `askPassword`, then answers FATAL with `code`.
 */
async function refusingPostgres(code: string, message: string, askPassword: boolean): Promise<{ url: (user: string, password: string, database: string) => string; passwords: string[] }> {
  const passwords: string[] = [];
  const message_ = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), Buffer.from([0, 0, 0, 0].map((_, i) => ((body.length + 4) >> (8 * (3 - i))) & 0xff)), body]);
  const fatal = () => message_('E', Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`));
  const server = createNetServer((socket) => {
    let startup = true;
    socket.on('data', (data) => {
      if (startup && askPassword) {
        startup = false;
        // AuthenticationCleartextPassword
        return void socket.write(message_('R', Buffer.from([0, 0, 0, 3])));
      }
      if (data[0] === 'p'.charCodeAt(0)) passwords.push(data.subarray(5, data.length - 1).toString());
      socket.end(fatal());
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  cleanups.push(() => new Promise((done) => server.close(done)));
  const { port } = server.address() as AddressInfo;
  return { url: (user, password, database) => `postgres://${user}:${password}@127.0.0.1:${port}/${database}`, passwords };
}

describe(`npm run migrate (${engine})`, () => {
  it('applies the migrations to a fresh database and says so in one line; a second run finds nothing to do', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const target = onPostgres ? { DATABASE_URL: await emptyPostgres('csp_migrate') } : { DATA_DIR: join(tempDir('csp-migrate'), 'data') };
    const described = onPostgres ? `database "${new URL(target.DATABASE_URL!).pathname.slice(1)}" on 127.0.0.1:5432` : `the embedded database in ${target.DATA_DIR}`;
    const npmRun = await promisify(execFile)('npm', ['run', '--silent', 'migrate'], { cwd: root, env: { ...process.env, ...cleared, ...target } }).catch((e: { code: number; stdout: string; stderr: string }) => e);
    expect(npmRun).toMatchObject({ stdout: `Applied ${migrationCount} migrations to ${described} (${migrationCount} in all).\n`, stderr: '' });
    expect(await runEntry('src/migrate.ts', target)).toEqual({ code: 0, stdout: `No migrations to apply: ${described} has all ${migrationCount}.\n`, stderr: '' });
    if (!onPostgres) expect(existsSync(join(target.DATA_DIR!, 'csp-ops.lock')), 'the data folder is released').toBe(false);
    console.log(`npm run migrate (${engine}): both runs in ${seconds(Date.now() - started)}.`);
  });

  it('a database that is missing, unreachable or refuses the login, a data folder that cannot be opened, or a port in use: one line on stderr, exit 1, no password', { timeout: 120_000 }, async () => {
    const started = Date.now();
    const password = 'pw-never-printed-7f3a';
    const closedPort = await freePort();
    // The missing database on the test server when there is one; elsewhere a stand-in answers as PostgreSQL does.
    const missing = onPostgres
      ? (() => {
          const url = new URL(process.env.TEST_DATABASE_URL!);
          url.password = password;
          url.pathname = '/csp_lifecycle_no_such_db';
          return { url: url.toString(), server: `${url.hostname}:${url.port || 5432}` };
        })()
      : await refusingPostgres('3D000', 'database "csp_lifecycle_no_such_db" does not exist', false).then((fake) => {
          const url = fake.url('postgres', password, 'csp_lifecycle_no_such_db');
          return { url, server: new URL(url).host };
        });
    // Trust authentication is on for the test server, so a refused password comes from the stand-in.
    const refusing = await refusingPostgres('28P01', 'password authentication failed for user "csp"', true);
    const wrongPassword = refusing.url('csp', password, 'csp');
    const notAFolder = join(tempDir('csp-not-a-folder'), 'file');
    writeFileSync(notAFolder, 'not a data folder');
    // A folder PGlite cannot read as a data folder (here: one claiming a PostgreSQL version it is not).
    const unreadable = tempDir('csp-unreadable');
    writeFileSync(join(unreadable, 'PG_VERSION'), '99\n');

    // A port another process holds (the bot listens on every interface, as here).
    const busy = createNetServer();
    await new Promise<void>((done) => busy.listen(0, done));
    cleanups.push(() => new Promise<void>((done) => busy.close(() => done())));
    const busyPort = (busy.address() as AddressInfo).port;
    const portFolder = tempDir('csp-port-in-use');

    const missingLine = `Database "csp_lifecycle_no_such_db" does not exist on ${missing.server}: create it (createdb csp_lifecycle_no_such_db) or correct DATABASE_URL.\n`;
    const cases: [string, NodeJS.ProcessEnv, string[], string | RegExp][] = [
      ['src/migrate.ts', { DATABASE_URL: missing.url }, [], missingLine],
      ['src/main.ts', { DATABASE_URL: missing.url }, [], missingLine],
      ['src/cli.ts', { DATABASE_URL: missing.url }, ['customers', '--as', 'x@example.com'], missingLine],
      ['src/migrate.ts', { DATABASE_URL: `postgres://csp:${password}@127.0.0.1:${closedPort}/csp` }, [], `Cannot reach PostgreSQL at 127.0.0.1:${closedPort} (ECONNREFUSED): start it or correct DATABASE_URL.\n`],
      ['src/migrate.ts', { DATABASE_URL: wrongPassword }, [], `PostgreSQL at ${new URL(wrongPassword).host} refused the password of user "csp": correct the password in DATABASE_URL.\n`],
      ['src/main.ts', { DATA_DIR: unreadable }, [], `Cannot open the embedded database in ${unreadable} (PGlite failed to initialize properly): set DATA_DIR to a folder csp-ops can create and write (a new one starts empty).\n`],
      ['src/main.ts', { DATA_DIR: portFolder, PORT: String(busyPort) }, [], `Port ${busyPort} is in use by another process: stop it, or set PORT to a free port.\n`],
      ['src/migrate.ts', { DATA_DIR: notAFolder }, [], new RegExp(`^Cannot open the embedded database in ${notAFolder} \\(EEXIST: [^\\n]*\\): set DATA_DIR to a folder csp-ops can create and write \\(a new one starts empty\\)\\.\\n$`)],
    ];
    const results = await Promise.all(cases.map(([entry, env, args]) => runEntry(entry, env, args)));
    results.forEach((result, i) => {
      const [entry, env, , line] = cases[i]!;
      const what = `${entry} with ${JSON.stringify(env)}`;
      expect(result.code, what).toBe(1);
      if (typeof line === 'string') expect(result.stderr, what).toBe(line);
      else expect(result.stderr, what).toMatch(line);
      expect(result.stdout, what).toBe('');
      expect(result.stderr + result.stdout, what).not.toContain(password);
    });
    // The stand-in did receive the password it refused; the data folder that could not be opened is not left locked.
    expect(refusing.passwords).toEqual([password]);
    expect(existsSync(join(unreadable, 'csp-ops.lock'))).toBe(false);
    expect(existsSync(join(portFolder, 'csp-ops.lock'))).toBe(false);
    console.log(`one-line database errors: ${cases.length} runs in ${seconds(Date.now() - started)}.`);
  });
});
