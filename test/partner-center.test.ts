import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { createPartnerCenterClient, PartnerCenterError, partnerCenterScope } from '../src/partner-center/client.js';
import { createPartnerCenterConnector } from '../src/partner-center/connector.js';
import { startFakePartnerCenter, partnerTenant, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { activityFor, permissionFor, snapshot } from './helpers/tables.js';

const org = { id: 'org', name: 'Test partner', cspTenantId: partnerTenant, activityChannelPlatform: null, activityChannelId: null, approvalsChannelPlatform: null, approvalsChannelId: null };
const tuning = { timeoutMs: 300, retryDelayMs: 10 };

let pc: FakePartnerCenter;
beforeAll(async () => {
  pc = await startFakePartnerCenter();
});
afterAll(async () => {
  await pc.close();
});
afterEach(() => {
  pc.requests.length = 0;
  pc.tokenRequests.length = 0;
  pc.policies.clear();
  pc.refuseSignIn(false);
});

const settings = () => pc.clientSettings(tuning);

describe('Partner Center settings', () => {
  it('are absent by default, with Microsoft public cloud URLs', () => {
    const config = loadConfig({});
    expect(config.PARTNER_CENTER_TENANT_ID).toBeUndefined();
    expect(config.PARTNER_CENTER_BASE_URL).toBe('https://api.partnercenter.microsoft.com');
    expect(config.PARTNER_CENTER_AUTHORITY_URL).toBe('https://login.microsoftonline.com');
  });

  it('need all four credentials or none', () => {
    expect(() => loadConfig({ PARTNER_CENTER_TENANT_ID: partnerTenant, PARTNER_CENTER_CLIENT_ID: pc.config.PARTNER_CENTER_CLIENT_ID })).toThrow(
      'Missing setting PARTNER_CENTER_CLIENT_SECRET: the Partner Center connector needs all of PARTNER_CENTER_TENANT_ID, PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET, PARTNER_CENTER_REFRESH_TOKEN, or none of them.',
    );
    expect(() => loadConfig({ PARTNER_CENTER_TENANT_ID: 'fabrikam' })).toThrow("Invalid setting PARTNER_CENTER_TENANT_ID: expected the partner's Microsoft Entra tenant ID (a GUID).");
    expect(loadConfig(pc.config).PARTNER_CENTER_BASE_URL).toBe(pc.origin);
  });
});

describe('Partner Center client', () => {
  it('signs in with the refresh token through MSAL, for the user_impersonation scope, and keeps the token', async () => {
    const client = createPartnerCenterClient(settings());
    const token = await client.token();
    expect(token).toMatch(/^pc-/);
    expect(await client.token()).toBe(token);
    expect(pc.tokenRequests).toHaveLength(1);
    expect(pc.tokenRequests[0]).toMatchObject({ grant_type: 'refresh_token', refresh_token: pc.config.PARTNER_CENTER_REFRESH_TOKEN, client_id: pc.config.PARTNER_CENTER_CLIENT_ID });
    expect(pc.tokenRequests[0]!.scope).toContain(partnerCenterScope);
  });

  it('parses Partner Center errors into status, code, description and correlation ID', async () => {
    const client = createPartnerCenterClient(settings());
    pc.plan({ method: 'POST', path: '/v1/SelfServePolicy', status: 400, body: { code: 600002, description: 'Customer tenant is not valid.', errorName: 'InvalidInput' } });
    const error = await client.request('POST', '/v1/SelfServePolicy', {}, { correlationId: 'corr-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PartnerCenterError);
    expect(error).toMatchObject({ status: 400, code: '600002', description: 'Customer tenant is not valid.', correlationId: 'corr-1' });
    expect(pc.requests[0]!.headers).toMatchObject({ 'ms-correlationid': 'corr-1', accept: 'application/json', 'content-type': 'application/json' });
    expect(pc.requests[0]!.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries a 5xx with the same MS-RequestId, then succeeds', async () => {
    const client = createPartnerCenterClient(settings());
    pc.plan({ method: 'GET', path: '/v1/SelfServePolicy', status: 503, body: { code: 503, description: 'Service unavailable' } });
    const { status } = await client.request('GET', `/v1/SelfServePolicy?entity_id=${tenants.contoso}`);
    expect(status).toBe(200);
    expect(pc.requests).toHaveLength(2);
    expect(pc.requests[1]!.headers['ms-requestid']).toBe(pc.requests[0]!.headers['ms-requestid']);
  });

  it('gives up after the bounded retries', async () => {
    const client = createPartnerCenterClient(settings());
    for (let i = 0; i < 3; i++) pc.plan({ method: 'GET', path: '/v1/SelfServePolicy', status: 500, body: { code: 500, description: 'Internal error' } });
    await expect(client.request('GET', '/v1/SelfServePolicy?entity_id=x')).rejects.toMatchObject({ status: 500, code: '500', description: 'Internal error' });
    expect(pc.requests).toHaveLength(3);
  });

  it('waits Retry-After on a 429, then asks again', async () => {
    const client = createPartnerCenterClient(settings());
    pc.plan({ method: 'GET', path: '/v1/SelfServePolicy', status: 429, headers: { 'retry-after': '1' }, body: { code: 429, description: 'Too many requests' } });
    const started = Date.now();
    const { status } = await client.request('GET', `/v1/SelfServePolicy?entity_id=${tenants.contoso}`);
    expect(status).toBe(200);
    expect(pc.requests).toHaveLength(2);
    expect(pc.requests[1]!.at - pc.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('retries a response slower than the timeout with the same MS-RequestId', async () => {
    const client = createPartnerCenterClient(settings());
    pc.plan({ method: 'GET', path: '/v1/SelfServePolicy', status: 200, body: { totalCount: 0, items: [] }, delayMs: 1000 });
    const { status } = await client.request('GET', `/v1/SelfServePolicy?entity_id=${tenants.contoso}`);
    expect(status).toBe(200);
    expect(pc.requests).toHaveLength(2);
    expect(pc.requests[1]!.headers['ms-requestid']).toBe(pc.requests[0]!.headers['ms-requestid']);
  });
});

describe('SelfServePolicy connector', () => {
  it('turns the permission on with the documented body; a policy that already grants it, or 409 / 600041, counts as done', async () => {
    const connector = createPartnerCenterConnector(settings());
    await connector.allowReservations(org, tenants.contoso);
    expect(pc.requests[0]).toMatchObject({ method: 'GET', path: `/v1/SelfServePolicy?entity_id=${tenants.contoso}` });
    expect(pc.requests[1]).toMatchObject({
      method: 'POST',
      path: '/v1/SelfServePolicy',
      body: {
        SelfServeEntity: { SelfServeEntityType: 'customer', TenantID: tenants.contoso },
        Grantor: { GrantorType: 'billToPartner', TenantID: partnerTenant },
        Permissions: [{ Action: 'Purchase', Resource: 'AzureReservedInstances' }],
      },
    });
    await connector.allowReservations(org, tenants.contoso);
    // Already granted: looked up, nothing written.
    expect(pc.requests.map((r) => r.method)).toEqual(['GET', 'POST', 'GET']);
    // A 409 / 600041 (created meanwhile) makes it look the policy up again rather than fail.
    pc.policies.clear();
    pc.plan({ method: 'POST', path: '/v1/SelfServePolicy', status: 409, body: { code: 600041, description: 'Policy already exists.', errorName: 'PolicyAlreadyExists' } });
    await expect(connector.allowReservations(org, tenants.contoso)).resolves.toBeUndefined();
    expect((await connector.status()).lastError).toBeUndefined();
  });

  it('one policy per customer holds both permissions: a second resource is added to it, and turning one off keeps the other', async () => {
    const connector = createPartnerCenterConnector(settings());
    const id = `${partnerTenant}_${tenants.contoso}`;
    await connector.allowReservations(org, tenants.contoso);
    await connector.allowSavingsPlans(org, tenants.contoso);
    expect(pc.requests.at(-1)).toMatchObject({
      method: 'PUT',
      path: `/v1/SelfServePolicy/${id}`,
      body: { id, Permissions: [{ Action: 'Purchase', Resource: 'AzureReservedInstances' }, { Action: 'Purchase', Resource: 'AzureSavingsPlan' }] },
    });
    expect(pc.policies.get(id)!.permissions.map((p) => p.resource)).toEqual(['AzureReservedInstances', 'AzureSavingsPlan']);
    await connector.disallowReservations(org, tenants.contoso);
    expect(pc.requests.at(-1)).toMatchObject({ method: 'PUT', body: { Permissions: [{ Action: 'Purchase', Resource: 'AzureSavingsPlan' }] } });
    expect(pc.policies.get(id)!.permissions.map((p) => p.resource)).toEqual(['AzureSavingsPlan']);
    await connector.disallowSavingsPlans(org, tenants.contoso);
    expect(pc.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/v1/SelfServePolicy/${id}` });
    expect(pc.policies.size).toBe(0);
  });

  it('turns it off by finding the policy and deleting it; 404 / 600039 (already off) counts as done', async () => {
    const connector = createPartnerCenterConnector(settings());
    await connector.allowReservations(org, tenants.contoso);
    await connector.disallowReservations(org, tenants.contoso);
    expect(pc.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/SelfServePolicy?entity_id=${tenants.contoso}`,
      'POST /v1/SelfServePolicy',
      `GET /v1/SelfServePolicy?entity_id=${tenants.contoso}`,
      `DELETE /v1/SelfServePolicy/${partnerTenant}_${tenants.contoso}`,
    ]);
    expect(pc.policies.size).toBe(0);
    // Deleted by someone else between the look-up and the delete.
    await connector.allowReservations(org, tenants.contoso);
    pc.plan({ method: 'DELETE', path: '/v1/SelfServePolicy/', status: 404, body: { code: 600039, description: 'Policy not found.', errorName: 'PolicyNotFound' } });
    await expect(connector.disallowReservations(org, tenants.contoso)).resolves.toBeUndefined();
  });

  it('refuses to act for an organization naming another CSP tenant', async () => {
    const connector = createPartnerCenterConnector(settings());
    await expect(connector.allowReservations({ ...org, cspTenantId: '12121212-0000-4000-8000-000000000012' }, tenants.contoso)).rejects.toMatchObject({
      code: 'partnerCenter.otherTenant',
    });
    expect(pc.requests).toHaveLength(0);
  });

  it('reports sign-in failures in its status', async () => {
    const connector = createPartnerCenterConnector(settings());
    pc.refuseSignIn();
    const status = await connector.status();
    expect(status.signIn.ok).toBe(false);
    expect(status.signIn.ok ? '' : status.signIn.reason).toContain('invalid_grant');
  });
});

describe.each(['connector on', 'connector off'] as const)('allow-reservations in Slack, %s', (mode) => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot(
      mode === 'connector on' ? { organizations: [connectedOrganization(partnerTenant), otherOrganization], partnerCenter: pc.config, partnerCenterTuning: tuning } : {},
    );
  });
  afterAll(async () => {
    await bot.close();
  });

  async function turnOn(user: string = users.adminAgent) {
    const card = await bot.command(user, 'allow-reservations contoso.com');
    const turnOnButton = buttons(card.reply).find((b) => b.text.text === 'Turn on');
    expect(turnOnButton, replyText(card.reply)).toBeDefined();
    return bot.click(user, turnOnButton!);
  }

  it('Partner Center refusing: the reply shows its code, description and correlation ID, and nothing changes here', async () => {
    if (mode === 'connector off') return;
    pc.plan({ method: 'POST', path: '/v1/SelfServePolicy', status: 403, body: { code: 600054, description: 'The partner is not authorized for this customer.', errorName: 'Forbidden' } });
    const before = await snapshot(bot.db);
    const { reply } = await turnOn();
    const text = replyText(reply);
    const correlationId = String(pc.requests.at(-1)!.headers['ms-correlationid']);
    expect(text).toContain('Partner Center refused the change (HTTP 403, code 600054): The partner is not authorized for this customer.');
    expect(text).toContain(`MS-CorrelationId: ${correlationId}`);
    expect(text).toContain('Nothing was changed here.');
    expect(await snapshot(bot.db)).toEqual(before);
    expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(0);

    const status = replyText((await bot.command(users.helpdeskAgent, 'connector status')).reply);
    expect(status).toContain('connected (a Partner Center token was obtained just now)');
    expect(status).toContain(`create SelfServePolicy: HTTP 403, code 600054: The partner is not authorized for this customer. (MS-CorrelationId ${correlationId})`);
  });

  it('turning it on calls Partner Center first, then records the permission and the activity row', async () => {
    const { reply } = await turnOn();
    expect(replyText(reply)).toContain('Contoso Ltd');
    expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(1);
    expect((await activityFor(bot.db, tenants.contoso)).map((a) => a.action)).toContain('create_customer_purchase_permission');
    if (mode === 'connector on') {
      const posts = pc.requests.filter((r) => r.method === 'POST');
      expect(posts).toHaveLength(1);
      expect(posts[0]!.body).toEqual({
        SelfServeEntity: { SelfServeEntityType: 'customer', TenantID: tenants.contoso },
        Grantor: { GrantorType: 'billToPartner', TenantID: partnerTenant },
        Permissions: [{ Action: 'Purchase', Resource: 'AzureReservedInstances' }],
      });
      expect(pc.policies.has(`${partnerTenant}_${tenants.contoso}`)).toBe(true);
    } else {
      expect(pc.requests).toHaveLength(0);
    }
  });

  it('turning it off deletes the policy in Partner Center, then locally', async () => {
    const card = await bot.command(users.adminAgent, 'disallow-reservations contoso.com');
    const off = buttons(card.reply).find((b) => b.text.text === 'Turn off');
    expect(off, replyText(card.reply)).toBeDefined();
    await bot.click(users.adminAgent, off!);
    expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(0);
    expect((await activityFor(bot.db, tenants.contoso)).map((a) => a.action)).toContain('delete_customer_purchase_permission');
    expect(pc.policies.size).toBe(0);
    if (mode === 'connector off') expect(pc.requests).toHaveLength(0);
  });

  it('connector status says whether it is configured', async () => {
    const text = replyText((await bot.command(users.salesAgent, 'connector status')).reply);
    if (mode === 'connector off') expect(text).toContain('Not configured: the customer purchase permission is kept in csp-ops only.');
    else expect(text).toContain(partnerTenant);
    // Nothing synced yet in this test: the status says so rather than showing a time.
    if (mode === 'connector on') expect(text).toContain('Last sync*\nnever (run npm run csp -- sync, or wait for the periodic sync)');
  });
});
