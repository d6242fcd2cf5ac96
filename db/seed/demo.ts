import { readFile } from 'node:fs/promises';
import { count, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { customerContacts, organizations } from '../schema.js';
import { importOrganization, parseImportFile } from '../../src/core/import.js';
import { fileRequest } from '../../src/core/requests.js';

export const demoAdminEmail = 'admin@fabrikam.example';

const demoFile = async (name: string) => parseImportFile(JSON.parse(await readFile(new URL(name, import.meta.url), 'utf8')));

/**
 * Loads the demo partner organization into an empty database, with one pending
 * request, and the demo publisher (an ISV whose offers have every CSP audience
 * option, and the partner directory), both marked as demo; returns whether it did.
 */
export async function seedDemoIfEmpty(db: Database): Promise<boolean> {
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(organizations);
  if (n > 0) return false;
  const { orgId } = await importOrganization(db, await demoFile('./demo.json'), { demo: true });
  await importOrganization(db, await demoFile('./demo-publisher.json'), { demo: true });
  const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId));
  const [dana] = await db.select().from(customerContacts).where(eq(customerContacts.email, 'dana@contoso.com'));
  await fileRequest(
    { db, org: org!, actor: { kind: 'contact', id: dana!.id, name: dana!.name, customerId: dana!.customerId }, conversation: { platform: 'cli', channelId: null }, now: () => new Date() },
    { kind: 'cancel', reservation: 'd1000000-0000-4000-8000-000000000002', reason: 'We moved this workload to another region.' },
  );
  return true;
}

/** What start-up found: `refused` when asked for the demo where organizations are stored; how many of them are the partner's own and how many demo. */
export interface StartData {
  loaded: boolean;
  refused: boolean;
  own: number;
  demo: number;
}

/**
 * The demo at start-up: an empty embedded database gets it, as does an empty PostgreSQL one
 * when asked (`npm start -- --demo`). Asked where organizations are stored, it loads nothing:
 * the demo is never mixed into a partner's data.
 */
export async function demoAtStart(db: Database, options: { embedded: boolean; asked: boolean }): Promise<StartData> {
  const stored = async () => {
    const rows = await db.select({ demo: organizations.demo }).from(organizations);
    const demo = rows.filter((o) => o.demo).length;
    return { own: rows.length - demo, demo };
  };
  const before = await stored();
  if (before.own + before.demo) return { loaded: false, refused: options.asked, ...before };
  const loaded = (options.embedded || options.asked) && (await seedDemoIfEmpty(db));
  return { loaded, refused: false, ...(loaded ? await stored() : before) };
}
