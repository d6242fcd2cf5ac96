import { count } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { partnerCenterEvents } from '../db/schema.js';
import { startBot, type Bot } from '../src/bot.js';
import { loadConfig } from '../src/config.js';
import { defaultCertificateHosts, defaultIssuers, webhookSettings } from '../src/partner-center/webhooks.js';
import { openTestDatabase } from './helpers/database.js';
import { tokenKey } from './helpers/fake-partner-center.js';
import { startCertificateServer } from './helpers/webhook-certificates.js';

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

const event = (n: number) =>
  JSON.stringify({
    EventName: 'subscription-updated',
    ResourceUri: `https://api.partnercenter.microsoft.com/v1/customers/6b5e2a3c-0000-4000-8000-000000000001/subscriptions/${n}`,
    ResourceName: 'subscription',
    AuditUri: null,
    ResourceChangeUtcDate: '2026-11-20T09:00:00.0000000+00:00',
  });

describe('POST /webhooks/partner-center', () => {
  let ca: Awaited<ReturnType<typeof startCertificateServer>>;
  let certOrigin: string;
  let certRequests: string[];
  let database: DatabaseHandle;
  let bot: Bot;
  let url: string;

  beforeAll(async () => {
    ca = await startCertificateServer();
    certOrigin = ca.origin;
    certRequests = ca.requests;
    database = await openTestDatabase();
    bot = await startBot({ db: database.db, config: { ...loadConfig(ca.env), PORT: 0 }, log: silentLog });
    url = `http://127.0.0.1:${bot.port}/webhooks/partner-center`;
  });

  afterAll(async () => {
    await bot?.stop();
    await database?.close();
    await ca?.close();
  });

  const signed = (body: string, key?: string) => ca.signed(body, key);

  const post = (body: string, headers: Record<string, string>) =>
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-ms-signature-algorithm': 'rsa-sha256', ...headers }, body });

  const deliver = (body: string, options: { cert?: string; key?: string; certUrl?: string } = {}) => post(body, ca.signatureHeaders(body, options));

  const rows = async () => (await database.db.select({ n: count() }).from(partnerCenterEvents))[0]!.n;

  it('records a validly signed event once, and answers 200 to its repeats without recording again', async () => {
    const body = event(1);
    const first = await deliver(body);
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ status: 'received', repeat: false });
    expect(await rows()).toBe(1);
    const [row] = await database.db.select().from(partnerCenterEvents);
    expect(row).toMatchObject({ eventName: 'subscription-updated', status: 'received', auditUri: null, certificateUrl: `${certOrigin}/cert/signer.cer` });

    const again = await deliver(body);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ status: 'received', repeat: true });
    expect(await rows()).toBe(1);
    // The certificate was fetched once and then served from the cache.
    expect(certRequests.filter((r) => r === '/cert/signer.cer')).toHaveLength(1);
  });

  it('accepts the signature in X-MS-Signature too', async () => {
    const body = event(2);
    const answer = await post(body, { 'x-ms-signature': `Signature ${signed(body)}`, 'x-ms-certificate-url': `${certOrigin}/cert/signer.cer` });
    expect(answer.status).toBe(200);
    expect(await rows()).toBe(2);
  });

  it('refuses a tampered body with 401 and records nothing', async () => {
    const body = event(3);
    const tampered = body.replace('subscriptions/3', 'subscriptions/4');
    const answer = await post(tampered, { authorization: `Signature ${signed(body)}`, 'x-ms-certificate-url': `${certOrigin}/cert/signer.cer` });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toEqual({ error: 'The signature does not match the body.' });
    // Whitespace is part of the signed bytes too.
    const reformatted = await post(`${body} `, { authorization: `Signature ${signed(body)}`, 'x-ms-certificate-url': `${certOrigin}/cert/signer.cer` });
    expect(reformatted.status).toBe(401);
    expect(await rows()).toBe(2);
  });

  it('refuses a certificate URL whose host is not in the allow-list, without fetching it', async () => {
    const before = certRequests.length;
    const port = new URL(certOrigin).port;
    for (const certUrl of [`http://localhost:${port}/cert/signer.cer`, `http://127.0.0.1:1/cert/signer.cer`, 'https://evil.example/cert/signer.cer']) {
      const answer = await deliver(event(5), { certUrl });
      expect(answer.status).toBe(401);
      expect((await answer.json()).error).toMatch(/^The certificate host .+ is not in PARTNER_CENTER_WEBHOOK_CERT_HOSTS\.$/);
    }
    expect(certRequests.length).toBe(before);
    expect(await rows()).toBe(2);
  });

  it('refuses a certificate from another issuer, and one naming the right issuer but not issued by the configured CA', async () => {
    const other = await deliver(event(6), { cert: 'other' });
    expect(other.status).toBe(401);
    expect(await other.json()).toEqual({ error: 'The signing certificate was not issued by an accepted issuer (PARTNER_CENTER_WEBHOOK_ISSUERS).' });
    const rogue = await deliver(event(7), { cert: 'rogue' });
    expect(rogue.status).toBe(401);
    expect(await rogue.json()).toEqual({ error: 'The signing certificate was not issued by the configured certificate authority (PARTNER_CENTER_WEBHOOK_CA).' });
    expect(await rows()).toBe(2);
  });

  it('refuses an expired certificate', async () => {
    const answer = await deliver(event(8), { cert: 'expired' });
    expect(answer.status).toBe(401);
    expect((await answer.json()).error).toMatch(/^The signing certificate is not valid now/);
    expect(await rows()).toBe(2);
  });

  it('refuses a signature made with another key than the certificate\'s', async () => {
    const answer = await deliver(event(9), { cert: 'signer', key: 'other' });
    expect(answer.status).toBe(401);
    expect(await rows()).toBe(2);
  });

  it.each([
    ['no Authorization header', {}, 'The event is not signed: expected "Authorization: Signature <base64 signature>".'],
    ['a Bearer token', { authorization: 'Bearer abc' }, 'The Authorization header is not "Signature <base64 signature>".'],
    ['an empty signature', { authorization: 'Signature' }, 'The Authorization header is not "Signature <base64 signature>".'],
    ['a garbled signature', { authorization: 'Signature not*base64!' }, 'The signature is not base64.'],
    ['no certificate URL', { authorization: 'Signature AAAA', 'x-ms-certificate-url': '' }, 'The X-MS-Certificate-Url header is missing.'],
    ['another algorithm', { authorization: 'Signature AAAA', 'x-ms-signature-algorithm': 'rsa-sha1' }, 'X-MS-Signature-Algorithm must be rsa-sha256, not rsa-sha1.'],
  ])('refuses %s with 401', async (_, headers, error) => {
    const answer = await post(event(10), { 'x-ms-certificate-url': `${certOrigin}/cert/signer.cer`, ...headers });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toEqual({ error });
    expect(await rows()).toBe(2);
  });

  it('answers 400 to a signed body that is not an event, recording nothing', async () => {
    const answer = await deliver('{"hello": "world"}');
    expect(answer.status).toBe(400);
    expect(await rows()).toBe(2);
  });

  const statusWith = async (env: Record<string, string>) => {
    const other = await startBot({ db: database.db, config: { ...loadConfig(env), PORT: 0 }, log: silentLog });
    try {
      return (await fetch(`http://127.0.0.1:${other.port}/webhooks/partner-center`, { method: 'POST', body: event(11) })).status;
    } finally {
      await other.stop();
    }
  };
  const connector = {
    PARTNER_CENTER_TENANT_ID: '6b5e2a3c-0000-4000-8000-0000000000aa',
    PARTNER_CENTER_CLIENT_ID: '6b5e2a3c-0000-4000-8000-0000000000bb',
    PARTNER_CENTER_CLIENT_SECRET: 'secret',
    PARTNER_CENTER_REFRESH_TOKEN: 'refresh',
    PARTNER_CENTER_TOKEN_KEY: tokenKey,
  };

  it('is off (404) without the Partner Center settings, as before; on with the connector\'s, unless PARTNER_CENTER_WEBHOOKS=false', async () => {
    expect(await statusWith({})).toBe(404);
    expect(await statusWith(connector)).toBe(401);
    expect(await statusWith({ ...connector, PARTNER_CENTER_WEBHOOKS: 'false' })).toBe(404);
    expect(await rows()).toBe(2);
  });
});

