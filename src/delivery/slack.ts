import { ErrorCode, WebClient, type WebAPIRateLimitedError, type WebAPIHTTPError, type WebAPIPlatformError } from '@slack/web-api';
import { renderSlack } from '../views/slack.js';
import { DeliveryError, type Sender } from './worker.js';

/** Slack errors that a later try may get past; any other error Slack names will not go away by waiting. */
const transientErrors = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
/** The bot cannot post in that conversation: a DM or group DM it is not in, a channel it was not added to or that was archived. */
const unreachableErrors = new Set(['not_in_channel', 'channel_not_found', 'is_archived']);

/** The same failure as the outbox understands it: when to try again, or that trying again cannot help. */
function deliveryError(error: unknown): unknown {
  const coded = error as { code?: string };
  if (coded.code === ErrorCode.RateLimitedError) {
    return new DeliveryError('Slack rate limit (429)', { retryAfterSeconds: (error as WebAPIRateLimitedError).retryAfter });
  }
  if (coded.code === ErrorCode.HTTPError) {
    const status = (error as WebAPIHTTPError).statusCode;
    return new DeliveryError(`Slack answered HTTP ${status}`, { permanent: status >= 400 && status < 500 && status !== 408 });
  }
  if (coded.code === ErrorCode.PlatformError) {
    const code = (error as WebAPIPlatformError).data.error;
    return new DeliveryError(`Slack error: ${code}`, { permanent: !transientErrors.has(code) });
  }
  return error;
}

const unreachable = (error: unknown) => (error as { code?: string }).code === ErrorCode.PlatformError && unreachableErrors.has((error as WebAPIPlatformError).data.error);

/** One workspace's bot token, or (OAuth install) the token installed in the organization's workspace, if any. */
export type SlackToken = string | ((orgId: string) => Promise<string | undefined>);

/**
 * chat.postMessage and chat.update with one HTTP call per attempt: retries and
 * Retry-After are the outbox's job, so they survive a restart. A reply goes in
 * the thread of the message it answers (`thread_ts`). A message for a
 * person goes to a DM opened with conversations.open when the bot cannot post
 * where they asked (or they asked from the terminal: the channel is their user ID).
 */
export function slackSender(token: SlackToken, slackApiUrl: string, timeoutSeconds = 10): Sender {
  // Each call names its token, so one client serves every workspace.
  const client = new WebClient(undefined, { slackApiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: timeoutSeconds * 1000 });
  async function tokenFor(orgId: string): Promise<string> {
    const found = typeof token === 'string' ? token : await token(orgId);
    if (!found) throw new DeliveryError('csp-ops is not installed in the organization\'s Slack workspace (install it again with a link code)', { permanent: true });
    return found;
  }
  return {
    async post({ orgId, channelId, t }, view, { person, replyTo } = {}) {
      const message = renderSlack(view, t);
      const auth = { token: await tokenFor(orgId) };
      const postTo = async (channel: string) => {
        const result = await client.chat.postMessage({ ...auth, channel, ...message, ...(replyTo ? { thread_ts: replyTo } : {}) });
        return { messageId: result.ts, channelId: result.channel ?? channel };
      };
      let refused: unknown;
      if (channelId !== person?.id) {
        try {
          return await postTo(channelId);
        } catch (error) {
          if (!person || !unreachable(error)) throw deliveryError(error);
          refused = error;
        }
      }
      try {
        const opened = await client.conversations.open({ ...auth, users: person!.id });
        return await postTo(opened.channel!.id!);
      } catch (error) {
        const failure = deliveryError(error);
        // Both routes are named, so `notify failures` shows why neither worked.
        if (refused && failure instanceof DeliveryError) {
          throw new DeliveryError(`${(deliveryError(refused) as Error).message} in ${channelId}; direct message: ${failure.message}`, failure.options);
        }
        throw failure;
      }
    },
    async update({ orgId, channelId, t }, ts, view) {
      const auth = { token: await tokenFor(orgId) };
      try {
        await client.chat.update({ ...auth, channel: channelId, ts, ...renderSlack(view, t) });
      } catch (error) {
        throw deliveryError(error);
      }
    },
  };
}
