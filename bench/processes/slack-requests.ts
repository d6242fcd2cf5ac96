/**
 * Signed Slack requests as Slack sends them, the same as test/helpers/slack.ts builds them, without
 * loading the app: the load generator signs each request itself, just before sending it.
 */
import { createHmac } from 'node:crypto';
import { teamId } from '../../test/helpers/fixture.js';

/** The signing secret every server under test is started with. */
export const benchSigningSecret = 'bench-signing-secret-7d41e0';

/** Slack's v0 signature: HMAC-SHA256 over `v0:{timestamp}:{body}`. */
export function signedHeaders(body: string, secret = benchSigningSecret): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    'x-slack-signature': signature,
  };
}

export function slashCommandBody(user: string, text: string, responseUrl: string): string {
  return new URLSearchParams({
    token: 'legacy-token',
    team_id: teamId,
    team_domain: 'partner',
    channel_id: 'C0OPS00001',
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

/** A button click on the clicker's own ephemeral message (a command's answer). */
export function blockActionBody(user: string, actionId: string, value: string, responseUrl: string): string {
  const payload = {
    type: 'block_actions',
    team: { id: teamId, domain: 'partner' },
    user: { id: user, username: user.toLowerCase(), team_id: teamId },
    api_app_id: 'A0CSPOPS01',
    token: 'legacy-token',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0OPS00001', is_ephemeral: true },
    trigger_id: `${Date.now()}.1.abc`,
    channel: { id: 'C0OPS00001', name: 'ops' },
    response_url: responseUrl,
    actions: [{ type: 'button', action_id: actionId, block_id: 'b1', value, text: { type: 'plain_text', text: 'x' }, action_ts: `${Date.now() / 1000}` }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}
