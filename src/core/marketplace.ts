import { randomBytes, randomUUID } from 'node:crypto';
import { tz } from '@date-fns/tz';
import { addDays, addHours, format, subDays } from './dates.js';
import { and, asc, count, desc, eq, gte, isNotNull, isNull, like, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { activityLog, customers, offers, organizations, subscriptions, type BillingTerm, type OfferPlan, type OfferType } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { requireAdmin } from './access.js';
import { resellableBy, resellerAccess } from './audience.js';
import { enqueue, notify, organizationChannel } from './announcements.js';
import type { CoreContext, Organization } from './context.js';
import { customerById, type Customer } from './customers.js';
import type { TokenPublisher } from './api-tokens.js';
import { DomainError } from './errors.js';
import type { MessageKey } from '../i18n/index.js';
import { readPage, type Page } from './paging.js';
import { likeEscape, normalizeKey, plainText, searchForms, searchWords } from './text.js';

export type Offer = typeof offers.$inferSelect;
export type Subscription = typeof subscriptions.$inferSelect;

/** The terms a market offers, as the catalog's select names them. */
const offeredTerms = (terms: string[]) => (terms.includes('monthly') && terms.includes('annual') ? 'both' : (terms[0] ?? 'none'));

/** R-M8: the token in the publisher's activation link; it identifies one purchase and cannot be guessed. */
export function newActivationCode(): string {
  return randomBytes(24).toString('base64url');
}

export function activationLink(offer: Pick<Offer, 'landingPageUrl'>, code: string): string | undefined {
  if (!offer.landingPageUrl) return undefined;
  const url = new URL(offer.landingPageUrl);
  url.searchParams.set('token', code);
  return url.toString();
}

const utc = { in: tz('UTC') };

/** A moment as messages show it, to the second (windows are exact): the catalog adds "UTC". */

/**
 * R-M10: a monthly subscription can be cancelled for 24 hours after its purchase, an annual one
 * for 14 days; a subscription read from Partner Center carries Partner Center's own date.
 */
export function cancellationWindowCloses(s: { term: BillingTerm; purchasedAt: Date; cancellationAllowedUntil?: Date | null }): Date {
  if (s.cancellationAllowedUntil) return s.cancellationAllowedUntil;
  const closes = s.term === 'monthly' ? addHours(s.purchasedAt, 24, utc) : addDays(s.purchasedAt, 14, utc);
  return new Date(closes.getTime());
}

export function insideCancellationWindow(s: { term: BillingTerm; purchasedAt: Date; cancellationAllowedUntil?: Date | null }, now: Date): boolean {
  return now.getTime() < cancellationWindowCloses(s).getTime();
}

export const isMicrosoftOffer = (offer: Pick<Offer, 'publisherName'>) => /^microsoft\b/i.test(offer.publisherName.trim());

export interface CatalogFilter {
  words?: string;
  type?: OfferType;
  category?: string;
  publisher?: 'partner' | 'microsoft';
}

/** The organization looking at the catalog: a partner is known to publishers' audiences by its CSP tenant ID. */
export type CatalogViewer = Pick<Organization, 'cspTenantId'>;

/**
 * R-M1: the catalog, all types and categories unless filtered; words match the
 * offer's name, ID, publisher or categories. R-M2: only offers this partner may
 * resell, by the publishers' published CSP audiences. All of it in SQL.
 */
function catalogCondition(viewer: CatalogViewer, filter: CatalogFilter): SQL {
  const searched = sql`lower(${offers.nameKey} || ' ' || ${offers.id} || ' ' || ${offers.publisherName} || ' ' || array_to_string(array(select jsonb_array_elements_text(${offers.categories})), ' '))`;
  // The name is keyed, the rest stored as written: a word matches in either form (see searchForms).
  const contains = (text: SQL, word: string) => or(...searchForms(word).map((form) => sql`${text} like ${`%${likeEscape(form)}%`}`));
  return and(
    ...searchWords(filter.words ?? '').map((w) => contains(searched, w)),
    filter.type ? eq(offers.type, filter.type) : undefined,
    filter.category ? sql`exists (select 1 from jsonb_array_elements_text(${offers.categories}) as c where ${contains(sql`lower(c)`, filter.category)})` : undefined,
    // Kept in step with isMicrosoftOffer, so the filter and the offer's own label agree.
    filter.publisher ? sql`(${offers.publisherName} ~* '^[[:space:]]*microsoft([^a-z0-9_]|$)') = ${filter.publisher === 'microsoft'}` : undefined,
    resellableBy(viewer.cspTenantId ?? null),
  )!;
}

/** One page of the catalog (R-M1, R-M2), by name. */
export async function searchCatalog(db: Queryable, viewer: CatalogViewer, filter: CatalogFilter, page: number): Promise<Page<Offer>> {
  const where = catalogCondition(viewer, filter);
  return readPage(
    page,
    async () => (await db.select({ total: count() }).from(offers).where(where))[0]!.total,
    (limit, offset) => db.select().from(offers).where(where).orderBy(asc(offers.nameKey), asc(offers.id)).limit(limit).offset(offset),
  );
}

/** Every matching offer (the price list, R-M3), read in batches so no query returns the whole table. */
export async function* catalogBatches(db: Queryable, viewer: CatalogViewer, filter: CatalogFilter, size = 200): AsyncGenerator<Offer[]> {
  const where = catalogCondition(viewer, filter);
  for (let offset = 0; ; offset += size) {
    const batch = await db.select().from(offers).where(where).orderBy(asc(offers.nameKey), asc(offers.id)).limit(size).offset(offset);
    if (batch.length) yield batch;
    if (batch.length < size) return;
  }
}

/**
 * No offer by that name or ID that this partner may resell: answered alike whether it does not exist or
 * its publisher's CSP audience leaves this partner out (R-M2), with what the partner can do about it (seed 004).
 */
const notListed = (text: string) => new DomainError('offer.unknown', { text }, { advice: 'marketplace.notListed' });

/**
 * An offer the viewer may resell (R-M2), by its ID or by a name that matches
 * one such offer only; an offer outside its audience is answered as unknown.
 */
export async function findOffer(db: Queryable, viewer: CatalogViewer, text: string): Promise<Offer> {
  const [byId] = await db.select().from(offers).where(eq(offers.id, plainText(text)));
  if (byId && (await resellerAccess(db, byId, viewer.cspTenantId ?? null)).allowed) return byId;
  const key = normalizeKey(text);
  const named = key
    ? await db
        .select()
        .from(offers)
        .where(and(like(offers.nameKey, `%${likeEscape(key)}%`), resellableBy(viewer.cspTenantId ?? null)))
        .orderBy(asc(offers.nameKey), asc(offers.id))
        .limit(6)
    : [];
  const exact = named.filter((o) => o.nameKey === key);
  if (exact.length === 1 || named.length === 1) return (exact[0] ?? named[0])!;
  if (!named.length) throw notListed(text);
  throw new DomainError('offer.ambiguous', { text, offers: named.map((o) => `${o.name} (${o.id})`).join(', ') });
}

export function findPlan(offer: Offer, text: string): OfferPlan {
  const key = normalizeKey(text);
  const plan = offer.plans.find((p) => p.id === plainText(text)) ?? offer.plans.find((p) => normalizeKey(p.name) === key);
  if (!plan) throw new DomainError('offer.unknownPlan', { plan: text, offer: offer.name, plans: offer.plans.map((p) => p.id).join(', ') });
  return plan;
}

export interface PurchaseQuote {
  offer: Offer;
  plan: OfferPlan;
  customer: Customer;
  seats: number;
  term: BillingTerm;
  unitPrice: number;
  currency: string;
  /** If bought now. */
  windowCloses: Date;
}

export interface PurchaseDraft {
  offerId: string;
  planId: string;
  customerId: string;
  seats: number;
  term?: BillingTerm;
}

/**
 * What buying would cost, or why it cannot be bought: R-A4 (admins only),
 * R-M2 (the publisher's published CSP audience includes this partner),
 * R-M4 (SaaS only; the rest in the Azure portal), R-M5 (the customer's billing
 * country), R-I4 (a region the partner is authorized in), and a price for the
 * term in that market.
 */
export async function quotePurchase(ctx: CoreContext, draft: PurchaseDraft): Promise<PurchaseQuote> {
  requireAdmin(ctx.actor, 'what.marketplace');
  const [offer] = await ctx.db.select().from(offers).where(eq(offers.id, draft.offerId));
  const access = offer ? await resellerAccess(ctx.db, offer, ctx.org.cspTenantId ?? null) : { allowed: false };
  if (!offer || !access.allowed) throw notListed(draft.offerId);
  if (offer.type !== 'saas') throw new DomainError('buy.notSaas', { offer: offer.name }, { terms: { type: `offerType.${offer.type}` } });
  const plan = findPlan(offer, draft.planId);
  const customer = await customerById(ctx.db, ctx.org.id, draft.customerId);
  if (!offer.countries.includes(customer.billingCountry)) {
    throw new DomainError('buy.country', { offer: offer.name, customer: customer.name, country: customer.billingCountry, countries: offer.countries.join(', ') });
  }
  if (access.regions && !access.regions.includes(customer.billingCountry)) {
    throw new DomainError('buy.region', { offer: offer.name, id: offer.id, customer: customer.name, country: customer.billingCountry, regions: access.regions.join(', ') });
  }
  const inMarket = plan.prices.filter((p) => p.market === customer.billingCountry);
  const term = draft.term ?? (inMarket.some((p) => p.term === 'monthly') ? 'monthly' : 'annual');
  const price = inMarket.find((p) => p.term === term);
  if (!price) throw new DomainError('buy.noPrice', { plan: plan.name, term, country: customer.billingCountry, terms: offeredTerms(inMarket.map((p) => p.term)) });
  const now = ctx.now();
  return { offer, plan, customer, seats: draft.seats, term, unitPrice: price.price, currency: price.currency, windowCloses: cancellationWindowCloses({ term, purchasedAt: now }) };
}

/**
 * Buys the plan for the customer: a subscription in "Action needed" until the
 * publisher activates it (R-M6), with its own activation code (R-M8). The
 * rules are checked again at the click; the row, the log and the
 * announcement commit together.
 */
export async function buySubscription(ctx: CoreContext, draft: PurchaseDraft): Promise<{ subscription: Subscription; quote: PurchaseQuote }> {
  const quote = await quotePurchase(ctx, draft);
  const actor = requireAdmin(ctx.actor, 'what.marketplace');
  const { offer, plan, customer } = quote;
  const subscription = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(subscriptions)
      .values({
        orgId: ctx.org.id,
        id: randomUUID(),
        customerId: customer.id,
        offer: 'marketplace-saas',
        friendlyName: `${offer.name} — ${plan.name}`,
        status: 'action-needed',
        offerId: offer.id,
        planId: plan.id,
        seats: quote.seats,
        term: quote.term,
        autoRenew: true,
        price: quote.unitPrice.toFixed(2),
        currency: quote.currency,
        purchasedAt: ctx.now(),
        activationCode: newActivationCode(),
      })
      .returning();
    const details = { offer: offer.name, plan: plan.name, seats: String(quote.seats), subscription: row!.id };
    await recordActivity(tx, { ...ctx, actor }, 'saas_purchased', customer.id, details);
    await notify(tx, ctx.org, { kind: 'subscriptions', customerId: customer.id, message: { key: 'buy.announce', params: { actor: actor.name, customer: customer.name, ...details }, then: invoiceGuidance } });
    return row!;
  });
  return { subscription, quote };
}

