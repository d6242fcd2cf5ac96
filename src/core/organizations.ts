import { asc, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { organizations } from '../../db/schema.js';
import { orgColumns, realBeforeDemo, requireAdmin } from './access.js';
import { recordActivity } from './activity.js';
import type { CoreContext, Organization } from './context.js';
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

/**
 * The organization a terminal command means: the one named (a demo one too); else, for the Partner
 * Center connector's commands, the partner organization naming its tenant as CSP tenant (R-A5), however
 * many demo or publisher organizations are stored; else the only real partner organization there is, or
 * the only demo one when no real one is stored (publishers take no purchases).
 */
export async function organizationNamed(db: Database, name: string | undefined, connectedTenant?: string): Promise<Organization> {
  const all = await db.select({ ...orgColumns, demo: organizations.demo }).from(organizations).orderBy(asc(organizations.name));
  const partners = all.filter((o) => o.kind === 'partner');
  const connected = connectedTenant ? partners.filter((o) => o.cspTenantId?.toLowerCase() === connectedTenant.toLowerCase()) : [];
  const matching = name !== undefined ? all.filter((o) => o.name === name) : connected.length ? connected : realBeforeDemo(partners, (o) => o.demo);
  if (matching.length === 1) {
    const { demo: _demo, ...org } = matching[0]!;
    return org;
  }
  const names = all.map((o) => o.name).join(', ') || '—';
  throw new DomainError(name === undefined && all.length ? 'error.cliWhichOrg' : 'error.cliUnknownOrg', { name: name ?? '', names });
}
