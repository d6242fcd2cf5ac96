import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatabase, type DatabaseHandle } from '../../db/client.js';
import { onPostgres, openFreshPostgres } from './database.js';
import { signedHeaders } from './slack.js';
import { waitFor } from './wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children = new Set<ChildProcess>();

export interface BotProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** A loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * `node --import tsx src/main.ts [args]` with these settings over this process's environment (its database,
 * Slack app token and Teams settings cleared, so only what the test gives counts), ready once
 * /healthz answers.
 */
export async function startBotProcess(label: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000, args: string[] = []): Promise<BotProcess> {
  const port = await freePort();
  const cleared = { DATABASE_URL: '', DATA_DIR: '', SLACK_APP_TOKEN: '', MICROSOFT_APP_ID: '', MICROSOFT_APP_PASSWORD: '', MICROSOFT_APP_TENANT_ID: '', TEAMS_ALLOW_UNAUTHENTICATED: '' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: root, env: { ...process.env, ...cleared, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
  await waitFor(
    `${label} to answer /healthz`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output}`);
      return fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    },
    timeoutMs,
  );
  return { port, child, exited, output: () => readable(output) };
}

/** Every bot process still running is killed (a test's afterAll). */
export function killBotProcesses(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/**
 * The database child processes share with the test: a fresh PostgreSQL database, or a PGlite folder
 * opened by one process at a time. `settings` go to the child; `open` opens it here between runs.
 */
export async function sharedDatabase(
  prefix: string,
  cleanups: (() => Promise<unknown> | void)[],
): Promise<{ settings: { DATABASE_URL: string } | { DATA_DIR: string }; open: () => Promise<DatabaseHandle> }> {
  if (onPostgres) {
    const handle = await openFreshPostgres(process.env.TEST_DATABASE_URL!, prefix);
    cleanups.push(() => handle.close());
    const url = new URL(process.env.TEST_DATABASE_URL!);
    url.pathname = `/${handle.name}`;
    return { settings: { DATABASE_URL: url.toString() }, open: async () => ({ ...handle, close: async () => {} }) };
  }
  const dataDir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  return { settings: { DATA_DIR: dataDir }, open: () => openDatabase({ dataDir }) };
}

/** A bot child process with Slack on, and signed requests posted to its events endpoint. */
export async function startSlackBotProcess(env: NodeJS.ProcessEnv) {
  const bot = await startBotProcess('the bot', env);
  const post = (body: string) => fetch(`http://127.0.0.1:${bot.port}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
  return { ...bot, post };
}

/** A process's output as people read it: each JSON log line as its message. */
function readable(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      try {
        const entry = JSON.parse(line) as { msg?: unknown };
        return typeof entry?.msg === 'string' ? entry.msg : line;
      } catch {
        return line;
      }
    })
    .join('\n');
}