/** R-M11: a purchase's and a billing start's announcements say where the invoices will be. */
export const invoiceGuidance: MessageKey[] = ['billing.invoiceWhere'];

export interface SubscriptionWithOffer {
  subscription: Subscription;
  offer: Offer | null;
  customer: Pick<Customer, 'id' | 'name' | 'billingCountry'>;
}

const subscriptionWithOffer = { subscription: subscriptions, offer: offers, customer: { id: customers.id, name: customers.name, billingCountry: customers.billingCountry } };

/** R-M6: one page of a customer's subscriptions, newest first, with their offers. */
export async function customerSubscriptionsPage(db: Queryable, orgId: string, customerId: string, page: number): Promise<Page<SubscriptionWithOffer>> {
  const where = and(eq(subscriptions.orgId, orgId), eq(subscriptions.customerId, customerId));
  return readPage(
    page,
    async () => (await db.select({ total: count() }).from(subscriptions).where(where))[0]!.total,
    (limit, offset) =>
      db
        .select(subscriptionWithOffer)
        .from(subscriptions)
        .leftJoin(offers, eq(offers.id, subscriptions.offerId))
        .innerJoin(customers, eq(customers.id, subscriptions.customerId))
        .where(where)
        .orderBy(desc(sql`coalesce(${subscriptions.purchasedAt}, ${subscriptions.createdAt})`), asc(subscriptions.id))
        .limit(limit)
        .offset(offset),
  );
}

