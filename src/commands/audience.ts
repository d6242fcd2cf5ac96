import { changeDraft, decideSupportRequest, offerAudience, publishAudience, requirePublisherRole, searchDirectory, type AudienceState, type DirectoryFilter, type OfferAudience } from '../core/audience.js';
import { audienceCsv, audienceCsvFileName, audienceCsvText, fetchCsv, importAudienceCsv } from '../core/audience-csv.js';
import { csvContentType } from './price-list.js';
import { formatTimestamp } from '../i18n/index.js';
import type { View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';
import type { AudienceAction } from './grammar.js';

const directoryListed = 25;

function stateLine(env: OrgEnv, audience: OfferAudience, state: AudienceState | null): string {
  const { t } = env;
  if (!state) return t('audience.neverPublished');
  const option = t(`audience.option.${state.option}`);
  return state.option === 'specific' ? t('audience.stateWithPartners', { option, count: state.partners.length }) : option;
}

/** R-I2, R-I3, R-I6: the option as published and as drafted, the list as a table, who resold, and pending support requests. */
export function audienceView(env: OrgEnv, audience: OfferAudience, notice?: string): View {
  const { t } = env;
  const { offer, published, draft, resold, partnerNames } = audience;
  const ids = [...new Set([...(published?.partners ?? []), ...draft.partners].map((p) => p.tenantId))];
  const rows = ids.map((id) => {
    const inPublished = published?.partners.find((p) => p.tenantId === id);
    const inDraft = draft.partners.find((p) => p.tenantId === id);
    return `• ${t('audience.partnerRow', {
      name: partnerNames.get(id) ?? id,
      tenantId: id,
      regions: (inDraft ?? inPublished)!.regions.join(', ') || t('audience.allRegions'),
      state:
        draft.option !== 'specific'
          ? t('audience.draftIsOption', { option: t(`audience.option.${draft.option}`) })
          : t(inPublished && inDraft ? 'audience.inBoth' : inPublished ? 'audience.removedInDraft' : 'audience.addedInDraft'),
      resold: resold.has(id) ? t('audience.hasResold') : '',
    })}`;
  });
  return {
    title: t('audience.title', { offer: offer.name, id: offer.id }),
    facts: [
      { label: t('audience.offerState'), value: t(offer.published ? 'audience.offerPublished' : 'audience.offerUnpublished') },
      { label: t('audience.published'), value: stateLine(env, audience, published) },
      { label: t('audience.draft'), value: stateLine(env, audience, draft) },
      { label: t('audience.resold'), value: [...resold].map((id) => partnerNames.get(id) ?? id).join(', ') || '—' },
    ],
    lines: [
      ...(notice ? [notice] : []),
      ...(rows.length ? [t('audience.partners'), ...rows] : []),
      ...audience.pending.map((r) =>
        `• ${t('audience.pendingRow', { id: r.id.slice(0, 8), from: t(`audience.option.${r.fromOption}`), to: t(`audience.option.${r.toOption}`), date: formatTimestamp(t, r.createdAt), name: r.requestedByName })}`,
      ),
    ],
  };
}

export async function audienceCommandView(env: OrgEnv, offerText: string, action: AudienceAction | undefined): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  if (!action) {
    requirePublisherRole(env.actor, ['owner', 'manager', 'developer'], 'what.viewAudience');
    return audienceView(env, await offerAudience(env.db, ctx, offerText));
  }
  switch (action.kind) {
    case 'set':
    case 'add':
    case 'remove':
      return audienceView(env, await changeDraft(ctx, offerText, action), t('audience.draftSaved', { prefix: env.prefix }));
    case 'publish':
    case 'sync': {
      const result = await publishAudience(ctx, offerText, action.kind);
      const notice =
        result.state === 'support-request'
          ? t(result.appliedNow ? 'audience.supportRequestedPartly' : 'audience.supportRequested', { id: result.request.id.slice(0, 8) })
          : t(result.state === 'published' ? 'audience.publishedNow' : 'audience.syncedNow');
      return { ...audienceView(env, result.audience, notice), tone: result.state === 'support-request' ? 'warning' : 'success' };
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
      return audienceView(env, await offerAudience(env.db, ctx, offer.id), notice);
    }
    case 'export': {
      requirePublisherRole(env.actor, ['owner', 'manager', 'developer'], 'what.viewAudience');
      const audience = await offerAudience(env.db, ctx, offerText);
      const file = { name: audienceCsvFileName(audience.offer.id, env.now()), contentType: csvContentType, data: audienceCsv(audience, audienceCsvText(t)) };
      return { tone: 'success', lines: [t('audience.exported', { offer: audience.offer.name, count: audience.draft.partners.length })], files: [file] };
    }
    case 'import': {
      // Only an owner or manager may make the bot fetch a URL.
      requirePublisherRole(env.actor, ['owner', 'manager'], 'what.editAudience');
      const imported = await importAudienceCsv(env.db, ctx, offerText, await fetchCsv(action.url), t);
      return audienceView(env, imported.audience, t('audienceCsv.imported', { offer: imported.audience.offer.name, added: imported.added, already: imported.alreadyThere }));
    }
  }
}

/** R-I3: the partner directory, filtered. */
export async function partnersView(env: OrgEnv, filter: DirectoryFilter): Promise<View> {
  const { t } = env;
  requirePublisherRole(env.actor, ['owner', 'manager', 'developer'], 'what.viewAudience');
  const found = await searchDirectory(env.db, filter);
  const lines = found
    .slice(0, directoryListed)
    .map((p) => `• ${t('partners.row', { name: p.name, tenantId: p.tenantId, country: p.country, competencies: p.competencies.join(', ') || '—', skills: p.skills.join(', ') || '—' })}`);
  if (found.length > directoryListed) lines.push(t('partners.more', { count: found.length - directoryListed }));
  return { title: t('partners.title', { count: found.length }), lines: found.length ? lines : [t('partners.none')] };
}
