import type { Queryable } from '../../db/client.js';
import { outbox } from '../../db/schema.js';
import type { MessageKey, MessageParams } from '../i18n/index.js';
import type { CoreContext } from './context.js';

/** What the delivery worker posts: a catalog sentence, rendered when it is sent. */
export interface Announcement {
  key: MessageKey;
  params: MessageParams;
}

/**
 * Queues an announcement in the caller's transaction (R-N3): the organization's
 * activity channel if it set one, else the chat channel where the command ran.
 * A command from the terminal with no activity channel has nowhere to announce.
 */
export async function announce(tx: Queryable, ctx: CoreContext, announcement: Announcement): Promise<void> {
  const { org, conversation } = ctx;
  const target =
    org.activityChannelPlatform && org.activityChannelId
      ? { platform: org.activityChannelPlatform, channelId: org.activityChannelId }
      : conversation.platform !== 'cli' && conversation.channelId
        ? { platform: conversation.platform, channelId: conversation.channelId }
        : undefined;
  if (!target) return;
  await tx.insert(outbox).values({
    orgId: org.id,
    platform: target.platform as 'slack' | 'teams',
    channelId: target.channelId,
    message: announcement,
  });
}
