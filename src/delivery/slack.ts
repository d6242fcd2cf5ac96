import { ErrorCode, WebClient, type WebAPIRateLimitedError, type WebAPIHTTPError, type WebAPIPlatformError } from '@slack/web-api';
import { renderSlack } from '../views/slack.js';
import { DeliveryError, type Sender } from './worker.js';

/**
 * chat.postMessage with one HTTP call per attempt: retries and Retry-After are
 * the outbox's job, so they survive a restart.
 */
export function slackSender(token: string, slackApiUrl: string): Sender {
  const client = new WebClient(token, { slackApiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: 30_000 });
  return async ({ channelId }, view) => {
    try {
      const result = await client.chat.postMessage({ channel: channelId, ...renderSlack(view) });
      return { messageId: result.ts };
    } catch (error) {
      const coded = error as { code?: string };
      if (coded.code === ErrorCode.RateLimitedError) {
        throw new DeliveryError('Slack rate limit (429)', (error as WebAPIRateLimitedError).retryAfter);
      }
      if (coded.code === ErrorCode.HTTPError) throw new DeliveryError(`Slack answered HTTP ${(error as WebAPIHTTPError).statusCode}`);
      if (coded.code === ErrorCode.PlatformError) throw new DeliveryError(`Slack error: ${(error as WebAPIPlatformError).data.error}`);
      throw error;
    }
  };
}
