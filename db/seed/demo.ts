import { readFile } from 'node:fs/promises';
import { count, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { customerContacts, organizations } from '../schema.js';
import { importOrganization, parseImportFile } from '../../src/core/import.js';
import { fileRequest } from '../../src/core/requests.js';

export const demoAdminEmail = 'admin@fabrikam.example';

/** Loads the demo organization into an empty database, with one pending request; returns whether it did. */
export async function seedDemoIfEmpty(db: Database): Promise<boolean> {
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(organizations);
  if (n > 0) return false;
  const file = JSON.parse(await readFile(new URL('./demo.json', import.meta.url), 'utf8'));
  const { orgId } = await importOrganization(db, parseImportFile(file));
  const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId));
  const [dana] = await db.select().from(customerContacts).where(eq(customerContacts.email, 'dana@contoso.com'));
  await fileRequest(
    { db, org: org!, actor: { kind: 'contact', id: dana!.id, name: dana!.name, customerId: dana!.customerId }, conversation: { platform: 'cli', channelId: null }, now: () => new Date() },
    { kind: 'cancel', reservation: 'd1000000-0000-4000-8000-000000000002', reason: 'We moved this workload to another region.' },
  );
  return true;
}
