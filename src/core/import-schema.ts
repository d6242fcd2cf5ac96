import { z } from 'zod';
import { canonicalTimeZone, catalogLocale } from '../i18n/index.js';
import {
  audienceOptions, billingTerms, offerTypes, organizationKinds, reservationTerms, staffRoles, subscriptionOffers, subscriptionStatuses, type OfferType,
} from '../../db/schema.js';
import { isAudienceType } from './audience.js';
import type { Offer } from './marketplace.js';

// The import file's shape and its checks (README, "Import format"); src/core/import.ts loads it.

export const name = z.string().trim().min(1).max(200);
export const email = z.email().max(254).transform((e) => e.toLowerCase());
const optionalId = z.string().trim().min(1).max(100).optional();

/** A language csp-ops speaks, as people write it (ko-KR, ko, zh-TW, en-US…), stored as its catalog's tag. */
const locale = z.string().trim().transform((value, ctx) => {
  const found = catalogLocale(value);
  if (!found) ctx.addIssue({ code: 'custom', message: 'expected a language csp-ops speaks: en, ko-KR or zh-TW' });
  return found ?? z.NEVER;
});
const timeZone = z.string().trim().transform((value, ctx) => {
  const found = canonicalTimeZone(value);
  if (!found) ctx.addIssue({ code: 'custom', message: 'expected an IANA time zone such as Asia/Seoul, Asia/Taipei or UTC' });
  return found ?? z.NEVER;
});
/** `locale`: the person's own language; omitted, their Slack or Teams language, then the organization's. */
const contact = z.object({ name, email, slackUserId: optionalId, teamsAadObjectId: optionalId, locale: locale.optional() });

export const price = z.number().min(0).max(1e11);
export const country = z.string().trim().toUpperCase().regex(/^[A-Z]{2}$/, 'expected a two-letter country code such as KR');
export const currency = z.string().trim().toUpperCase().regex(/^[A-Z]{3}$/, 'expected a three-letter currency code such as USD');
export const dateTime = z.iso.datetime({ offset: true, error: 'expected a date and time such as 2026-03-01T09:00:00Z' }).transform((d) => new Date(d));

