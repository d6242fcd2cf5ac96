import {
  audienceListing, changeDraft, decideSupportRequest, offerAudience, publishAudience, publisherOffer, searchDirectory, type AudienceListing, type DirectoryFilter,
} from '../core/audience.js';
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

/** R-I2, R-I3, R-I6: the option as published and as drafted, and a page of the partner table, of who resold, and of pending support requests. */
export function audienceView(env: OrgEnv, audience: AudienceListing, notice?: string): View {
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
  return {
    title: t('audience.title', { offer: offer.name, id: offer.id }),
    facts: [
      { label: t('audience.offerState'), value: t(offer.published ? 'audience.offerPublished' : 'audience.offerUnpublished') },
      { label: t('audience.published'), value: stateLine(env, published) },
      { label: t('audience.draft'), value: stateLine(env, draft) },
      {
        label: t('audience.resold'),
        value: audience.resoldCount > audience.resold.length ? t('audience.resoldPage', { names: resold || '—', count: audience.resoldCount }) : resold || '—',
      },
    ],
    lines: [
      ...(notice ? [notice] : []),
      ...(rows.length ? [t('audience.partners'), ...rows] : []),
      ...audience.pending.map((r) =>
        `• ${t('audience.pendingRow', { id: r.id.slice(0, 8), from: t(`audience.option.${r.fromOption}`), to: t(`audience.option.${r.toOption}`), date: formatTimestamp(t, r.createdAt), name: r.requestedByName })}`,
      ),
      ...(audience.pages > 1 ? [t('audience.page', pages)] : []),
    ],
    actions: audience.page < audience.pages ? [{ id: 'run', label: t('list.next'), value: next }] : [],
  };
}

export async function audienceCommandView(env: OrgEnv, offerText: string, action: AudienceAction | undefined, page: number): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  // A change's notice goes with the first page, where a changed list starts.
  const listed = async (offer: Offer, notice: string) => audienceView(env, await audienceListing(env.db, offer, 1), notice);
  if (!action) {
    requirePublisherRole(env.actor, 'developer', 'what.viewAudience');
    return audienceView(env, await audienceListing(env.db, await publisherOffer(env.db, ctx, offerText), page));
  }
  switch (action.kind) {
    case 'set':
    case 'add':
    case 'remove':
      return listed((await changeDraft(ctx, offerText, action)).offer, t('audience.draftSaved', { prefix: env.prefix }));
    case 'publish':
    case 'sync': {
      const result = await publishAudience(ctx, offerText, action.kind);
      const notice =
        result.state === 'support-request'
          ? t(result.appliedNow ? 'audience.supportRequestedPartly' : 'audience.supportRequested', { id: result.request.id.slice(0, 8) })
          : t(result.state === 'published' ? 'audience.publishedNow' : 'audience.syncedNow');
      return { ...(await listed(result.audience.offer, notice)), tone: result.state === 'support-request' ? 'warning' : 'success' };
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
      return { tone: 'success', lines: [t('audience.exported', { offer: audience.offer.name, count: audience.draft.partners.length })], files: [file] };
    }
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
  return { title: t('partners.title', { count: list.total }), lines: list.total ? [...lines, footer.line] : [t('partners.none')], actions: footer.actions };
}
