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

/**
 * chat.postMessage and chat.update with one HTTP call per attempt: retries and
 * Retry-After are the outbox's job, so they survive a restart. A message for a
 * person goes to a DM opened with conversations.open when the bot cannot post
 * where they asked (or they asked from the terminal: the channel is their user ID).
 */
export function slackSender(token: string, slackApiUrl: string, timeoutSeconds = 10): Sender {
  const client = new WebClient(token, { slackApiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: timeoutSeconds * 1000 });
  async function postTo(channel: string, message: ReturnType<typeof renderSlack>) {
    const result = await client.chat.postMessage({ channel, ...message });
    return { messageId: result.ts, channelId: result.channel ?? channel };
  }
  return {
    async post({ channelId, t }, view, person) {
      const message = renderSlack(view, t);
      let refused: unknown;
      if (channelId !== person?.id) {
        try {
          return await postTo(channelId, message);
        } catch (error) {
          if (!person || !unreachable(error)) throw deliveryError(error);
          refused = error;
        }
      }
      try {
        const opened = await client.conversations.open({ users: person!.id });
        return await postTo(opened.channel!.id!, message);
      } catch (error) {
        const failure = deliveryError(error);
        // Both routes are named, so `notify failures` shows why neither worked.
        if (refused && failure instanceof DeliveryError) {
          throw new DeliveryError(`${(deliveryError(refused) as Error).message} in ${channelId}; direct message: ${failure.message}`, failure.options);
        }
        throw failure;
      }
    },
    async update({ channelId, t }, ts, view) {
      try {
        await client.chat.update({ channel: channelId, ts, ...renderSlack(view, t) });
      } catch (error) {
        throw deliveryError(error);
      }
    },
  };
}