/** All of a customer's subscriptions with their offers, newest first (a month's charges need every one). */
export async function customerSubscriptions(db: Queryable, orgId: string, customerId: string): Promise<SubscriptionWithOffer[]> {
  const rows = await db
    .select(subscriptionWithOffer)
    .from(subscriptions)
    .leftJoin(offers, eq(offers.id, subscriptions.offerId))
    .innerJoin(customers, eq(customers.id, subscriptions.customerId))
    .where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.customerId, customerId)));
  return rows.sort((a, b) => (b.subscription.purchasedAt ?? b.subscription.createdAt).getTime() - (a.subscription.purchasedAt ?? a.subscription.createdAt).getTime());
}

/**
 * A marketplace subscription, or one read from Partner Center, by its ID or an unambiguous
 * start of it (at least 4 characters); a customer contact finds only their own customer's.
 */
export async function findSaasSubscription(db: Queryable, ctx: Pick<CoreContext, 'org' | 'actor'>, text: string): Promise<SubscriptionWithOffer> {
  const value = text.trim().toLowerCase();
  if (value.length < 4) throw new DomainError('subscription.unknown', { text });
  const rows = await db
    .select(subscriptionWithOffer)
    .from(subscriptions)
    .leftJoin(offers, eq(offers.id, subscriptions.offerId))
    .innerJoin(customers, eq(customers.id, subscriptions.customerId))
    .where(
      and(
        eq(subscriptions.orgId, ctx.org.id),
        or(isNotNull(subscriptions.offerId), isNotNull(subscriptions.etag)),
        or(eq(subscriptions.id, value), like(subscriptions.id, `${likeEscape(value)}%`)),
        ctx.actor.kind === 'contact' ? eq(subscriptions.customerId, ctx.actor.customerId) : undefined,
      ),
    )
    .limit(3);
  const exact = rows.find((r) => r.subscription.id === value);
  if (exact || rows.length === 1) return exact ?? rows[0]!;
  if (!rows.length) throw new DomainError('subscription.unknown', { text });
  throw new DomainError('subscription.ambiguous', { text, ids: rows.map((r) => r.subscription.id).join(', ') });
}

