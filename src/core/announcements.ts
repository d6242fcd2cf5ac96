import type { Queryable } from '../../db/client.js';
import { outbox } from '../../db/schema.js';
import type { MessageKey, MessageParams } from '../i18n/index.js';
import type { CoreContext, Organization } from './context.js';

/** A catalog sentence, rendered when it is sent. */
export interface Announcement {
  key: MessageKey;
  params: MessageParams;
}

/** What the delivery worker posts: a sentence, or a request's approval card as it stands when sent. */
export type OutboxMessage = Announcement | { requestCard: string; reminder?: boolean };

export interface ChatTarget {
  platform: string;
  channelId: string;
}

/** Queues a message to one chat channel in the caller's transaction (R-N3). */
export async function enqueue(tx: Queryable, orgId: string, target: ChatTarget, message: OutboxMessage): Promise<void> {
  if (target.platform !== 'slack' && target.platform !== 'teams') return;
  await tx.insert(outbox).values({ orgId, platform: target.platform, channelId: target.channelId, message });
}

/** The organization's channel for a purpose, if it set one. */
export function organizationChannel(org: Organization, purpose: 'activity' | 'approvals'): ChatTarget | undefined {
  const [platform, channelId] =
    purpose === 'activity' ? [org.activityChannelPlatform, org.activityChannelId] : [org.approvalsChannelPlatform, org.approvalsChannelId];
  return platform && channelId ? { platform, channelId } : undefined;
}

/**
 * Queues an announcement in the caller's transaction: the organization's
 * activity channel if it set one, else the chat channel where the command ran.
 * A command from the terminal with no activity channel has nowhere to announce.
 */
export async function announce(tx: Queryable, ctx: CoreContext, announcement: Announcement): Promise<void> {
  const { conversation } = ctx;
  const target = organizationChannel(ctx.org, 'activity') ?? (conversation.channelId ? { platform: conversation.platform, channelId: conversation.channelId } : undefined);
  if (target) await enqueue(tx, ctx.org.id, target, announcement);
}
