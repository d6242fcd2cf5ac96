import { createHmac, randomUUID } from 'node:crypto';
import type { DatabaseHandle } from '../../db/client.js';
import { importOrganization, parseImportFile } from '../../src/core/import.js';
import { startBot, type Bot } from '../../src/bot.js';
import type { Logger } from '../../src/log.js';
import type { PartnerCenterConfig } from '../../src/partner-center/connector.js';
import { slackHomeSchema, slackMessageSchema } from './block-kit.js';
import { openTestDatabase } from './database.js';
import { startFakeSlack, type FakeSlack } from './fake-slack.js';
import { otherOrganization, teamId, testOrganization } from './fixture.js';
import { waitFor } from './wait.js';

export const signingSecret = 'test-signing-secret-4f1c2b';

export const silentLog: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Slack's v0 signature: HMAC-SHA256 over `v0:{timestamp}:{body}`. */
export function signedHeaders(body: string, timestamp = Math.floor(Date.now() / 1000), secret = signingSecret) {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  };
}

export interface RequestOptions {
  team?: string;
  channel?: string;
  timestamp?: number;
  secret?: string;
  retryNum?: number;
  /** A click on a message the bot posted in a channel (its ts), seen by everyone there; otherwise the click is on the clicker's own ephemeral message. */
  messageTs?: string;
}

