import { ErrorCode, WebClient, type WebAPIRateLimitedError, type WebAPIHTTPError, type WebAPIPlatformError } from '@slack/web-api';
import { renderSlack } from '../views/slack.js';
import { DeliveryError, type Sender } from './worker.js';

/** Slack errors that a later try may get past; any other error Slack names will not go away by waiting. */
const transientErrors = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/**
 * chat.postMessage with one HTTP call per attempt: retries and Retry-After are
 * the outbox's job, so they survive a restart.
 */
export function slackSender(token: string, slackApiUrl: string, timeoutSeconds = 10): Sender {
  const client = new WebClient(token, { slackApiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 }, timeout: timeoutSeconds * 1000 });
  return async ({ channelId }, view) => {
    try {
      const result = await client.chat.postMessage({ channel: channelId, ...renderSlack(view) });
      return { messageId: result.ts };
    } catch (error) {
      const coded = error as { code?: string };
      if (coded.code === ErrorCode.RateLimitedError) {
        throw new DeliveryError('Slack rate limit (429)', { retryAfterSeconds: (error as WebAPIRateLimitedError).retryAfter });
      }
      if (coded.code === ErrorCode.HTTPError) {
        const status = (error as WebAPIHTTPError).statusCode;
        throw new DeliveryError(`Slack answered HTTP ${status}`, { permanent: status >= 400 && status < 500 && status !== 408 });
      }
      if (coded.code === ErrorCode.PlatformError) {
        const code = (error as WebAPIPlatformError).data.error;
        throw new DeliveryError(`Slack error: ${code}`, { permanent: !transientErrors.has(code) });
      }
      throw error;
    }
  };
}
