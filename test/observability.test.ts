import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../db/schema.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { loadConfig, secretSettings } from '../src/config.js';
import { createLogger } from '../src/log.js';
import { endpointTemplate } from '../src/observability.js';
import { startFakePartnerCenter, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { aadUsers, connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { partnerTenant } from './helpers/fake-partner-center.js';
import { blockActionBody, buttons, replyText, signedHeaders, signingSecret, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { outboxSettled, testOrgId } from './helpers/tables.js';
import { cardText, startTeamsTestBot, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

const metricsToken = 'metrics-token-7d1e0c5a9b2f4e63';
const channel = 'C0OBSERVE1';
/** Typed after the command names: customer names the log must never hold. */
const typedCustomer = '한빛소프트';
const buyer = '김지수';

/** Prometheus text as { name, labels, value } rows. */
function parseMetrics(text: string) {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [, name, labels = '', value] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)!;
      return { name: name!, labels: Object.fromEntries([...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!])), value: Number(value) };
    });
}

describe('logs and metrics an operator can use', () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  let slack: FakeSlack;
  let pc: FakePartnerCenter;
  let bot: TeamsTestBot;
  let origin: string;
  let apiToken: string;
  const secrets = () => [signingSecret, 'xoxb-test-token', 'test-secret', pc.config.PARTNER_CENTER_CLIENT_SECRET, pc.config.PARTNER_CENTER_REFRESH_TOKEN, pc.config.PARTNER_CENTER_TOKEN_KEY, metricsToken, apiToken];
  const logged = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const requestLines = () => logged().filter((l) => l.msg === 'command' || l.msg === 'click');

  beforeAll(async () => {
    slack = await startFakeSlack();
    pc = await startFakePartnerCenter();
    const databasePassword = process.env.TEST_DATABASE_URL ? new URL(process.env.TEST_DATABASE_URL).password : '';
    bot = await startTeamsTestBot({
      slackApiUrl: slack.apiUrl,
      organizations: [connectedOrganization(partnerTenant), otherOrganization],
      partnerCenter: { ...pc.config, METRICS_TOKEN: metricsToken },
      partnerCenterTuning: { timeoutMs: 2000, retryDelayMs: 10 },
      log: createLogger('debug', { destination: stream, secrets: [...secrets().slice(0, -1), databasePassword] }),
    });
    origin = `http://127.0.0.1:${bot.bot.port}`;
    apiToken = (await createApiToken(bot.db, await testOrgId(bot.db), 'observability')).token;
  });
  afterAll(async () => {
    await bot?.close();
    await slack?.close();
    await pc?.close();
  });

  async function slackCommand(user: string, text: string) {
    const body = slashCommandBody(user, text, slack.responseUrl(randomUUID()), { channel });
    const response = await fetch(`${origin}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
    return (await response.json()) as SlackReply;
  }
  async function slackClick(user: string, button: { action_id: string; value: string }) {
    const id = randomUUID();
    const body = blockActionBody(user, button.action_id, button.value, slack.responseUrl(id), { channel });
    expect((await fetch(`${origin}/slack/events`, { method: 'POST', headers: signedHeaders(body), body })).status).toBe(200);
    return (await waitFor('the click\'s answer', () => slack.responses.find((r) => r.id === id))).body as SlackReply;
  }
  const scrape = (authorization?: string) => fetch(`${origin}/metrics`, { headers: authorization ? { authorization } : {} });

  it('a scripted session through Slack, Teams and the HTTP API is counted exactly, logged one line each, without secrets or arguments', async () => {
    expect(await slackCommand(users.adminAgent, 'notify here purchases,permissions')).toBeDefined();
    expect(replyText(await slackCommand(users.salesAgent, `customer ${typedCustomer}`))).toContain('한빛소프트 주식회사');
    expect(replyText(await slackCommand(users.salesAgent, `allow-reservations ${typedCustomer}`))).toContain('needs the admin agent or global admin role');
    expect(replyText(await slackCommand(users.adminAgent, `frobnicate ${typedCustomer}`))).toContain('frobnicate');
    const confirmation = await slackCommand(users.adminAgent, 'allow-reservations contoso.com');
    const turnOn = buttons(confirmation).find((b) => b.text.text === 'Turn on');
    expect(turnOn, replyText(confirmation)).toBeDefined();
    expect(replyText(await slackClick(users.adminAgent, turnOn!))).toContain('Contoso Ltd');

    const teams = await bot.message(aadUsers.salesAgent, `customer ${typedCustomer}`, { conversationType: 'personal', conversationId: 'a:personal-observe' });
    expect(cardText(teams.card)).toContain('한빛소프트 주식회사');

    const purchase = {
      id: `PO-${randomUUID()}`,
      customer: 'hanbitsoft.example',
      kind: 'reservation',
      reservation: { product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 2, term: 'P1Y', scope: 'shared', price: 1234.5, currency: 'USD' },
      buyer: { name: buyer, email: 'jisu.kim@hanbitsoft.example' },
      purchasedAt: '2026-11-20T01:02:03Z',
    };
    const bought = await fetch(`${origin}/api/v1/purchases`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(purchase),
    });
    expect(bought.status).toBe(201);
    expect(bought.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    await outboxSettled(bot.db);
    const sent = await bot.db.select().from(outbox).where(eq(outbox.status, 'sent'));
    // The channel's two posts, and Contoso's contact told in a direct message that they may now buy (issue 19).
    const direct = (row: (typeof sent)[number]) => 'person' in (row.message as object);
    expect(sent.filter((row) => !direct(row)).map((row) => row.platform)).toEqual(['slack', 'slack']);
    expect(sent.filter(direct).map((row) => row.platform)).toEqual(['slack']);

    const response = await scrape(`Bearer ${metricsToken}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const metrics = parseMetrics(await response.text());
    const series = (name: string) => metrics.filter((m) => m.name === name).map(({ labels, value }): Record<string, string | number> => ({ ...labels, value }));

    expect(series('csp_commands_total')).toEqual(
      expect.arrayContaining([
        { kind: 'command', name: 'notify-here', platform: 'slack', outcome: 'ok', value: 1 },
        { kind: 'command', name: 'customer', platform: 'slack', outcome: 'ok', value: 1 },
        { kind: 'command', name: 'allow-reservations', platform: 'slack', outcome: 'refused', value: 1 },
        { kind: 'command', name: 'unknown', platform: 'slack', outcome: 'refused', value: 1 },
        { kind: 'command', name: 'allow-reservations', platform: 'slack', outcome: 'ok', value: 1 },
        { kind: 'click', name: 'allow-reservations', platform: 'slack', outcome: 'ok', value: 1 },
        { kind: 'command', name: 'customer', platform: 'teams', outcome: 'ok', value: 1 },
      ]),
    );
    expect(series('csp_commands_total')).toHaveLength(7);
    expect(series('csp_command_duration_seconds_count')).toEqual(
      expect.arrayContaining([
        { kind: 'command', name: 'customer', platform: 'slack', value: 1 },
        { kind: 'command', name: 'allow-reservations', platform: 'slack', value: 2 },
        { kind: 'click', name: 'allow-reservations', platform: 'slack', value: 1 },
        { kind: 'command', name: 'customer', platform: 'teams', value: 1 },
      ]),
    );
    expect(series('csp_command_duration_seconds_count').reduce((sum, s) => sum + Number(s.value), 0)).toBe(7);
    // The histogram's buckets are cumulative: the +Inf bucket holds every observation.
    expect(series('csp_command_duration_seconds_bucket').find((s) => s.name === 'customer' && s.platform === 'teams' && s.le === '+Inf')?.value).toBe(1);
    expect(series('csp_api_requests_total')).toEqual([{ endpoint: '/api/v1/purchases', method: 'POST', status: '201', value: 1 }]);
    expect(series('csp_api_request_duration_seconds_count')).toEqual([{ endpoint: '/api/v1/purchases', method: 'POST', value: 1 }]);
    // The two channel posts and the contact's direct message.
    expect(series('csp_deliveries_total')).toEqual([{ platform: 'slack', outcome: 'sent', reason: 'none', value: 3 }]);
    expect(series('csp_outbox_messages')).toEqual(
      expect.arrayContaining([
        { platform: 'slack', status: 'pending', value: 0 },
        { platform: 'slack', status: 'failed', value: 0 },
        { platform: 'teams', status: 'pending', value: 0 },
        { platform: 'teams', status: 'failed', value: 0 },
      ]),
    );
    expect(series('csp_outbox_oldest_pending_age_seconds')).toEqual([{ platform: 'slack', value: 0 }, { platform: 'teams', value: 0 }]);
    expect(series('csp_database_up')).toEqual([{ value: 1 }]);
    if (bot.kind === 'postgres') {
      const connections = series('csp_db_connections');
      expect(connections.find((c) => c.state === 'open')!.value).toBeGreaterThanOrEqual(1);
      expect(connections.find((c) => c.state === 'in_use')!.value).toBeGreaterThanOrEqual(0);
      expect(series('csp_db_connections_max')).toEqual([{ value: 10 }]);
    } else {
      expect(series('csp_db_queries_in_flight')).toHaveLength(1);
    }
    // Partner Center calls by endpoint template and status: as many as the fake answered, no raw ID in any label.
    const partnerCenter = series('csp_partner_center_requests_total');
    // The start-up catalog read comes first: products and a price sheet for each of the customers' four markets.
    expect(partnerCenter).toEqual([
      { method: 'GET', endpoint: '/v1.0/sales/pricesheets(…)/$value', status: '200', value: 4 },
      { method: 'GET', endpoint: '/v1/products', status: '200', value: 4 },
      { method: 'GET', endpoint: '/v1/SelfServePolicy', status: '200', value: 1 },
      { method: 'POST', endpoint: '/v1/SelfServePolicy', status: '201', value: 1 },
    ]);
    expect(pc.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`).filter((r) => !/products|pricesheets/.test(r))).toEqual(['GET /v1/SelfServePolicy', 'POST /v1/SelfServePolicy']);
    expect(series('csp_azure_requests_total')).toEqual([]);
    expect(metrics.some((m) => m.name === 'process_cpu_seconds_total')).toBe(true);

    // One JSON line per command and click, with its request ID, platform, organization, name and outcome.
    const handled = requestLines().map(({ msg, platform, org, command, outcome }) => ({ msg, platform, org, command, outcome }));
    const org = connectedOrganization(partnerTenant).organization.name;
    expect(handled).toEqual([
      { msg: 'command', platform: 'slack', org, command: 'notify-here', outcome: 'ok' },
      { msg: 'command', platform: 'slack', org, command: 'customer', outcome: 'ok' },
      { msg: 'command', platform: 'slack', org, command: 'allow-reservations', outcome: 'refused' },
      { msg: 'command', platform: 'slack', org, command: 'unknown', outcome: 'refused' },
      { msg: 'command', platform: 'slack', org, command: 'allow-reservations', outcome: 'ok' },
      { msg: 'click', platform: 'slack', org, command: 'allow-reservations', outcome: 'ok' },
      { msg: 'command', platform: 'teams', org, command: 'customer', outcome: 'ok' },
    ]);
    for (const line of requestLines()) {
      expect(line).toMatchObject({ level: 'info', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/), orgId: await testOrgId(bot.db), durationMs: expect.any(Number) });
      expect(typeof line.time).toBe('string');
    }
    expect(new Set(requestLines().map((l) => l.requestId)).size).toBe(7);
    // The Teams command's line carries the ID its HTTP request was given (named in X-Request-Id).
    expect(requestLines().find((l) => l.platform === 'teams')!.requestId).toBe(teams.requestId);
    const api = logged().find((l) => l.msg === 'api')!;
    expect(api).toMatchObject({ platform: 'api', org, command: 'POST /api/v1/purchases', status: 201, outcome: 'ok', requestId: bought.headers.get('x-request-id') });

    // The click's Partner Center calls carry its request ID as MS-CorrelationId, and their log lines name it too.
    const click = requestLines().find((l) => l.msg === 'click')!;
    const policyCalls = pc.requests.filter((r) => r.path.startsWith('/v1/SelfServePolicy'));
    expect(policyCalls.map((r) => r.headers['ms-correlationid'])).toEqual([click.requestId, click.requestId]);
    // The start-up catalog read carries its job's own request ID, not the click's, on its calls and their log lines.
    const jobCalls = pc.requests.filter((r) => !policyCalls.includes(r));
    const job = jobCalls[0]!.headers['ms-correlationid'];
    expect(job).toMatch(/^[0-9a-f-]{36}$/);
    expect(job).not.toBe(click.requestId);
    expect(jobCalls.map((r) => r.headers['ms-correlationid'])).toEqual(jobCalls.map(() => job));
    const jobLines = logged().filter((l) => l.msg === 'partner-center call' && /products|pricesheets/.test(String(l.endpoint)));
    expect(jobLines.map((l) => [l.requestId, l.correlationId])).toEqual(jobCalls.map(() => [job, job]));
    const calls = logged().filter((l) => l.msg === 'partner-center call' && String(l.endpoint).startsWith('/v1/SelfServePolicy'));
    expect(calls.map(({ method, endpoint, status, requestId, correlationId }) => ({ method, endpoint, status, requestId, correlationId }))).toEqual([
      { method: 'GET', endpoint: '/v1/SelfServePolicy', status: 200, requestId: click.requestId, correlationId: click.requestId },
      { method: 'POST', endpoint: '/v1/SelfServePolicy', status: 201, requestId: click.requestId, correlationId: click.requestId },
    ]);

    // Everything logged, at every level: no secret, no customer name typed in a command, no purchase contents.
    const everything = lines.join('\n');
    for (const secret of secrets()) expect(everything).not.toContain(secret);
    for (const argument of [typedCustomer, 'frobnicate', buyer, 'hanbitsoft', purchase.id, tenants.contoso]) expect(everything).not.toContain(argument);
  });

  it('GET /metrics asks for METRICS_TOKEN as a bearer token when it is set', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape()).headers.get('www-authenticate')).toBe('Bearer');
    expect((await scrape('Bearer wrong-token-of-the-same-size!')).status).toBe(401);
    expect((await scrape(metricsToken)).status).toBe(401);
    expect((await scrape(`Bearer ${metricsToken}`)).status).toBe(200);
  });
});

describe('endpoint templates', () => {
  it('keep the API\'s words and replace IDs, so no label carries a customer, order or reservation ID', () => {
    expect(endpointTemplate(`https://api.partnercenter.microsoft.com/v1/customers/${tenants.contoso}/subscriptions/c0c0c0c0-0000-4000-8000-000000000001?x=1`)).toBe('/v1/customers/{id}/subscriptions/{id}');
    expect(endpointTemplate(`https://pc/v1/SelfServePolicy/${partnerTenant}_${tenants.contoso}`)).toBe('/v1/SelfServePolicy/{id}');
    expect(endpointTemplate('https://pc/v1/customers/t/orders/RAr3HX4uWhxb/lineitems/0/activationlinks')).toBe('/v1/customers/{id}/orders/{id}/lineitems/{id}/activationlinks');
    expect(endpointTemplate('https://pc/v1/products/DZH318Z0BQ3Q/skus/0001/availabilities?country=KR')).toBe('/v1/products/{id}/skus/{id}/availabilities');
    expect(endpointTemplate("https://api.partner.microsoft.com/v1.0/sales/pricesheets(Market='KR',PricesheetView='marketplace')/$value")).toBe('/v1.0/sales/pricesheets(…)/$value');
    expect(endpointTemplate('https://management.azure.com/providers/Microsoft.Capacity/reservationOrders/o-1/reservations/r-1?api-version=2022-11-01')).toBe(
      '/providers/Microsoft.Capacity/reservationOrders/{id}/reservations/{id}',
    );
    expect(endpointTemplate('https://pc/v1/한빛소프트')).toBe('/v1/{id}');
  });
});

