import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { DatabaseHandle, Transaction } from '../db/client.js';
import { activityLog, customerPurchasePermissions, staff, subscriptions } from '../db/schema.js';
import { translator } from '../src/i18n/index.js';
import { onPostgres, secondConnection } from './helpers/database.js';
import { tenants, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { customerId, permissionFor, testOrgId, unchanged } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

/*
 * `customer` shows a customer's account from memory, forgotten when the database announces a change to a
 * table it is read from (migrations 0028 and 0031, src/core/change-cache.ts); confirmations and clicks read it
 * from the database. Every change here is made as another process makes it: on PostgreSQL through a pool
 * of its own; PGlite has one process.
 */

const en = translator('en');

let bot: TestBot;
let other: DatabaseHandle;
beforeAll(async () => {
  bot = await startTestBot();
  other = await secondConnection(bot.database);
});
afterAll(async () => {
  if (other !== bot.database) await other.close();
  await bot?.close();
});

type Announced = 'customer_purchase_permissions' | 'subscriptions' | 'activity_log';

/** A change made by another process whose notification is never sent (the table's trigger is off for it); on PGlite, no other query may run meanwhile. */
async function unannounced(table: Announced, change: (tx: Transaction) => Promise<unknown>) {
  await other.db.transaction(async (tx) => {
    await tx.execute(sql.raw(`alter table ${table} disable trigger ${table}_changed`));
    await change(tx);
    await tx.execute(sql.raw(`alter table ${table} enable always trigger ${table}_changed`));
  });
}

const shown = async (customer: string) => replyText((await bot.command(users.salesAgent, `customer ${customer}`)).reply);

async function adminId(): Promise<string> {
  const [row] = await bot.db.select({ id: staff.id }).from(staff).where(eq(staff.slackUserId, users.adminAgent));
  return row!.id;
}

const activityEntry = async (tenantId: string, subscription: string) => ({
  orgId: await testOrgId(bot.db),
  customerId: await customerId(bot.db, tenantId),
  actorName: 'Partner Center',
  action: 'owner_role_confirmed',
  details: { subscription },
});

const subscriptionRow = async (tenantId: string, id: string) => ({
  orgId: await testOrgId(bot.db),
  id,
  customerId: await customerId(bot.db, tenantId),
  offer: 'azure-plan' as const,
  friendlyName: id,
  status: 'active' as const,
});

describe(`the customer command shows what another writer changed (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-P1 R-M6 a permission turned on, a subscription added and an activity entry, each written elsewhere, are shown by the next customer command', async () => {
    const customer = 'cafe-lumiere.example';
    const before = await shown(customer);
    expect(before).toContain(en('customer.noActivity'));
    expect(before).not.toContain('Staging');

    await other.db.insert(customerPurchasePermissions).values({
      orgId: await testOrgId(bot.db),
      customerId: await customerId(bot.db, tenants.cafe),
      resource: 'azure-reservations',
      grantedBy: await adminId(),
    });
    await waitFor('the permission on', async () => (await shown(customer)).includes('Yes — since'));
    expect(await shown(customer)).toContain('by 王小明');

    await other.db.insert(subscriptions).values(await subscriptionRow(tenants.cafe, 'Staging'));
    await waitFor('the new subscription', async () => (await shown(customer)).includes('Staging (Azure plan'));

    await other.db.insert(activityLog).values(await activityEntry(tenants.cafe, 'written-elsewhere'));
    const entry = en('action.owner_role_confirmed', { subscription: 'written-elsewhere' });
    await waitFor('the activity entry', async () => (await shown(customer)).includes(entry));
  });

  it('an account is kept: a change never announced is not shown, and one announced to any table it is read from shows both', async () => {
    const customer = 'twcloud.example';
    const before = await shown(customer);
    const entry = await activityEntry(tenants.taiwanCloud, 'unannounced');
    await unannounced('activity_log', (tx) => tx.insert(activityLog).values(entry));
    // Kept: the same account as before, word for word.
    expect(await shown(customer)).toEqual(before);

    await other.db.insert(subscriptions).values(await subscriptionRow(tenants.taiwanCloud, 'Announced'));
    const after = await waitFor('the announced subscription', async () => {
      const text = await shown(customer);
      return text.includes('Announced (Azure plan') && text;
    });
    expect(after).toContain(en('action.owner_role_confirmed', { subscription: 'unannounced' }));
  });
});

describe(`this instance's own change is shown at once (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-P10 after Turn on the next allow-reservations card says it is on, and after Turn off the disallow card says it is off, though no notification was sent', async () => {
    const customer = 'contoso.com';
    const silenced = ['customer_purchase_permissions', 'activity_log'] as const;
    const triggers = (how: 'disable' | 'enable always') => Promise.all(silenced.map((t) => other.db.execute(sql.raw(`alter table ${t} ${how} trigger ${t}_changed`))));
    const card = await bot.command(users.adminAgent, `allow-reservations ${customer}`);
    expect(replyText(card.reply)).toContain(en('allow.title', { customer: 'Contoso Ltd' }));
    await triggers('disable');
    try {
      await bot.click(users.adminAgent, buttons(card.reply).find((b) => b.text.text === 'Turn on')!);
      expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(1);
      const on = await bot.command(users.adminAgent, `allow-reservations ${customer}`);
      expect(buttons(on.reply).map((b) => b.text.text)).not.toContain('Turn on');
      expect(replyText(on.reply)).toContain('Azure reservation purchases are already on for Contoso Ltd (since ');

      const offCard = await bot.command(users.adminAgent, `disallow-reservations ${customer}`);
      await bot.click(users.adminAgent, buttons(offCard.reply).find((b) => b.text.text === 'Turn off')!);
      expect(await permissionFor(bot.db, tenants.contoso)).toEqual([]);
      const off = await bot.command(users.adminAgent, `disallow-reservations ${customer}`);
      expect(replyText(off.reply)).toContain(en('disallow.alreadyOff', { customer: 'Contoso Ltd' }));
    } finally {
      await triggers('enable always');
    }
  });
});

