import { createHash, randomInt } from 'node:crypto';
import { and, eq, gt, isNull, ne } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { organizations, slackInstallations, slackLinkCodes } from '../../db/schema.js';
import { DomainError } from './errors.js';

/** How long a link code can start an install. */
export const linkCodeLifetimeMs = 60 * 60 * 1000;

/** Crockford's base32: no I, L, O or U, so a code read aloud or retyped is not mistaken. */
const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The hash a typed code is kept and looked up by: case, spaces and dashes do not matter, O reads as 0, I and L as 1. */
export function linkCodeHash(typed: string): string {
  const code = typed.normalize('NFKC').toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return createHash('sha256').update(code).digest('hex');
}

/** A new single-use code (ten characters, 50 bits) linking the workspace that installs with it to the organization. */
export async function createSlackLinkCode(db: Database, orgId: string, now = new Date()): Promise<{ code: string; expiresAt: Date }> {
  const raw = Array.from({ length: 10 }, () => alphabet[randomInt(alphabet.length)]).join('');
  const expiresAt = new Date(now.getTime() + linkCodeLifetimeMs);
  await db.insert(slackLinkCodes).values({ codeHash: linkCodeHash(raw), orgId, expiresAt });
  return { code: `${raw.slice(0, 5)}-${raw.slice(5)}`, expiresAt };
}

/** Whether a code (by its hash) can still start an install: known, unused and unexpired. */
export async function slackLinkCodeUsable(db: Database, codeHash: string, now = new Date()): Promise<boolean> {
  const [row] = await db
    .select({ orgId: slackLinkCodes.orgId })
    .from(slackLinkCodes)
    .where(and(eq(slackLinkCodes.codeHash, codeHash), isNull(slackLinkCodes.usedAt), gt(slackLinkCodes.expiresAt, now)));
  return Boolean(row);
}

export interface SlackWorkspaceInstall {
  codeHash: string;
  teamId: string;
  teamName?: string;
  scopes: string;
  installedBy: string;
  /** The installation, tokens included, sealed by the caller: the core never sees a token. */
  sealedInstallation: string;
}

/**
 * Links the installing workspace to the organization its code names, in one transaction: the code is
 * used (compare-and-set, so one code links one workspace), the organization's slack_team_id becomes the
 * workspace and the sealed installation is kept. An organization moving to another workspace leaves no
 * token behind for the old one. A workspace linked to another organization is refused and the code stays unused.
 */
export async function linkSlackWorkspace(db: Database, install: SlackWorkspaceInstall, now = new Date()): Promise<{ orgName: string; previousTeamId: string | null }> {
  const { codeHash, teamId, ...details } = install;
  return db.transaction(async (tx) => {
    const [code] = await tx
      .update(slackLinkCodes)
      .set({ usedAt: now, usedByTeamId: teamId })
      .where(and(eq(slackLinkCodes.codeHash, codeHash), isNull(slackLinkCodes.usedAt), gt(slackLinkCodes.expiresAt, now)))
      .returning({ orgId: slackLinkCodes.orgId });
    if (!code) throw new DomainError('slackInstall.codeRefused');
    const [taken] = await tx.select({ id: organizations.id }).from(organizations).where(and(eq(organizations.slackTeamId, teamId), ne(organizations.id, code.orgId)));
    if (taken) throw new DomainError('slackInstall.otherOrganization', { team: install.teamName ?? teamId });
    const [org] = await tx.select({ name: organizations.name, slackTeamId: organizations.slackTeamId }).from(organizations).where(eq(organizations.id, code.orgId)).for('update');
    const previousTeamId = org!.slackTeamId !== teamId ? org!.slackTeamId : null;
    if (previousTeamId) await tx.delete(slackInstallations).where(eq(slackInstallations.teamId, previousTeamId));
    await tx.update(organizations).set({ slackTeamId: teamId }).where(eq(organizations.id, code.orgId));
    const row = { orgId: code.orgId, ...details, teamName: details.teamName ?? null, installedAt: now };
    await tx.insert(slackInstallations).values({ teamId, ...row }).onConflictDoUpdate({ target: slackInstallations.teamId, set: row });
    return { orgName: org!.name, previousTeamId };
  });
}

/** The sealed installation of a workspace. */
export async function slackInstallation(db: Database, teamId: string): Promise<string | undefined> {
  const [row] = await db.select({ sealed: slackInstallations.sealedInstallation }).from(slackInstallations).where(eq(slackInstallations.teamId, teamId));
  return row?.sealed;
}

/** The sealed installation of the workspace the organization is linked to (its slack_team_id), if it is installed. */
export async function organizationSlackInstallation(db: Database, orgId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ sealed: slackInstallations.sealedInstallation })
    .from(organizations)
    .innerJoin(slackInstallations, eq(slackInstallations.teamId, organizations.slackTeamId))
    .where(eq(organizations.id, orgId));
  return row?.sealed;
}

/** The name of the organization a workspace is linked to. */
export async function slackWorkspaceOrganization(db: Database, teamId: string): Promise<string | undefined> {
  const [row] = await db.select({ name: organizations.name }).from(organizations).where(eq(organizations.slackTeamId, teamId));
  return row?.name;
}

/** Forgets a workspace's installation (uninstalled, or its bot token revoked); the organization stays linked to it. */
export async function removeSlackInstallation(db: Database, teamId: string): Promise<{ teamName: string | null } | undefined> {
  const [row] = await db.delete(slackInstallations).where(eq(slackInstallations.teamId, teamId)).returning({ teamName: slackInstallations.teamName });
  return row;
}
