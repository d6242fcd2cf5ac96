import { notificationKinds, type NotificationKind } from '../../db/schema.js';
import type { OutboxMessage } from '../core/announcements.js';
import { organizationChannel } from '../core/announcements.js';
import { failedDeliveries, listSubscriptions, retryFailedDeliveries, subscribeChannel, unsubscribeChannel } from '../core/notifications.js';
import { purchasesByIds } from '../core/purchases.js';
import { formatTimestamp, type MessageKey } from '../i18n/index.js';
import { truncate, type View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';
import { commandText } from './grammar.js';

const failuresListed = 15;

function kindList(env: OrgEnv, kinds: NotificationKind[]): string {
  return kinds.map((k) => env.t(`notify.kind.${k}`)).join(', ');
}

function channelName(env: OrgEnv, platform: string, channelId: string): string {
  const here = env.conversation.platform === platform && env.conversation.channelId === channelId;
  return env.t(here ? 'notify.thisChannel' : platform === 'teams' ? 'notify.teamsChannel' : 'notify.slackChannel', { id: channelId });
}

export async function notifyHereView(env: OrgEnv, kinds: NotificationKind[], customerTexts: string[]): Promise<View> {
  const { added, customers } = await subscribeChannel(coreContext(env), kinds, customerTexts);
  const params = { kinds: kindList(env, kinds), customers: customers.map((c) => c.name).join(', ') };
  const key: MessageKey = customers.length ? (added ? 'notify.addedFor' : 'notify.alreadyFor') : added ? 'notify.added' : 'notify.already';
  return { tone: added ? 'success' : 'info', lines: [env.t(key, params), env.t('notify.inviteHint', { prefix: env.prefix })] };
}

export async function notifyOffView(env: OrgEnv, kinds: NotificationKind[], customerTexts: string[]): Promise<View> {
  const { removed } = await unsubscribeChannel(coreContext(env), kinds, customerTexts);
  return { tone: removed ? 'success' : 'info', lines: [env.t(removed ? 'notify.removed' : 'notify.noneRemoved', { count: removed })] };
}

export async function notifyListView(env: OrgEnv): Promise<View> {
  const { t } = env;
  const order = (kind: NotificationKind) => notificationKinds.indexOf(kind);
  const rows = (await listSubscriptions(env.db, env.org.id)).sort((a, b) => order(a.kind) - order(b.kind));
  const byChannel = new Map<string, { name: string; kinds: Map<NotificationKind, string[]> }>();
  for (const row of rows) {
    const key = `${row.platform} ${row.channelId}`;
    const channel = byChannel.get(key) ?? { name: channelName(env, row.platform, row.channelId), kinds: new Map() };
    channel.kinds.set(row.kind, [...(channel.kinds.get(row.kind) ?? []), row.customerName ?? t('notify.allCustomers')]);
    byChannel.set(key, channel);
  }
  const activity = organizationChannel(env.org, 'activity');
  // Channels are chosen in a channel: the terminal names the command to type there, not one it cannot run.
  const inTerminal = env.conversation.platform === 'cli';
  const lines = [
    activity
      ? t('notify.activityChannel', { channel: channelName(env, activity.platform, activity.channelId) })
      : t(inTerminal ? 'notify.noActivityChannelTerminal' : 'notify.noActivityChannel', { prefix: env.prefix }),
    ...[...byChannel.values()].map(
      (c) => `• ${t('notify.listRow', { channel: c.name, kinds: [...c.kinds].map(([kind, names]) => t('notify.kindFor', { kind: t(`notify.kind.${kind}`), customers: names.join(', ') })).join('; ') })}`,
    ),
  ];
  if (!byChannel.size) lines.push(t(inTerminal ? 'notify.noneYetTerminal' : 'notify.noneYet', { prefix: env.prefix }));
  return { title: t('notify.listTitle'), lines };
}

/** Sentences sent to a customer contact in a direct chat (its channel is their own ID), named by whom they are for. */
function directChatName(env: OrgEnv, message: OutboxMessage, channelId: string): string | undefined {
  if (!('key' in message && 'person' in message) || message.person.id !== channelId) return undefined;
  return env.t('failures.directChat', { name: String(message.params.contact ?? '?'), id: channelId });
}

async function describeMessage(env: OrgEnv, message: OutboxMessage): Promise<string> {
  if ('key' in message) return truncate(env.t(message.key, message.params), 120);
  if ('requestCard' in message) return env.t('failures.requestCard', { id: message.requestCard.slice(0, 8) });
  if ('refreshRequestCard' in message) return env.t('failures.refreshRequestCard', { id: message.refreshRequestCard.slice(0, 8) });
  if ('decisionNotice' in message) return env.t('failures.decisionNotice', { id: message.decisionNotice.slice(0, 8) });
  if ('azureTodo' in message) return env.t('failures.requestCard', { id: message.azureTodo.slice(0, 8) });
  if ('digest' in message) return env.t('failures.digest', { count: message.digest });
  const [purchase] = await purchasesByIds(env.db, [message.purchase]);
  return env.t('failures.purchase', { order: purchase?.sourceId ?? '?', customer: purchase?.customerName ?? '?' });
}

/** R-N3: deliveries that gave up after their retries, the newest `listed`, with the platform's reason, and a way to send them again. */
export async function notifyFailuresView(env: OrgEnv, retry: boolean, listed = failuresListed): Promise<View> {
  const { t } = env;
  if (retry) {
    const count = await retryFailedDeliveries(coreContext(env));
    return { tone: count ? 'success' : 'info', lines: [t(count ? 'failures.retried' : 'failures.none', { count })] };
  }
  const { rows, total } = await failedDeliveries(env.db, env.org.id, listed);
  if (!total) return { tone: 'info', lines: [t('failures.none')] };
  const lines = await Promise.all(
    rows.map(async (row) =>
      `• ${t('failures.row', {
        date: formatTimestamp(t, row.createdAt),
        channel: directChatName(env, row.message as OutboxMessage, row.channelId) ?? channelName(env, row.platform, row.channelId),
        what: await describeMessage(env, row.message as OutboxMessage),
        attempts: row.attempts,
        reason: row.lastError ?? '?',
      })}`,
    ),
  );
  if (total > rows.length) lines.push(t('failures.more', { count: total - rows.length }));
  return {
    tone: 'warning',
    title: t('failures.title', { count: total }),
    lines,
    actions: [{ id: 'run', label: t('failures.retryButton'), value: commandText({ name: 'notify-failures', retry: true }) }],
  };
}
