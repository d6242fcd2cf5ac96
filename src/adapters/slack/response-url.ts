import http from 'node:http';
import https from 'node:https';

/** Connections to Slack's response URLs are kept open: each click's answer reuses one. */
const agents: Record<string, http.Agent> = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

/**
 * Posts a message to a response_url, as Bolt's respond does, over node:http: the global fetch builds
 * web streams for every request, which cost a click more CPU than its database work. Resolves once
 * Slack answered 2xx; rejects otherwise, or after `timeoutMs` without an answer.
 */
export function postToResponseUrl(url: string, message: unknown, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const body = JSON.stringify(message);
    const send = target.protocol === 'https:' ? https.request : http.request;
    const request = send(
      target,
      { method: 'POST', agent: agents[target.protocol], timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        const status = response.statusCode ?? 0;
        response.resume().once('end', () => (status >= 200 && status < 300 ? resolve() : reject(new Error(`the response_url answered HTTP ${status}`))));
      },
    );
    request.once('timeout', () => request.destroy(new Error(`the response_url did not answer within ${timeoutMs} ms`)));
    request.once('error', reject);
    request.end(body);
  });
}
