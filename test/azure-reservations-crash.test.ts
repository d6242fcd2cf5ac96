import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { activityLog, partnerCenterIntents, reservationRequests, reservations } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { startFakeAzure, type FakeAzure } from './helpers/fake-azure.js';
import { partnerTenant, startFakePartnerCenter, type FakePartnerCenter } from './helpers/fake-partner-center.js';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { onPostgres } from './helpers/database.js';
import { killBotProcesses, sharedDatabase, startSlackBotProcess } from './helpers/processes.js';
import { blockActionBody, buttons, signingSecret, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { waitFor } from './helpers/wait.js';

// An approved reservation change survives a real crash: the bot runs as a child process; the fake
// Azure Resource Manager makes the change and holds its answer while the test SIGKILLs the
// child. The restarted bot finds the intent pending and Azure holding the change, and commits the
// decision once, as the admin who approved it.

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
const channel = 'C0AZCRASH1';
const reservationId = 'a9000000-0000-4000-8000-000000000009';
const orderId = '09000000-0000-4000-8000-000000000009';
const subscriptionId = 'c0c0c0c0-0000-4000-8000-000000000001';
const cleanups: (() => Promise<unknown> | void)[] = [];

/** The connected test organization with these reservations (and their Azure orders) added to their customers. */
function organizationWith(rows: { tenant: string; id: string; order: string }[]) {
  const base = connectedOrganization(partnerTenant);
  return {
    ...base,
    customers: base.customers.map((c) => {
      const own = rows
        .filter((row) => row.tenant === c.tenantId)
        .map(({ id, order }) => ({
          id, reservationOrderId: order, product: 'Virtual Machines D2s v5', region: 'koreacentral', quantity: 4, term: 'P1Y' as const,
          billingPlan: 'upfront' as const, scope: 'shared' as const, price: 3120.5, currency: 'USD', purchasedBy: 'partner' as const, purchasedAt: '2026-02-01T09:00:00Z',
        }));
      return own.length ? { ...c, reservations: [...(('reservations' in c && c.reservations) || []), ...own] } : c;
    }),
  };
}

/** The bot's environment: its database, Slack faked, the connector on with Azure faked, one-second timeouts. */
const botEnvironment = (database: object, slack: FakeSlack, pc: FakePartnerCenter, azure: FakeAzure): NodeJS.ProcessEnv => ({
  ...database,
  SLACK_SIGNING_SECRET: signingSecret,
  SLACK_BOT_TOKEN: 'xoxb-azure-crash-test',
  SLACK_API_URL: slack.apiUrl,
  LOG_LEVEL: 'warn',
  ...pc.config,
  AZURE_RESOURCE_MANAGER_URL: azure.origin,
  PARTNER_CENTER_TIMEOUT_SECONDS: '1',
  PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS: '0',
});

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
    const setup = await open();
    for (const f of [organizationWith([{ tenant: tenants.contoso, id: reservationId, order: orderId }]), otherOrganization]) await importOrganization(setup.db, parseImportFile(f));
    await setup.close();

    const startChild = () => startSlackBotProcess(botEnvironment(database, slack, pc, azure));

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

  it('R-Q3 R-Q5 SIGKILL after Azure accepted exchanges, before their operations were kept: after restart each new reservation is found by the exchange\'s swap link (the old one\'s swapDestination, else a swapSource among Reservation_ListAll\'s); one Azure links by neither is left unknown, logged, and the card says so', { timeout: 180_000 }, async () => {
    const pc = await startFakePartnerCenter();
    cleanups.push(() => pc.close());
    const azure = await startFakeAzure(pc);
    cleanups.push(() => azure.close());
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());
    // How Azure links each exchange: on both reservations, on the new one only (GetReservationDetails.json), or not at all.
    const exchanges = {
      both: { tenant: tenants.contoso, customer: 'Contoso Ltd', id: 'a9100000-0000-4000-8000-000000000091', order: '09100000-0000-4000-8000-000000000091', words: 'E8s v5', sku: 'Standard_E8s_v5' },
      source: { tenant: tenants.hanbit, customer: '한빛소프트 주식회사', id: 'a9200000-0000-4000-8000-000000000092', order: '09200000-0000-4000-8000-000000000092', words: 'standard d4s v5', sku: 'Standard_D4s_v5' },
      none: { tenant: tenants.taiwanCloud, customer: '台灣雲端科技股份有限公司', id: 'a9300000-0000-4000-8000-000000000093', order: '09300000-0000-4000-8000-000000000093', words: 'D8s_v5', sku: 'Standard_D8s_v5' },
    } as const;
    for (const [links, x] of Object.entries(exchanges)) azure.addReservation(x.tenant, x.order, x.id, { exchangeLinks: links as 'both' | 'source' | 'none' });

    const { settings: database, open } = await sharedDatabase('csp_azxcrash', cleanups);
    const setup = await open();
    for (const f of [organizationWith(Object.values(exchanges)), otherOrganization]) await importOrganization(setup.db, parseImportFile(f));
    await setup.close();
    const startChild = () => startSlackBotProcess(botEnvironment(database, slack, pc, azure));

    const first = await startChild();
    const command = (user: string, text: string) => first.post(slashCommandBody(user, text, slack.responseUrl(randomUUID()), { channel })).then((r) => r.json() as Promise<SlackReply>);
    await command(users.globalAdmin, 'channel approvals here');
    const held = Object.values(exchanges).map(() => azure.hold('POST /exchange'));
    for (const x of Object.values(exchanges)) {
      await command(users.globalAdmin, `request exchange ${x.id} ${x.words} for ${x.customer} because 메모리 부족`);
      const card = await waitFor('the request card', () => slack.posts().find((p) => JSON.stringify(p.body).includes(`Request: exchange reservation ${x.id}`)));
      const approve = buttons(card.body as SlackReply).find((b) => b.text.text === 'Approve')!;
      void first.post(blockActionBody(users.adminAgent, approve.action_id, approve.value, slack.responseUrl(randomUUID()), { channel, messageTs: card.ts })).catch(() => undefined);
    }
    await Promise.all(held.map((h) => h.arrived));
    first.child.kill('SIGKILL');
    await first.exited;
    for (const h of held) h.release();
    // Azure made the three exchanges; csp-ops kept the intents, with no operation URL, and the SKUs matched.
    const bought = (x: (typeof exchanges)[keyof typeof exchanges]) => [...azure.reservations.values()].find((r) => r.tenant === x.tenant && r.sku === x.sku)!;
    for (const x of Object.values(exchanges)) expect(azure.reservations.get(x.id)!.provisioningState).toBe('Cancelled');
    const crashed = await open();
    expect((await crashed.db.select().from(partnerCenterIntents)).map((i) => [i.kind, i.status, (i.change as { operation?: string }).operation])).toEqual(Array(3).fill(['reservation', 'pending', undefined]));
    expect((await crashed.db.select().from(reservationRequests)).map((r) => [r.status, r.details.sku]).sort()).toEqual(Object.values(exchanges).map((x) => ['pending', x.sku]).sort());
    await crashed.close();

    const second = await startChild();
    await waitFor(
      'the requesters told after the repair',
      () => {
        const texts = slack.posts().map((p) => JSON.stringify(p.body));
        return texts.filter((t) => t.includes('Azure made the change.')).length === 2 && texts.some((t) => t.includes('could not find the reservation Azure bought in its place'));
      },
      90_000,
    );
    second.child.kill('SIGTERM');
    await second.exited;

    const after = await open();
    try {
      const requests = await after.db.select().from(reservationRequests);
      expect(requests.map((r) => [r.reservationId, r.status, r.carriedOut, r.decidedByName, r.details]).sort()).toEqual(
        [
          [exchanges.both.id, 'approved', 'azure', '王小明', { product: exchanges.both.words, sku: exchanges.both.sku }],
          [exchanges.source.id, 'approved', 'azure', '王小明', { product: exchanges.source.words, sku: exchanges.source.sku }],
          [exchanges.none.id, 'approved', 'azure', '王小明', { product: exchanges.none.words, sku: exchanges.none.sku, successorUnknown: true }],
        ].sort(),
      );
      const row = async (id: string) => (await after.db.select().from(reservations).where(eq(reservations.id, id)))[0];
      for (const x of Object.values(exchanges)) expect((await row(x.id))!.status).toBe('exchanged');
      // Found: kept under Azure's own IDs.
      for (const x of [exchanges.both, exchanges.source]) {
        expect(await row(bought(x).id)).toMatchObject({ reservationOrderId: bought(x).orderId, product: x.sku, status: 'active', quantity: 4 });
      }
      // Not found: no reservation made up for it.
      expect(await row(bought(exchanges.none).id)).toBeUndefined();
      expect((await after.db.select().from(reservations).where(eq(reservations.status, 'active'))).filter((r) => r.product === exchanges.none.sku)).toEqual([]);
      expect(await after.db.select().from(partnerCenterIntents)).toMatchObject(Array(3).fill({ kind: 'reservation', status: 'done', actorName: '王小明' }));
      // Each exchange was asked once; Reservation_ListAll only for those whose old reservation names no swapDestination.
      expect(azure.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/providers/Microsoft.Capacity/exchange?'))).toHaveLength(3);
      const listed = azure.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/providers/Microsoft.Capacity/reservations?'));
      expect(listed.map((r) => new URL(r.path, azure.origin).searchParams.get('$filter')).sort()).toEqual([
        "properties/reservedResourceType eq 'VirtualMachines' and sku/name eq 'Standard_D4s_v5'",
        "properties/reservedResourceType eq 'VirtualMachines' and sku/name eq 'Standard_D8s_v5'",
      ]);
      expect(second.output()).toContain(`Azure exchanged reservation ${exchanges.none.id} (request `);
      expect(second.output()).toContain('committed without the new reservation');
    } finally {
      await after.close();
    }
  });
});
