import { and, eq, isNotNull, or, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { customerContacts, notificationSubscriptions, outbox, type NotificationKind } from '../../db/schema.js';
import { storedParams, type MessageKey, type MessageParams } from '../i18n/index.js';
import type { ChatPerson, CoreContext, Organization, Platform } from './context.js';

/** A catalog sentence, rendered when it is sent. */
export interface Announcement {
  key: MessageKey;
  params: MessageParams;
  /** Sentences that follow it, a line each, with the same parameters: guidance such as where invoices are found, or what a customer may now do. */
  then?: MessageKey[];
}

/**
 * What the delivery worker posts, rendered when it is sent: a sentence, a
 * request's approval card as it stands then, or a customer purchase (which a
 * busy channel receives folded into a digest, and then in the digest's thread). `refreshRequestCard` posts
 * nothing new: it updates the card's copies already posted in that channel.
 * `decisionNotice` tells the requester the outcome, in a direct chat with
 * `person` when the channel cannot be posted to.
 */
export type OutboxMessage =
  | Announcement
  /** Sentences for one person, in a direct chat: the row's channel is their own user ID. */
  | (Announcement & { person: ChatPerson })
  | { requestCard: string; reminder?: boolean }
  | { refreshRequestCard: string }
  | { decisionNotice: string; person?: ChatPerson }
  /** An approved reservation change recorded here only: the steps in the Azure portal and the Done in Azure button. */
  | { azureTodo: string }
  | { purchase: string }
  /** Made by the delivery worker: `digest` purchases waiting in one channel, told in one message; each follows as a reply in its thread. */
  | { digest: number };

export interface ChatTarget {
  platform: string;
  channelId: string;
}

type PostTarget = { platform: 'slack' | 'teams'; channelId: string };
const postable = (target: ChatTarget | undefined): target is PostTarget => target?.platform === 'slack' || target?.platform === 'teams';

// Kept as JSON: a sentence's times are stored so they are rendered in each reader's zone when sent.
const storable = (message: OutboxMessage): OutboxMessage => ('key' in message ? { ...message, params: storedParams(message.params) } : message);

/** Queues a message to one chat channel in the caller's transaction (R-N3). */
export async function enqueue(tx: Queryable, orgId: string, target: ChatTarget, message: OutboxMessage): Promise<void> {
  if (postable(target)) await tx.insert(outbox).values({ orgId, platform: target.platform, channelId: target.channelId, message: storable(message) });
}

/** The organization's channel for a purpose, if it set one. */
export function organizationChannel(org: Organization, purpose: 'activity' | 'approvals'): ChatTarget | undefined {
  const [platform, channelId] =
    purpose === 'activity' ? [org.activityChannelPlatform, org.activityChannelId] : [org.approvalsChannelPlatform, org.approvalsChannelId];
  return platform && channelId ? { platform, channelId } : undefined;
}

const targetKey = (t: ChatTarget) => `${t.platform}\u0000${t.channelId}`;

/** Where one event goes: the activity channel, `also`, and the subscribed channels, each once, but never `except`. */
function targetsOf(org: Organization, subscribed: ChatTarget[], event: { also?: ChatTarget; except?: ChatTarget }): PostTarget[] {
  const targets = new Map<string, PostTarget>();
  for (const target of [organizationChannel(org, 'activity'), event.also, ...subscribed]) {
    if (postable(target) && !(event.except && targetKey(event.except) === targetKey(target))) targets.set(targetKey(target), target);
  }
  return [...targets.values()];
}

const enqueueOne = preparedOnce((db) =>
  db
    .insert(outbox)
    .values({ orgId: sql.placeholder('orgId'), platform: sql.placeholder('platform'), channelId: sql.placeholder('channelId'), message: sql.placeholder('message') })
    .prepare('enqueue_outbox_message'),
);

/**
 * R-N1: queues one message to every channel that subscribed to this kind of
 * event (for all customers or for this one) and to the activity channel, which
 * hears everything; `also` adds a channel, `except` leaves out one that
 * already gets its own message. Each channel gets it once.
 */
export async function notify(
  tx: Queryable,
  org: Organization,
  event: { kind: NotificationKind; customerId: string | null; message: OutboxMessage; also?: ChatTarget; except?: ChatTarget },
): Promise<number> {
  // The kind's subscriptions (a prepared statement), then those for all customers or this one.
  const subscribed = (await subscriptionsTo(tx as Database, org.id, event.kind)).filter((s) => s.customerId === null || s.customerId === event.customerId);
  const targets = targetsOf(org, subscribed, event);
  const message = storable(event.message);
  // Usually one channel: a prepared statement; several are one statement built for them.
  if (targets.length === 1) await enqueueOne(tx as Database).execute({ orgId: org.id, platform: targets[0]!.platform, channelId: targets[0]!.channelId, message });
  else if (targets.length) await tx.insert(outbox).values(targets.map((t) => ({ orgId: org.id, platform: t.platform, channelId: t.channelId, message })));
  return targets.length;
}

const subscriptionsOfKind = preparedOnce((db) =>
  db
    .selectDistinct({ platform: notificationSubscriptions.platform, channelId: notificationSubscriptions.channelId, customerId: notificationSubscriptions.customerId })
    .from(notificationSubscriptions)
    .where(and(eq(notificationSubscriptions.orgId, sql.placeholder('orgId')), eq(notificationSubscriptions.kind, sql.placeholder('kind'))))
    .prepare('subscriptions_of_kind'),
);

export type Subscription = { platform: string; channelId: string; customerId: string | null };

/** Every channel subscribed to a kind of event, for all customers or one: read once for many events. */
export function subscriptionsTo(db: Database, orgId: string, kind: NotificationKind): Promise<Subscription[]> {
  return subscriptionsOfKind(db).execute({ orgId, kind });
}

/** Where notify would send an event about this customer, given the subscriptions to its kind. */
export function announcementTargets(org: Organization, subscriptions: Subscription[], customerId: string): PostTarget[] {
  return targetsOf(org, subscriptions.filter((s) => s.customerId === null || s.customerId === customerId), {});
}

/**
 * A change made by a command is announced to the channels that hear its kind;
 * with no activity channel set, also back where the command ran.
 */
export async function announce(tx: Queryable, ctx: CoreContext, kind: NotificationKind, customerId: string | null, announcement: Announcement): Promise<void> {
  const { conversation } = ctx;
  const here = !organizationChannel(ctx.org, 'activity') && conversation.channelId ? { platform: conversation.platform, channelId: conversation.channelId } : undefined;
  await notify(tx, ctx.org, { kind, customerId, message: announcement, also: here });
}

/**
 * Queues sentences to each of the customer's contacts who has a chat user, in a direct chat (R-N3:
 * in the caller's transaction): on the platform the change was made on when they have a user there,
 * else on the one they have. The contact's name is a parameter, so `notify failures` can name them.
 * Returns how many are told.
 */
export async function tellContacts(tx: Queryable, ctx: CoreContext, customerId: string, message: Announcement): Promise<number> {
  const contacts = await tx
    .select({ name: customerContacts.name, slackUserId: customerContacts.slackUserId, teamsAadObjectId: customerContacts.teamsAadObjectId })
    .from(customerContacts)
    .where(
      and(
        eq(customerContacts.orgId, ctx.org.id),
        eq(customerContacts.customerId, customerId),
        or(isNotNull(customerContacts.slackUserId), isNotNull(customerContacts.teamsAadObjectId)),
      ),
    );
  // One statement for them all, as notify does for several channels.
  const rows = contacts.map((contact) => {
    const { platform, person } = directChat(ctx.conversation.platform, contact);
    return { orgId: ctx.org.id, platform, channelId: person.id, message: storable({ ...message, params: { ...message.params, contact: contact.name }, person }) };
  });
  if (rows.length) await tx.insert(outbox).values(rows);
  return contacts.length;
}

function directChat(preferred: Platform, contact: { slackUserId: string | null; teamsAadObjectId: string | null }): { platform: 'slack' | 'teams'; person: ChatPerson } {
  const slack = contact.slackUserId ? { platform: 'slack' as const, person: { id: contact.slackUserId } } : undefined;
  // Only the Entra object ID is kept for a contact: Teams opens a personal chat with it.
  const teams = contact.teamsAadObjectId ? { platform: 'teams' as const, person: { id: contact.teamsAadObjectId, aadObjectId: contact.teamsAadObjectId } } : undefined;
  return (preferred === 'teams' ? (teams ?? slack) : (slack ?? teams))!;
}