/** A reservation's terms, as the import file and the purchase intake write them. */
export const reservationFields = z.object({
  id: z.string().trim().min(1).max(100),
  /** Azure's reservation order ID (a GUID): with it and the connector, approved changes are made through the Azure Reservations API. */
  reservationOrderId: z.uuid({ error: 'expected Azure\'s reservation order ID, a GUID' }).transform((id) => id.toLowerCase()).optional(),
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

/** A partner's CSP tenant ID (its Microsoft Entra tenant), as publishers' audiences and the partner directory name it. */
export const cspTenantId = z
  .uuid({ error: 'expected a CSP tenant ID, a GUID such as 0a0a0a0a-0000-4000-8000-00000000000a' })
  .transform((id) => id.toLowerCase());

/** Staff roles by organization kind (R-A2; a publisher's owner, manager and developer). */
export const partnerRoles = ['global-admin', 'admin-agent', 'sales-agent', 'helpdesk-agent'] as const;
export const publisherRoles = ['owner', 'manager', 'developer'] as const;

/**
 * R-I2, R-I3: an offer's CSP audience as its publisher set it. `published`:
 * partners see it (written as the published list and the draft); false: a draft
 * that takes effect when the offer is published.
 */
const audienceSchema = z.object({
  option: z.enum(audienceOptions, { error: 'expected any (every CSP partner), specific (the partners listed) or none' }),
  published: z.boolean({ error: 'expected true (partners see this audience) or false (a draft, not published yet)' }),
  partners: z
    .array(
      z.object({
        tenantId: cspTenantId,
        /** R-I4: the countries the partner may sell to; empty: wherever the offer is sold. */
        regions: z.array(country).max(250).default([]),
        /** R-I6: the partner resold the offer, so it can never be removed. */
        hasResold: z.boolean().optional(),
      }),
    )
    .max(10_000)
    .optional(),
});

const label = z.string().trim().min(1).max(200);

/** R-I3: a CSP partner publishers can find by name, tenant ID, country, competency and skill. */
const directoryPartner = z.object({
  name,
  tenantId: cspTenantId,
  country,
  competencies: z.array(label).max(50).default([]),
  skills: z.array(label).max(100).default([]),
});

/** The import file (README, "Import format"). Later capabilities add keys; these stay. */
const offerPrice = z.object({ term: z.enum(billingTerms), market: country, currency, price });

const publisherStep = z.string().trim().min(3).max(1000).optional();

/** R-M1: an offer of the commercial marketplace, with its plans and their prices per term and market. */
export const offerSchema = z.object({
  id: z.string().trim().min(1).max(200).regex(/^[A-Za-z0-9._-]+$/, 'expected letters, digits, dots, dashes or underscores'),
  name,
  publisher: z.object({ name, supportContact: z.string().trim().min(3).max(300) }),
  landingPageUrl: z.url({ protocol: /^https?$/, error: 'expected the publisher\'s landing page, an https:// URL' }).optional(),
  /** R-M7: what the publisher asks partners to do before a cancel or a seat change: its text or a URL. */
  publisherSteps: z.object({ cancel: publisherStep, seats: publisherStep }).strict().optional(),
  type: z.enum(offerTypes),
  categories: z.array(z.string().trim().min(1).max(100)).max(20).default([]),
  countries: z.array(country).min(1, 'expected at least one country the offer is sold in'),
  plans: z
    .array(
      z.object({
        id: z.string().trim().min(1).max(200),
        name,
        freeTrialDays: z.number().int().min(1).max(365).optional(),
        /** A bring-your-own-license VM plan: opted in to CSP by default (R-I1). */
        byol: z.boolean().optional(),
        prices: z.array(offerPrice).min(1, 'expected at least one price'),
      }),
    )
    .min(1, 'expected at least one plan'),
  // The publisher's side (section 6): set only in a publisher organization's file.
  audience: audienceSchema.optional(),
  /** R-I8: for partners only, never shown to customers. */
  salesMaterialsUrl: z.url({ protocol: /^https?$/, error: 'expected the URL of sales and support materials for partners, an https:// URL' }).optional(),
  channelContact: z.string().trim().min(3).max(300).optional(),
});

export const importFileSchema = z.object({
  organization: z.object({
    name,
    /** A CSP partner (the default), or a software publisher managing its offers' CSP audiences. */
    kind: z.enum(organizationKinds, { error: 'expected partner or publisher' }).default('partner'),
    cspTenantId: cspTenantId.optional(),
    slackTeamId: optionalId,
    teamsTenantId: optionalId,
    /** The default language and time zone; omitted, a new organization gets en and UTC and a stored one keeps its own. */
    locale: locale.optional(),
    timeZone: timeZone.optional(),
  }),
  offers: z.array(offerSchema).default([]),
  staff: z.array(contact.extend({ role: z.enum(staffRoles) })).default([]),
  partnerDirectory: z.array(directoryPartner).default([]),
  customers: z
    .array(
      z.object({
        name,
        domain: z.string().trim().toLowerCase().regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'expected a domain such as contoso.com'),
        tenantId: z.uuid().transform((id) => id.toLowerCase()),
        billingCountry: country,
        contacts: z.array(contact).default([]),
        subscriptions: z
          .array(
            z.object({
              id: z.string().trim().min(1).max(100),
              offer: z.enum(subscriptionOffers),
              friendlyName: name.optional(),
              status: z.enum(subscriptionStatuses),
              ownerRoleAssigned: z.boolean().optional(),
              // A marketplace (SaaS) subscription: which plan of which offer, and its life so far.
              offerId: z.string().trim().min(1).max(200).optional(),
              planId: z.string().trim().min(1).max(200).optional(),
              seats: z.number().int().min(1).max(1_000_000).optional(),
              term: z.enum(billingTerms).optional(),
              autoRenew: z.boolean().optional(),
              purchasedAt: dateTime.optional(),
              activatedAt: dateTime.optional(),
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
    unique(list(file.offers).map((o, i) => ({ value: o.id, path: ['offers', i, 'id'] })), 'offer ID');
    unique(list(file.partnerDirectory).map((p, i) => ({ value: p.tenantId, path: ['partnerDirectory', i, 'tenantId'] })), 'tenant ID');
    // A partner's staff hold partner roles, a publisher's staff publisher roles (R-A2): never a mix.
    const org = file.organization && typeof file.organization === 'object' ? (file.organization as Record<string, unknown>) : {};
    const kind = org.kind === undefined ? 'partner' : org.kind;
    if (kind === 'partner' || kind === 'publisher') {
      const other: readonly string[] = kind === 'partner' ? publisherRoles : partnerRoles;
      staffRows.forEach((s, i) => {
        if (typeof s.role !== 'string' || !other.includes(s.role)) return;
        const message =
          kind === 'partner'
            ? `${s.role} is a publisher's role: a partner organization's staff are ${partnerRoles.join(', ')}; a publisher's file says "kind": "publisher"`
            : `${s.role} is a partner's role: a publisher organization's staff are ${publisherRoles.join(', ')}`;
        ctx.addIssue({ code: 'custom', path: ['staff', i, 'role'], message });
      });
    }
    // The publisher's side of an offer (section 6).
    list(file.offers).forEach((o, oi) => {
      const path = ['offers', oi];
      list(o.plans).forEach((p, pi) => {
        if (p.byol === true && o.type !== 'vm') ctx.addIssue({ code: 'custom', path: [...path, 'plans', pi, 'byol'], message: 'only virtual machine plans are bring-your-own-license' });
      });
      if (!o.audience || typeof o.audience !== 'object') return;
      const audience = o.audience as Record<string, unknown>;
      if (kind === 'partner') {
        ctx.addIssue({ code: 'custom', path: [...path, 'audience'], message: 'only a publisher organization\'s file ("kind": "publisher") sets an offer\'s CSP audience' });
        return;
      }
      const partners = list(audience.partners);
      if (audience.partners !== undefined && audience.option !== 'specific' && typeof audience.option === 'string') {
        ctx.addIssue({ code: 'custom', path: [...path, 'audience', 'partners'], message: `partners are listed only with option specific, not ${audience.option}` });
      }
      unique(partners.map((p, pi) => ({ value: p.tenantId, path: [...path, 'audience', 'partners', pi, 'tenantId'] })), 'tenant ID');
      const countries = Array.isArray(o.countries) ? o.countries.filter((c): c is string => typeof c === 'string').map((c) => c.trim().toUpperCase()) : [];
      partners.forEach((p, pi) => {
        (Array.isArray(p.regions) ? p.regions : []).forEach((r, ri) => {
          if (typeof r === 'string' && /^[A-Za-z]{2}$/.test(r.trim()) && countries.length && !countries.includes(r.trim().toUpperCase())) {
            ctx.addIssue({ code: 'custom', path: [...path, 'audience', 'partners', pi, 'regions', ri], message: `${r} is not a country the offer is sold in (${countries.join(', ')})` });
          }
        });
      });
      // R-I1: containers and all-BYOL VM offers are open to every partner.
      const typed = { type: o.type as OfferType, plans: list(o.plans).map((p) => ({ byol: p.byol === true })) as Offer['plans'] };
      if ((offerTypes as readonly unknown[]).includes(o.type) && !isAudienceType(typed) && audience.option !== 'any' && typeof audience.option === 'string') {
        const what = o.type === 'vm' ? 'a virtual machine offer whose plans are all bring-your-own-license' : `a ${String(o.type)} offer`;
        ctx.addIssue({ code: 'custom', path: [...path, 'audience', 'option'], message: `${what} is open to every CSP partner: expected any, or no audience` });
      }
      // R-I8: an offer partners can resell comes with sales materials and a channel contact.
      if (audience.published === true && (audience.option === 'any' || audience.option === 'specific')) {
        for (const key of ['salesMaterialsUrl', 'channelContact']) {
          if (o[key] === undefined) ctx.addIssue({ code: 'custom', path: [...path, key], message: `expected ${key} for an offer published to CSP partners (option ${audience.option})` });
        }
      }
    });
    // A marketplace subscription names its plan, seats, term and purchase time; a plan of an offer in the file must exist.
    const offersInFile = new Map(list(file.offers).map((o) => [String(o.id), list(o.plans).map((p) => String(p.id))]));
    customerRows.forEach((c, ci) => {
      list(c.subscriptions).forEach((s, si) => {
        if (s.offerId === undefined) return;
        const path = ['customers', ci, 'subscriptions', si];
        for (const key of ['planId', 'seats', 'term', 'purchasedAt']) {
          if (s[key] === undefined) ctx.addIssue({ code: 'custom', path: [...path, key], message: `expected ${key} with offerId` });
        }
        if (s.offer !== 'marketplace-saas') ctx.addIssue({ code: 'custom', path: [...path, 'offer'], message: 'expected marketplace-saas with offerId' });
        const plans = offersInFile.get(String(s.offerId));
        if (plans && s.planId !== undefined && !plans.includes(String(s.planId))) {
          ctx.addIssue({ code: 'custom', path: [...path, 'planId'], message: `not a plan of offer ${String(s.offerId)}: ${String(s.planId)}` });
        }
      });
    });
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
