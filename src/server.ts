import { createServer, type IncomingHttpHeaders, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { CliResult } from './adapters/cli/run.js';
import { purchaseBatchBodyLimit } from './adapters/api/purchases.js';
import type { DownloadAnswer } from './adapters/downloads.js';
import { translator } from './i18n/index.js';
import { forRequest, type Logger } from './log.js';
import type { Telemetry } from './observability.js';
import { newRequest, type RequestContext } from './request-context.js';
import type { SlackListener } from './adapters/slack/verify.js';

export interface ServerOptions {
  log: Logger;
  /** Delivery backlog for /healthz, so a monitor sees messages piling up or failing. */
  deliveries?: () => Promise<{ pending: number; failed: number }>;
  /** Bolt's listener for POST /slack/events; undefined when Slack is not configured or uses Socket Mode. */
  slack?: SlackListener;
  socketMode?: boolean;
  /** GET /slack/install and /slack/oauth_redirect: the Slack OAuth install, when configured. */
  slackInstall?: RequestListener;
  /** The Teams adapter's handler for POST /api/messages; undefined when Teams is off. */
  teams?: (request: { headers: Record<string, string | string[]>; body: unknown }, context: RequestContext) => Promise<{ status: number; body?: unknown }>;
  /** POST /api/v1/purchases (src/adapters/api/purchases.ts). */
  purchases?: (request: { authorization?: string; contentType?: string; body: string; context: RequestContext }) => Promise<{ status: number; body: unknown }>;
  /** POST /api/v1/saas/subscriptions/{id}/activate|licenses (src/adapters/api/saas.ts). */
  saas?: (request: { subscriptionId: string; step: 'activate' | 'licenses'; authorization?: string; body: string; context: RequestContext }) => Promise<{ status: number; body: unknown }>;
  /** POST /webhooks/partner-center (src/partner-center/webhooks.ts): given the body's exact bytes; undefined answers 404. */
  partnerCenterWebhook?: (request: { headers: IncomingHttpHeaders; rawBody: Buffer; context: RequestContext }) => Promise<{ status: number; body: unknown }>;
  /** Lets `npm run csp` run through this process while it holds the embedded data folder. */
  cli?: { token: string; run: (argv: string[], context: RequestContext) => Promise<CliResult> };
  /** GET /files/<signed token>: files the Teams adapter linked to (src/adapters/downloads.ts). */
  downloads?: (token: string, acceptLanguage?: string) => DownloadAnswer;
  /** Counts the API calls and serves GET /metrics. */
  telemetry?: Pick<Telemetry, 'answered' | 'scrape' | 'contentType'>;
  /** When set, GET /metrics asks for it as a bearer token (METRICS_TOKEN). */
  metricsToken?: string;
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

class BodyTooLarge extends Error {}

async function readBytes(req: IncomingMessage, limit: number): Promise<Buffer> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge('body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return (await readBytes(req, limit)).toString('utf8');
}

function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const apiBodyLimit = 64 * 1024;

const loopback = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export interface HttpServer extends Server {
  /**
   * Stops taking requests and resolves once those under way were answered and every connection
   * closed. Requests still arriving on open keep-alive connections are answered 503.
   */
  drain(): Promise<void>;
}

/** The one HTTP server: Slack, Teams, health, metrics, and the local CLI bridge. */
export function createHttpServer(options: ServerOptions): HttpServer {
  let drained: Promise<void> | undefined;
  const answering = new Set<ServerResponse>();
  // Each request gets its ID here, handed to what handles it, whose log lines carry it; the answer names it too.
  const server = createServer((req, res) => {
    const request = newRequest();
    res.setHeader('x-request-id', request.requestId);
    if (drained) return send(res.setHeader('connection', 'close'), 503, { error: translator('en')('api.stopping') });
    answering.add(res);
    res.once('close', () => {
      answering.delete(res);
      // Its connection may be idle now: close it rather than wait for the client.
      if (drained) setImmediate(() => server.closeIdleConnections());
    });
    handle(req, res, request);
  });
  return Object.assign(server, {
    drain: () =>
      (drained ??= new Promise<void>((done) => {
        // Answers still to come close their connection after them.
        for (const res of answering) if (!res.headersSent) res.setHeader('connection', 'close');
        server.close(() => done());
        server.closeIdleConnections();
      })),
  });

  function handle(req: IncomingMessage, res: ServerResponse, request: RequestContext) {
    const path = (req.url ?? '/').split('?')[0];
    // Made only for a line to write: most requests write none here.
    const requestLog = () => forRequest(options.log, request);
    if (path === '/healthz' && req.method === 'GET') {
      // The server listens only after migrations ran, so answering at all means ready.
      if (!options.deliveries) return send(res, 200, { status: 'ok' });
      options.deliveries().then(
        (deliveries) => send(res, 200, { status: 'ok', deliveries }),
        (error) => {
          requestLog().error('healthz', error);
          send(res, 503, { status: 'database unavailable' });
        },
      );
      return;
    }
    if (path === '/metrics' && req.method === 'GET' && options.telemetry) {
      const { telemetry, metricsToken } = options;
      const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      if (metricsToken && !sameSecret(given, metricsToken)) return send(res.setHeader('www-authenticate', 'Bearer'), 401, { error: 'GET /metrics needs the METRICS_TOKEN as a bearer token.' });
      telemetry.scrape().then(
        (text) => res.writeHead(200, { 'content-type': telemetry.contentType }).end(text),
        (error) => {
          requestLog().error('metrics', error);
          send(res, 500, { error: 'internal error' });
        },
      );
      return;
    }
    if (path === '/slack/events' && req.method === 'POST') {
      if (options.slack) return options.slack(req, res, request);
      const error = options.socketMode
        ? 'Slack events arrive over Socket Mode (SLACK_APP_TOKEN is set), not at this URL.'
        : 'Slack is not configured: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN.';
      return send(res, 503, { error });
    }
    if ((path === '/slack/install' || path === '/slack/oauth_redirect') && req.method === 'GET') {
      if (options.slackInstall) return options.slackInstall(req, res);
      return send(res, 404, { error: 'The Slack OAuth install is not configured: set SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET and SLACK_TOKEN_KEY (see README).' });
    }
    if (path === '/api/messages' && req.method === 'POST') {
      const teams = options.teams;
      if (!teams) return send(res, 503, { error: 'Teams is not configured: set MICROSOFT_APP_ID (see README).' });
      readBody(req, 1_000_000)
        .then(async (text) => {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            return send(res, 400, { error: 'The body is not JSON.' });
          }
          const headers = Object.fromEntries(Object.entries(req.headers).filter((e): e is [string, string | string[]] => e[1] !== undefined));
          const answer = await teams({ headers, body }, request);
          if (answer.body === undefined) res.writeHead(answer.status).end();
          else send(res, answer.status, answer.body);
        })
        .catch((error) => {
          requestLog().error('teams', error);
          if (!res.headersSent) send(res, 500, { error: 'internal error' });
        });
      return;
    }
    // The JSON APIs: a body of at most 64 KB (a batch of purchases 1 MB), a 4xx naming any problem, and nothing stored on an error.
    // Each call is logged and counted by its path template (`endpoint`), never by the IDs in its path.
    const api = (name: string, endpoint: string, handle: (body: string) => Promise<{ status: number; body: unknown }>, bodyLimit = apiBodyLimit) => {
      const t = translator('en');
      const started = performance.now();
      const answer = (status: number, body: unknown) => {
        options.telemetry?.answered({ request, endpoint, method: req.method ?? '', status, durationMs: performance.now() - started });
        send(res, status, body);
      };
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return answer(405, { error: t('api.methodNotAllowed', { path: path! }) });
      }
      readBody(req, bodyLimit)
        .then(handle)
        .then((answered) => answer(answered.status, answered.body))
        .catch((error) => {
          if (error instanceof BodyTooLarge) {
            res.setHeader('connection', 'close');
            return answer(413, { error: t('api.tooLarge', { max: bodyLimit }) });
          }
          requestLog().error(name, error);
          if (!res.headersSent) answer(500, { error: 'internal error; nothing was recorded' });
        });
    };
    const intake = options.purchases;
    if (path === '/api/v1/purchases' && intake) {
      // A batch's limit: the intake holds a single purchase to 64 KB itself.
      const answerIntake = (body: string) => intake({ authorization: req.headers.authorization, contentType: req.headers['content-type'], body, context: request });
      return api('purchase intake', '/api/v1/purchases', answerIntake, purchaseBatchBodyLimit);
    }
    const saas = /^\/api\/v1\/saas\/subscriptions\/([^/]+)\/(activate|licenses)$/.exec(path ?? '');
    const fulfillment = options.saas;
    if (saas && fulfillment) {
      const [, id, step] = saas as unknown as [string, string, 'activate' | 'licenses'];
      return api('saas fulfillment', `/api/v1/saas/subscriptions/{id}/${step}`, (body) => fulfillment({ subscriptionId: decodeURIComponent(id), step, authorization: req.headers.authorization, body, context: request }));
    }
    const webhook = options.partnerCenterWebhook;
    if (path === '/webhooks/partner-center' && webhook) {
      // The signature covers the body's bytes: they are verified as received, before any parsing.
      if (req.method !== 'POST') return send(res.setHeader('allow', 'POST'), 405, { error: translator('en')('api.methodNotAllowed', { path }) });
      readBytes(req, apiBodyLimit)
        .then((rawBody) => webhook({ headers: req.headers, rawBody, context: request }))
        .then((answer) => send(res, answer.status, answer.body))
        .catch((error) => {
          if (error instanceof BodyTooLarge) return send(res.setHeader('connection', 'close'), 413, { error: translator('en')('api.tooLarge', { max: apiBodyLimit }) });
          requestLog().error('partner center webhook', error);
          if (!res.headersSent) send(res, 500, { error: 'internal error; nothing was recorded' });
        });
      return;
    }
    if (path?.startsWith('/files/') && (req.method === 'GET' || req.method === 'HEAD') && options.downloads) {
      const answer = options.downloads(path.slice('/files/'.length), req.headers['accept-language']);
      res.writeHead(answer.status, answer.headers);
      if (!answer.file || req.method === 'HEAD') return void res.end(answer.body);
      // An export is streamed from disk, never read whole into memory.
      pipeline(createReadStream(answer.file), res).catch((error) => requestLog().warn(`download of ${answer.file} ended early`, error));
      return;
    }
    const cli = options.cli;
    if (path === '/internal/cli' && req.method === 'POST' && cli) {
      if (!loopback.has(req.socket.remoteAddress ?? '') || !sameSecret(req.headers['x-csp-cli-token'] as string | undefined, cli.token)) {
        return send(res, 403, { error: 'forbidden' });
      }
      readBody(req, 1_000_000)
        .then((body) => cli.run((JSON.parse(body) as { argv: string[] }).argv, request))
        .then((result) => send(res, 200, result))
        .catch((error) => {
          requestLog().error('cli bridge', error);
          send(res, 500, { output: translator('en')('cli.bridgeFailed', { reason: (error as Error).message }), exitCode: 1 });
        });
      return;
    }
    send(res, 404, { error: 'not found' });
  }
}
