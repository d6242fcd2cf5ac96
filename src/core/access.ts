import { and, eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { customerContacts, organizations, staff, type StaffRole } from '../../db/schema.js';
import type { MessageKey } from '../i18n/index.js';
import type { Actor, Organization } from './context.js';
import { DomainError } from './errors.js';

const adminRoles: readonly StaffRole[] = ['global-admin', 'admin-agent'];

/** R-A2/R-A3: toggling permissions and recording facts about customers is for admin agents and global admins. */
export function requireAdmin(actor: Actor, what: MessageKey): Extract<Actor, { kind: 'staff' }> {
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  if (actor.kind === 'staff' && adminRoles.includes(actor.role)) return actor;
  const role = actor.kind === 'staff' ? (`role.${actor.role}` as const) : 'role.contact';
  throw new DomainError('error.roleNeeded', {}, { terms: { role, what } });
}

export function requireStaff(actor: Actor, command: string): Extract<Actor, { kind: 'staff' }> {
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  if (actor.kind !== 'staff') throw new DomainError('error.staffOnly', { command });
  return actor;
}

const orgColumns = {
  id: organizations.id,
  name: organizations.name,
  activityChannelPlatform: organizations.activityChannelPlatform,
  activityChannelId: organizations.activityChannelId,
};

export async function organizationForSlackTeam(db: Database, teamId: string): Promise<Organization | undefined> {
  const [org] = await db.select(orgColumns).from(organizations).where(eq(organizations.slackTeamId, teamId));
  return org;
}

export async function organizationById(db: Database, id: string): Promise<Organization | undefined> {
  const [org] = await db.select(orgColumns).from(organizations).where(eq(organizations.id, id));
  return org;
}

/** R-A1: a chat user is staff, a customer contact, or unknown — looked up inside one organization only (R-A5). */
export async function actorForSlackUser(db: Database, orgId: string, slackUserId: string): Promise<Actor> {
  const [member] = await db
    .select({ id: staff.id, name: staff.name, role: staff.role })
    .from(staff)
    .where(and(eq(staff.orgId, orgId), eq(staff.slackUserId, slackUserId)));
  if (member) return { kind: 'staff', ...member };
  const [contact] = await db
    .select({ id: customerContacts.id, name: customerContacts.name, customerId: customerContacts.customerId })
    .from(customerContacts)
    .where(and(eq(customerContacts.orgId, orgId), eq(customerContacts.slackUserId, slackUserId)));
  return contact ? { kind: 'contact', ...contact } : { kind: 'unknown' };
}

/** The CLI acts as a staff member named by email (and organization name when the email is in several). */
export async function staffByEmail(
  db: Database,
  email: string,
  orgName?: string,
): Promise<{ org: Organization; actor: Actor }> {
  const rows = await db
    .select({ org: orgColumns, id: staff.id, name: staff.name, role: staff.role })
    .from(staff)
    .innerJoin(organizations, eq(staff.orgId, organizations.id))
    .where(eq(staff.email, email.trim().toLowerCase()));
  const matching = orgName ? rows.filter((r) => r.org.name === orgName) : rows;
  if (matching.length === 0) throw new DomainError('error.cliUnknownStaff', { email });
  if (matching.length > 1) throw new DomainError('error.cliAmbiguousStaff', { email });
  const { org, ...member } = matching[0]!;
  return { org, actor: { kind: 'staff', ...member } };
}
