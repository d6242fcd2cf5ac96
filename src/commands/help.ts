import type { StaffRole } from '../../db/schema.js';
import type { MessageKey } from '../i18n/index.js';
import type { View } from '../views/model.js';
import type { CommandEnv } from './context.js';

/**
 * Who reads help: staff by role (a partner's roles and a publisher's never mix, R-A2), a customer
 * contact, or someone the organization does not know (or a workspace linked to none).
 */
type HelpReader = StaffRole | 'contact' | 'unknown';

const partnerAdmins = ['global-admin', 'admin-agent'] as const satisfies HelpReader[];
const partnerStaff = [...partnerAdmins, 'sales-agent', 'helpdesk-agent'] as const satisfies HelpReader[];
const publisherStaff = ['owner', 'manager', 'developer'] as const satisfies HelpReader[];
const allStaff = [...partnerStaff, ...publisherStaff];

/** Help's groups, in the order shown: one heading each (`help.group.<name>`). */
const helpGroups = ['general', 'customers', 'permissions', 'requests', 'marketplace', 'notifications', 'publishers'] as const;
type HelpGroup = (typeof helpGroups)[number];

interface HelpEntry {
  key: MessageKey;
  group: HelpGroup;
  /** Who is shown it: those who may run its example (src/core/access.ts, permissions, audiences; openToContacts in handlers.ts). */
  who: readonly HelpReader[];
  /** Its example runs only in a channel, so a terminal's help leaves it out. */
  inChannel?: true;
}

/**
 * Every line of help. Each line ends with its example, the words after its last `{prefix}`: it runs as
 * written on the demo organization (db/seed), as test/help-examples.test.ts checks in every language.
 */
const helpEntries: readonly HelpEntry[] = [
  { key: 'help.help', group: 'general', who: [...allStaff, 'contact'] },
  { key: 'help.home', group: 'general', who: [...partnerStaff, 'contact'] },
  { key: 'help.language', group: 'general', who: [...allStaff, 'contact'] },
  { key: 'help.settings', group: 'general', who: allStaff },
  { key: 'help.connector', group: 'general', who: partnerStaff },

  { key: 'help.customers', group: 'customers', who: partnerStaff },
  { key: 'help.customer', group: 'customers', who: partnerStaff },
  { key: 'help.activity', group: 'customers', who: partnerStaff },
  { key: 'help.activityExport', group: 'customers', who: partnerStaff },
  { key: 'help.orders', group: 'customers', who: partnerStaff },

  { key: 'help.allow', group: 'permissions', who: partnerAdmins },
  { key: 'help.disallow', group: 'permissions', who: partnerAdmins },
  { key: 'help.allowSavingsPlans', group: 'permissions', who: partnerAdmins },
  { key: 'help.disallowSavingsPlans', group: 'permissions', who: partnerAdmins },
  { key: 'help.owner', group: 'permissions', who: partnerAdmins },

  { key: 'help.reservations', group: 'requests', who: [...partnerStaff, 'contact'] },
  { key: 'help.request', group: 'requests', who: [...partnerStaff, 'contact'] },
  { key: 'help.requests', group: 'requests', who: partnerStaff },
  { key: 'help.decide', group: 'requests', who: partnerAdmins },

  { key: 'help.marketplace', group: 'marketplace', who: partnerStaff },
  { key: 'help.offer', group: 'marketplace', who: partnerStaff },
  { key: 'help.buy', group: 'marketplace', who: partnerAdmins },
  { key: 'help.subscriptions', group: 'marketplace', who: partnerStaff },
  { key: 'help.subscription', group: 'marketplace', who: partnerAdmins },
  { key: 'help.subscriptionCancel', group: 'marketplace', who: ['contact'] },
  { key: 'help.billing', group: 'marketplace', who: partnerStaff },
  { key: 'help.support', group: 'marketplace', who: partnerStaff },
  { key: 'help.priceList', group: 'marketplace', who: partnerStaff },

  { key: 'help.channel', group: 'notifications', who: partnerAdmins, inChannel: true },
  { key: 'help.notify', group: 'notifications', who: partnerAdmins, inChannel: true },
  { key: 'help.notifyList', group: 'notifications', who: ['sales-agent', 'helpdesk-agent'], inChannel: true },
  { key: 'help.notifyFailures', group: 'notifications', who: partnerStaff },

  { key: 'help.audience', group: 'publishers', who: publisherStaff },
  { key: 'help.partners', group: 'publishers', who: publisherStaff },
];

function helpReader(env: Pick<CommandEnv, 'org' | 'actor'>): HelpReader {
  if (!env.org || env.actor.kind === 'unknown') return 'unknown';
  return env.actor.kind === 'contact' ? 'contact' : env.actor.role;
}

/** The lines a reader is shown where they are; someone unknown gets the general group (and a notice saying only help runs). */
function helpEntriesFor(reader: HelpReader, platform: CommandEnv['conversation']['platform']): HelpEntry[] {
  return helpEntries.filter(
    (e) => (reader === 'unknown' ? e.group === 'general' : e.who.includes(reader)) && !(e.inChannel && platform === 'cli'),
  );
}

/** What help says first to someone outside a linked organization, or not known in it; nothing for anyone else. */
export function accessNotice(env: CommandEnv): string[] {
  const { t } = env;
  if (!env.org) return [t(env.conversation.platform === 'teams' ? 'help.unknownTenant' : 'help.unknownWorkspace', { teamId: env.workspaceId ?? '?' })];
  return env.actor.kind === 'unknown' ? [t('help.unknownUser')] : [];
}

/** Help as each kind of reader sees it in each language and place: made once, then shared (frozen). */
const madeHelp = new Map<string, View>();

/** Help: a section per group, headed by the group's name. */
export function helpView(env: CommandEnv): View {
  const notice = accessNotice(env);
  // Only a known reader's help is the same for everyone like them; a notice names the workspace.
  if (notice.length) return makeHelp(env, notice);
  const key = `${env.t.locale}\u0000${helpReader(env)}\u0000${env.conversation.platform}\u0000${env.prefix}`;
  let view = madeHelp.get(key);
  if (!view) madeHelp.set(key, (view = Object.freeze(makeHelp(env, notice))));
  return view;
}

function makeHelp(env: CommandEnv, notice: string[]): View {
  const { t, prefix } = env;
  const shown = helpEntriesFor(helpReader(env), env.conversation.platform);
  const sections = helpGroups.flatMap((group) => {
    const lines = shown.filter((e) => e.group === group).map((e) => t(e.key, { prefix }));
    return lines.length ? [{ title: t(`help.group.${group}`), lines }] : [];
  });
  return { title: t('help.title'), lines: [...notice, t('help.intro')], sections };
}
