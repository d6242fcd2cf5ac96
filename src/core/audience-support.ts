import { eq, inArray } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { audienceSupportRequests, offers, partnerDirectory } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { requirePublisherRole } from './access.js';
import { loadAudience, writeAudience, type AudienceState } from './audience.js';
import type { CoreContext } from './context.js';
import { DomainError } from './errors.js';
import type { Offer } from './marketplace.js';
import { matchIdPrefix, minIdPrefix } from './text.js';

/*
 * R-I7: the audience changes Partner Center makes only through Microsoft support ("Deauthorize CSP"):
 * how the owner files one, and the owner recording support's answer.
 */

/**
 * R-I6: a granted "Deauthorize CSP" request takes effect, except for partners that resold the
 * offer since it was filed: they are never removed, so they stay on the list (an audience of no
 * partners becomes those partners). Returns the partners kept, with their names.
 */
async function grantSupportRequest(tx: Queryable, offer: Offer, request: typeof audienceSupportRequests.$inferSelect) {
  const { published, resold, partnerNames } = await loadAudience(tx, offer);
  const requested: AudienceState = { option: request.toOption, partners: request.partners };
  const keptIds = requested.option === 'any' ? [] : [...resold].filter((id) => !requested.partners.some((p) => p.tenantId === id)).sort();
  const kept = keptIds.map((tenantId) => ({ tenantId, name: partnerNames.get(tenantId) ?? tenantId, regions: published?.partners.find((p) => p.tenantId === tenantId)?.regions ?? [] }));
  const granted: AudienceState = kept.length
    ? { option: 'specific', partners: [...requested.partners, ...kept.map(({ tenantId, regions }) => ({ tenantId, regions }))] }
    : requested;
  await writeAudience(tx, offer.id, 'published', granted);
  // The draft keeps what was requested, with the partners that must stay.
  if (kept.length) await writeAudience(tx, offer.id, 'draft', granted);
  return kept;
}

export type SupportRequest = typeof audienceSupportRequests.$inferSelect;

/** A support request of this publisher's offers, by its ID or an unambiguous start of it; `lock` holds it for a decision. */
async function supportRequestById(db: Queryable, ctx: Pick<CoreContext, 'org'>, requestText: string, lock: boolean) {
  const value = requestText.trim().toLowerCase();
  const query = db
    .select({ id: audienceSupportRequests.id, request: audienceSupportRequests, offer: offers })
    .from(audienceSupportRequests)
    .innerJoin(offers, eq(offers.id, audienceSupportRequests.offerId))
    .where(eq(offers.publisherOrgId, ctx.org.id));
  const candidates = lock ? await query.for('update', { of: audienceSupportRequests }) : await query;
  const match = matchIdPrefix(candidates.filter((c) => c.id.startsWith(value)), value);
  if (match.state === 'tooShort') throw new DomainError('audience.requestIdTooShort', { text: requestText, min: minIdPrefix });
  if (match.state === 'ambiguous') throw new DomainError('audience.ambiguousRequest', { text: requestText, ids: match.ids });
  if (match.state === 'none') throw new DomainError('audience.unknownRequest', { text: requestText });
  return match.row;
}

/** What filing a "Deauthorize CSP" request with Microsoft needs: the request, its offer, and the directory names of the partners it names. */
export interface SupportRequestFiling {
  request: SupportRequest;
  offer: Offer;
  partnerNames: Map<string, string>;
}

export async function supportRequestFiling(db: Queryable, request: SupportRequest, offer: Offer): Promise<SupportRequestFiling> {
  const ids = [...new Set([...request.removes, ...request.partners.map((p) => p.tenantId)])];
  const names = ids.length ? await db.select({ tenantId: partnerDirectory.tenantId, name: partnerDirectory.name }).from(partnerDirectory).where(inArray(partnerDirectory.tenantId, ids)) : [];
  return { request, offer, partnerNames: new Map(names.map((n) => [n.tenantId, n.name])) };
}

/** R-I7: how to file a support request of this publisher's offers with Microsoft; every publisher role may read it. */
export async function findSupportRequestFiling(ctx: CoreContext, requestText: string): Promise<SupportRequestFiling> {
  requirePublisherRole(ctx.actor, 'developer', 'what.viewAudience');
  const { request, offer } = await supportRequestById(ctx.db, ctx, requestText, false);
  return supportRequestFiling(ctx.db, request, offer);
}

/** The publisher's owner records Microsoft support's answer to a "Deauthorize CSP" request; granted, it takes effect. */
export async function decideSupportRequest(ctx: CoreContext, requestText: string, decision: 'grant' | 'refuse') {
  const actor = requirePublisherRole(ctx.actor, 'owner', 'what.decideSupport');
  return ctx.db.transaction(async (tx) => {
    const { request, offer } = await supportRequestById(tx, ctx, requestText, true);
    if (request.status !== 'pending') return { state: 'already' as const, request, offer };
    const [decided] = await tx
      .update(audienceSupportRequests)
      .set({ status: decision === 'grant' ? 'granted' : 'refused', decidedByName: actor.name, decidedAt: ctx.now() })
      .where(eq(audienceSupportRequests.id, request.id))
      .returning();
    const kept = decision === 'grant' ? await grantSupportRequest(tx, offer, request) : [];
    const details = { offer: offer.name, request: request.id.slice(0, 8), ...(kept.length ? { kept: kept.map((p) => p.tenantId).join(', ') } : {}) };
    await recordActivity(tx, { ...ctx, actor }, decision === 'grant' ? 'audience_support_granted' : 'audience_support_refused', null, details);
    return { state: 'decided' as const, request: decided!, offer, kept };
  });
}
