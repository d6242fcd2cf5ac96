import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { activityLog, customerPurchasePermissions, customers, outbox, partnerCenterIntents, staff } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { partnerTenant, startFakePartnerCenter } from './helpers/fake-partner-center.js';
import { startFakeSlack } from './helpers/fake-slack.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { onPostgres } from './helpers/database.js';
import { killBotProcesses, sharedDatabase, startSlackBotProcess } from './helpers/processes.js';
import { blockActionBody, buttons, signingSecret, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { waitFor } from './helpers/wait.js';

// A Partner Center write survives a real crash: the bot runs as a child process (src/main.ts); the fake Partner
// Center makes the change it is asked for and holds its answer while the test SIGKILLs the
// child. The restarted bot finds the intent pending and Partner Center holding the change, and
// commits the outcome once, as the admin who asked.

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
const channel = 'C0CRASH001';
const cleanups: (() => Promise<unknown> | void)[] = [];

afterAll(async () => {
  killBotProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe(`R-P10 a crash between Partner Center's answer and the commit is repaired on restart (${engine}, child process)`, () => {
  it('R-P3 R-P10 SIGKILL while Partner Center answers: after restart the permission is on, logged once as the admin, announced once, and the intent done', { timeout: 180_000 }, async () => {
    const pc = await startFakePartnerCenter();
    cleanups.push(() => pc.close());
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());

    const { settings: database, open } = await sharedDatabase('csp_crash', cleanups);
    const setup = await open();
    for (const file of [connectedOrganization(partnerTenant), otherOrganization]) await importOrganization(setup.db, parseImportFile(file));
    await setup.close();

    const env: NodeJS.ProcessEnv = {
      ...database,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: 'xoxb-crash-test',
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'warn',
      ...pc.config,
      // Short Partner Center timings, so the restarted bot knows soon that no answer is coming any more.
      PARTNER_CENTER_TIMEOUT_SECONDS: '1',
      PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS: '0',
    };

    const first = await startSlackBotProcess(env);
    const card = (await (await first.post(slashCommandBody(users.adminAgent, 'allow-reservations contoso.com', slack.responseUrl(randomUUID()), { channel }))).json()) as SlackReply;
    const turnOn = buttons(card).find((b) => b.text.text === 'Turn on');
    expect(turnOn, JSON.stringify(card)).toBeDefined();
    const held = pc.hold('POST', '/v1/SelfServePolicy');
    // The click's answer never comes: the process is killed while Partner Center holds its answer.
    void first.post(blockActionBody(users.adminAgent, turnOn!.action_id, turnOn!.value, slack.responseUrl(randomUUID()), { channel })).catch(() => undefined);
    await held.arrived;
    first.child.kill('SIGKILL');
    await first.exited;
    expect(first.child.signalCode).toBe('SIGKILL');
    // Partner Center made the change; csp-ops recorded only the intent.
    expect(pc.policies.get(`${partnerTenant}_${tenants.contoso}`)?.permissions).toEqual([{ action: 'Purchase', resource: 'AzureReservedInstances' }]);
    const crashed = await open();
    expect((await crashed.db.select().from(partnerCenterIntents)).map((i) => i.status)).toEqual(['pending']);
    expect(await crashed.db.select().from(customerPurchasePermissions)).toEqual([]);
    await crashed.close();

    const second = await startSlackBotProcess(env);
    const announced = await waitFor(
      'the announcement after the repair',
      () => slack.posts().find((p) => p.body.channel === channel && String(p.body.text ?? '').includes('turned on Azure reservation purchases for Contoso Ltd')),
      90_000,
    );
    expect(String(announced.body.text)).toContain('王小明 turned on Azure reservation purchases for Contoso Ltd.');
    second.child.kill('SIGTERM');
    await second.exited;

    const after = await open();
    try {
      const [admin] = await after.db.select().from(staff).where(eq(staff.slackUserId, users.adminAgent));
      const [contoso] = await after.db.select().from(customers).where(and(eq(customers.orgId, admin!.orgId), eq(customers.tenantId, tenants.contoso)));
      expect(await after.db.select().from(customerPurchasePermissions)).toMatchObject([{ customerId: contoso!.id, resource: 'azure-reservations', grantedBy: admin!.id }]);
      const logged = await after.db.select().from(activityLog).where(eq(activityLog.action, 'create_customer_purchase_permission'));
      expect(logged).toMatchObject([{ customerId: contoso!.id, actorStaffId: admin!.id, actorName: '王小明' }]);
      const announcements = (await after.db.select().from(outbox)).filter((row) => (row.message as { key?: string }).key === 'allow.announce');
      expect(announcements).toMatchObject([{ channelId: channel, status: 'sent' }]);
      expect(await after.db.select().from(partnerCenterIntents)).toMatchObject([{ status: 'done', actorName: '王小明', actorChannelId: channel }]);
      expect(pc.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    } finally {
      await after.close();
    }
  });
});