export function slashCommandBody(user: string, text: string, responseUrl: string, options: RequestOptions = {}): string {
  return new URLSearchParams({
    token: 'legacy-token',
    team_id: options.team ?? teamId,
    team_domain: 'partner',
    channel_id: options.channel ?? 'C0OPS00001',
    channel_name: 'ops',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/csp',
    text,
    api_app_id: 'A0CSPOPS01',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.1.abc`,
  }).toString();
}

/** What every interaction payload carries: its type, the workspace and who acted. */
function interaction(type: 'block_actions' | 'view_submission', user: string, team = teamId) {
  return { type, team: { id: team, domain: 'partner' }, user: { id: user, username: user.toLowerCase(), team_id: team }, api_app_id: 'A0CSPOPS01', token: 'legacy-token' };
}

export function blockActionBody(user: string, actionId: string, value: string, responseUrl: string, options: RequestOptions = {}): string {
  const payload = {
    ...interaction('block_actions', user, options.team),
    container: { type: 'message', message_ts: options.messageTs ?? '1700000000.000100', channel_id: options.channel ?? 'C0OPS00001', is_ephemeral: !options.messageTs },
    trigger_id: `${Date.now()}.1.abc`,
    channel: { id: options.channel ?? 'C0OPS00001', name: 'ops' },
    response_url: responseUrl,
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** A modal submitted with these values (view.state.values: block ID → action ID → element state). */
export function viewSubmissionBody(user: string, modal: { callback_id: string; private_metadata: string }, values: Record<string, unknown>, team = teamId): string {
  const payload = {
    ...interaction('view_submission', user, team),
    trigger_id: `${Date.now()}.1.def`,
    view: { id: 'V0MODAL001', type: 'modal', callback_id: modal.callback_id, private_metadata: modal.private_metadata, state: { values } },
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** A click in the user's Home tab: the payload has the home view instead of a message, and no response_url. */
export function homeActionBody(user: string, actionId: string, value: string, options: Pick<RequestOptions, 'team'> = {}): string {
  const team = options.team ?? teamId;
  const viewId = `VHOME${user}`;
  const payload = {
    ...interaction('block_actions', user, team),
    container: { type: 'view', view_id: viewId },
    trigger_id: `${Date.now()}.1.home`,
    view: { id: viewId, team_id: team, type: 'home', blocks: [], private_metadata: '', callback_id: '', state: { values: {} }, hash: `${Date.now()}.1`, app_id: 'A0CSPOPS01', bot_id: 'BBOT' },
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export interface RichTextElement {
  type: string;
  text?: string;
  url?: string;
  style?: { bold?: boolean };
}

export interface SlackBlock {
  type: string;
  text?: { type: string; text: string };
  fields?: { type: string; text: string }[];
  /** A rich_text block's sections, or an actions block's buttons. */
  elements?: ({ type: string; elements?: RichTextElement[] } & Partial<SlackButton>)[];
}

export interface SlackButton {
  type: string;
  action_id: string;
  value: string;
  text: { type: string; text: string };
  style?: string;
}

export interface SlackReply {
  text?: string;
  blocks?: SlackBlock[];
  response_type?: string;
  replace_original?: boolean;
  mrkdwn?: boolean | string;
}

/** Slack's own decoding of a message's `text`: the three entities it escapes. */
export function decodeSlackEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A rich text section as it reads: bold runs between asterisks, links as their address. */
export function richText(elements: RichTextElement[] | undefined): string {
  return (elements ?? []).map((e) => {
    const text = e.type === 'link' ? (e.text ?? e.url ?? '') : (e.text ?? '');
    return e.style?.bold ? `*${text}*` : text;
  }).join('');
}

/** Every word a reply shows, for assertions on what the user reads. */
export function replyText(reply: SlackReply | undefined): string {
  if (!reply) return '';
  const parts = [decodeSlackEntities(reply.text ?? '')];
  for (const block of reply.blocks ?? []) {
    if (block.text) parts.push(block.text.text);
    for (const field of block.fields ?? []) parts.push(field.text);
    if (block.type === 'rich_text') for (const section of block.elements ?? []) parts.push(richText(section.elements));
    for (const button of buttons({ blocks: [block] })) parts.push(button.text.text);
  }
  return parts.join('\n');
}

/** The addresses a reply's rich text links to. */
export function replyLinks(reply: SlackReply | undefined): string[] {
  return (reply?.blocks ?? []).flatMap((b) => (b.type === 'rich_text' ? (b.elements ?? []).flatMap((section) => section.elements ?? []) : [])).flatMap((e) => (e.type === 'link' && e.url ? [e.url] : []));
}

export function buttons(reply: SlackReply | undefined): SlackButton[] {
  return (reply?.blocks ?? []).flatMap((b) => (b.type === 'actions' ? ((b.elements ?? []) as SlackButton[]) : []));
}

/** The csp-ops bot on a fresh database, wired as in production, with Slack faked on loopback. */
export async function startTestBot(
  options: {
    organizations?: unknown[];
    database?: DatabaseHandle;
    fakeSlack?: Parameters<typeof startFakeSlack>[0];
    /** Another instance's fake Slack, so both post to one workspace; closed by its owner. */
    slack?: FakeSlack;
    deliveryTimeoutSeconds?: number;
    /** Partner Center connector (and webhook) settings, and timing, passed to startBot. */
    partnerCenter?: PartnerCenterConfig & Partial<Parameters<typeof startBot>[0]['config']>;
    partnerCenterTuning?: Parameters<typeof startBot>[0]['partnerCenterTuning'];
    /** Where the bot logs (default: nowhere). */
    log?: Logger;
    /** Settings over the defaults (the OAuth install's, without SLACK_BOT_TOKEN). */
    config?: Partial<Parameters<typeof startBot>[0]['config']>;
  } = {},
) {
  // A database handed in is another instance's: already loaded, and closed by its owner.
  const database: DatabaseHandle = options.database ?? (await openTestDatabase());
  if (!options.database) {
    for (const file of options.organizations ?? [testOrganization, otherOrganization]) {
      await importOrganization(database.db, parseImportFile(file));
    }
  }
  const slack: FakeSlack = options.slack ?? (await startFakeSlack(options.fakeSlack));
  const bot: Bot = await startBot({
    db: database.db,
    config: {
      PORT: 0,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_APP_TOKEN: undefined,
      SLACK_API_URL: slack.apiUrl,
      DELIVERY_TIMEOUT_SECONDS: options.deliveryTimeoutSeconds,
      ...options.partnerCenter,
      ...options.config,
    },
    partnerCenterTuning: options.partnerCenterTuning,
    log: options.log ?? silentLog,
    deliveryIntervalMs: 50,
  });
  // Tests start from a settled bot: its start-up Partner Center calls (repair, a stale catalog) are over.
  await bot.startup;
  const url = `http://127.0.0.1:${bot.port}/slack/events`;

  async function post(body: string, options: RequestOptions = {}) {
    const headers: Record<string, string> = signedHeaders(body, options.timestamp, options.secret);
    if (options.retryNum !== undefined) {
      headers['x-slack-retry-num'] = String(options.retryNum);
      headers['x-slack-retry-reason'] = 'http_timeout';
    }
    return fetch(url, { method: 'POST', headers, body });
  }

  /** Waits for the Home tab published for `user` after the `since`-th Web API call, checked against Slack's limits. */
  async function publishedHome(user: string, since: number) {
    const call = await waitFor(`the Home tab of ${user}`, () => slack.calls.slice(since).find((c) => c.method === 'views.publish' && c.body.user_id === user));
    return slackHomeSchema.parse(call.body.view) as SlackReply & { type: 'home' };
  }

  /** A view_submission of the modal `modal` with these inputs, as Slack sends it. */
  function submission(user: string, modal: { callback_id: string; private_metadata: string }, inputs: Record<string, string>, team = teamId) {
    const values = Object.fromEntries(Object.entries(inputs).map(([key, value]) => [key, { [key]: { type: 'plain_text_input', value } }]));
    return post(viewSubmissionBody(user, modal, values, team));
  }

  async function waitForResponse(id: string) {
    const found = await waitFor(`the response_url post for ${id}`, () => slack.responses.find((r) => r.id === id));
    return slackMessageSchema.parse(found.body) as SlackReply;
  }

  return {
    db: database.db,
    database,
    kind: database.kind,
    slack,
    bot,
    url,
    post,
    /** A signed `/csp` slash command; resolves with the HTTP status and the ack body (the ephemeral reply). */
    async command(user: string, text: string, options: RequestOptions = {}) {
      const response = await post(slashCommandBody(user, text, slack.responseUrl(randomUUID()), options), options);
      const raw = await response.text();
      return { status: response.status, reply: (raw ? slackMessageSchema.parse(JSON.parse(raw)) : undefined) as SlackReply | undefined };
    },
    /** A signed button click; resolves with the message that replaced the card. */
    async click(user: string, button: { action_id: string; value: string }, options: RequestOptions = {}) {
      const id = randomUUID();
      const response = await post(blockActionBody(user, button.action_id, button.value, slack.responseUrl(id), options), options);
      if (response.status !== 200) return { status: response.status, reply: undefined };
      return { status: response.status, reply: await waitForResponse(id) };
    },
    /**
     * A click that opens a modal, then the modal submitted with these inputs:
     * resolves with the opened modal and the message the submission replaced.
     */
    async clickAndSubmit(user: string, button: { action_id: string; value: string }, inputs: Record<string, string>, options: RequestOptions = {}) {
      const id = randomUUID();
      const opened = slack.calls.length;
      const click = await post(blockActionBody(user, button.action_id, button.value, slack.responseUrl(id), options));
      if (click.status !== 200) return { status: click.status, modal: undefined, reply: undefined };
      // The modal opened by this click: the one whose metadata carries this click's response_url.
      const modalCall = () =>
        slack.calls.slice(opened).find((c) => c.method === 'views.open' && JSON.stringify(c.body).includes(id));
      const answered = () => slack.responses.find((r) => r.id === id);
      await waitFor('a modal or an answer', () => modalCall() ?? answered());
      // A click can also be answered at once, without a modal (the request was already decided).
      if (!modalCall() && answered()) return { status: click.status, modal: undefined, reply: await waitForResponse(id) };
      const modal = modalCall()?.body.view as { callback_id: string; private_metadata: string; blocks: unknown[] } | undefined;
      if (!modal) throw new Error('no modal was opened');
      const submitted = await submission(user, modal, inputs);
      return { status: submitted.status, modal, reply: await waitForResponse(id) };
    },
    /** The user opens the app's Home tab (the app_home_opened event); resolves with the Home tab published for them. */
    async openHome(user: string, options: Pick<RequestOptions, 'team'> = {}) {
      const since = slack.calls.length;
      const body = JSON.stringify({
        token: 'legacy-token',
        team_id: options.team ?? teamId,
        api_app_id: 'A0CSPOPS01',
        event: { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home', event_ts: `${Date.now() / 1000}` },
        type: 'event_callback',
        event_id: `Ev${randomUUID().slice(0, 8)}`,
        event_time: Math.floor(Date.now() / 1000),
      });
      const response = await fetch(url, { method: 'POST', headers: { ...signedHeaders(body), 'content-type': 'application/json' }, body });
      return { status: response.status, home: await publishedHome(user, since) };
    },
    /** A click on a button of the user's Home tab; resolves with the Home tab published again, or the modal the click opened. */
    async clickInHome(user: string, button: { action_id: string; value: string }) {
      const since = slack.calls.length;
      const response = await post(homeActionBody(user, button.action_id, button.value));
      const answer = await waitFor('the Home tab or a modal', () =>
        slack.calls.slice(since).find((c) => (c.method === 'views.publish' && c.body.user_id === user) || c.method === 'views.open'));
      if (answer.method === 'views.open') {
        return { status: response.status, home: undefined, modal: answer.body.view as { callback_id: string; private_metadata: string; blocks: SlackBlock[] } };
      }
      return { status: response.status, home: slackHomeSchema.parse(answer.body.view) as SlackReply & { type: 'home' }, modal: undefined };
    },
    /** Submits a modal opened from the user's Home tab; resolves with the Home tab published again. */
    async submitInHome(user: string, modal: { callback_id: string; private_metadata: string }, inputs: Record<string, string>) {
      const since = slack.calls.length;
      const response = await submission(user, modal, inputs);
      return { status: response.status, home: await publishedHome(user, since) };
    },
    /** The bot's HTTP origin (webhooks, the API). */
    origin: `http://127.0.0.1:${bot.port}`,
    /** Waits until `count` messages were posted and returns them. */
    async waitForPosts(count: number) {
      await waitFor(`${count} posts`, () => slack.posts().length >= count);
      for (const post of slack.posts()) slackMessageSchema.parse(post.body);
      return slack.posts();
    },
    async close() {
      await bot.stop();
      if (!options.slack) await slack.close();
      if (!options.database) await database.close();
    },
  };
}

export type TestBot = Awaited<ReturnType<typeof startTestBot>>;
