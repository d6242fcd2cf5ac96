import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { DatabaseHandle } from '../../db/client.js';
import { startBot, type Bot } from '../../src/bot.js';
import { importOrganization, parseImportFile } from '../../src/core/import.js';
import type { Logger } from '../../src/log.js';
import type { PartnerCenterConfig } from '../../src/partner-center/connector.js';
import { validateAdaptiveCard } from './adaptive-card.js';
import { openTestDatabase } from './database.js';
import { otherOrganization, teamsTenantId, testOrganization } from './fixture.js';
import { signingSecret, silentLog } from './slack.js';
import { waitFor } from './wait.js';

export const teamsAppId = '5e5e5e5e-0000-4000-8000-0000000000b0';
const botTenantId = '6f6f6f6f-0000-4000-8000-0000000000c0';
const issuer = 'https://api.botframework.com';

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/** Refusals planned for this "conversation" apply to creating conversations (POST /v3/conversations). */
export const newConversation = '(new conversation)';

interface Refusal {
  status: number;
  retryAfter?: string;
  method?: 'POST' | 'PUT';
}

export interface ConnectorCall {
  method: string;
  path: string;
  conversationId: string;
  activityId?: string;
  body: { type?: string; replyToId?: string; attachments?: { contentType: string; content: unknown }[]; text?: string };
  authorization?: string;
  /** The ID the connector gave what was posted. */
  postedId: string;
  /** When the call arrived (ms since the epoch). */
  at: number;
}

/**
 * A Bot Framework service on loopback: the connector (`/v3/conversations/…`) that
 * records what the bot posts and updates, and the OpenID metadata + signing keys
 * the bot validates inbound tokens against.
 */