export type ActivationStep = 'licenses' | 'setup';

/**
 * The subscriptions a publisher token reaches: those of its publisher's own offers only. A token a
 * publisher organization issued reaches its offers' subscriptions in every partner organization;
 * one a partner issued for a catalog publisher, that publisher's subscriptions of that partner only.
 */
const publishersOwn = (publisher: TokenPublisher) =>
  and(
    eq(offers.publisherName, publisher.name),
    publisher.orgKind === 'publisher' ? eq(offers.publisherOrgId, publisher.orgId) : eq(subscriptions.orgId, publisher.orgId),
  );

/**
 * The publisher's side (R-M9): licenses assigned, and account setup confirmed
 * through the fulfillment API. Billing starts when both happened, once.
 */
export async function recordActivation(
  db: Database,
  subscriptionId: string,
  step: ActivationStep,
  now: Date,
  publisher?: TokenPublisher,
  expected: { planId?: string; quantity?: number } = {},
) {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ subscription: subscriptions, offer: offers, org: organizations, customerName: customers.name })
      .from(subscriptions)
      .innerJoin(offers, eq(offers.id, subscriptions.offerId))
      .innerJoin(organizations, eq(organizations.id, subscriptions.orgId))
      .innerJoin(customers, eq(customers.id, subscriptions.customerId))
      .where(and(eq(subscriptions.id, subscriptionId), publisher ? publishersOwn(publisher) : undefined))
      .for('update', { of: subscriptions });
    if (!row) throw new DomainError('activation.unknown', { subscription: subscriptionId });
    const s = row.subscription;
    if (s.status === 'cancelled') throw new DomainError('subscription.cancelled', { subscription: s.id, date: s.cancelledAt! });
    // As the fulfillment API does: the plan and quantity activated must be the ones bought.
    if ((expected.planId !== undefined && expected.planId !== s.planId) || (expected.quantity !== undefined && expected.quantity !== s.seats)) {
      throw new DomainError('activation.mismatch', { subscription: s.id, planId: s.planId!, quantity: s.seats! });
    }
    const already = step === 'licenses' ? s.licensesAssignedAt : s.setupCompletedAt;
    if (already) return { state: 'already' as const, subscription: s, offer: row.offer };
    const licensesAssignedAt = s.licensesAssignedAt ?? (step === 'licenses' ? now : null);
    const setupCompletedAt = s.setupCompletedAt ?? (step === 'setup' ? now : null);
    const billing = Boolean(licensesAssignedAt && setupCompletedAt);
    const [updated] = await tx
      .update(subscriptions)
      .set({ licensesAssignedAt, setupCompletedAt, ...(billing ? { billingStartedAt: now, status: 'active' as const } : {}) })
      .where(and(eq(subscriptions.orgId, s.orgId), eq(subscriptions.id, s.id)))
      .returning();
    const details = { subscription: s.id, offer: row.offer.name };
    await tx.insert(activityLog).values({
      orgId: s.orgId,
      customerId: s.customerId,
      actorName: row.offer.publisherName,
      action: step === 'licenses' ? 'saas_licenses_assigned' : 'saas_setup_completed',
      details,
      createdAt: now,
    });
    if (billing) {
      await notify(tx, row.org, { kind: 'subscriptions', customerId: s.customerId, message: { key: 'activation.billingStarted', params: { customer: row.customerName, ...details }, then: invoiceGuidance } });
    }
    return { state: billing ? ('billing-started' as const) : ('recorded' as const), subscription: updated!, offer: row.offer };
  });
}