describe('secrets in log lines', () => {
  it('are redacted by field name and by value, wherever they are; METRICS_TOKEN and DATABASE_URL\'s password count as secrets', async () => {
    const config = loadConfig({ DATABASE_URL: 'postgres://csp:p%40ss-w0rd-9f2e@db.internal:5432/csp', METRICS_TOKEN: metricsToken });
    expect(secretSettings(config)).toEqual([metricsToken, 'p%40ss-w0rd-9f2e', 'p@ss-w0rd-9f2e']);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow('Invalid setting METRICS_TOKEN: expected a random token of at least 16 characters');
    const written: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        written.push(String(chunk));
        done();
      },
    });
    const log = createLogger('info', { destination: stream, secrets: [...secretSettings(config), 'client-secret-5b0c'] });
    const error = Object.assign(new Error('sign-in failed for client-secret-5b0c at postgres://csp:p@ss-w0rd-9f2e@db.internal/csp'), {
      config: { headers: { Authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.payload.signature' } },
    });
    log.error('partner center', error, { request: { headers: { authorization: 'Bearer abc' } }, refreshToken: '0.AAAA-rotated' });
    log.info(`token xoxb-123-456-abcdef and ${metricsToken}`);
    const text = written.join('');
    for (const secret of ['client-secret-5b0c', 'p@ss-w0rd-9f2e', 'eyJhbGciOiJSUzI1NiJ9', 'Bearer abc', '0.AAAA-rotated', 'xoxb-123', metricsToken]) expect(text).not.toContain(secret);
    const [line] = written.map((l) => JSON.parse(l) as { err: { message: string }; refreshToken: string });
    expect(line!.err.message).toBe('sign-in failed for [Redacted] at postgres://csp:[Redacted]@db.internal/csp');
    expect(line!.refreshToken).toBe('[Redacted]');
  });
});
