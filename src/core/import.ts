import { eq, or } from 'drizzle-orm';
import { z } from 'zod';
import type { Database } from '../../db/client.js';
import {
  customerContacts, customers, organizations, reservations, reservationTerms, staff, staffRoles, subscriptionOffers, subscriptionStatuses, subscriptions,
} from '../../db/schema.js';
import { normalizeKey } from './text.js';

export const name = z.string().trim().min(1).max(200);
export const email = z.email().max(254).transform((e) => e.toLowerCase());
const optionalId = z.string().trim().min(1).max(100).optional();

const contact = z.object({ name, email, slackUserId: optionalId, teamsAadObjectId: optionalId });

export const price = z.number().min(0).max(1e11);
export const currency = z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'expected a three-letter currency code such as USD');
export const dateTime = z.iso.datetime({ offset: true, error: 'expected a date and time such as 2026-03-01T09:00:00Z' }).transform((d) => new Date(d));

/** A reservation's terms, as the import file and the purchase intake write them. */
export const reservationFields = z.object({
  id: z.string().trim().min(1).max(100),
  product: name,
  region: z.string().trim().min(1).max(100),
  quantity: z.number().int().min(1).max(100_000),
  term: z.enum(reservationTerms),
  billingPlan: z.enum(['upfront', 'monthly']),
  scope: z.enum(['shared', 'single']),
  subscriptionId: z.string().trim().min(1).max(100).optional(),
  price,
  currency,
});

/** R-P12: a single-scope reservation names its subscription; a shared one does not. */
export function singleScopeNeedsSubscription<T extends z.ZodType<{ scope: string; subscriptionId?: string }>>(schema: T) {
  return schema.refine((r) => (r.scope === 'single') === Boolean(r.subscriptionId), {
    path: ['subscriptionId'],
    message: 'expected a subscriptionId when scope is single, and none when it is shared',
  });
}

/** The import file (README, "Import format"). Later capabilities add keys; these stay. */
export const importFileSchema = z.object({
  organization: z.object({ name, slackTeamId: optionalId, teamsTenantId: optionalId }),
  staff: z.array(contact.extend({ role: z.enum(staffRoles) })).default([]),
  customers: z
    .array(
      z.object({
        name,
        domain: z.string().trim().toLowerCase().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a domain such as contoso.com'),
        tenantId: z.uuid().transform((id) => id.toLowerCase()),
        billingCountry: z.string().trim().toUpperCase().regex(/^[A-Z]{2}$/, 'expected a two-letter country code such as KR'),
        contacts: z.array(contact).default([]),
        subscriptions: z
          .array(
            z.object({
              id: z.string().trim().min(1).max(100),
              offer: z.enum(subscriptionOffers),
              friendlyName: name.optional(),
              status: z.enum(subscriptionStatuses),
              ownerRoleAssigned: z.boolean().optional(),
            }),
          )
          .default([]),
        reservations: z
          .array(
            singleScopeNeedsSubscription(reservationFields.extend({ purchasedBy: z.enum(['partner', 'customer']), purchasedAt: dateTime })),
          )
          .default([]),
      }),
    )
    .default([]),
}).superRefine(
  (file, ctx) => {
    // This runs even when some fields are invalid (see `when`), so that every problem is
    // reported at once; it therefore reads the file defensively.
    const list = (value: unknown): Record<string, unknown>[] =>
      Array.isArray(value) ? value.map((v) => (v && typeof v === 'object' ? (v as Record<string, unknown>) : {})) : [];
    const unique = (rows: { value: unknown; path: (string | number)[] }[], what: string) => {
      const seen = new Set<string>();
      for (const { value, path } of rows) {
        if (typeof value !== 'string') continue;
        const key = value.trim().toLowerCase();
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path, message: `duplicate ${what} ${value}` });
        seen.add(key);
      }
    };
    const staffRows = list(file.staff);
    const customerRows = list(file.customers);
    unique(staffRows.map((s, i) => ({ value: s.email, path: ['staff', i, 'email'] })), 'email');
    unique(staffRows.map((s, i) => ({ value: s.slackUserId, path: ['staff', i, 'slackUserId'] })), 'Slack user ID');
    unique(customerRows.map((c, i) => ({ value: c.tenantId, path: ['customers', i, 'tenantId'] })), 'tenant ID');
    unique(customerRows.map((c, i) => ({ value: c.domain, path: ['customers', i, 'domain'] })), 'domain');
    unique(customerRows.flatMap((c, ci) => list(c.contacts).map((k, ki) => ({ value: k.email, path: ['customers', ci, 'contacts', ki, 'email'] }))), 'contact email');
    unique(customerRows.flatMap((c, ci) => list(c.subscriptions).map((s, si) => ({ value: s.id, path: ['customers', ci, 'subscriptions', si, 'id'] }))), 'subscription ID');
    unique(customerRows.flatMap((c, ci) => list(c.reservations).map((r, ri) => ({ value: r.id, path: ['customers', ci, 'reservations', ri, 'id'] }))), 'reservation ID');
    // A single-scope reservation applies to one of the same customer's subscriptions (R-P12).
    customerRows.forEach((c, ci) => {
      const own = new Set(list(c.subscriptions).map((s) => String(s.id).toLowerCase()));
      list(c.reservations).forEach((r, ri) => {
        if (typeof r.subscriptionId === 'string' && !own.has(r.subscriptionId.toLowerCase())) {
          ctx.addIssue({ code: 'custom', path: ['customers', ci, 'reservations', ri, 'subscriptionId'], message: `not one of this customer's subscriptions: ${r.subscriptionId}` });
        }
      });
    });
  },
  { when: () => true },
);

