import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseForm } from 'node:querystring';
import { defaultBodyLimit, HTTPModuleFunctions, isRawBodyError, type HTTPReceiver, type Logger as BoltLogger } from '@slack/bolt';
import type { RequestContext } from '../../request-context.js';

/** POST /slack/events, given the request's ID by the HTTP server. */
export type SlackListener = (req: IncomingMessage, res: ServerResponse, request: RequestContext) => void;

/**
 * Whether Slack signed the request, by Bolt's rules: `v0=` and the HMAC-SHA256 of `v0:<timestamp>:<body>` with
 * the signing secret, the timestamp at most 5 minutes old. Bolt compares by a double HMAC keyed with 32 fresh
 * random bytes on every request; timingSafeEqual compares in constant time without them.
 */
function signedBySlack(signingSecret: string, req: IncomingMessage, body: string): boolean {
  const signature = req.headers['x-slack-signature'];
  const timestamp = Number(req.headers['x-slack-request-timestamp']);
  if (typeof signature !== 'string' || !/^v0=[0-9a-f]{64}$/.test(signature) || !(timestamp >= Math.floor(Date.now() / 1000) - 5 * 60)) return false;
  const expected = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest();
  return timingSafeEqual(Buffer.from(signature.slice(3), 'hex'), expected);
}

/**
 * Bolt's listener, given only requests Slack signed, as Bolt's own check would: the body read (within Bolt's
 * limit, else 413) and kept for Bolt, a bad signature answered 401. Slack's SSL check is not signed, so Bolt
 * gets it with nothing else of its body (which Bolt would otherwise read as an event).
 */
export function verifiedListener(
  httpReceiver: HTTPReceiver,
  signingSecret: string,
  logger: BoltLogger,
  /** Where each verified request's response and ID are left for its listener (Bolt's customPropertiesExtractor reads them). */
  handed: WeakMap<IncomingMessage, { response: ServerResponse; request: RequestContext }>,
): SlackListener {
  const refuse = (res: ServerResponse, status: number, why: string) => {
    logger.warn(`Slack request refused (${status}): ${why}`);
    HTTPModuleFunctions.buildNoBodyResponse(res, status);
  };
  return (req, res, request) => {
    HTTPModuleFunctions.bufferIncomingMessage(req, defaultBodyLimit).then(
      (buffered) => {
        const body = buffered.rawBody.toString();
        // Slack's check says ssl_check=1 as such; a body saying it otherwise must be signed.
        if (req.headers['content-type'] === 'application/x-www-form-urlencoded' && body.includes('ssl_check=1') && parseForm(body).ssl_check === '1') {
          buffered.rawBody = Buffer.from('ssl_check=1');
        } else if (!signedBySlack(signingSecret, req, body)) {
          return refuse(res, 401, 'no valid signature');
        }
        handed.set(req, { response: res, request });
        httpReceiver.requestListener(req, res);
      },
      (error: unknown) => {
        const tooLarge = isRawBodyError(error) && (error.type === 'entity.too.large' || error.statusCode === 413);
        refuse(res, tooLarge ? 413 : 401, tooLarge ? `the body is over ${defaultBodyLimit} bytes` : `its body could not be read: ${(error as Error).message}`);
      },
    );
  };
}

