import { audienceListing, changeDraft, offerAudience, publishAudience, publisherOffer, searchDirectory, type AudienceListing, type DirectoryFilter } from '../core/audience.js';
import { decideSupportRequest, findSupportRequestFiling, supportRequestFiling, type SupportRequestFiling } from '../core/audience-support.js';
import { requirePublisherRole } from '../core/access.js';
import type { Offer } from '../core/marketplace.js';
import { audienceCsv, audienceCsvFileName, audienceCsvText, fetchCsv, importAudienceCsv } from '../core/audience-csv.js';
import { csvContentType } from './price-list.js';
import { formatTimestamp } from '../i18n/index.js';
import type { View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';
import { commandText, type AudienceAction } from './grammar.js';
import { pageFooter } from './paging.js';

function stateLine(env: OrgEnv, state: AudienceListing['draft'] | null): string {
  const { t } = env;
  if (!state) return t('audience.neverPublished');
  const option = t(`audience.option.${state.option}`);
  return state.option === 'specific' ? t('audience.stateWithPartners', { option, count: state.partners }) : option;
}

/**
 * R-I7, seed 003 "Deauthorize partners in the CSP program": the steps of Partner Center's support
 * request for a "Deauthorize CSP" request, and the request's details to paste into it.
 */
function filingLines(env: OrgEnv, { request, offer, partnerNames }: SupportRequestFiling): string[] {
  const { t } = env;
  const id = request.id.slice(0, 8);
  const partners = (ids: string[]) => ids.map((tenantId) => `${partnerNames.get(tenantId) ?? tenantId} (${tenantId})`).join(', ');
  // Moving to specific partners from another option, Microsoft needs the whole list; otherwise only who is removed.
  const keep = request.toOption === 'specific' && request.fromOption !== 'specific' ? request.partners.map((p) => p.tenantId) : [];
  return [
    t('audience.file.step1'),
    t('audience.file.step2'),
    t('audience.file.step3', { offer: offer.name, type: t(`offerType.${offer.type}`) }),
    t('audience.file.step4'),
    t('audience.file.step5'),
    t('audience.file.step6'),
    t('audience.file.details'),
    t('audience.file.offer', { offer: offer.name, id: offer.id }),
    t('audience.file.change', { from: t(`audience.pcOption.${request.fromOption}`), to: t(`audience.pcOption.${request.toOption}`) }),
    ...(request.removes.length ? [t('audience.file.remove', { partners: partners(request.removes) })] : []),
    ...(keep.length ? [t('audience.file.keep', { partners: partners(keep) })] : []),
    t('audience.file.after', { prefix: env.prefix, offer: offer.id, id }),
  ];
}

/** `audience <offer> steps <request>`: how to file a pending support request with Microsoft. */
function filingView(env: OrgEnv, filing: SupportRequestFiling): View {
  const { t } = env;
  const id = filing.request.id.slice(0, 8);
  if (filing.request.status !== 'pending') return { lines: [t('audience.file.decided', { id, status: filing.request.status })] };
  return { title: t('audience.file.title', { id }), lines: filingLines(env, filing) };
}

/**
 * R-I2, R-I3, R-I6: the option as published and as drafted, and a page of the partner table, of who resold,
 * and of pending support requests, each with how to file it; R-I8: whether partners' materials and contact are set.
 */
export function audienceView(env: OrgEnv, audience: AudienceListing, notices: string[] = []): View {
  const { t } = env;
  const { offer, published, draft } = audience;
  const rows = audience.partners.map((p) =>
    `• ${t('audience.partnerRow', {
      name: p.name ?? p.tenantId,
      tenantId: p.tenantId,
      regions: p.regions.join(', ') || t('audience.allRegions'),
      state:
        draft.option !== 'specific'
          ? t('audience.draftIsOption', { option: t(`audience.option.${draft.option}`) })
          : t(p.inPublished && p.inDraft ? 'audience.inBoth' : p.inPublished ? 'audience.removedInDraft' : 'audience.addedInDraft'),
      resold: p.resold ? t('audience.hasResold') : '',
    })}`,
  );
  const resold = audience.resold.map((r) => r.name ?? r.tenantId).join(', ');
  const pages = { page: audience.page, pages: audience.pages, total: audience.partnerCount };
  const next = commandText({ name: 'audience', offer: offer.id, page: audience.page + 1 });
  const materialsMissing = draft.option !== 'none' && (!offer.salesMaterialsUrl || !offer.channelContact);
  return {
    title: t('audience.title', { offer: offer.name, id: offer.id }),
    facts: [
      { label: t('audience.offerState'), value: t(offer.published ? 'audience.offerPublished' : 'audience.offerUnpublished') },
      { label: t('audience.published'), value: stateLine(env, published) },
      { label: t('audience.draft'), value: stateLine(env, draft) },
      { label: t('audience.salesMaterials'), value: offer.salesMaterialsUrl ?? t('audience.notSet') },
      { label: t('audience.channelContact'), value: offer.channelContact ?? t('audience.notSet') },
      {
        label: t('audience.resold'),
        value: audience.resoldCount > audience.resold.length ? t('audience.resoldPage', { names: resold || '—', count: audience.resoldCount }) : resold || '—',
      },
    ],
    lines: [
      ...notices,
      ...(materialsMissing ? [t('audience.materialsHow', { offer: offer.name })] : []),
      ...(rows.length ? [t('audience.partners'), ...rows] : []),
      // R-I4: where regions are shown, what they mean.
      ...(audience.partners.some((p) => p.regions.length) ? [t('audience.regionsNote')] : []),
      ...audience.pending.map((r) =>
        `• ${t('audience.pendingRow', {
          id: r.id.slice(0, 8),
          from: t(`audience.option.${r.fromOption}`),
          to: t(`audience.option.${r.toOption}`),
          date: formatTimestamp(t, r.createdAt),
          name: r.requestedByName,
          prefix: env.prefix,
          offer: offer.id,
        })}`,
      ),
      ...(audience.pages > 1 ? [t('audience.page', pages)] : []),
    ],
    actions: [
      ...audience.pending.map((r) => ({
        id: 'run' as const,
        label: t('audience.stepsButton', { id: r.id.slice(0, 8) }),
        value: commandText({ name: 'audience', offer: offer.id, page: 1, action: { kind: 'steps', request: r.id } }),
      })),
      ...(audience.page < audience.pages ? [{ id: 'run' as const, label: t('list.next'), value: next }] : []),
    ],
  };
}

export async function audienceCommandView(env: OrgEnv, offerText: string, action: AudienceAction | undefined, page: number): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  // A change's notice goes with the first page, where a changed list starts.
  const listed = async (offer: Offer, ...notices: string[]) => audienceView(env, await audienceListing(env.db, offer, 1), notices);
  if (!action) {
    requirePublisherRole(env.actor, 'developer', 'what.viewAudience');
    return audienceView(env, await audienceListing(env.db, await publisherOffer(env.db, ctx, offerText), page));
  }
  switch (action.kind) {
    case 'set':
    case 'add':
    case 'remove': {
      const { offer } = await changeDraft(ctx, offerText, action);
      return listed(offer, t('audience.draftSaved', { prefix: env.prefix, offer: offer.id, published: offer.published ? 'yes' : 'no' }));
    }
    case 'publish':
    case 'sync': {
      const result = await publishAudience(ctx, offerText, action.kind);
      const { offer } = result.audience;
      if (result.state === 'support-request') {
        // R-I7: what the owner files with Microsoft, right where the request is recorded.
        const notice = t(result.appliedNow ? 'audience.supportRequestedPartly' : 'audience.supportRequested', { id: result.request.id.slice(0, 8) });
        const steps = filingLines(env, await supportRequestFiling(env.db, result.request, offer));
        return { ...(await listed(offer, notice, t('audience.file.how'), ...steps)), tone: 'warning' };
      }
      const notice = t(result.state === 'published' ? 'audience.publishedNow' : 'audience.syncedNow');
      // Seed 003's opening: the publisher's support duties begin when partners can first resell the offer.
      const duties = result.openedToPartners ? [t('audience.duties', { offer: offer.name })] : [];
      return { ...(await listed(offer, notice, ...duties)), tone: 'success' };
    }
    case 'grant':
    case 'refuse': {
      const decided = await decideSupportRequest(ctx, action.request, action.kind);
      const { state, request, offer } = decided;
      const kept = decided.state === 'decided' && decided.kept.length ? t('audience.keptResold', { offer: offer.name, partners: decided.kept.map((p) => `${p.name} (${p.tenantId})`).join(', ') }) : '';
      const notice =
        state === 'already'
          ? t('audience.requestAlready', { id: request.id.slice(0, 8), status: request.status })
          : [t(action.kind === 'grant' ? 'audience.granted' : 'audience.refused', { id: request.id.slice(0, 8) }), kept].filter(Boolean).join(' ');
      return listed(offer, notice);
    }
    case 'export': {
      requirePublisherRole(env.actor, 'developer', 'what.viewAudience');
      const audience = await offerAudience(env.db, ctx, offerText);
      const file = { name: audienceCsvFileName(audience.offer.id, env.now()), contentType: csvContentType, data: audienceCsv(audience, audienceCsvText(t)) };
      return { tone: 'success', lines: [t('audience.exported', { offer: audience.offer.name, count: audience.draft.partners.length, prefix: env.prefix })], files: [file] };
    }
    case 'steps':
      return filingView(env, await findSupportRequestFiling(ctx, action.request));
    case 'import': {
      // Only an owner or manager may make the bot fetch a URL.
      requirePublisherRole(env.actor, 'manager', 'what.editAudience');
      const imported = await importAudienceCsv(env.db, ctx, offerText, await fetchCsv(action.url, { allowedHosts: env.audienceImportAllowedHosts }), t);
      return listed(imported.audience.offer, t('audienceCsv.imported', { offer: imported.audience.offer.name, added: imported.added, already: imported.alreadyThere }));
    }
  }
}

/** R-I3: the partner directory, filtered, a page at a time. */
export async function partnersView(env: OrgEnv, filter: DirectoryFilter, page: number): Promise<View> {
  const { t } = env;
  requirePublisherRole(env.actor, 'developer', 'what.viewAudience');
  const list = await searchDirectory(env.db, filter, page);
  const footer = pageFooter(env, list, { name: 'partners', filter, page });
  const lines = list.rows.map((p) =>
    `• ${t('partners.row', { name: p.name, tenantId: p.tenantId, country: p.country, competencies: p.competencies.join(', ') || '—', skills: p.skills.join(', ') || '—' })}`,
  );
  // R-I3: what to do with a partner found.
  return { title: t('partners.title', { count: list.total }), lines: list.total ? [...lines, footer.line, t('partners.next', { prefix: env.prefix })] : [t('partners.none')], actions: footer.actions };
}