export async function startFakeBotFramework() {
  const calls: ConnectorCall[] = [];
  /** Planned refusals of posts (or, with `method: 'PUT'`, updates) in a conversation, used in order: the connector's own status and Retry-After. */
  const refusals = new Map<string, Refusal[]>();
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', use: 'sig', alg: 'RS256' };
  let nextId = 1;
  const server = createServer(async (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const body = await readJson(req);
    if (path === '/v1/.well-known/openidconfiguration') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer, jwks_uri: `${base}/v1/.well-known/keys` }));
      return;
    }
    if (path === '/v1/.well-known/keys') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    if (path === '/v3/conversations' && req.method === 'POST') {
      const refused = refusals.get(newConversation)?.shift();
      if (refused) return void res.writeHead(refused.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'Refused', message: `planned ${refused.status}` } }));
      // Creating a personal chat: the bot and one user.
      const created = body as ConnectorCall['body'] & { members?: { id: string }[] };
      const conversationId = `a:personal-${created.members?.[0]?.id ?? 'nobody'}`;
      calls.push({ postedId: conversationId, method: 'POST', path, conversationId, body: created, authorization: req.headers.authorization, at: Date.now() });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: conversationId }));
      return;
    }
    const match = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/]+))?$/.exec(path);
    const queue = match ? refusals.get(decodeURIComponent(match[1]!)) : undefined;
    const at = queue?.findIndex((r) => (r.method ?? 'POST') === req.method) ?? -1;
    const refusal = at === -1 ? undefined : queue!.splice(at, 1)[0];
    if (refusal) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(refusal.retryAfter ? { 'retry-after': refusal.retryAfter } : {}) };
      res.writeHead(refusal.status, headers).end(JSON.stringify({ error: { code: 'Refused', message: `planned ${refusal.status}` } }));
      return;
    }
    if (match) {
      // Teams gives a channel message a numeric ID (its thread is then `<channel>;messageid=<ID>`).
      const postedId = String(1_700_000_000_000 + nextId++);
      calls.push({
        postedId,
        method: req.method ?? '',
        path,
        conversationId: decodeURIComponent(match[1]!),
        activityId: match[2] && decodeURIComponent(match[2]),
        body: body as ConnectorCall['body'],
        authorization: req.headers.authorization,
        at: Date.now(),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: postedId }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    serviceUrl: `${base}/`,
    openIdMetadataUrl: `${base}/v1/.well-known/openidconfiguration`,
    calls,
    /** The next posts (or updates, with `method: 'PUT'`) in this conversation are refused with these statuses. */
    refuse(conversationId: string, answers: Refusal[]) {
      refusals.set(conversationId, [...(refusals.get(conversationId) ?? []), ...answers]);
    },
    /** A Bot Framework token as the service signs it; each claim can be spoiled for a refusal test. */
    async token(claims: { aud?: string; iss?: string; exp?: number | string; serviceurl?: string; key?: CryptoKey; kid?: string } = {}) {
      return new SignJWT({ serviceurl: claims.serviceurl ?? `${base}/` })
        .setProtectedHeader({ alg: 'RS256', kid: claims.kid ?? 'test-key' })
        .setIssuer(claims.iss ?? issuer)
        .setAudience(claims.aud ?? teamsAppId)
        .setIssuedAt()
        .setExpirationTime(claims.exp ?? '10m')
        .sign(claims.key ?? privateKey);
    },
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

export type FakeBotFramework = Awaited<ReturnType<typeof startFakeBotFramework>>;

export interface ActivityOptions {
  conversationId?: string;
  conversationType?: 'channel' | 'groupChat' | 'personal';
  tenantId?: string;
  serviceUrl?: string;
  /** Bearer token to send; undefined sends a valid one when the bot checks tokens. */
  token?: string | null;
  /** The user's Teams client language (activity.locale). */
  locale?: string;
}

/** The csp-ops bot with Teams on, on a fresh database, the Bot Framework faked on loopback. */
export async function startTeamsTestBot(
  options: {
    authenticated?: boolean;
    /** Slack too, on this fake Web API. */
    slackApiUrl?: string;
    organizations?: unknown[];
    /** Partner Center connector settings (and other settings, such as METRICS_TOKEN) and timing, passed to startBot. */
    partnerCenter?: PartnerCenterConfig & Partial<Parameters<typeof startBot>[0]['config']>;
    partnerCenterTuning?: Parameters<typeof startBot>[0]['partnerCenterTuning'];
    /** Each user's Teams client language, sent as activity.locale unless an activity names its own. */
    locales?: Record<string, string>;
    /** Where the bot logs (default: nowhere). */
    log?: Logger;
  } = {},
) {
  const authenticated = options.authenticated ?? true;
  const database: DatabaseHandle = await openTestDatabase();
  for (const file of options.organizations ?? [testOrganization, otherOrganization]) await importOrganization(database.db, parseImportFile(file));
  const framework = await startFakeBotFramework();
  const bot: Bot = await startBot({
    db: database.db,
    config: {
      PORT: 0,
      SLACK_SIGNING_SECRET: options.slackApiUrl ? signingSecret : undefined,
      SLACK_BOT_TOKEN: options.slackApiUrl ? 'xoxb-test-token' : undefined,
      SLACK_APP_TOKEN: undefined,
      SLACK_API_URL: options.slackApiUrl ?? 'http://127.0.0.1:9/',
      ...(authenticated
        ? { MICROSOFT_APP_ID: teamsAppId, MICROSOFT_APP_PASSWORD: 'test-secret', MICROSOFT_APP_TENANT_ID: botTenantId, MICROSOFT_APP_TYPE: 'SingleTenant' as const }
        : { TEAMS_ALLOW_UNAUTHENTICATED: true }),
      TEAMS_OPENID_METADATA_URL: framework.openIdMetadataUrl,
      ...options.partnerCenter,
    },
    partnerCenterTuning: options.partnerCenterTuning,
    log: options.log ?? silentLog,
    deliveryIntervalMs: 50,
    // The bot's own token for the connector, as the Microsoft login would issue it.
    teamsBotToken: () => framework.token({ aud: 'https://api.botframework.com' }),
  });
  // Tests start from a settled bot: its start-up Partner Center calls (repair, a stale catalog) are over.
  await bot.startup;
  const url = `http://127.0.0.1:${bot.port}/api/messages`;

  function activity(type: string, fromAad: string, extra: Record<string, unknown>, o: ActivityOptions) {
    const conversationId = o.conversationId ?? '19:ops-channel@thread.tacv2';
    return {
      type,
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      channelId: 'msteams',
      serviceUrl: o.serviceUrl ?? framework.serviceUrl,
      from: { id: `29:${fromAad}`, aadObjectId: fromAad, name: 'user' },
      recipient: { id: `28:${teamsAppId}`, name: 'csp-ops' },
      conversation: { id: conversationId, conversationType: o.conversationType ?? 'channel', tenantId: o.tenantId ?? teamsTenantId },
      channelData: { tenant: { id: o.tenantId ?? teamsTenantId } },
      ...((o.locale ?? options.locales?.[fromAad]) ? { locale: o.locale ?? options.locales?.[fromAad] } : {}),
      ...extra,
    };
  }

  async function post(body: unknown, o: ActivityOptions) {
    const token = o.token === undefined ? (authenticated ? await framework.token() : null) : o.token;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  }

  function cardOf(call: ConnectorCall | undefined) {
    const card = call?.body.attachments?.[0]?.content;
    if (card) validateAdaptiveCard(card);
    return card as AdaptiveCardJson | undefined;
  }

  async function invoke(fromAad: string, action: { verb: string; data: Record<string, string> }, replyToId: string, trigger: 'manual' | 'automatic', o: ActivityOptions) {
    const before = framework.calls.length;
    const body = activity('invoke', fromAad, { name: 'adaptiveCard/action', replyToId, value: { action: { type: 'Action.Execute', ...action }, trigger } }, o);
    const response = await post(body, o);
    const raw = await response.text();
    const answer = raw ? (JSON.parse(raw) as { statusCode?: number; type?: string; value?: unknown }) : undefined;
    const isCard = answer?.type === 'application/vnd.microsoft.card.adaptive';
    if (isCard) validateAdaptiveCard(answer.value);
    // The bot updates the card for everyone before it answers the click. A queued refresh of the same card (from
    // an earlier change) may land meanwhile: the click's own update is the last one before the answer.
    const update = framework.calls.slice(before).reverse().find((c) => c.method === 'PUT' && c.activityId === replyToId);
    return {
      status: response.status,
      answer,
      card: isCard ? (answer.value as AdaptiveCardJson) : undefined,
      /** A message Teams shows the clicker alone, the card left as it was. */
      message: answer?.type === 'application/vnd.microsoft.activity.message' ? (answer.value as string) : undefined,
      update,
      updatedCard: cardOf(update),
    };
  }

  return {
    db: database.db,
    kind: database.kind,
    bot,
    url,
    framework,
    post,
    activity,
    /**
     * A message to the bot; resolves with the HTTP status and the card the sender sees. In a channel or
     * group chat the reply everyone sees (`sharedCard`) refreshes into the sender's own card, as their
     * Teams client would ask for it.
     */
    async message(fromAad: string, text: string, o: ActivityOptions = {}) {
      const body = activity('message', fromAad, { text }, o);
      const response = await post(body, o);
      // The ID the server gave the request (X-Request-Id), which its log lines carry.
      const requestId = response.headers.get('x-request-id') ?? undefined;
      if (response.status !== 200) return { status: response.status, requestId, card: undefined, replyToId: undefined };
      // The answer names the message it answers; announcements posted meanwhile do not.
      const reply = await waitFor('the answer', () => framework.calls.find((c) => c.method === 'POST' && c.body.replyToId === body.id));
      const sharedCard = cardOf(reply);
      const refresh = sharedCard?.refresh;
      if (!refresh?.userIds?.includes(`29:${fromAad}`)) return { status: response.status, requestId, card: sharedCard, replyToId: reply?.postedId, reply };
      const own = await invoke(fromAad, refresh.action, reply!.postedId, 'automatic', o);
      return { status: response.status, requestId, card: own.card, sharedCard, refresh, replyToId: reply?.postedId, reply };
    },
    /** What Teams shows this user for a card with a refresh action (a user-specific view). */
    refresh: (fromAad: string, action: { verb: string; data: { value: string } }, replyToId: string, o: ActivityOptions = {}) =>
      invoke(fromAad, action, replyToId, 'automatic', o),
    /**
     * An Action.Execute click on a card the bot sent; resolves with the clicker's card (or the message
     * shown to them beside the card) and the card's update for everyone, if the bot made one.
     */
    async click(fromAad: string, action: { verb: string; value: string; inputs?: Record<string, string> }, replyToId: string, o: ActivityOptions = {}) {
      return invoke(fromAad, { verb: action.verb, data: { value: action.value, ...action.inputs } }, replyToId, 'manual', o);
    },
    async close() {
      await bot.stop();
      await framework.close();
      await database.close();
    },
  };
}

export type TeamsTestBot = Awaited<ReturnType<typeof startTeamsTestBot>>;

export interface AdaptiveCardJson {
  body?: {
    type: string;
    text?: string;
    facts?: { title: string; value: string }[];
    inlines?: CardTextRun[];
    actions?: CardAction[];
    /** An input's. */
    id?: string;
    label?: string;
    choices?: { title: string; value: string }[];
  }[];
  actions?: CardAction[];
  refresh?: { action: { verb: string; data: { value: string } }; userIds?: string[] };
}

export interface CardTextRun {
  type: string;
  text: string;
  weight?: string;
  color?: string;
  selectAction?: { type: string; url?: string };
}

export interface CardAction {
  type: string;
  title: string;
  verb?: string;
  data?: { value: string } & Record<string, string>;
  style?: string;
}

/** Every word a card shows, for assertions on what the user reads: a RichTextBlock's runs read as one line. */
export function cardText(card: AdaptiveCardJson | undefined): string {
  const parts: string[] = [];
  for (const element of card?.body ?? []) {
    if (element.text) parts.push(element.text);
    if (element.inlines) parts.push(element.inlines.map((run) => run.text).join(''));
    for (const fact of element.facts ?? []) parts.push(`${fact.title}: ${fact.value}`);
    if (element.choices) parts.push(element.label ?? '', ...element.choices.map((choice) => choice.title));
    for (const action of element.actions ?? []) parts.push(action.title);
  }
  for (const action of card?.actions ?? []) parts.push(action.title);
  return parts.join('\n');
}

/** The addresses a card's text links to, with the text each link shows. */
export function cardLinks(card: AdaptiveCardJson | undefined): { text: string; url: string }[] {
  return (card?.body ?? []).flatMap((e) => e.inlines ?? []).flatMap((run) => (run.selectAction?.url ? [{ text: run.text, url: run.selectAction.url }] : []));
}

export function cardActions(card: AdaptiveCardJson | undefined): CardAction[] {
  return [...(card?.actions ?? []), ...(card?.body ?? []).flatMap((e) => e.actions ?? [])];
}

/** The list a Choose button names (src/views/teams.ts): the card offers each of its choices instead of a button. */
export function choiceList(card: AdaptiveCardJson | undefined, choose: CardAction) {
  return choose.verb === 'choose' ? card?.body?.find((e) => e.type === 'Input.ChoiceSet' && e.id === choose.data?.value) : undefined;
}
