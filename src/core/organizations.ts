import { eq } from 'drizzle-orm';
import { organizations } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { requireAdmin } from './access.js';
import type { CoreContext } from './context.js';
import { DomainError } from './errors.js';

/** `channel activity here`: announcements go to this channel from now on. */
export async function setActivityChannel(ctx: CoreContext): Promise<'set' | 'already'> {
  const actor = requireAdmin(ctx.actor, 'what.activityChannel');
  const { platform, channelId } = ctx.conversation;
  if (platform === 'cli' || !channelId) throw new DomainError('channel.noChannel');
  if (ctx.org.activityChannelPlatform === platform && ctx.org.activityChannelId === channelId) return 'already';
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(organizations)
      .set({ activityChannelPlatform: platform, activityChannelId: channelId })
      .where(eq(organizations.id, ctx.org.id));
    await recordActivity(tx, { ...ctx, actor }, 'activity_channel_set', null, { platform, channel: channelId });
  });
  return 'set';
}
