import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  body: Record<string, unknown>;
  /** The token the call carried (bearer header, else body.token): the app token for apps.connections.open, the bot token otherwise. */
  token?: string;
  /** The `ts` answered to a chat.postMessage or chat.update that succeeded. */
  ts?: string;
  /** When the call arrived (ms since the epoch). */
  at: number;
}

interface PlannedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Never answer: the caller's timeout has to end the request. */
  hang?: boolean;
  /** Only for a call to this channel. */
  channel?: string;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] ?? '').includes('json')) return JSON.parse(text || '{}');
  const form = Object.fromEntries(new URLSearchParams(text));
  // The Web API client form-encodes nested values as JSON strings.
  for (const key of ['blocks', 'attachments', 'view', 'files']) if (typeof form[key] === 'string') form[key] = JSON.parse(form[key] as string);
  return form;
}

export interface UploadedFile {
  id: string;
  filename: string;
  /** The length files.getUploadURLExternal was told. */
  length: number;
  data?: Buffer;
  title?: string;
  /** Set by files.completeUploadExternal. */
  channel?: string;
  initialComment?: string;
  /** The rich text comment shared with the file (files.completeUploadExternal `blocks`). */
  blocks?: unknown[];
}

/** A workspace the app can be installed in through the OAuth install: who installs, and the bot token Slack grants there. */
export interface FakeWorkspace {
  teamId: string;
  teamName: string;
  botToken: string;
  botUserId: string;
  /** The Slack user who installs. */
  installer: string;
}

/** The bytes posted to an upload URL: the file part of a multipart form, or the raw body. */
async function readUpload(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) return raw;
  const form = await new Response(raw, { headers: { 'content-type': type } }).formData();
  const file = [...form.values()].find((v): v is File => typeof v !== 'string');
  return file ? Buffer.from(await file.arrayBuffer()) : Buffer.alloc(0);
}

/**
 * A Slack Web API on loopback: answers auth.test, records chat.* calls (answering
 * from a plan when one is queued, else from `answers` for that method) and serves
 * response_url endpoints. For the OAuth install it also plays Slack's authorize page
 * (`/oauth/v2/authorize`, signed in to the workspace `signInTo` named) and oauth.v2.access.
 */
