import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const children = new Set<ChildProcess>();

export interface BotProcess {
  port: number;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

/**
 * `node --import tsx src/main.ts` with these settings over this process's environment (its database,
 * Slack app token and Teams settings cleared, so only what the test gives counts), ready once
 * /healthz answers.
 */
export async function startBotProcess(label: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<BotProcess> {
  const port = await freePort();
  const cleared = { DATABASE_URL: '', DATA_DIR: '', SLACK_APP_TOKEN: '', MICROSOFT_APP_ID: '', MICROSOFT_APP_PASSWORD: '', MICROSOFT_APP_TENANT_ID: '', TEAMS_ALLOW_UNAUTHENTICATED: '' };
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { cwd: root, env: { ...process.env, ...cleared, ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
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
  return { port, child, exited, output: () => output };
}

/** Every bot process still running is killed (a test's afterAll). */
export function killBotProcesses(): void {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
