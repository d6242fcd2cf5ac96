import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { startBot, type Bot } from '../src/bot.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { openTestDatabase } from './helpers/database.js';
import { startFakeSocketMode, type FakeSocketMode } from './helpers/fake-socket-mode.js';
import { teamId, tenants, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, silentLog, type SlackReply } from './helpers/slack.js';
import { activityFor, permissionFor } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

const appToken = 'xapp-1-A0CSPOPS01-1234567890-socketmodetest';
const botToken = 'xoxb-test-token';
const channel = 'C0SOCKET01';

let database: DatabaseHandle;
let slack: FakeSocketMode;
let bot: Bot;

beforeAll(async () => {
  database = await openTestDatabase();
  await importOrganization(database.db, parseImportFile(testOrganization));
  slack = await startFakeSocketMode();
  bot = await startBot({
    db: database.db,
    config: { PORT: 0, SLACK_SIGNING_SECRET: undefined, SLACK_BOT_TOKEN: botToken, SLACK_APP_TOKEN: appToken, SLACK_API_URL: slack.apiUrl },
    log: silentLog,
    deliveryIntervalMs: 50,
  });
});

afterAll(async () => {
  await bot?.stop();
  await slack?.close();
  await database?.close();
});

/** The fields Slack sends for `/csp …`, as the payload of a slash_commands envelope. */
function slashCommandPayload(user: string, text: string, responseUrl: string) {
  return {
    token: 'legacy-token',
    team_id: teamId,
    team_domain: 'partner',
    channel_id: channel,
    channel_name: 'socket',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/csp',
    text,
    api_app_id: 'A0CSPOPS01',
    is_enterprise_install: 'false',
    response_url: responseUrl,
    trigger_id: `${Date.now()}.1.abc`,
  };
}

/** A button click, as the payload of an interactive envelope (blockActionBody's payload, unencoded). */
function blockActionPayload(user: string, button: { action_id: string; value: string }, responseUrl: string) {
  return {
    type: 'block_actions',
    team: { id: teamId, domain: 'partner' },
    user: { id: user, username: user.toLowerCase(), team_id: teamId },
    api_app_id: 'A0CSPOPS01',
    token: 'legacy-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: channel, is_ephemeral: true },
    trigger_id: `${Date.now()}.1.abc`,
    channel: { id: channel, name: 'socket' },
    response_url: responseUrl,
    actions: [{ type: 'button', action_id: button.action_id, block_id: 'b1', value: button.value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` }],
  };
}

function button(reply: SlackReply | undefined, label: string) {
  const found = buttons(reply).find((b) => b.text.text === label);
  if (!found) throw new Error(`no "${label}" button in ${replyText(reply)}`);
  return found;
}

/** A slash command over the socket; resolves with the ack's payload (the ephemeral reply). */
async function command(user: string, text: string) {
  const ack = await slack.sendEnvelope('slash_commands', slashCommandPayload(user, text, slack.responseUrl(randomUUID())));
  return ack.payload as SlackReply | undefined;
}

describe('Slack over Socket Mode (SLACK_APP_TOKEN set)', () => {
  it('connects through apps.connections.open at SLACK_API_URL with the app token and serves nothing on /slack/events', async () => {
    const open = slack.calls.filter((c) => c.method === 'apps.connections.open');
    expect(open).toHaveLength(1);
    expect(open[0]!.token).toBe(appToken);
    expect(slack.connections).toHaveLength(1);
    expect(slack.connections[0]!.open).toBe(true);

    const response = await fetch(`http://127.0.0.1:${bot.port}/slack/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'command=%2Fcsp&text=help',
    });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'Slack events arrive over Socket Mode (SLACK_APP_TOKEN is set), not at this URL.' });
    const health = await fetch(`http://127.0.0.1:${bot.port}/healthz`);
    expect(health.status).toBe(200);
  });

  it('R-P3 R-P6 R-P10 allow-reservations: confirmation in the ack, Turn on over the socket, logged and announced', async () => {
    const reply = await command(users.adminAgent, 'allow-reservations twcloud.example');
    expect(reply?.response_type).toBe('ephemeral');
    expect(replyText(reply)).toContain('Allow 台灣雲端科技股份有限公司 to buy Azure reservations?');
    expect(buttons(reply).map((b) => b.text.text)).toEqual(['Turn on', 'Cancel']);
    // Asking changes nothing until the button is clicked.
    expect(await permissionFor(database.db, tenants.taiwanCloud)).toHaveLength(0);

    const turnOn = button(reply, 'Turn on');
    expect(turnOn.action_id).toMatch(/^csp:/);
    const responseId = randomUUID();
    const postsBefore = slack.posts().length;
    const ack = await slack.sendEnvelope('interactive', blockActionPayload(users.adminAgent, turnOn, slack.responseUrl(responseId)));
    // Buttons are acked empty; the card is replaced through response_url.
    expect(ack.payload).toEqual({});

    const replaced = (await waitFor('the response_url post', () => slack.responses.find((r) => r.id === responseId))).body as SlackReply;
    expect(replaced.replace_original).toBe(true);
    expect(replyText(replaced)).toContain('Azure reservation purchases are now on for 台灣雲端科技股份有限公司');
    expect(buttons(replaced)).toHaveLength(0);

    const permissions = await permissionFor(database.db, tenants.taiwanCloud);
    expect(permissions).toHaveLength(1);
    expect(permissions[0]!.resource).toBe('azure-reservations');
    const log = await activityFor(database.db, tenants.taiwanCloud);
    expect(log.map((r) => [r.action, r.actorName])).toEqual([['create_customer_purchase_permission', '王小明']]);

    const post = await waitFor('the announcement', () => slack.posts().slice(postsBefore).find((p) => p.body.channel === channel));
    expect(post.token).toBe(botToken);
    // The announcement's first line; what the customer can now do follows it (issue 19).
    expect(String(post.body.text).split('\n')[0]).toBe('王小明 turned on Azure reservation purchases for 台灣雲端科技股份有限公司.');

    expect(slack.unexpected).toEqual([]);
  });

  it('answers the client\'s pings, so the connection stays up', async () => {
    // The client pings every clientPingTimeout/3 (5 s / 3) and reconnects after 3 unanswered ones.
    await waitFor('a ping', () => (slack.pings() > 0 ? true : undefined), 4000);
    expect(slack.connections).toHaveLength(1);
    expect(slack.connections[0]!.open).toBe(true);
  });

  it('reconnects through apps.connections.open after Slack asks it to, and keeps answering', async () => {
    slack.refresh();
    // The client waits clientPingTimeout (5 s) before reconnecting.
    await slack.waitForConnections(2);
    expect(slack.connections[0]!.open).toBe(false);
    expect(slack.calls.filter((c) => c.method === 'apps.connections.open')).toHaveLength(2);

    const reply = await command(users.adminAgent, 'allow-reservations twcloud.example');
    expect(replyText(reply)).toMatch(/already on for 台灣雲端科技股份有限公司/);
    expect(buttons(reply)).toHaveLength(0);
  });
});
