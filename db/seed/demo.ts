import { readFile } from 'node:fs/promises';
import { and, count, eq } from 'drizzle-orm';
import type { Database } from '../client.js';
import { customerContacts, customers, organizations, outbox, reservationRequests, staff } from '../schema.js';
import type { CoreContext } from '../../src/core/context.js';
import { importOrganization, parseImportFile } from '../../src/core/import.js';
import { allowPermission } from '../../src/core/permissions.js';
import { fileRequest } from '../../src/core/requests.js';

export const demoAdminEmail = 'admin@fabrikam.example';

const demoFile = async (name: string) => parseImportFile(JSON.parse(await readFile(new URL(name, import.meta.url), 'utf8')));

/**
 * IDs the help examples name (src/commands/help.ts): the pending request `approve c9dbae2f` decides, and the
 * marketplace subscription bought as the demo loads, so that its 14-day cancellation window (R-M10) is open
 * when its customer's contact tries `subscription saas-contoso-crm cancel …`.
 */
const demoPendingRequestId = 'c9dbae2f-4b1e-4d6a-9c3f-2e7a8b5d0f11';
const boughtAtLoad = 'saas-contoso-crm';

/**
 * Loads the demo partner organization into an empty database, with the purchase permissions its
 * customers' own reservations imply and one pending request, and the demo publisher (an ISV whose
 * offers have every CSP audience option, and the partner directory), both marked as demo; returns whether it did.
 */
export async function seedDemoIfEmpty(db: Database): Promise<boolean> {
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(organizations);
  if (n > 0) return false;
  const partner = await demoFile('./demo.json');
  for (const s of partner.customers.flatMap((c) => c.subscriptions)) if (s.id === boughtAtLoad) s.purchasedAt = new Date();
  const { orgId } = await importOrganization(db, partner, { demo: true });
  await importOrganization(db, await demoFile('./demo-publisher.json'), { demo: true });
  const [org] = await db.select().from(organizations).where(eq(organizations.id, orgId));
  const inDemo = (actor: CoreContext['actor'], at?: string): CoreContext => ({ db, org: org!, actor, conversation: { platform: 'cli', channelId: null }, now: () => (at ? new Date(at) : new Date()) });

  // Contoso Ltd and 한빛소프트 bought reservations themselves, so their permissions were turned on before (R-P1, R-P10).
  const [admin] = await db.select().from(staff).where(and(eq(staff.orgId, orgId), eq(staff.email, demoAdminEmail)));
  const customerId = async (domain: string) => (await db.select().from(customers).where(and(eq(customers.orgId, orgId), eq(customers.domain, domain))))[0]!.id;
  const asAdmin = { kind: 'staff', id: admin!.id, name: admin!.name, role: admin!.role } as const;
  await allowPermission(inDemo(asAdmin, '2026-04-02T01:00:00Z'), await customerId('hanbitsoft.example'), 'azure-reservations');
  await allowPermission(inDemo(asAdmin, '2026-05-18T09:00:00Z'), await customerId('contoso.com'), 'azure-reservations');
  await allowPermission(inDemo(asAdmin, '2026-05-18T09:05:00Z'), await customerId('contoso.com'), 'azure-savings-plans');

  const [dana] = await db.select().from(customerContacts).where(eq(customerContacts.email, 'dana@contoso.com'));
  const { request } = await fileRequest(
    inDemo({ kind: 'contact', id: dana!.id, name: dana!.name, customerId: dana!.customerId }),
    { kind: 'cancel', reservation: '7c41e2d9-0b3a-4c5d-8e6f-1a2b3c4d5e02', reason: 'We moved this workload to another region.' },
  );
  // Filed with no channel set, so nothing refers to its ID yet.
  await db.update(reservationRequests).set({ id: demoPendingRequestId }).where(eq(reservationRequests.id, request.id));
  // The demo's history is not news: the direct messages its past changes queued for the contacts are not sent.
  await db.delete(outbox).where(eq(outbox.orgId, orgId));
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