/** Marketplace subscriptions bought in the last 14 days and not cancelled: the only ones whose cancellation window can still be open (R-M10). */
const windowMayBeOpen = (now: Date) =>
  and(isNotNull(subscriptions.offerId), isNull(subscriptions.cancelledAt), gte(subscriptions.purchasedAt, subDays(now, 14)), lte(subscriptions.purchasedAt, now));

/** The organization's marketplace subscriptions whose cancellation window (R-M10) closes within `hours` from now, soonest first. */
export async function closingWindows(db: Queryable, orgId: string, now: Date, hours: number): Promise<(SubscriptionWithOffer & { closes: Date })[]> {
  const rows = await db
    .select(subscriptionWithOffer)
    .from(subscriptions)
    .leftJoin(offers, eq(offers.id, subscriptions.offerId))
    .innerJoin(customers, eq(customers.id, subscriptions.customerId))
    .where(and(eq(subscriptions.orgId, orgId), windowMayBeOpen(now)));
  const until = addHours(now, hours).getTime();
  return rows
    .map((row) => {
      const { term, purchasedAt, cancellationAllowedUntil } = row.subscription;
      return { ...row, closes: cancellationWindowCloses({ term: term!, purchasedAt: purchasedAt!, cancellationAllowedUntil }) };
    })
    .filter(({ closes }) => closes.getTime() > now.getTime() && closes.getTime() <= until)
    .sort((a, b) => a.closes.getTime() - b.closes.getTime());
}

/**
 * A subscription bought less than 14 days ago whose cancellation window closes
 * within the next 2 hours (monthly) or 24 hours (annual) is flagged once in the
 * activity channel; rows are claimed with SKIP LOCKED and stamped in the same
 * transaction, so several instances never flag twice.
 */
export async function remindClosingWindows(db: Database, now: Date): Promise<number> {
  return db.transaction(async (tx) => {
    const due = await tx
      .select({ subscription: subscriptions, org: organizations, customerName: customers.name })
      .from(subscriptions)
      .innerJoin(organizations, eq(organizations.id, subscriptions.orgId))
      .innerJoin(customers, eq(customers.id, subscriptions.customerId))
      .where(and(windowMayBeOpen(now), isNull(subscriptions.windowRemindedAt)))
      .for('update', { of: subscriptions, skipLocked: true });
    let flagged = 0;
    for (const { subscription: s, org, customerName } of due) {
      const closes = cancellationWindowCloses({ term: s.term!, purchasedAt: s.purchasedAt! });
      const lead = s.term === 'monthly' ? 2 : 24;
      if (closes.getTime() <= now.getTime() || closes.getTime() > addHours(now, lead).getTime()) continue;
      await tx.update(subscriptions).set({ windowRemindedAt: now }).where(and(eq(subscriptions.orgId, s.orgId), eq(subscriptions.id, s.id)));
      const target = organizationChannel(org, 'activity');
      const params = { customer: customerName, name: s.friendlyName ?? s.id, subscription: s.id, closes: closes };
      if (target) await enqueue(tx, org.id, target, { key: 'subscription.windowClosing', params });
      flagged++;
    }
    return flagged;
  });
}
