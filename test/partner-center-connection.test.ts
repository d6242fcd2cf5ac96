import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { seedDemoIfEmpty } from '../db/seed/demo.js';
import { organizations, partnerCenterConnections, partnerCenterUnreadableRecords, purchases } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { partnerCenterFromConfig } from '../src/partner-center/connector.js';
import { tokenCipher, tokenKeyBytes } from '../src/partner-center/tokens.js';
import type { Logger } from '../src/log.js';
import { earlierToday, partnerTenant, refreshToken, startFakePartnerCenter, tokenKey, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { openTestDatabase } from './helpers/database.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { outboxSettled } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

const dayMs = 24 * 60 * 60 * 1000;
const channel = 'C0CONNECT1';
const tuning = { timeoutMs: 2000, retryDelayMs: 10 };

let pc: FakePartnerCenter;
let database: DatabaseHandle;
const logged: string[] = [];
const log: Logger = {
  debug: (m) => void logged.push(String(m)),
  info: (m) => void logged.push(String(m)),
  warn: (m) => void logged.push(String(m)),
  error: (m, ...rest) => void logged.push([m, ...rest].map(String).join(' ')),
};
let bot: TestBot | undefined;
// One Slack workspace across restarts: what each bot process posted stays visible.
let slack: FakeSlack;

/** The bot (re)started on the same database, as after a restart of the process. */
async function restart() {
  await bot?.close();
  bot = await startTestBot({ database, slack, partnerCenter: pc.config, partnerCenterTuning: tuning, log });
  return bot;
}
const status = async () => replyText((await bot!.command(users.adminAgent, 'connector status')).reply);
const activityPosts = (containing: string) => slack.posts().filter((c) => c.body.channel === channel && c.ts).map((c) => replyText(c.body as SlackReply)).filter((text) => text.includes(containing));
const storedRow = async () => (await database.db.select().from(partnerCenterConnections).where(eq(partnerCenterConnections.tenantId, partnerTenant)))[0]!;

beforeAll(async () => {
  pc = await startFakePartnerCenter();
  slack = await startFakeSlack();
  database = await openTestDatabase();
  // R-A5: the demo partner and publisher organizations, another partner naming no tenant, and the connected one.
  await seedDemoIfEmpty(database.db);
  // The demo partner names the stand-in's tenant too: here it stands for a demo kept beside the real organization.
  await database.db.update(organizations).set({ cspTenantId: randomUUID() }).where(eq(organizations.cspTenantId, partnerTenant));
  for (const file of [connectedOrganization(partnerTenant), otherOrganization]) await importOrganization(database.db, parseImportFile(file));
  await restart();
  await bot!.command(users.adminAgent, 'channel activity here', { channel });
});
afterAll(async () => {
  await bot?.close();
  await database?.close();
  await slack?.close();
  await pc?.close();
});

describe('the connector stays connected', () => {
  it('R-A5 keeps the newest refresh token sealed and uses it after a restart; the plain token is never stored or logged', async () => {
    expect(await status()).toContain('connected (a Partner Center token was obtained just now)');
    const first = pc.refreshTokens.issued.at(-1)!;
    expect(first).not.toBe(refreshToken);
    const row = await storedRow();
    expect(tokenCipher(tokenKeyBytes(tokenKey)!).open(row.sealedRefreshToken)).toBe(first);

    const before = pc.refreshTokens.presented.length;
    await restart();
    expect(await status()).toContain('connected (a Partner Center token was obtained just now)');
    // After the restart the newest token is sent (by the first token request, the start-up catalog read's), not the settings' first one.
    expect(pc.refreshTokens.presented[before]).toBe(first);
    const newest = pc.refreshTokens.issued.at(-1)!;
    expect(tokenCipher(tokenKeyBytes(tokenKey)!).open((await storedRow()).sealedRefreshToken)).toBe(newest);

    const table = JSON.stringify(await database.db.select().from(partnerCenterConnections));
    for (const token of pc.refreshTokens.issued) {
      expect(table).not.toContain(token);
      expect(logged.join('\n')).not.toContain(token);
    }
    expect(await status()).toMatch(/Refresh token: renewed .*; lapses .* unless renewed/);
  });

  it('R-A5 warns 14 days before the 90-day lapse, once, in the activity channel and in connector status', async () => {
    // Entra answered no new refresh token for 77 days (the bot was off, or it withheld one).
    await database.db.update(partnerCenterConnections).set({ receivedAt: new Date(Date.now() - 77 * dayMs) }).where(eq(partnerCenterConnections.tenantId, partnerTenant));
    pc.refreshTokens.withhold();
    try {
      await restart();
      const lapses = `the refresh token of partner tenant ${partnerTenant} lapses`;
      const [notice] = await waitFor('the expiry warning', () => activityPosts(lapses).length > 0 && activityPosts(lapses));
      expect(notice).toContain('signs in again for consent as README');
      const shown = await status();
      expect(shown).toMatch(/Refresh token: lapses .*: no token request has succeeded since/);
      // Another restart (and its start-up check) does not warn again.
      await restart();
      await status();
      await outboxSettled(database.db);
      expect(activityPosts(lapses)).toHaveLength(1);
    } finally {
      pc.refreshTokens.withhold(false);
    }
  });

  it('R-A5 a refresh token Entra refuses (invalid_grant: revoked, password or MFA reset) is reported in connector status and announced once', async () => {
    pc.refreshTokens.revoke();
    try {
      const shown = await status();
      expect(shown).toContain('not connected: invalid_grant');
      expect(shown).toMatch(/Refresh token: refused by Microsoft Entra .* \(invalid_grant: AADSTS50173: The provided grant has expired due to it being revoked/);
      expect(shown).toContain('sets PARTNER_CENTER_REFRESH_TOKEN to the new refresh token and restarts csp-ops');
      const refused = `Microsoft Entra refused the refresh token of partner tenant ${partnerTenant}`;
      const [notice] = await waitFor('the refusal announcement', () => activityPosts(refused).length > 0 && activityPosts(refused));
      expect(notice).toContain('AADSTS50173');
      // Asked again: still refused, not announced again.
      expect(await status()).toContain('refused by Microsoft Entra');
      await outboxSettled(database.db);
      expect(activityPosts(refused)).toHaveLength(1);
    } finally {
      pc.refreshTokens.restore();
    }
  });
});

describe('purchase detection reads what Microsoft sends', () => {
  /** An audit record as documented: resourceNewValue holds the order with capitalised keys. */
  const pascalRecord = (order: unknown) => ({
    id: randomUUID(),
    partnerId: partnerTenant,
    customerId: tenants.contoso,
    customerName: 'Contoso Ltd',
    userPrincipalName: 'dana@contoso.onmicrosoft.com',
    resourceType: 'order',
    resourceNewValue: typeof order === 'string' ? order : JSON.stringify(order),
    operationType: 'create_order',
    operationDate: earlierToday(60 * 60 * 1000),
    operationStatus: 'succeeded',
    customizedData: [],
    attributes: { objectType: 'AuditRecord' },
  });

  it('R-P8 R-A5 poll-purchases and sync without --org act for the connected organization among demo and publisher ones; PascalCase orders are announced once; unreadable ones are logged and counted', async () => {
    const names = (await database.db.select({ name: organizations.name, kind: organizations.kind }).from(organizations)).map((o) => o.kind);
    expect(names.filter((k) => k === 'partner').length).toBeGreaterThanOrEqual(3);
    expect(names).toContain('publisher');
    const bought = pascalRecord({
      Id: 'order-pascal-1',
      ReferenceCustomerId: tenants.contoso,
      BillingCycle: 'one_time',
      CurrencyCode: 'USD',
      TotalPrice: 640.5,
      LineItems: [
        {
          LineItemNumber: 0,
          OfferId: 'DZH318Z0BQ3Q:0001:DZH318Z0BNP3',
          ProductId: 'DZH318Z0BQ3Q',
          SkuId: '0001',
          FriendlyName: 'Virtual Machines D4s v5',
          Quantity: 2,
          TermDuration: 'P1Y',
          ProvisioningContext: { Scope: 'shared', Duration: '1Year', Region: 'westeurope' },
        },
      ],
      Attributes: { ObjectType: 'Order' },
    });
    const notJson = pascalRecord('{"Id":"order-cut');
    const noItems = pascalRecord({ Id: 'order-empty', CurrencyCode: 'USD', LineItems: [] });
    // As in the documented example, a record may carry no id of its own: the order's Id names it.
    const { id: _none, ...unnamed } = pascalRecord({ ...JSON.parse(bought.resourceNewValue), Id: 'order-pascal-2', TotalPrice: 99 });
    pc.auditRecords.push(bought, notJson, noItems, unnamed as typeof bought);
    const partnerCenter = partnerCenterFromConfig(pc.config, tuning, { db: database.db, log });

    const polled = await runCli(database.db, ['poll-purchases'], { partnerCenter, log });
    expect(polled.output).toMatch(/2 new customer purchases recorded, 0 already recorded, 2 skipped/);
    expect(polled.exitCode).toBe(0);
    const [announcement] = await waitFor('the purchase announcement', () => activityPosts(bought.id).length > 0 && activityPosts(bought.id));
    expect(announcement).toContain('2 × Virtual Machines D4s v5 in westeurope');
    expect(announcement).toContain('$640.50');

    // Read again (today is always read again): recognised, not announced twice; the unreadable ones are counted once each.
    const again = await runCli(database.db, ['poll-purchases'], { partnerCenter, log });
    expect(again.output).toMatch(/0 new customer purchases recorded, 2 already recorded, 2 skipped/);
    await outboxSettled(database.db);
    expect(activityPosts(bought.id)).toHaveLength(1);
    expect(await database.db.select().from(purchases).where(eq(purchases.sourceId, bought.id))).toHaveLength(1);
    expect(await database.db.select().from(purchases).where(eq(purchases.sourceId, 'order-pascal-2'))).toHaveLength(1);
    const kept = await database.db.select().from(partnerCenterUnreadableRecords);
    expect(kept.map((r) => r.recordId).sort()).toEqual([notJson.id, noItems.id].sort());
    expect(logged.some((l) => l.includes(notJson.id) && l.includes('is not JSON'))).toBe(true);
    expect(logged.some((l) => l.includes(noItems.id) && l.includes('cannot be read as a purchase'))).toBe(true);
    expect(await status()).toMatch(/Unreadable audit records: 2 orders could not be read as a purchase \(each logged\); latest .*: record .*/);

    const synced = await runCli(database.db, ['sync'], { partnerCenter });
    expect(synced.exitCode).toBe(0);
    expect(synced.output).toContain('Synced from Partner Center');
  });
});

describe('npm run csp -- connector check', () => {
  /** A loopback port nothing listens on. */
  async function closedPort() {
    const server = createServer();
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as { port: number };
    await new Promise<void>((done) => server.close(() => done()));
    return port;
  }

  it('R-A5 tries each configured endpoint once and says, line by line, that all work', async () => {
    const config = { ...pc.config, PARTNER_CENTER_WEBHOOK_CERT_HOSTS: [new URL(pc.origin).host], PARTNER_CENTER_WEBHOOK_ALLOW_HTTP: true };
    const tokensBefore = pc.tokenRequests.length;
    const result = await runCli(database.db, ['connector', 'check'], { partnerCenter: partnerCenterFromConfig(config, tuning, { db: database.db, log }), config });
    expect(result.output.split('\n')).toEqual([
      'Partner Center connector check (each endpoint tried once):',
      '✓ PARTNER_CENTER_TOKEN_KEY: the newest refresh token is kept sealed in the database.',
      `✓ Microsoft Entra sign-in (${pc.origin}): a Partner Center token was obtained with the refresh token.`,
      `✓ Partner Center API (${pc.origin}): GET /v1/customers answered.`,
      `✓ Webhook certificate host ${new URL(pc.origin).host}: reachable.`,
      'Everything works.',
    ]);
    expect(result.exitCode).toBe(0);
    expect(pc.tokenRequests.length - tokensBefore).toBe(1);
  });

  it('R-A5 names what fails and how to fix it: a refused refresh token, an unreachable certificate host, no key', async () => {
    const host = `127.0.0.1:${await closedPort()}`;
    const { PARTNER_CENTER_TOKEN_KEY: _key, ...withoutKey } = pc.config;
    const config = { ...withoutKey, PARTNER_CENTER_WEBHOOK_CERT_HOSTS: [host], PARTNER_CENTER_WEBHOOK_ALLOW_HTTP: true };
    pc.refreshTokens.revoke(700082, 'The refresh token has expired due to inactivity.');
    try {
      const result = await runCli(database.db, ['connector', 'check'], { partnerCenter: partnerCenterFromConfig(config, tuning), config });
      const lines = result.output.split('\n');
      expect(lines[1]).toBe('✗ PARTNER_CENTER_TOKEN_KEY is not set: the newest refresh token is lost at every restart.');
      expect(lines[2]).toContain('Fix: set PARTNER_CENTER_TOKEN_KEY to 32 random bytes (openssl rand -base64 32)');
      expect(lines[3]).toMatch(new RegExp(`^✗ Microsoft Entra sign-in \\(${pc.origin}\\): invalid_grant: AADSTS700082: The refresh token has expired due to inactivity\\.`));
      expect(lines[4]).toContain('Fix: the refresh token was refused. An admin agent of the partner tenant signs in again for consent');
      expect(lines[5]).toBe(`– Partner Center API (${pc.origin}): not tried, as no token could be had.`);
      expect(lines[6]).toBe(`✗ Webhook certificate host ${host}: ECONNREFUSED`);
      expect(lines[7]).toBe(`  Fix: allow outbound HTTPS to ${host}, or correct PARTNER_CENTER_WEBHOOK_CERT_HOSTS.`);
      expect(lines.at(-1)).toBe('3 things to fix.');
      expect(result.exitCode).toBe(1);
    } finally {
      pc.refreshTokens.restore();
    }
  });

  it('R-A5 a Partner Center refusal of the API read says to add the app in App management', async () => {
    pc.plan({ method: 'GET', path: '/v1/customers', status: 403, body: { code: 403, description: 'Forbidden', errorName: 'Forbidden' } });
    const result = await runCli(database.db, ['connector', 'check'], { partnerCenter: partnerCenterFromConfig(pc.config, tuning), config: pc.config });
    const lines = result.output.split('\n');
    expect(lines).toContain(`✗ Partner Center API (${pc.origin}): HTTP 403, code 403: Forbidden`);
    expect(lines).toContain('  Fix: add the app in Partner Center (Account settings → App management), grant admin consent to its Partner Center API permission, and get the refresh token with an admin agent\'s sign-in.');
    expect(lines.at(-1)).toBe('1 thing to fix.');
  });
});