describe('Partner Center webhook settings', () => {
  it('default to the host Partner Center documents and Microsoft as the issuer', () => {
    const config = loadConfig({});
    expect(config.PARTNER_CENTER_WEBHOOKS).toBeUndefined();
    expect(webhookSettings(config)).toEqual({ certificateHosts: defaultCertificateHosts, issuers: defaultIssuers, authorities: undefined, allowHttp: false });
    expect(defaultCertificateHosts).toEqual(['3psostorageacct.blob.core.windows.net']);
    expect(defaultIssuers).toEqual(['Microsoft Corporation']);
  });

  it('read comma-separated lists', () => {
    const config = loadConfig({ PARTNER_CENTER_WEBHOOK_CERT_HOSTS: ' A.example , b.example:8443', PARTNER_CENTER_WEBHOOK_ISSUERS: 'Microsoft Corporation, Microsoft Azure RSA TLS Issuing CA 03' });
    expect(config.PARTNER_CENTER_WEBHOOK_CERT_HOSTS).toEqual(['a.example', 'b.example:8443']);
    expect(config.PARTNER_CENTER_WEBHOOK_ISSUERS).toEqual(['Microsoft Corporation', 'Microsoft Azure RSA TLS Issuing CA 03']);
  });

  it.each([
    [{ PARTNER_CENTER_WEBHOOKS: 'yes' }, 'Invalid setting PARTNER_CENTER_WEBHOOKS: expected true or false.'],
    [{ PARTNER_CENTER_WEBHOOK_CA: '/nonexistent/ca.pem' }, 'Invalid setting PARTNER_CENTER_WEBHOOK_CA: expected the path of a PEM file of CA certificates.'],
    [{ PARTNER_CENTER_WEBHOOK_CERT_HOSTS: 'https://x.example/cert' }, 'Invalid setting PARTNER_CENTER_WEBHOOK_CERT_HOSTS: expected host names separated by commas, such as 3psostorageacct.blob.core.windows.net.'],
  ])('refuse %o with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('name an unreadable CA file', () => {
    expect(() => webhookSettings({ PARTNER_CENTER_WEBHOOK_CA: '/nonexistent/ca.pem' })).toThrow(/^PARTNER_CENTER_WEBHOOK_CA: cannot read \/nonexistent\/ca\.pem/);
  });
});