export async function startFakeSlack(
  options: {
    answers?: Record<string, (body: Record<string, unknown>) => unknown>;
    /** Slack's chat.postMessage limit: about one message per second per channel, with short bursts; beyond it, 429 with Retry-After. */
    channelLimit?: { perSecond: number; burst: number };
    /** How long each Web API call takes. */
    delayMs?: number;
    /** Each user's Slack language, as users.info gives it; others have en-US. */
    locales?: Record<string, string>;
  } = {},
) {
  const calls: RecordedCall[] = [];
  /** Every Web API call as it arrives, before `delayMs` and before it is answered. */
  const arrived: Pick<RecordedCall, 'method' | 'body'>[] = [];
  const buckets = new Map<string, { tokens: number; at: number }>();
  let rateLimited = 0;
  /** True when this post to the channel is over the limit. */
  const overLimit = (channel: string) => {
    const limit = options.channelLimit!;
    const now = Date.now();
    const bucket = buckets.get(channel) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    buckets.set(channel, bucket);
    if (bucket.tokens < 1) return true;
    bucket.tokens -= 1;
    return false;
  };
  const responses: { id: string; body: Record<string, unknown> }[] = [];
  /** What users.info (include_locale) answers as each user's Slack language; others use en-US. */
  const userLocales = new Map<string, string>(Object.entries(options.locales ?? {}));
  /** files.uploadV2: each file asked for an upload URL, got its bytes there, and was shared by files.completeUploadExternal. */
  const uploads = new Map<string, UploadedFile>();
  const plans = new Map<string, PlannedAnswer[]>();
  /** `channel ts` of every message posted, which chat.update can change. */
  const posted = new Set<string>();
  let ts = 1000;
  /** The workspace the browser is signed in to on the authorize page. */
  let signedIn: FakeWorkspace | undefined;
  /** Each authorize page visit's query: client_id, scope, state, redirect_uri. */
  const authorizations: URLSearchParams[] = [];
  /** Authorization codes given on the authorize page, each exchangeable once by oauth.v2.access. */
  const grants = new Map<string, { workspace: FakeWorkspace; scope: string; redirectUri: string | null; used?: boolean }>();
  /** Workspaces by the bot token granted there, for auth.test. */
  const installed = new Map<string, FakeWorkspace>();
  const server = createServer(async (req, res) => {
    if ((req.url ?? '').startsWith('/oauth/v2/authorize')) {
      const query = new URL(req.url!, base).searchParams;
      authorizations.push(query);
      const redirect = query.get('redirect_uri');
      if (!signedIn || !redirect) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('not signed in, or no redirect_uri');
      const code = `grant-${grants.size + 1}`;
      grants.set(code, { workspace: signedIn, scope: query.get('scope') ?? '', redirectUri: redirect });
      const back = new URL(redirect);
      back.searchParams.set('code', code);
      back.searchParams.set('state', query.get('state') ?? '');
      return void res.writeHead(302, { location: back.toString() }).end();
    }
    if ((req.url ?? '').startsWith('/upload/')) {
      const upload = uploads.get((req.url ?? '').slice('/upload/'.length));
      const data = await readUpload(req);
      if (!upload) return void res.writeHead(404).end();
      upload.data = data;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${data.length}`);
      return;
    }
    const body = await readBody(req);
    const path = req.url ?? '/';
    if (path.startsWith('/response/')) {
      responses.push({ id: path.slice('/response/'.length), body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    const method = path.replace(/^\/api\//, '').split('?')[0]!;
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '') || (body.token as string | undefined);
    arrived.push({ method, body });
    if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
    if (method === 'chat.postMessage' && options.channelLimit && overLimit(String(body.channel))) {
      rateLimited += 1;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end('{"ok":false,"error":"ratelimited"}');
      return;
    }
    const call: RecordedCall = { method, body, token, at: Date.now() };
    calls.push(call);
    const queue = plans.get(method) ?? [];
    const at = queue.findIndex((p) => p.channel === undefined || p.channel === body.channel);
    const planned = at === -1 ? undefined : queue.splice(at, 1)[0];
    if (planned?.hang) return;
    if (planned) {
      res.writeHead(planned.status, { 'content-type': 'application/json', ...planned.headers }).end(JSON.stringify(planned.body ?? { ok: false }));
      return;
    }
    const answer =
      options.answers?.[method] ? options.answers[method](body)
      : method === 'auth.test' ? authTest(token)
      : method === 'oauth.v2.access' ? exchange(body)
      : method === 'files.getUploadURLExternal' ? uploadUrl(body)
      : method === 'files.completeUploadExternal' ? completeUpload(body)
      : method === 'users.info' ? { ok: true, user: { id: body.user, ...(body.include_locale ? { locale: userLocales.get(String(body.user)) ?? 'en-US' } : {}) } }
      : method === 'conversations.open' ? { ok: true, channel: { id: directMessageChannel(String(body.users)) } }
      : method === 'chat.update' ? update(body)
      : method === 'views.publish' ? { ok: true, view: { ...(body.view as object), id: `VHOME${String(body.user_id)}`, hash: `${Date.now()}.1` } }
      : { ok: true, channel: body.channel, ts: `${++ts}.000100` };
    call.ts = (answer as { ts?: string }).ts;
    if (method === 'chat.postMessage' && call.ts) posted.add(`${String(body.channel)} ${call.ts}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
  });
  function authTest(token: string | undefined) {
    const workspace = installed.get(token ?? '');
    if (!workspace) return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0TEST' };
    return { ok: true, url: `https://${workspace.teamId.toLowerCase()}.slack.com/`, team: workspace.teamName, user: 'csp-ops', team_id: workspace.teamId, user_id: workspace.botUserId, bot_id: `B${workspace.botUserId.slice(1)}` };
  }
  /** oauth.v2.access as documented: the bot token with its scopes, the workspace, and who installed (no user token: no user scopes). */
  function exchange(body: Record<string, unknown>) {
    const grant = grants.get(String(body.code));
    if (!grant || grant.used) return { ok: false, error: 'invalid_code' };
    if (grant.redirectUri !== null && body.redirect_uri !== grant.redirectUri) return { ok: false, error: 'bad_redirect_uri' };
    grant.used = true;
    const { workspace } = grant;
    installed.set(workspace.botToken, workspace);
    return {
      ok: true,
      access_token: workspace.botToken,
      token_type: 'bot',
      scope: grant.scope,
      bot_user_id: workspace.botUserId,
      app_id: 'A0CSPOPS01',
      team: { name: workspace.teamName, id: workspace.teamId },
      enterprise: null,
      authed_user: { id: workspace.installer },
      is_enterprise_install: false,
    };
  }
  /** chat.update finds only a message posted in that channel, as Slack does. */
  function update(body: Record<string, unknown>) {
    if (!posted.has(`${String(body.channel)} ${String(body.ts)}`)) return { ok: false, error: 'message_not_found' };
    return { ok: true, channel: body.channel, ts: body.ts };
  }
  function uploadUrl(body: Record<string, unknown>) {
    const id = `F0UPLOAD${uploads.size + 1}`;
    uploads.set(id, { id, filename: String(body.filename), length: Number(body.length) });
    return { ok: true, upload_url: `${base}/upload/${id}`, file_id: id };
  }
  function completeUpload(body: Record<string, unknown>) {
    const files = (body.files as { id: string; title?: string }[]).map((f) => Object.assign(uploads.get(f.id)!, { title: f.title, channel: body.channel_id as string, initialComment: body.initial_comment as string | undefined, blocks: body.blocks as unknown[] | undefined }));
    return { ok: true, files: files.map((f) => ({ id: f.id, name: f.filename, title: f.title })) };
  }
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    /** The listening server, for attaching an 'upgrade' handler. */
    server,
    apiUrl: `${base}/api/`,
    responseUrl: (id: string) => `${base}/response/${id}`,
    calls,
    arrived,
    responses,
    posts: () => calls.filter((c) => c.method === 'chat.postMessage'),
    /** Home tabs published (views.publish), in order. */
    homes: () => calls.filter((c) => c.method === 'views.publish'),
    /** chat.update calls that changed a posted message. */
    updates: () => calls.filter((c) => c.method === 'chat.update' && c.ts),
    /** Files shared in a channel through files.uploadV2, with the bytes that were uploaded. */
    files: () => [...uploads.values()].filter((u) => u.channel !== undefined),
    /** Posts refused with 429 by `channelLimit`. */
    rateLimited: () => rateLimited,
    /** Sets the language users.info gives for a user. */
    setLocale: (user: string, locale: string) => void userLocales.set(user, locale),
    /** The authorize page's visits, each with its query (client_id, scope, state, redirect_uri). */
    authorizations,
    /** The browser on Slack's authorize page is signed in to this workspace from now on. */
    signInTo: (workspace: FakeWorkspace) => void (signedIn = workspace),
    /** Answers the next calls of `method` with these, in order, then as usual. */
    plan(method: string, answers: PlannedAnswer[]) {
      plans.set(method, [...(plans.get(method) ?? []), ...answers]);
    },
    close: () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}

/** The DM channel conversations.open gives for a user. */
export const directMessageChannel = (user: string) => `D${user.slice(1)}`;

export type FakeSlack = Awaited<ReturnType<typeof startFakeSlack>>;

/**
 * How many purchases a post announced: a digest says how many, a reply in a digest's thread
 * (`thread_ts`) names the range of them it lists, a single purchase is one.
 */
export function announcedIn(post: RecordedCall): number {
  const text = String(post.body.text ?? '');
  const digest = /^(\d+) customer purchases/.exec(text);
  if (digest) return Number(digest[1]);
  const reply = /^Purchases (\d+)–(\d+) of \d+/.exec(text);
  if (reply && post.body.thread_ts) return Number(reply[2]) - Number(reply[1]) + 1;
  if (text.startsWith('Customer purchase:')) return 1;
  throw new Error(`not a purchase announcement: ${text.slice(0, 200)}`);
}
