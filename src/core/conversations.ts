import { and, desc, eq, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { organizations, teamsConversations, teamsPrivateViews } from '../../db/schema.js';
import { isUuid } from './customers.js';

export interface TeamsConversation {
  conversationId: string;
  serviceUrl: string;
  conversationType?: string;
}

/** Remembers where a Teams conversation is served, so announcements can be posted there later. */
export async function rememberTeamsConversation(db: Database, orgId: string, conversation: TeamsConversation): Promise<void> {
  const row = { orgId, conversationId: conversation.conversationId, serviceUrl: conversation.serviceUrl, conversationType: conversation.conversationType ?? null };
  await db
    .insert(teamsConversations)
    .values(row)
    .onConflictDoUpdate({ target: [teamsConversations.orgId, teamsConversations.conversationId], set: { ...row, updatedAt: sql`now()` } });
}

export async function teamsConversation(db: Database, orgId: string, conversationId: string): Promise<TeamsConversation | undefined> {
  const [row] = await db
    .select({ conversationId: teamsConversations.conversationId, serviceUrl: teamsConversations.serviceUrl, conversationType: teamsConversations.conversationType })
    .from(teamsConversations)
    .where(and(eq(teamsConversations.orgId, orgId), eq(teamsConversations.conversationId, conversationId)));
  return row && { conversationId: row.conversationId, serviceUrl: row.serviceUrl, ...(row.conversationType ? { conversationType: row.conversationType } : {}) };
}

/** Where the organization's Teams conversations were last served: a personal chat with one of its users is opened there. */
export async function teamsServiceUrl(db: Database, orgId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ serviceUrl: teamsConversations.serviceUrl })
    .from(teamsConversations)
    .where(eq(teamsConversations.orgId, orgId))
    .orderBy(desc(teamsConversations.updatedAt))
    .limit(1);
  return row?.serviceUrl;
}

/** How long an answer shown to one person stays retrievable; older ones are dropped as new ones are kept. */
const privateViewDays = 30;

/** Keeps a card shown only to its asker (a Teams user-specific view), and the card everyone else sees. */
export async function keepPrivateView(db: Database, view: { id: string; orgId: string; userAadObjectId: string; card: unknown; sharedCard: unknown }): Promise<void> {
  await db.delete(teamsPrivateViews).where(and(eq(teamsPrivateViews.orgId, view.orgId), lt(teamsPrivateViews.createdAt, sql`now() - make_interval(days => ${privateViewDays})`)));
  await db.insert(teamsPrivateViews).values(view);
}

/** The card this user sees: the asker's own, or what everyone else sees; undefined for an unknown or expired ID. */
export async function privateView(db: Database, orgId: string, id: string, userAadObjectId: string): Promise<unknown> {
  if (!isUuid(id)) return undefined;
  const [row] = await db
    .select({ card: teamsPrivateViews.card, sharedCard: teamsPrivateViews.sharedCard, asker: teamsPrivateViews.userAadObjectId })
    .from(teamsPrivateViews)
    .where(and(eq(teamsPrivateViews.id, id), eq(teamsPrivateViews.orgId, orgId)));
  return row && (row.asker === userAadObjectId ? row.card : row.sharedCard);
}

/** After a click on the asker's card, their card shows the outcome from then on. */
export async function replacePrivateView(db: Database, orgId: string, id: string, userAadObjectId: string, card: unknown): Promise<void> {
  if (!isUuid(id)) return;
  await db
    .update(teamsPrivateViews)
    .set({ card, updatedAt: sql`now()` })
    .where(and(eq(teamsPrivateViews.id, id), eq(teamsPrivateViews.orgId, orgId), eq(teamsPrivateViews.userAadObjectId, userAadObjectId)));
}

/** The organization's Microsoft Entra tenant, which a new Teams conversation is created in. */
export async function teamsTenantOf(db: Database, orgId: string): Promise<string | undefined> {
  const [row] = await db.select({ tenantId: organizations.teamsTenantId }).from(organizations).where(eq(organizations.id, orgId));
  return row?.tenantId ?? undefined;
}
