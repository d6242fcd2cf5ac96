import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { activityLog, reservationRequests, reservations } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { onPostgres, openTestDatabase, secondConnection } from './helpers/database.js';
import { otherOrganization, testOrganization, users } from './helpers/fixture.js';
import { replyText, startTestBot, type TestBot } from './helpers/slack.js';

// Two app instances on one database, each with its own connection pool on PostgreSQL.
// PGlite allows one process per database, so there both instances share the handle.
let database: DatabaseHandle;
let second: DatabaseHandle;
let instances: TestBot[];

beforeAll(async () => {
  database = await openTestDatabase();
  for (const file of [testOrganization, otherOrganization]) await importOrganization(database.db, parseImportFile(file));
  second = await secondConnection(database);
  instances = [await startTestBot({ database }), await startTestBot({ database: second })];
});

afterAll(async () => {
  for (const instance of instances ?? []) await instance.close();
  if (second !== database) await second?.close();
  await database?.close();
});

describe(`R-Q3 one decision per request (${onPostgres ? 'PostgreSQL, two pools' : 'PGlite'})`, () => {
  it('20 parallel Approve and Reject clicks from two admins on two instances make exactly one decision', async () => {
    const reservation = 'r1000000-0000-4000-8000-000000000002';
    const [one, two] = instances as [TestBot, TestBot];
    const asked = await one.command(users.contact, `request cancel ${reservation} because the project ended`);
    expect(replyText(asked.reply)).toContain('was sent to the partner for approval');
    const [request] = await database.db.select().from(reservationRequests);

    // Approve decides on the click; Reject decides when its reason modal is submitted.
    const clicks = Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? one.click(users.adminAgent, { action_id: 'csp:approve:0', value: request!.id })
        : two.clickAndSubmit(users.globalAdmin, { action_id: 'csp:reject:1', value: request!.id }, { reason: '동시에 거절' }),
    );
    const replies = (await Promise.all(clicks)).map((c) => replyText(c.reply));

    const decided = await database.db.select().from(reservationRequests).where(eq(reservationRequests.id, request!.id));
    const decisions = await database.db
      .select()
      .from(activityLog)
      .where(inArray(activityLog.action, ['request_approved', 'request_rejected', 'request_refused']));
    const [row] = await database.db.select().from(reservations).where(eq(reservations.id, reservation));
    const already = replies.filter((r) => r.includes('This request was already decided; nothing was changed.'));
    console.log(`R-Q3: clicks sent ${clicks.length}, decisions made ${decisions.length} (${decided[0]!.status}), told "already decided" ${already.length}`);

    expect(decisions).toHaveLength(1);
    expect(already).toHaveLength(19);
    expect(replies.every((r) => r.includes(decided[0]!.status === 'approved' ? 'Approved by' : 'Rejected by'))).toBe(true);
    expect(row!.status).toBe(decided[0]!.status === 'approved' ? 'cancelled' : 'active');
    expect(await database.db.select().from(reservations)).toHaveLength(3);
  });
});
