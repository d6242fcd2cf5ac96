/**
 * The benchmark's database work, in a process of its own and with the code of the checkout under
 * test (BENCH_APP_DIR): its migrations and its import make the data that checkout expects. Takes one
 * DataTask from its parent (IPC) and answers with the result.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Database, DatabaseHandle } from '../../db/client.js';
import { teamId, testOrganization, users } from '../../test/helpers/fixture.js';
import { seedLargeOrganization, type LargeDataSize } from '../large-data.js';

/** A database to work on: a PostgreSQL URL, or an embedded data folder. */
export type DataTarget = { url: string } | { dataDir: string };

export type DataTask =
  | { task: 'prepare'; target: DataTarget }
  | { task: 'click-customers'; target: DataTarget; count: number }
  | { task: 'seed-large'; target: DataTarget; size: LargeDataSize }
  | { task: 'verify-clicks'; target: DataTarget };

/** A customer to click for: its ID, and the ID of its Turn on confirmation (what the button carries). */
export type ClickCustomer = [string, string];

/** A clicked customer's state: [customer id, permission on, activity entries for turning it on]. */
export type ClickEffect = [string, boolean, number];

const appDir = resolve(process.env.BENCH_APP_DIR || '.');
const appModule = <T>(path: string) => import(pathToFileURL(join(appDir, path)).href) as Promise<T>;

/** postgres.js answers rows, PGlite { rows }. */
const rows = <T>(result: unknown): T[] => ((result as { rows?: T[] }).rows ?? (result as T[]));

export const clickCustomerPrefix = 'bench click ';

async function open(target: DataTarget): Promise<DatabaseHandle> {
  const { openDatabase } = await appModule<typeof import('../../db/client.js')>('db/client.ts');
  return openDatabase('url' in target ? { url: target.url } : { dataDir: target.dataDir });
}

async function organizationId(db: Database): Promise<string> {
  const [org] = rows<{ id: string }>(await db.execute(sql`select id from organizations where slack_team_id = ${teamId}`));
  if (!org) throw new Error(`no organization with Slack team ${teamId}: was the data prepared?`);
  return org.id;
}

async function perform(task: DataTask, db: Database): Promise<unknown> {
  switch (task.task) {
    case 'prepare': {
      const { importOrganization, parseImportFile } = await appModule<typeof import('../../src/core/import.js')>('src/core/import.ts');
      await importOrganization(db, parseImportFile(testOrganization));
      return { orgId: await organizationId(db) };
    }
    case 'click-customers': {
      // Customers a Turn on click can act on: each with an active Azure plan whose Owner is known (R-P4,
      // R-P5), and the confirmation `allow-reservations <customer>` would have shown the admin agent:
      // a Turn on button carries its ID, and it acts once (core/confirmations.ts).
      const orgId = await organizationId(db);
      const clickCustomers = sql`customers.org_id = ${orgId} and customers.name_key like ${`${clickCustomerPrefix}%`}`;
      await db.execute(sql`
        insert into customers (org_id, name, name_key, domain, tenant_id, billing_country)
        select ${orgId}, 'Bench Click ' || lpad(i::text, 6, '0'), ${clickCustomerPrefix} || lpad(i::text, 6, '0'),
               'click-' || i || '.bench.example', gen_random_uuid()::text, 'US'
        from generate_series(1, ${task.count}) as i`);
      await db.execute(sql`
        insert into subscriptions (org_id, id, customer_id, offer, status, owner_role_assigned)
        select org_id, gen_random_uuid()::text, id, 'azure-plan', 'active', true from customers where ${clickCustomers}`);
      const found = rows<{ customer: string; confirmation: string }>(
        await db.execute(sql`
          insert into confirmations (org_id, kind, params, shown_to_staff_id, shown_to_name, expires_at)
          select customers.org_id, 'allow', jsonb_build_object('customerId', customers.id, 'resource', 'azure-reservations'),
                 staff.id, staff.name, now() + interval '1 day'
          from customers join staff on staff.org_id = customers.org_id and staff.slack_user_id = ${users.adminAgent}
          where ${clickCustomers}
          returning params->>'customerId' as customer, id as confirmation`),
      );
      // Fresh statistics, as autovacuum would gather them, so the server's plans do not change during the run.
      await db.execute(sql`analyze`);
      return found.map((r): ClickCustomer => [r.customer, r.confirmation]);
    }
    case 'seed-large': {
      const seeded = await seedLargeOrganization(db, await organizationId(db), task.size);
      await db.execute(sql`analyze`);
      return seeded;
    }
    case 'verify-clicks': {
      const orgId = await organizationId(db);
      const found = rows<{ id: string; on: boolean; entries: number }>(
        await db.execute(sql`
          select c.id,
                 exists (select 1 from customer_purchase_permissions p
                         where p.org_id = c.org_id and p.customer_id = c.id and p.resource = 'azure-reservations') as "on",
                 (select count(*)::int from activity_log a
                  where a.org_id = c.org_id and a.customer_id = c.id and a.action = 'create_customer_purchase_permission') as entries
          from customers c
          where c.org_id = ${orgId} and c.name_key like ${`${clickCustomerPrefix}%`}`),
      );
      return found.filter((r) => r.on || r.entries > 0).map((r): ClickEffect => [r.id, r.on, r.entries]);
    }
  }
}

process.once('message', (task: DataTask) => {
  (async () => {
    const handle = await open(task.target);
    try {
      return await perform(task, handle.db);
    } finally {
      await handle.close();
    }
  })().then(
    (result) => process.send!({ result }, () => process.exit(0)),
    (error: unknown) => {
      console.error(`bench data (${task.task}):`, error);
      process.exit(1);
    },
  );
});
