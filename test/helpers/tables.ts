import { expect } from 'vitest';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import {
  activityLog, apiTokens, customerPurchasePermissions, customers, notificationSubscriptions, organizations, outbox, purchases, reservationRequests, reservations, subscriptions,
} from '../../db/schema.js';
import { teamId } from './fixture.js';
import { waitFor } from './wait.js';

/**
 * The contents of every table a command can change, each table's rows in a stable order: equal
 * snapshots mean nothing changed. Outbox rows are compared by what they say and where they go, not
 * by their delivery state, which the delivery worker moves on by itself meanwhile.
 */
export async function snapshot(db: Database) {
  const tables = { activityLog, customerPurchasePermissions, customers, subscriptions, organizations, reservations, reservationRequests, purchases, notificationSubscriptions, apiTokens };
  const contents: Record<string, string[]> = {};
  const sorted = (rows: unknown[]) => rows.map((row) => JSON.stringify(row)).sort();
  for (const [name, table] of Object.entries(tables)) contents[name] = sorted(await db.select().from(table));
  // A digest is the delivery worker's own way of posting waiting purchases, as their delivery state is.
  contents.outbox = sorted(
    await db
      .select({ id: outbox.id, orgId: outbox.orgId, platform: outbox.platform, channelId: outbox.channelId, message: outbox.message })
      .from(outbox)
      .where(sql`not (${outbox.message} ? 'digest')`),
  );
  return contents;
}

/**
 * Waits until no outbox message is pending: the delivery worker posts only pending messages, so
 * from then on nothing more is posted for what was sent before.
 */
export async function outboxSettled(db: Database): Promise<void> {
  await waitFor('the outbox to settle', async () => (await db.select({ id: outbox.id }).from(outbox).where(eq(outbox.status, 'pending')).limit(1)).length === 0, 10_000);
}

/** Runs the action and proves it changed no table. */
export async function unchanged<T>(db: Database, action: () => Promise<T>): Promise<T> {
  const before = await snapshot(db);
  const result = await action();
  expect(await snapshot(db)).toEqual(before);
  return result;
}

export async function testOrgId(db: Database): Promise<string> {
  const [org] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.slackTeamId, teamId));
  return org!.id;
}

export async function customerId(db: Database, tenantId: string, orgId?: string): Promise<string> {
  const org = orgId ?? (await testOrgId(db));
  const [row] = await db.select({ id: customers.id }).from(customers).where(and(eq(customers.orgId, org), eq(customers.tenantId, tenantId)));
  return row!.id;
}

export async function activityFor(db: Database, tenantId: string) {
  const id = await customerId(db, tenantId);
  return db.select().from(activityLog).where(eq(activityLog.customerId, id)).orderBy(activityLog.id);
}

export async function permissionFor(db: Database, tenantId: string) {
  const id = await customerId(db, tenantId);
  return db.select().from(customerPurchasePermissions).where(eq(customerPurchasePermissions.customerId, id));
}
