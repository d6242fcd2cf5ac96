import { expect } from 'vitest';
import { and, count, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import {
  activityLog, apiTokens, customerPurchasePermissions, customers, notificationSubscriptions, organizations, outbox, purchases, reservationRequests, reservations, subscriptions,
} from '../../db/schema.js';
import { teamId } from './fixture.js';

/** Row counts of every table a command can change: equal snapshots mean nothing changed. */
export async function snapshot(db: Database) {
  const tables = { activityLog, customerPurchasePermissions, customers, outbox, subscriptions, organizations, reservations, reservationRequests, purchases, notificationSubscriptions, apiTokens };
  const counts: Record<string, number> = {};
  for (const [name, table] of Object.entries(tables)) {
    counts[name] = (await db.select({ n: count() }).from(table))[0]!.n;
  }
  const owners = await db.select({ n: count() }).from(subscriptions).where(eq(subscriptions.ownerRoleAssigned, true));
  counts.ownersKnown = owners[0]!.n;
  return counts;
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
