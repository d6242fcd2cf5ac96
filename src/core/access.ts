import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { customerContacts, organizations, staff, type StaffRole } from '../../db/schema.js';
import type { MessageKey } from '../i18n/index.js';
import { changeCachePerDatabase } from './change-cache.js';
import type { Actor, Organization } from './context.js';
import { DomainError } from './errors.js';

export const adminRoles: readonly StaffRole[] = ['global-admin', 'admin-agent'];

/** R-A2: an admin agent or global admin. */
export const isAdmin = (actor: Actor): boolean => actor.kind === 'staff' && adminRoles.includes(actor.role);

/** R-A2/R-A3: toggling permissions and recording facts about customers is for admin agents and global admins. */
export function requireAdmin(actor: Actor, what: MessageKey): Extract<Actor, { kind: 'staff' }> {
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  if (actor.kind === 'staff' && isAdmin(actor)) return actor;
  const role = actor.kind === 'staff' ? (`role.${actor.role}` as const) : 'role.contact';
  throw new DomainError('error.roleNeeded', {}, { terms: { role, what } });
}

/** Publisher roles, most to least: the owner does everything and decides support requests, a manager edits and publishes audiences, a developer reads. */
const publisherRoles = ['owner', 'manager', 'developer'] as const;
export type PublisherRole = (typeof publisherRoles)[number];

/** A publisher's staff member holding `least` or a higher role; a refusal names the publisher roles that may. */
export function requirePublisherRole(actor: Actor, least: PublisherRole, what: MessageKey): Extract<Actor, { kind: 'staff' }> {
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  const allowed: readonly string[] = publisherRoles.slice(0, publisherRoles.indexOf(least) + 1);
  if (actor.kind === 'staff' && allowed.includes(actor.role)) return actor;
  const role = actor.kind === 'staff' ? (`role.${actor.role}` as const) : 'role.contact';
  throw new DomainError('error.publisherRoleNeeded', { roles: least }, { terms: { role, what } });
}

export function requireStaff(actor: Actor, command: string): Extract<Actor, { kind: 'staff' }> {
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  if (actor.kind !== 'staff') throw new DomainError('error.staffOnly', { command });
  return actor;
}

export const orgColumns = {
  id: organizations.id,
  name: organizations.name,
  kind: organizations.kind,
  cspTenantId: organizations.cspTenantId,
  activityChannelPlatform: organizations.activityChannelPlatform,
  activityChannelId: organizations.activityChannelId,
  approvalsChannelPlatform: organizations.approvalsChannelPlatform,
  approvalsChannelId: organizations.approvalsChannelId,
  locale: organizations.locale,
  timeZone: organizations.timeZone,
};

/**
 * Demo organizations count only where no real one does: a command that names no organization
 * means the partner's own even with the demo beside it, and the demo when it is all there is.
 */
export function realBeforeDemo<T>(rows: T[], isDemo: (row: T) => boolean): T[] {
  const real = rows.filter((row) => !isDemo(row));
  return real.length ? real : rows;
}

/** Builds the identity lookup for one platform: its workspace column and its user columns. */
function identifyQuery(db: Database, platform: ChatPlatform) {
  const workspace = platform === 'slack' ? organizations.slackTeamId : organizations.teamsTenantId;
  const staffUser = platform === 'slack' ? staff.slackUserId : staff.teamsAadObjectId;
  const contactUser = platform === 'slack' ? customerContacts.slackUserId : customerContacts.teamsAadObjectId;
  return db
    .select({
      org: orgColumns,
      staff: { id: staff.id, name: staff.name, role: staff.role, language: staff.language },
      contact: { id: customerContacts.id, name: customerContacts.name, customerId: customerContacts.customerId, language: customerContacts.language },
    })
    .from(organizations)
    .leftJoin(staff, and(eq(staff.orgId, organizations.id), eq(staffUser, sql.placeholder('userId'))))
    .leftJoin(customerContacts, and(eq(customerContacts.orgId, organizations.id), eq(contactUser, sql.placeholder('userId'))))
    .where(eq(workspace, sql.placeholder('workspaceId')))
    .prepare(`identify_${platform}_user`);
}

const identifyQueries = {
  slack: preparedOnce((db) => identifyQuery(db, 'slack')),
  teams: preparedOnce((db) => identifyQuery(db, 'teams')),
};

export type ChatPlatform = 'slack' | 'teams';

/**
 * R-A1, R-A5: who a chat user is, looked up inside the organization their
 * workspace (Slack team, Teams tenant) maps to — staff, a customer contact, or
 * unknown — in one query.
 */
export async function identifyChatUser(
  db: Database,
  platform: ChatPlatform,
  workspaceId: string,
  userId: string,
): Promise<{ org?: Organization; actor: Actor }> {
  const [row] = await identifyQueries[platform](db).execute({ workspaceId, userId });
  if (!row) return { actor: { kind: 'unknown' } };
  if (row.staff) return { org: row.org, actor: { kind: 'staff', ...row.staff } };
  if (row.contact) return { org: row.org, actor: { kind: 'contact', ...row.contact } };
  return { org: row.org, actor: { kind: 'unknown' } };
}

type ChatIdentity = { org?: Organization; actor: Actor };
/** Identities read from these tables, kept until one of them changes (src/core/change-cache.ts). */
const identities = changeCachePerDatabase<ChatIdentity>(['organizations', 'staff', 'customer_contacts']);

/**
 * identifyChatUser, answered from memory until the organization, its staff or its contacts change: for
 * what only reads. A change (a click, a typed command that writes) asks identifyChatUser itself, so a
 * role removed a moment ago is never acted on before its notification arrived.
 */
export function cachedChatIdentity(db: Database, platform: ChatPlatform, workspaceId: string, userId: string): Promise<ChatIdentity> {
  const cache = identities(db);
  const read = () => identifyChatUser(db, platform, workspaceId, userId).then(frozen);
  return cache ? cache.read(`${platform}\u0000${workspaceId}\u0000${userId}`, read) : read();
}

/** A kept identity is shared by every request that reads it. */
const frozen = (identity: ChatIdentity): ChatIdentity =>
  Object.freeze({ ...(identity.org ? { org: Object.freeze(identity.org) } : {}), actor: Object.freeze(identity.actor) });

/** The CLI acts as a staff member named by email (and organization name when the email is in several real ones). */
export async function staffByEmail(
  db: Database,
  email: string,
  orgName?: string,
): Promise<{ org: Organization; actor: Actor }> {
  const rows = await db
    .select({ org: orgColumns, demo: organizations.demo, id: staff.id, name: staff.name, role: staff.role, language: staff.language })
    .from(staff)
    .innerJoin(organizations, eq(staff.orgId, organizations.id))
    .where(eq(staff.email, email.trim().toLowerCase()));
  const matching = orgName ? rows.filter((r) => r.org.name === orgName) : realBeforeDemo(rows, (r) => r.demo);
  if (matching.length === 0) throw new DomainError('error.cliUnknownStaff', { email });
  if (matching.length > 1) throw new DomainError('error.cliAmbiguousStaff', { email });
  const { org, demo: _demo, ...member } = matching[0]!;
  return { org, actor: { kind: 'staff', ...member } };
}
