import { and, eq, inArray, or, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { Database } from '../../db/client.js';
import { customerContacts, customers, offerAudiencePartners, offers, organizations, partnerDirectory, reservations, staff, subscriptions } from '../../db/schema.js';
import { writeAudience } from './audience.js';
import { importFileSchema, type ImportFile } from './import-schema.js';
import { normalizeKey } from './text.js';
import { newActivationCode } from './marketplace.js';

type ImportSubscription = ImportFile['customers'][number]['subscriptions'][number];

/** A SaaS subscription's plan and price from the catalog; one the file calls activated has its billing started (R-M9). */
function marketplaceFields(offer: typeof offers.$inferSelect | undefined, s: ImportSubscription, billingCountry: string) {
  const plan = offer?.plans.find((p) => p.id === s.planId);
  if (!offer || !plan) throw new ImportError('invalid', [`subscription ${s.id}: no offer ${s.offerId} with plan ${s.planId} is in the file or stored`]);
  const price = plan.prices.find((p) => p.term === s.term && p.market === billingCountry);
  if (!price) throw new ImportError('invalid', [`subscription ${s.id}: plan ${s.planId} of ${s.offerId} has no ${s.term} price for ${billingCountry}`]);
  return {
    offerId: offer.id,
    planId: plan.id,
    seats: s.seats!,
    term: s.term!,
    autoRenew: s.autoRenew ?? true,
    price: price.price.toFixed(2),
    currency: price.currency,
    purchasedAt: s.purchasedAt!,
    activationCode: newActivationCode(),
    licensesAssignedAt: s.activatedAt ?? null,
    setupCompletedAt: s.activatedAt ?? null,
    billingStartedAt: s.activatedAt ?? null,
  };
}
/** `invalid`: fields of the file are wrong (each named by its path); `conflict`: a key clashes with stored data. */
export class ImportError extends Error {
  constructor(readonly kind: 'invalid' | 'conflict', readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

/** `customers[2].tenantId: expected …` — the JSON path of each bad field. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.reduce<string>(
      (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
      '',
    );
    return `${path || '(file)'}: ${issue.message}`;
  });
}

export function parseImportFile(json: unknown): ImportFile {
  const parsed = importFileSchema.safeParse(json);
  if (!parsed.success) throw new ImportError('invalid', describeIssues(parsed.error));
  return parsed.data;
}

/**
 * Loads an organization with its people, customers and subscriptions in one
 * transaction. Rows are matched by their natural keys, so importing the same
 * file again changes nothing. Returns the organization's ID. `demo` marks it as
 * the demo (db/seed), never a file's own say.
 */
export async function importOrganization(db: Database, file: ImportFile, options: { demo?: boolean } = {}): Promise<{ orgId: string; counts: Record<string, number> }> {
  try {
    return await importInTransaction(db, file, options.demo ?? false);
  } catch (error) {
    // A key the file does not repeat itself but the stored data already holds (a Slack user ID, a domain).
    const cause = (error as { cause?: { code?: string; detail?: string } }).cause ?? (error as { code?: string; detail?: string });
    if (cause.code === '23505') throw new ImportError('conflict', [cause.detail ?? cause.code]);
    throw error;
  }
}

async function importInTransaction(db: Database, file: ImportFile, demo: boolean) {
  return db.transaction(async (tx) => {
    const o = file.organization;
    const [existing] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(
        o.slackTeamId || o.teamsTenantId
          ? or(
              o.slackTeamId ? eq(organizations.slackTeamId, o.slackTeamId) : undefined,
              o.teamsTenantId ? eq(organizations.teamsTenantId, o.teamsTenantId) : undefined,
            )
          : eq(organizations.name, o.name),
      );
    const values = {
      name: o.name, kind: o.kind, cspTenantId: o.cspTenantId ?? null, slackTeamId: o.slackTeamId ?? null, teamsTenantId: o.teamsTenantId ?? null,
      ...(o.locale ? { locale: o.locale } : {}),
      ...(o.timeZone ? { timeZone: o.timeZone } : {}),
      ...(demo ? { demo } : {}),
    };
    const orgId = existing
      ? (await tx.update(organizations).set(values).where(eq(organizations.id, existing.id)).returning())[0]!.id
      : (await tx.insert(organizations).values(values).returning())[0]!.id;

    for (const member of file.staff) {
      const row = {
        orgId, name: member.name, email: member.email, role: member.role, slackUserId: member.slackUserId ?? null, teamsAadObjectId: member.teamsAadObjectId ?? null,
        ...(member.locale ? { language: member.locale } : {}),
      };
      await tx.insert(staff).values(row).onConflictDoUpdate({ target: [staff.orgId, staff.email], set: row });
    }
    // An offer whose CSP audience another publisher organization manages is that publisher's to change.
    const ids = file.offers.map((offer) => offer.id);
    const owned = ids.length
      ? await tx
          .select({ id: offers.id, owner: organizations.name, ownerId: organizations.id })
          .from(offers)
          .innerJoin(organizations, eq(organizations.id, offers.publisherOrgId))
          .where(inArray(offers.id, ids))
      : [];
    const taken = owned.filter((row) => row.ownerId !== orgId);
    if (taken.length) {
      throw new ImportError('conflict', taken.map((row) => `offers[${ids.indexOf(row.id)}].id: offer ${row.id} is managed by the publisher organization ${row.owner}`));
    }
    const publisher = o.kind === 'publisher';
    for (const offer of file.offers) {
      const row = {
        id: offer.id,
        name: offer.name,
        nameKey: normalizeKey(offer.name),
        publisherName: offer.publisher.name,
        publisherSupportContact: offer.publisher.supportContact,
        landingPageUrl: offer.landingPageUrl ?? null,
        publisherSteps: offer.publisherSteps ?? null,
        type: offer.type,
        categories: offer.categories,
        countries: offer.countries,
        plans: offer.plans,
        updatedAt: new Date(),
        // A publisher's offer: its audience is managed here and in chat; omitted keys keep what is stored.
        ...(publisher ? { publisherOrgId: orgId } : {}),
        ...(publisher && offer.audience ? { published: offer.audience.published } : {}),
        ...(offer.salesMaterialsUrl !== undefined ? { salesMaterialsUrl: offer.salesMaterialsUrl } : {}),
        ...(offer.channelContact !== undefined ? { channelContact: offer.channelContact } : {}),
      };
      await tx.insert(offers).values(row).onConflictDoUpdate({ target: offers.id, set: row });
      if (publisher && offer.audience) {
        // R-I3: a published offer's audience is what partners see and the draft it is edited from; an unpublished one has only the draft.
        const { option, published, partners = [] } = offer.audience;
        const state = { option, partners: option === 'specific' ? partners.map((p) => ({ tenantId: p.tenantId, regions: p.regions })) : [] };
        if (published) await writeAudience(tx, offer.id, 'published', state);
        await writeAudience(tx, offer.id, 'draft', state);
        // R-I6: a partner that resold stays so (an omitted or false hasResold keeps what is stored).
        const resold = partners.filter((p) => p.hasResold).map((p) => p.tenantId);
        if (option === 'specific' && resold.length) {
          await tx.update(offerAudiencePartners).set({ hasResold: true }).where(and(eq(offerAudiencePartners.offerId, offer.id), inArray(offerAudiencePartners.tenantId, resold)));
        }
      }
    }
    for (const partner of file.partnerDirectory) {
      const row = { ...partner, nameKey: normalizeKey(partner.name) };
      await tx.insert(partnerDirectory).values(row).onConflictDoUpdate({ target: partnerDirectory.tenantId, set: row });
    }
    const storedOffers = new Map((await tx.select().from(offers)).map((o) => [o.id, o]));
    let contactCount = 0;
    let subscriptionCount = 0;
    let reservationCount = 0;
    for (const c of file.customers) {
      const row = { orgId, name: c.name, nameKey: normalizeKey(c.name), domain: c.domain, tenantId: c.tenantId, billingCountry: c.billingCountry };
      const [customer] = await tx
        .insert(customers)
        .values(row)
        .onConflictDoUpdate({ target: [customers.orgId, customers.tenantId], set: row })
        .returning({ id: customers.id });
      for (const k of c.contacts) {
        const contactRow = {
          orgId, customerId: customer!.id, name: k.name, email: k.email, slackUserId: k.slackUserId ?? null, teamsAadObjectId: k.teamsAadObjectId ?? null,
          ...(k.locale ? { language: k.locale } : {}),
        };
        await tx.insert(customerContacts).values(contactRow).onConflictDoUpdate({ target: [customerContacts.orgId, customerContacts.email], set: contactRow });
        contactCount++;
      }
      for (const r of c.reservations) {
        const subscriptionId = r.subscriptionId ? c.subscriptions.find((s) => s.id.toLowerCase() === r.subscriptionId!.toLowerCase())!.id : null;
        const reservationRow = { ...r, orgId, customerId: customer!.id, subscriptionId, price: r.price.toFixed(2) };
        await tx.insert(reservations).values(reservationRow).onConflictDoUpdate({ target: [reservations.orgId, reservations.id], set: reservationRow });
        reservationCount++;
      }
      for (const s of c.subscriptions) {
        // An omitted ownerRoleAssigned keeps what an admin recorded in chat.
        const subscriptionRow = {
          orgId,
          id: s.id,
          customerId: customer!.id,
          offer: s.offer,
          friendlyName: s.friendlyName ?? null,
          status: s.status,
          ...(s.ownerRoleAssigned === undefined ? {} : { ownerRoleAssigned: s.ownerRoleAssigned }),
          ...(s.offerId ? marketplaceFields(storedOffers.get(s.offerId), s, c.billingCountry) : {}),
        };
        // A subscription keeps its activation code when imported again.
        const set = { ...subscriptionRow, activationCode: sql`coalesce(${subscriptions.activationCode}, excluded.activation_code)` };
        await tx.insert(subscriptions).values(subscriptionRow).onConflictDoUpdate({ target: [subscriptions.orgId, subscriptions.id], set });
        subscriptionCount++;
      }
    }
    return {
      orgId,
      counts: {
        staff: file.staff.length,
        customers: file.customers.length,
        contacts: contactCount,
        subscriptions: subscriptionCount,
        reservations: reservationCount,
        offers: file.offers.length,
        partners: file.partnerDirectory.length,
      },
    };
  });
}
