/**
 * The floor any Bolt app pays (signature check, body parsing, routing): a Bolt app of the bot's
 * version that only acks `/csp` and every action, answering GET /healthz like csp-ops.
 * Settings as csp-ops reads them: PORT, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_API_URL.
 */
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';

const receiver = new HTTPReceiver({
  signingSecret: process.env.SLACK_SIGNING_SECRET!,
  endpoints: '/slack/events',
  customRoutes: [{ path: '/healthz', method: 'GET', handler: (_req, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}') }],
});
const app = new App({ receiver, token: process.env.SLACK_BOT_TOKEN, clientOptions: { slackApiUrl: process.env.SLACK_API_URL }, logLevel: LogLevel.ERROR });
app.command('/csp', async ({ ack }) => ack());
app.action(/.*/, async ({ ack }) => ack());
await app.start(Number(process.env.PORT));

const stop = () => void app.stop().finally(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
