import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { activityLog, partnerCenterIntents, reservationRequests, reservations } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { startFakeAzure } from './helpers/fake-azure.js';
import { partnerTenant, startFakePartnerCenter } from './helpers/fake-partner-center.js';
import { startFakeSlack } from './helpers/fake-slack.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { onPostgres } from './helpers/database.js';
import { killBotProcesses, sharedDatabase, startSlackBotProcess } from './helpers/processes.js';
import { blockActionBody, buttons, signingSecret, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { waitFor } from './helpers/wait.js';

// An approved reservation change survives a real crash: the bot runs as a child process; the fake
// Azure Resource Manager makes the scope change and holds its answer while the test SIGKILLs the
// child. The restarted bot finds the intent pending and Azure holding the change, and commits the
// decision once, as the admin who approved it.

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
const channel = 'C0AZCRASH1';
const reservationId = 'a9000000-0000-4000-8000-000000000009';
const orderId = '09000000-0000-4000-8000-000000000009';
const subscriptionId = 'c0c0c0c0-0000-4000-8000-000000000001';
const cleanups: (() => Promise<unknown> | void)[] = [];

afterAll(async () => {
  killBotProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe(`R-Q3 R-Q5 a crash between Azure's acceptance and the commit is repaired on restart (${engine}, child process)`, () => {
  it('R-Q3 R-Q5 SIGKILL while Azure answers a scope change: after restart the request is approved once, as the admin, and the intent done', { timeout: 180_000 }, async () => {
    const pc = await startFakePartnerCenter();
    cleanups.push(() => pc.close());
    const azure = await startFakeAzure(pc);
    cleanups.push(() => azure.close());
    azure.addReservation(tenants.contoso, orderId, reservationId);
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());

    const { settings: database, open } = await sharedDatabase('csp_azcrash', cleanups);
    const base = connectedOrganization(partnerTenant);
    const file = {
      ...base,
      customers: base.customers.map((c) =>
        c.tenantId === tenants.contoso
          ? {
              ...c,
              reservations: [
                ...c.reservations,
                {
                  id: reservationId, reservationOrderId: orderId, product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 4, term: 'P1Y' as const,
                  billingPlan: 'upfront' as const, scope: 'shared' as const, price: 3120.5, currency: 'USD', purchasedBy: 'partner' as const, purchasedAt: '2026-02-01T09:00:00Z',
                },
              ],
            }
          : c,
      ),
    };
    const setup = await open();
    for (const f of [file, otherOrganization]) await importOrganization(setup.db, parseImportFile(f));
    await setup.close();

    const env: NodeJS.ProcessEnv = {
      ...database,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: 'xoxb-azure-crash-test',
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'warn',
      ...pc.config,
      AZURE_RESOURCE_MANAGER_URL: azure.origin,
      PARTNER_CENTER_TIMEOUT_SECONDS: '1',
      PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS: '0',
    };
    const startChild = () => startSlackBotProcess(env);

    const first = await startChild();
    const command = (user: string, text: string) => first.post(slashCommandBody(user, text, slack.responseUrl(randomUUID()), { channel })).then((r) => r.json() as Promise<SlackReply>);
    await command(users.globalAdmin, 'channel approvals here');
    await command(users.contact, `request scope ${reservationId} single ${subscriptionId}`);
    const card = await waitFor('the request card', () => slack.posts().find((p) => String(JSON.stringify(p.body)).includes(`Request: change reservation ${reservationId}`)));
    const approve = buttons(card.body as SlackReply).find((b) => b.text.text === 'Approve')!;
    const held = azure.hold('PATCH');
    void first.post(blockActionBody(users.adminAgent, approve.action_id, approve.value, slack.responseUrl(randomUUID()), { channel, messageTs: card.ts })).catch(() => undefined);
    await held.arrived;
    first.child.kill('SIGKILL');
    await first.exited;
    held.release();
    // Azure made the change; csp-ops recorded only the intent.
    expect(azure.reservations.get(reservationId)).toMatchObject({ appliedScopeType: 'Single', appliedScopes: [`/subscriptions/${subscriptionId}`] });
    const crashed = await open();
    expect((await crashed.db.select().from(partnerCenterIntents)).map((i) => [i.kind, i.status])).toEqual([['reservation', 'pending']]);
    expect((await crashed.db.select().from(reservationRequests)).map((r) => r.status)).toEqual(['pending']);
    await crashed.close();

    const second = await startChild();
    await waitFor('the requester told after the repair', () => slack.posts().find((p) => JSON.stringify(p.body).includes('Azure made the change.')), 90_000);
    second.child.kill('SIGTERM');
    await second.exited;

    const after = await open();
    try {
      expect(await after.db.select().from(reservationRequests)).toMatchObject([{ status: 'approved', carriedOut: 'azure', decidedByName: '王小明' }]);
      expect((await after.db.select().from(reservations).where(eq(reservations.id, reservationId)))[0]).toMatchObject({ scope: 'single', subscriptionId });
      expect(await after.db.select().from(activityLog).where(eq(activityLog.action, 'request_approved'))).toMatchObject([{ actorName: '王小明' }]);
      expect(await after.db.select().from(partnerCenterIntents)).toMatchObject([{ kind: 'reservation', status: 'done', actorName: '王小明' }]);
      expect(azure.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1);
    } finally {
      await after.close();
    }
  });
});
