import { closeConfirmations, offerConfirmation, type Outcome, type UsedConfirmation } from '../core/confirmations.js';
import type { ConfirmationKind } from '../../db/schema.js';
import { formatTimestamp } from '../i18n/index.js';
import type { ActionId, View, ViewAction } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';

/** A confirmation's buttons: each confirm button carries its own recorded confirmation; Cancel closes them all. */
export async function confirmationActions(
  env: OrgEnv,
  confirms: { id: Exclude<ActionId, 'run' | 'cancel'>; kind: ConfirmationKind; params: Record<string, unknown>; label: string; style?: ViewAction['style'] }[],
): Promise<ViewAction[]> {
  const ctx = coreContext(env);
  const actions: ViewAction[] = [];
  for (const c of confirms) {
    const value = await offerConfirmation(ctx, c.kind, c.params);
    actions.push({ id: c.id, label: c.label, value, ...(c.style ? { style: c.style } : {}) });
  }
  return [...actions, { id: 'cancel', label: env.t('common.cancel'), value: actions.map((a) => a.value).join(' ') }];
}

export function outcomeText(env: OrgEnv, outcome: Outcome): string {
  const terms = Object.fromEntries(Object.entries(outcome.terms ?? {}).map(([name, key]) => [name, env.t(key)]));
  return env.t(outcome.key, { prefix: env.prefix, ...outcome.params, ...terms });
}

/** A later click on a confirmation: who clicked it first, when, and what came of it; nothing changes. */
export function usedView(env: OrgEnv, used: UsedConfirmation): View {
  const { t } = env;
  const params = { name: used.usedByName, date: formatTimestamp(t, used.usedAt) };
  const outcome = used.outcome ? [outcomeText(env, used.outcome)] : [];
  if (used.outcome?.key === 'common.cancelled') return { tone: 'info', lines: [t('confirmation.cancelled', params)] };
  if (used.failed) return { tone: 'warning', lines: [t('confirmation.failed', params), ...outcome, t('confirmation.runAgain')] };
  return { tone: 'info', lines: [t(used.outcome ? 'confirmation.used' : 'confirmation.underWay', params), ...outcome] };
}

/** The Cancel button: its confirmations no longer act; the card is replaced for its owner. */
export async function cancelledView(env: OrgEnv, value: string): Promise<View> {
  const acted = await closeConfirmations(coreContext(env), value.split(' ').filter(Boolean));
  if (acted) return usedView(env, acted);
  // Not 'committed': a confirmation is its asker's own card, which a click replaces anyway; a Cancel forged onto a shared card changes nothing others see.
  return { tone: 'info', lines: [env.t('common.cancelled')] };
}