export type ImportFile = z.infer<typeof importFileSchema>;
/** The file as written: defaults not yet applied. */
export type ImportFileInput = z.input<typeof importFileSchema>;

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
 * file again changes nothing. Returns the organization's ID.
 */
export async function importOrganization(db: Database, file: ImportFile): Promise<{ orgId: string; counts: Record<string, number> }> {
  try {
    return await importInTransaction(db, file);
  } catch (error) {
    // A key the file does not repeat itself but the stored data already holds (a Slack user ID, a domain).
    const cause = (error as { cause?: { code?: string; detail?: string } }).cause ?? (error as { code?: string; detail?: string });
    if (cause.code === '23505') throw new ImportError('conflict', [cause.detail ?? cause.code]);
    throw error;
  }
}

async function importInTransaction(db: Database, file: ImportFile) {
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
    const values = { name: o.name, slackTeamId: o.slackTeamId ?? null, teamsTenantId: o.teamsTenantId ?? null };
    const orgId = existing
      ? (await tx.update(organizations).set(values).where(eq(organizations.id, existing.id)).returning())[0]!.id
      : (await tx.insert(organizations).values(values).returning())[0]!.id;

    for (const member of file.staff) {
      const row = { orgId, name: member.name, email: member.email, role: member.role, slackUserId: member.slackUserId ?? null, teamsAadObjectId: member.teamsAadObjectId ?? null };
      await tx.insert(staff).values(row).onConflictDoUpdate({ target: [staff.orgId, staff.email], set: row });
    }
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
        const contactRow = { orgId, customerId: customer!.id, name: k.name, email: k.email, slackUserId: k.slackUserId ?? null, teamsAadObjectId: k.teamsAadObjectId ?? null };
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
        const subscriptionRow = { orgId, id: s.id, customerId: customer!.id, offer: s.offer, friendlyName: s.friendlyName ?? null, status: s.status, ...(s.ownerRoleAssigned === undefined ? {} : { ownerRoleAssigned: s.ownerRoleAssigned }) };
        await tx.insert(subscriptions).values(subscriptionRow).onConflictDoUpdate({ target: [subscriptions.orgId, subscriptions.id], set: subscriptionRow });
        subscriptionCount++;
      }
    }
    return {
      orgId,
      counts: { staff: file.staff.length, customers: file.customers.length, contacts: contactCount, subscriptions: subscriptionCount, reservations: reservationCount },
    };
  });
}
