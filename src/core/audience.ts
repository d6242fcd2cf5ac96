import { and, asc, count, eq, inArray, isNotNull, isNull, like, not, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { union } from 'drizzle-orm/pg-core';
import type { Queryable } from '../../db/client.js';
import {
  audienceSupportRequests, offerAudiencePartners, offerAudiences, offers, organizations, partnerDirectory, subscriptions, type AudienceOption,
} from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { requirePublisherRole } from './access.js';
import type { CoreContext } from './context.js';
import { DomainError } from './errors.js';
import type { Offer } from './marketplace.js';
import { listPageSize, readPage, type Page } from './paging.js';
import { likeEscape, normalizeKey, searchForms } from './text.js';

export interface AudiencePartner {
  tenantId: string;
  regions: string[];
}

export interface AudienceState {
  option: AudienceOption;
  partners: AudiencePartner[];
}

/** R-I1: only these types choose their audience; containers and BYOL VM plans are open to every partner. */
export const audienceTypes = ['saas', 'vm', 'solution-template', 'managed-app'] as const;

export type SyncPlan =
  | { outcome: 'apply'; state: AudienceState }
  /** What can change at once is applied; the rest waits for Microsoft's support ("Deauthorize CSP"). */
  | { outcome: 'support-request'; now: AudienceState; requested: AudienceState; removes: string[] }
  | { outcome: 'refused'; key: 'audience.resoldRemoval' | 'audience.resoldNone'; partners: string[] };

/**
 * R-I6, R-I7: what publishing the draft does to a published audience. An
 * unpublished offer takes its draft as it is. On a published one: 3 → 1 or 2
 * at once; 1 → 2 or 3, 2 → 1 and removing partners need a support request;
 * 2 → 3 (and 1 → 3) is refused while a partner has resold; a partner that
 * resold is never removed; 1 → 2 keeps every partner that resold.
 */
export function planSync(published: AudienceState | null, draft: AudienceState, resold: ReadonlySet<string>): SyncPlan {
  if (!published) return { outcome: 'apply', state: draft };
  const from = published.option;
  const to = draft.option;
  const keepResold = (state: AudienceState): AudienceState => {
    if (state.option !== 'specific') return state;
    const missing = [...resold].filter((id) => !state.partners.some((p) => p.tenantId === id));
    return { ...state, partners: [...state.partners, ...missing.map((tenantId) => ({ tenantId, regions: published.partners.find((p) => p.tenantId === tenantId)?.regions ?? [] }))] };
  };
  if (to === 'none' && from !== 'none' && resold.size) return { outcome: 'refused', key: 'audience.resoldNone', partners: [...resold] };
  if (from === 'none' || (from === 'specific' && to === 'none')) return { outcome: 'apply', state: draft };
  if (from === 'any' && to === 'any') return { outcome: 'apply', state: draft };
  if (from === 'specific' && to === 'specific') {
    const removed = published.partners.filter((p) => !draft.partners.some((d) => d.tenantId === p.tenantId)).map((p) => p.tenantId);
    const resoldRemoved = removed.filter((id) => resold.has(id));
    if (resoldRemoved.length) return { outcome: 'refused', key: 'audience.resoldRemoval', partners: resoldRemoved };
    if (!removed.length) return { outcome: 'apply', state: draft };
    // Added partners and new regions take effect now; the removals wait.
    const now = { option: 'specific' as const, partners: [...draft.partners, ...published.partners.filter((p) => removed.includes(p.tenantId))] };
    return { outcome: 'support-request', now, requested: draft, removes: removed };
  }
  // 1 → 2, 1 → 3, 2 → 1: nothing changes until support grants it.
  const requested = keepResold(draft);
  const removes = requested.option === 'specific' || requested.option === 'none' ? published.partners.map((p) => p.tenantId).filter((id) => !requested.partners.some((p) => p.tenantId === id)) : [];
  return { outcome: 'support-request', now: published, requested, removes };
}

export interface OfferAudience {
  offer: Offer;
  /** Null while the offer was never published. */
  published: AudienceState | null;
  draft: AudienceState;
  resold: Set<string>;
  partnerNames: Map<string, string>;
  pending: (typeof audienceSupportRequests.$inferSelect)[];
}

/** An offer of this publisher by its ID, or by a name that matches one of its offers only. */
export async function publisherOffer(db: Queryable, ctx: Pick<CoreContext, 'org'>, text: string): Promise<Offer> {
  const mine = eq(offers.publisherOrgId, ctx.org.id);
  const [byId] = await db.select().from(offers).where(and(mine, eq(offers.id, text.trim())));
  if (byId) return byId;
  const key = normalizeKey(text);
  const named = key ? await db.select().from(offers).where(and(mine, like(offers.nameKey, `%${likeEscape(key)}%`))).orderBy(asc(offers.nameKey)).limit(6) : [];
  if (!named.length) throw new DomainError('audience.unknownOffer', { text });
  if (named.length > 1) throw new DomainError('offer.ambiguous', { text, offers: named.map((o) => `${o.name} (${o.id})`).join(', ') });
  return named[0]!;
}

/** An offer of this publisher by ID or name, with its whole audience (what the rules of a change need). */
export async function offerAudience(db: Queryable, ctx: Pick<CoreContext, 'org'>, text: string): Promise<OfferAudience> {
  return loadAudience(db, await publisherOffer(db, ctx, text));
}

export interface AudienceListedPartner {
  tenantId: string;
  name: string | null;
  regions: string[];
  inPublished: boolean;
  inDraft: boolean;
  resold: boolean;
}

/** One page of an offer's audience, as `audience <offer>` shows it: every list that can grow is read a page at a time. */
export interface AudienceListing {
  offer: Offer;
  published: { option: AudienceOption; partners: number } | null;
  draft: { option: AudienceOption; partners: number };
  /** The page's slice of each list, and each list's length. */
  partners: AudienceListedPartner[];
  partnerCount: number;
  resold: { tenantId: string; name: string | null }[];
  resoldCount: number;
  pending: (typeof audienceSupportRequests.$inferSelect)[];
  pendingCount: number;
  page: number;
  /** Enough pages for the longest of the three lists. */
  pages: number;
}

/**
 * R-I2, R-I3, R-I6: the options as published and drafted, and page N of the partner
 * table, of the partners that resold, and of the pending support requests.
 */
export async function audienceListing(db: Queryable, offer: Offer, page: number): Promise<AudienceListing> {
  const [audience] = await db.select().from(offerAudiences).where(eq(offerAudiences.offerId, offer.id));
  const fixed = !isAudienceType(offer);
  const draftOption = fixed ? 'any' : (audience?.draftOption ?? 'none');
  const publishedOption = fixed ? 'any' : (audience?.publishedOption ?? null);
  const showPublished = offer.published && publishedOption === 'specific';
  const showDraft = draftOption === 'specific';
  const ofOffer = eq(offerAudiencePartners.offerId, offer.id);
  const listed = or(showPublished ? eq(offerAudiencePartners.published, true) : sql`false`, showDraft ? eq(offerAudiencePartners.draft, true) : sql`false`);
  // R-I6: recorded as resold, or seen in a subscription of the partner's organization.
  const soldBy = (among?: string[]) =>
    db
      .selectDistinct({ tenantId: sql<string>`${organizations.cspTenantId}`.as('tenant_id') })
      .from(subscriptions)
      .innerJoin(organizations, eq(organizations.id, subscriptions.orgId))
      .where(and(eq(subscriptions.offerId, offer.id), among ? inArray(organizations.cspTenantId, among) : isNotNull(organizations.cspTenantId)));
  const resoldIds = union(db.select({ tenantId: offerAudiencePartners.tenantId }).from(offerAudiencePartners).where(and(ofOffer, eq(offerAudiencePartners.hasResold, true))), soldBy());
  const pendingOf = and(eq(audienceSupportRequests.offerId, offer.id), eq(audienceSupportRequests.status, 'pending'));
  const counted = async (query: Promise<{ n: number }[]>) => (await query)[0]!.n;
  const [publishedCount, draftCount, partnerCount, resoldCount, pendingCount] = await Promise.all([
    counted(db.select({ n: count() }).from(offerAudiencePartners).where(and(ofOffer, eq(offerAudiencePartners.published, true)))),
    counted(db.select({ n: count() }).from(offerAudiencePartners).where(and(ofOffer, eq(offerAudiencePartners.draft, true)))),
    counted(db.select({ n: count() }).from(offerAudiencePartners).where(and(ofOffer, listed))),
    counted(db.select({ n: count() }).from(resoldIds.as('resold'))),
    counted(db.select({ n: count() }).from(audienceSupportRequests).where(pendingOf)),
  ]);
  const pages = Math.max(1, ...[partnerCount, resoldCount, pendingCount].map((n) => Math.ceil(n / listPageSize)));
  if (page > pages) throw new DomainError('list.pageOutOfRange', { page, pages });
  const offset = (page - 1) * listPageSize;
  const [partnerRows, resoldRows, pending] = await Promise.all([
    db
      .select({ partner: offerAudiencePartners, name: partnerDirectory.name })
      .from(offerAudiencePartners)
      .leftJoin(partnerDirectory, eq(partnerDirectory.tenantId, offerAudiencePartners.tenantId))
      .where(and(ofOffer, listed))
      .orderBy(asc(offerAudiencePartners.tenantId))
      .limit(listPageSize)
      .offset(offset),
    resoldIds.orderBy(asc(sql`tenant_id`)).limit(listPageSize).offset(offset),
    db.select().from(audienceSupportRequests).where(pendingOf).orderBy(asc(audienceSupportRequests.createdAt), asc(audienceSupportRequests.id)).limit(listPageSize).offset(offset),
  ]);
  const shown = [...new Set([...partnerRows.map((r) => r.partner.tenantId), ...resoldRows.map((r) => r.tenantId)])];
  const [soldOnPage, names] = shown.length
    ? await Promise.all([
        soldBy(shown),
        db.select({ tenantId: partnerDirectory.tenantId, name: partnerDirectory.name }).from(partnerDirectory).where(inArray(partnerDirectory.tenantId, shown)),
      ])
    : [[], []];
  const sold = new Set(soldOnPage.map((r) => r.tenantId));
  const nameOf = new Map(names.map((n) => [n.tenantId, n.name]));
  return {
    offer,
    published: offer.published && publishedOption ? { option: publishedOption, partners: showPublished ? publishedCount : 0 } : null,
    draft: { option: draftOption, partners: showDraft ? draftCount : 0 },
    partners: partnerRows.map(({ partner: p, name }) => ({
      tenantId: p.tenantId,
      name,
      regions: p.regions,
      inPublished: showPublished && p.published,
      inDraft: showDraft && p.draft,
      resold: p.hasResold || sold.has(p.tenantId),
    })),
    partnerCount,
    resold: resoldRows.map((r) => ({ tenantId: r.tenantId, name: nameOf.get(r.tenantId) ?? null })),
    resoldCount,
    pending,
    pendingCount,
    page,
    pages,
  };
}

export async function loadAudience(db: Queryable, offer: Offer): Promise<OfferAudience> {
  const [audience] = await db.select().from(offerAudiences).where(eq(offerAudiences.offerId, offer.id));
  const partners = await db.select().from(offerAudiencePartners).where(eq(offerAudiencePartners.offerId, offer.id)).orderBy(asc(offerAudiencePartners.tenantId));
  const soldBy = await db
    .selectDistinct({ tenantId: organizations.cspTenantId })
    .from(subscriptions)
    .innerJoin(organizations, eq(organizations.id, subscriptions.orgId))
    .where(and(eq(subscriptions.offerId, offer.id), isNotNull(organizations.cspTenantId)));
  const resold = new Set([...partners.filter((p) => p.hasResold).map((p) => p.tenantId), ...soldBy.map((r) => r.tenantId!)]);
  const ids = [...new Set([...partners.map((p) => p.tenantId), ...resold])];
  const names = ids.length ? await db.select({ tenantId: partnerDirectory.tenantId, name: partnerDirectory.name }).from(partnerDirectory).where(inArray(partnerDirectory.tenantId, ids)) : [];
  const state = (option: AudienceOption, which: 'published' | 'draft'): AudienceState => ({
    option,
    partners: option === 'specific' ? partners.filter((p) => p[which]).map((p) => ({ tenantId: p.tenantId, regions: p.regions })) : [],
  });
  const fixed = !isAudienceType(offer);
  const draftOption = fixed ? 'any' : (audience?.draftOption ?? 'none');
  const publishedOption = fixed ? 'any' : (audience?.publishedOption ?? null);
  return {
    offer,
    published: offer.published && publishedOption ? state(publishedOption, 'published') : null,
    draft: state(draftOption, 'draft'),
    resold,
    partnerNames: new Map(names.map((n) => [n.tenantId, n.name])),
    pending: await db
      .select()
      .from(audienceSupportRequests)
      .where(and(eq(audienceSupportRequests.offerId, offer.id), eq(audienceSupportRequests.status, 'pending')))
      .orderBy(asc(audienceSupportRequests.createdAt)),
  };
}

/** R-I1: containers, and VM offers whose plans are all bring-your-own-license, are always open to every partner. */
export function isAudienceType(offer: Pick<Offer, 'type' | 'plans'>): boolean {
  if (offer.type === 'vm' && offer.plans.every((p) => p.byol)) return false;
  return (audienceTypes as readonly string[]).includes(offer.type);
}

/**
 * R-M2, R-I4: whether a partner (by its CSP tenant ID) may resell the offer, by
 * the published audience only, and in which regions (undefined: anywhere).
 */
export async function resellerAccess(db: Queryable, offer: Offer, partnerTenantId: string | null): Promise<{ allowed: boolean; regions?: string[] }> {
  const [allowed] = await db.select({ id: offers.id }).from(offers).where(and(eq(offers.id, offer.id), resellableBy(partnerTenantId)));
  if (!allowed) return { allowed: false };
  const regions = (await authorizedRegions(db, [offer], partnerTenantId)).get(offer.id);
  return regions ? { allowed: true, regions } : { allowed: true };
}

/**
 * R-I4: of these offers, those the partner may resell in some regions only, with those regions.
 * Only a partner on a published "specific" list has regions; none listed means everywhere.
 */
export async function authorizedRegions(db: Queryable, offerList: Pick<Offer, 'id' | 'type' | 'plans' | 'publisherOrgId'>[], partnerTenantId: string | null): Promise<Map<string, string[]>> {
  const limited = offerList.filter((o) => o.publisherOrgId && isAudienceType(o)).map((o) => o.id);
  if (!partnerTenantId || !limited.length) return new Map();
  const rows = await db
    .select({ offerId: offerAudiencePartners.offerId, regions: offerAudiencePartners.regions })
    .from(offerAudiencePartners)
    .where(and(inArray(offerAudiencePartners.offerId, limited), eq(offerAudiencePartners.tenantId, partnerTenantId), eq(offerAudiencePartners.published, true)));
  return new Map(rows.filter((r) => r.regions.length).map((r) => [r.offerId, r.regions]));
}

/**
 * R-M2 as a condition on `offers`, so the catalog is filtered and paged in SQL: an offer
 * no publisher manages, of a type that does not choose its audience (R-I1), or published
 * with the option "any", or "specific" with this partner on the published list.
 */
export function resellableBy(partnerTenantId: string | null): SQL {
  const choosesAudience = or(
    inArray(offers.type, audienceTypes.filter((t) => t !== 'vm')),
    and(eq(offers.type, 'vm'), sql`exists (select 1 from jsonb_array_elements(${offers.plans}) as plan where coalesce(plan->'byol' <> 'true'::jsonb, true))`),
  );
  const onPublishedList = partnerTenantId
    ? sql`exists (select 1 from ${offerAudiencePartners} where ${offerAudiencePartners.offerId} = ${offers.id} and ${offerAudiencePartners.tenantId} = ${partnerTenantId} and ${offerAudiencePartners.published})`
    : sql`false`;
  const audienceAllows = sql`exists (select 1 from ${offerAudiences} where ${offerAudiences.offerId} = ${offers.id} and (${offerAudiences.publishedOption} = 'any' or (${offerAudiences.publishedOption} = 'specific' and ${onPublishedList})))`;
  return or(isNull(offers.publisherOrgId), not(choosesAudience!), and(eq(offers.published, true), audienceAllows))!;
}

/** Writes a state as the published or the draft list (the other list's rows stay). */
export async function writeAudience(tx: Queryable, offerId: string, which: 'published' | 'draft', state: AudienceState): Promise<void> {
  await tx
    .insert(offerAudiences)
    .values({ offerId, draftOption: state.option, ...(which === 'published' ? { publishedOption: state.option } : {}) })
    .onConflictDoUpdate({ target: offerAudiences.offerId, set: which === 'published' ? { publishedOption: state.option, updatedAt: new Date() } : { draftOption: state.option, updatedAt: new Date() } });
  await tx.update(offerAudiencePartners).set({ [which]: false }).where(eq(offerAudiencePartners.offerId, offerId));
  for (const p of state.option === 'specific' ? state.partners : []) {
    await tx
      .insert(offerAudiencePartners)
      .values({ offerId, tenantId: p.tenantId, regions: p.regions, [which]: true })
      .onConflictDoUpdate({ target: [offerAudiencePartners.offerId, offerAudiencePartners.tenantId], set: { regions: p.regions, [which]: true } });
  }
}

/** A partner of the directory by CSP tenant ID, or by a name that matches one partner only. */
export async function findPartner(db: Queryable, text: string) {
  const value = text.trim();
  const [byId] = await db.select().from(partnerDirectory).where(eq(partnerDirectory.tenantId, value.toLowerCase()));
  if (byId) return byId;
  const key = normalizeKey(value);
  if (!key) throw new DomainError('partners.unknown', { text: value });
  const exact = await db.select().from(partnerDirectory).where(eq(partnerDirectory.nameKey, key)).limit(2);
  if (exact.length === 1) return exact[0]!;
  const named = await db.select().from(partnerDirectory).where(like(partnerDirectory.nameKey, `%${likeEscape(key)}%`)).orderBy(asc(partnerDirectory.nameKey)).limit(5);
  if (named.length === 1) return named[0]!;
  if (!named.length) throw new DomainError('partners.unknown', { text: value });
  throw new DomainError('partners.ambiguous', { text: value, partners: named.map((p) => `${p.name} (${p.tenantId})`).join(', ') });
}

export interface DirectoryFilter {
  text?: string;
  country?: string;
  competency?: string;
  skill?: string;
}

/** Whether a directory list (competencies, skills) has an entry containing the text, in SQL; entries are stored as written (see searchForms). */
const listHas = (list: SQLWrapper, wanted: string) =>
  sql`exists (select 1 from jsonb_array_elements_text(${list}) as x where ${or(...searchForms(wanted).map((form) => sql`lower(x) like ${`%${likeEscape(form)}%`}`))})`;

/** R-I3: one page of the partner directory by name or tenant ID, country, competency and skill, by name. */
export async function searchDirectory(db: Queryable, filter: DirectoryFilter, page: number, size = listPageSize): Promise<Page<typeof partnerDirectory.$inferSelect>> {
  const key = normalizeKey(filter.text ?? '');
  const where = and(
    key ? or(like(partnerDirectory.nameKey, `%${likeEscape(key)}%`), eq(partnerDirectory.tenantId, key)) : undefined,
    filter.country ? eq(partnerDirectory.country, filter.country.toUpperCase()) : undefined,
    filter.competency ? listHas(partnerDirectory.competencies, filter.competency) : undefined,
    filter.skill ? listHas(partnerDirectory.skills, filter.skill) : undefined,
  );
  return readPage(
    page,
    async () => (await db.select({ total: count() }).from(partnerDirectory).where(where))[0]!.total,
    (limit, offset) => db.select().from(partnerDirectory).where(where).orderBy(asc(partnerDirectory.nameKey), asc(partnerDirectory.tenantId)).limit(limit).offset(offset),
    size,
  );
}

export type DraftChange =
  | { kind: 'set'; option: AudienceOption }
  | { kind: 'add'; partners: string[]; regions: string[] }
  | { kind: 'remove'; partners: string[] };

/** R-I3: changes are a draft; nothing reaches partners before publish or sync. */
export async function changeDraft(ctx: CoreContext, offerText: string, change: DraftChange): Promise<OfferAudience> {
  const actor = requirePublisherRole(ctx.actor, 'manager', 'what.editAudience');
  const audience = await offerAudience(ctx.db, ctx, offerText);
  if (!isAudienceType(audience.offer)) throw new DomainError('audience.fixedType', { offer: audience.offer.name }, { terms: { type: `offerType.${audience.offer.type}` } });
  const draft = audience.draft;
  let next: AudienceState;
  if (change.kind === 'set') {
    next = { option: change.option, partners: change.option === 'specific' ? draft.partners : [] };
  } else {
    if (draft.option !== 'specific') throw new DomainError('audience.notSpecific', { offer: audience.offer.name });
    const found = await Promise.all(change.partners.map((text) => findPartner(ctx.db, text)));
    const ids = new Set(found.map((p) => p.tenantId));
    next =
      change.kind === 'add'
        ? { option: 'specific', partners: [...draft.partners.filter((p) => !ids.has(p.tenantId)), ...found.map((p) => ({ tenantId: p.tenantId, regions: change.regions }))] }
        : { option: 'specific', partners: draft.partners.filter((p) => !ids.has(p.tenantId)) };
    // R-I6: refused now rather than at publish time, so the draft never holds what cannot be published.
    const resoldRemoved = change.kind === 'remove' ? found.filter((p) => audience.resold.has(p.tenantId)) : [];
    if (resoldRemoved.length) throw new DomainError('audience.resoldRemoval', { partners: resoldRemoved.map((p) => p.name).join(', ') });
  }
  await ctx.db.transaction(async (tx) => {
    await writeAudience(tx, audience.offer.id, 'draft', next);
    await recordActivity(tx, { ...ctx, actor }, 'audience_draft_changed', null, { offer: audience.offer.name, option: next.option, partners: String(next.partners.length) });
  });
  return loadAudience(ctx.db, audience.offer);
}

export type PublishResult =
  /** openedToPartners: the offer was open to no partner before and is now (the publisher's duties begin). */
  | { state: 'published' | 'synced'; audience: OfferAudience; openedToPartners: boolean }
  | { state: 'support-request'; audience: OfferAudience; request: typeof audienceSupportRequests.$inferSelect; appliedNow: boolean };

/**
 * `publish` (an unpublished offer) or `sync` ("Sync CSP audience", a published
 * one): the draft takes effect as R-I6/R-I7 allow; what needs support is
 * recorded as a pending "Deauthorize CSP" request. R-I8: an opted-in offer
 * needs its sales materials and channel contact first.
 */
export async function publishAudience(ctx: CoreContext, offerText: string, mode: 'publish' | 'sync'): Promise<PublishResult> {
  const actor = requirePublisherRole(ctx.actor, 'manager', 'what.editAudience');
  const audience = await offerAudience(ctx.db, ctx, offerText);
  const { offer } = audience;
  if (mode === 'publish' && offer.published) throw new DomainError('audience.alreadyPublished', { offer: offer.name });
  if (mode === 'sync' && !offer.published) throw new DomainError('audience.notPublished', { offer: offer.name });
  if (audience.draft.option !== 'none' && (!offer.salesMaterialsUrl || !offer.channelContact)) throw new DomainError('audience.materialsMissing', { offer: offer.name });
  const plan = planSync(audience.published, audience.draft, audience.resold);
  if (plan.outcome === 'refused') {
    const names = plan.partners.map((id) => audience.partnerNames.get(id) ?? id).join(', ');
    throw new DomainError(plan.key, { partners: names });
  }
  return ctx.db.transaction(async (tx): Promise<PublishResult> => {
    if (mode === 'publish') await tx.update(offers).set({ published: true }).where(eq(offers.id, offer.id));
    const details = { offer: offer.name, option: audience.draft.option };
    if (plan.outcome === 'apply') {
      await writeAudience(tx, offer.id, 'published', plan.state);
      await recordActivity(tx, { ...ctx, actor }, mode === 'publish' ? 'audience_published' : 'audience_synced', null, details);
      const openedToPartners = (audience.published?.option ?? 'none') === 'none' && plan.state.option !== 'none';
      return { state: mode === 'publish' ? 'published' : 'synced', audience: await loadAudience(tx, { ...offer, published: true }), openedToPartners };
    }
    // Compared in one order: "now" lists the partners kept for support after the draft's.
    const inOrder = (state: AudienceState) => JSON.stringify({ ...state, partners: [...state.partners].sort((a, b) => a.tenantId.localeCompare(b.tenantId)) });
    const appliedNow = inOrder(plan.now) !== inOrder(audience.published!);
    if (appliedNow) await writeAudience(tx, offer.id, 'published', plan.now);
    // The draft keeps what the request asks for; the resold partners it must keep are back on it.
    await writeAudience(tx, offer.id, 'draft', plan.requested);
    const [request] = await tx
      .insert(audienceSupportRequests)
      .values({ offerId: offer.id, fromOption: audience.published!.option, toOption: plan.requested.option, partners: plan.requested.partners, removes: plan.removes, requestedByName: actor.name })
      .returning();
    await recordActivity(tx, { ...ctx, actor }, 'audience_support_requested', null, { ...details, request: request!.id.slice(0, 8) });
    return { state: 'support-request', audience: await loadAudience(tx, offer), request: request!, appliedNow };
  });
}
