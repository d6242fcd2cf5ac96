import { eq } from 'drizzle-orm';
import { organizations } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { requireAdmin } from './access.js';
import type { CoreContext } from './context.js';
import { DomainError } from './errors.js';

export type ChannelPurpose = 'activity' | 'approvals';

/** `channel activity here` / `channel approvals here`: announcements, or request cards, go to this channel from now on. */
export async function setChannel(ctx: CoreContext, purpose: ChannelPurpose): Promise<'set' | 'already'> {
  const actor = requireAdmin(ctx.actor, purpose === 'activity' ? 'what.activityChannel' : 'what.approvalsChannel');
  const { platform, channelId } = ctx.conversation;
  if (platform === 'cli' || !channelId) throw new DomainError('channel.noChannel');
  const current =
    purpose === 'activity'
      ? [ctx.org.activityChannelPlatform, ctx.org.activityChannelId]
      : [ctx.org.approvalsChannelPlatform, ctx.org.approvalsChannelId];
  if (current[0] === platform && current[1] === channelId) return 'already';
  await ctx.db.transaction(async (tx) => {
    await tx
      .update(organizations)
      .set(purpose === 'activity' ? { activityChannelPlatform: platform, activityChannelId: channelId } : { approvalsChannelPlatform: platform, approvalsChannelId: channelId })
      .where(eq(organizations.id, ctx.org.id));
    await recordActivity(tx, { ...ctx, actor }, purpose === 'activity' ? 'activity_channel_set' : 'approvals_channel_set', null, { platform, channel: channelId });
  });
  return 'set';
}