describe(`a click checks the database, not what memory holds (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-P4 Turn on is refused once the Azure subscription was suspended, unannounced, though customer still shows it active from memory; nothing changes', async () => {
    const customer = 'contosopharma.com';
    const card = await bot.command(users.adminAgent, `allow-reservations ${customer}`);
    const turnOn = buttons(card.reply).find((b) => b.text.text === 'Turn on');
    expect(turnOn, replyText(card.reply)).toBeDefined();
    const kept = await shown(customer);

    await unannounced('subscriptions', (tx) =>
      tx.update(subscriptions).set({ status: 'suspended' }).where(eq(subscriptions.id, 'c0c0c0c0-0000-4000-8000-000000000002')),
    );
    expect(await shown(customer)).toEqual(kept);

    const { reply } = await unchanged(bot.db, () => bot.click(users.adminAgent, turnOn!));
    expect(replyText(reply)).toContain(en('error.noAzureSubscription', { customer: 'Contoso Pharmaceuticals', resource: 'reservations' }));
    expect(await permissionFor(bot.db, tenants.contosoPharma)).toEqual([]);
  });
});

if (onPostgres) {
  describe('PostgreSQL: the listener\'s connection lost', () => {
    const listeners = async () => {
      const result = await other.db.execute(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like '% listen'`);
      return (result as unknown as { n: number }[])[0]?.n ?? 0;
    };
    const database = () => (bot.database as DatabaseHandle & { name: string }).name;
    /** Said from the server's own database: a database cannot refuse connections while connected to itself. */
    async function allowConnections(allow: boolean) {
      const server = postgres(process.env.TEST_DATABASE_URL!, { max: 1, onnotice: () => {} });
      await server.unsafe(`alter database ${database()} allow_connections ${allow}`).finally(() => server.end());
    }

    it('while the listener is down nothing is served from memory; once back, announced changes are heard again', async () => {
      const customer = 'contoso.com';
      // Every connection of both pools open beforehand: none is opened while the database refuses new ones.
      await Promise.all(Array.from({ length: 10 }, () => bot.db.execute(sql`select pg_sleep(0.05)`)));
      await Promise.all(Array.from({ length: 2 }, () => other.db.execute(sql`select pg_sleep(0.05)`)));
      const kept = await shown(customer);
      const whileListening = await activityEntry(tenants.contoso, 'while-listening');
      await unannounced('activity_log', (tx) => tx.insert(activityLog).values(whileListening));
      expect(await shown(customer)).toEqual(kept);

      // The listening connection ends and cannot come back while the database takes no new connections.
      await allowConnections(false);
      try {
        await other.db.execute(sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like '% listen'`);
        await waitFor('the change made while listening, read from the database', async () => (await shown(customer)).includes('while-listening'));
        // Still down: each command reads the database, so a change never announced is shown at once.
        const whileDown = await activityEntry(tenants.contoso, 'while-down');
        await unannounced('activity_log', (tx) => tx.insert(activityLog).values(whileDown));
        expect(await shown(customer)).toContain(en('action.owner_role_confirmed', { subscription: 'while-down' }));
        expect(await listeners()).toBe(0);
      } finally {
        await allowConnections(true);
      }

      // Back by itself: accounts are kept again (a change never announced goes unseen), and an announced one is heard.
      let tries = 0;
      await waitFor('accounts kept again', async () => {
        const seen = await shown(customer);
        const entry = await activityEntry(tenants.contoso, `unheard-${++tries}`);
        await unannounced('activity_log', (tx) => tx.insert(activityLog).values(entry));
        return (await shown(customer)) === seen;
      });
      expect(await listeners()).toBe(1);
      const orgId = await testOrgId(bot.db);
      await other.db.update(subscriptions).set({ friendlyName: 'Renamed' }).where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.id, 'c0c0c0c0-0000-4000-8000-000000000001')));
      await waitFor('the announced rename', async () => (await shown(customer)).includes('Renamed (Azure plan'));
    });
  });
}
