import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { organizations, teamsConversations } from '../../db/schema.js';

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
    .select({ conversationId: teamsConversations.conversationId, serviceUrl: teamsConversations.serviceUrl })
    .from(teamsConversations)
    .where(and(eq(teamsConversations.orgId, orgId), eq(teamsConversations.conversationId, conversationId)));
  return row;
}

/** The organization's Microsoft Entra tenant, which a new Teams conversation is created in. */
export async function teamsTenantOf(db: Database, orgId: string): Promise<string | undefined> {
  const [row] = await db.select({ tenantId: organizations.teamsTenantId }).from(organizations).where(eq(organizations.id, orgId));
  return row?.tenantId ?? undefined;
}
