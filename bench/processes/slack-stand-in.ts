/**
 * Slack for the command benchmark, in a process of its own: the Web API (test/helpers/fake-slack.ts)
 * and, on a second port, response_url posts and the orchestrator's questions about them.
 *
 *   POST /response/<id>          a response_url post: counted with the time it arrived (bodies are
 *                                kept only for ids starting with "check-")
 *   GET  /count?prefix=&from=&to= how many response_url posts have ids starting with prefix (and
 *                                arrived between from and to, ms since the epoch, when given)
 *   GET  /response?id=           the body posted for a check- id, or 404
 *   POST /reset                  forgets everything recorded so far (between rows)
 *
 * Tells its parent (IPC) { apiUrl, responseBase, controlUrl } once both listen.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFakeSlack } from '../../test/helpers/fake-slack.js';

const fake = await startFakeSlack();

/** Arrival times (ms since the epoch) of response_url posts, by id. */
const arrivals: { id: string; at: number }[] = [];
const checkBodies = new Map<string, unknown>();

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://stand-in');
  const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (req.method === 'POST' && url.pathname.startsWith('/response/')) {
    const id = decodeURIComponent(url.pathname.slice('/response/'.length));
    const text = await readText(req);
    arrivals.push({ id, at: Date.now() });
    if (id.startsWith('check-')) checkBodies.set(id, JSON.parse(text || '{}'));
    return json(200, { ok: true });
  }
  if (req.method === 'GET' && url.pathname === '/count') {
    const prefix = url.searchParams.get('prefix') ?? '';
    const from = Number(url.searchParams.get('from') ?? -Infinity);
    const to = Number(url.searchParams.get('to') ?? Infinity);
    let count = 0;
    let last = 0;
    for (const a of arrivals) {
      if (a.id.startsWith(prefix) && a.at >= from && a.at <= to) {
        count++;
        if (a.at > last) last = a.at;
      }
    }
    return json(200, { count, last });
  }
  if (req.method === 'GET' && url.pathname === '/response') {
    const id = url.searchParams.get('id') ?? '';
    return checkBodies.has(id) ? json(200, checkBodies.get(id)) : json(404, { error: 'not posted' });
  }
  if (req.method === 'POST' && url.pathname === '/reset') {
    arrivals.length = 0;
    checkBodies.clear();
    fake.calls.length = 0;
    fake.arrived.length = 0;
    fake.responses.length = 0;
    return json(200, { ok: true });
  }
  json(404, { error: 'unknown' });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

process.send!({ apiUrl: fake.apiUrl, responseBase: `${base}/response/`, controlUrl: base });
// The orchestrator ends this process; losing it (a crash of the orchestrator) ends it too.
process.on('disconnect', () => process.exit(0));
