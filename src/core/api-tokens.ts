import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { coalesce } from '../coalesce.js';
import { apiTokens, offers, organizations } from '../../db/schema.js';
import { orgColumns } from './access.js';
import type { Organization } from './context.js';
import { DomainError } from './errors.js';

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * A new bearer token, shown once (only its hash is stored): for the organization's purchase intake, or,
 * with a publisher's name, for that publisher's SaaS activations (the fulfillment endpoint).
 */
export async function createApiToken(db: Database, orgId: string, name: string, publisherName?: string): Promise<{ id: string; token: string }> {
  const token = `csp_${randomBytes(32).toString('base64url')}`;
  const [row] = await db.insert(apiTokens).values({ orgId, name, tokenHash: hash(token), publisherName: publisherName ?? null }).returning({ id: apiTokens.id });
  return { id: row!.id, token };
}

export async function listApiTokens(db: Database, orgId: string) {
  return db
    .select({ id: apiTokens.id, name: apiTokens.name, publisherName: apiTokens.publisherName, createdAt: apiTokens.createdAt, lastUsedAt: apiTokens.lastUsedAt, revokedAt: apiTokens.revokedAt })
    .from(apiTokens)
    .where(eq(apiTokens.orgId, orgId))
    .orderBy(asc(apiTokens.createdAt));
}

/**
 * The publisher a publisher organization's tokens act for: the one its offers name. A publisher takes no
 * purchases, so its tokens are for SaaS activations only; with no offers, or offers of several publishers, it is asked.
 */
export async function ownPublisherName(db: Database, org: Organization): Promise<string> {
  const names = await db.selectDistinct({ name: offers.publisherName }).from(offers).where(eq(offers.publisherOrgId, org.id)).orderBy(asc(offers.publisherName));
  if (names.length === 1) return names[0]!.name;
  throw new DomainError('apiToken.publisherNeeded', { org: org.name, names: names.map((n) => n.name).join(', ') || '—' });
}

export async function revokeApiToken(db: Database, orgId: string, id: string): Promise<void> {
  const rows = /^[0-9a-f-]{36}$/i.test(id)
    ? await db.update(apiTokens).set({ revokedAt: new Date() }).where(and(eq(apiTokens.orgId, orgId), eq(apiTokens.id, id), isNull(apiTokens.revokedAt))).returning()
    : [];
  if (!rows.length) throw new DomainError('apiToken.unknown', { id });
}

/** Per database: its token lookups, made together. */
const lookups = new WeakMap<Database, (hashed: string) => Promise<Organization | undefined>>();

/**
 * The organization a bearer token belongs to, or undefined for a wrong or revoked token. Lookups
 * asked for while one runs go to the database together in the next query, which starts after they
 * were asked: a token revoked before a request came is refused, and a busy intake spends one query
 * where it would have spent one per request.
 */
export function organizationForToken(db: Database, token: string): Promise<Organization | undefined> {
  let lookUp = lookups.get(db);
  if (!lookUp) {
    lookUp = coalesce(async (hashes: string[]) => {
      const found = await lookUpTokens(db, [...new Set(hashes)]);
      return hashes.map((hashed) => found.get(hashed));
    });
    lookups.set(db, lookUp);
  }
  return lookUp(hash(token));
}

const intakeTokens = preparedOnce((db) =>
  db
    .select({ id: apiTokens.id, tokenHash: apiTokens.tokenHash, lastUsedAt: apiTokens.lastUsedAt, org: orgColumns })
    .from(apiTokens)
    .innerJoin(organizations, eq(organizations.id, apiTokens.orgId))
    .where(and(sql`${apiTokens.tokenHash} = any(${sql.placeholder('hashes')})`, isNull(apiTokens.revokedAt), isNull(apiTokens.publisherName)))
    .prepare('intake_tokens'),
);

async function lookUpTokens(db: Database, hashes: string[]): Promise<Map<string, Organization>> {
  const rows = await intakeTokens(db).execute({ hashes });
  // Stamped at most once a minute, so a busy intake does not queue on one row.
  const stale = rows.filter((row) => !row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000).map((row) => row.id);
  if (stale.length) await db.update(apiTokens).set({ lastUsedAt: new Date() }).where(sql`${apiTokens.id} = any(${sql.param(stale)}::uuid[])`);
  return new Map(rows.map((row) => [row.tokenHash, row.org]));
}

/** A publisher token's publisher, and the organization that issued it. */
export interface TokenPublisher {
  name: string;
  orgId: string;
  orgKind: 'partner' | 'publisher';
}

/** The publisher a publisher token acts for (SaaS activations), or undefined. */
export async function publisherForToken(db: Database, token: string): Promise<TokenPublisher | undefined> {
  const [row] = await db
    .select({ name: apiTokens.publisherName, orgId: apiTokens.orgId, orgKind: organizations.kind })
    .from(apiTokens)
    .innerJoin(organizations, eq(organizations.id, apiTokens.orgId))
    .where(and(eq(apiTokens.tokenHash, hash(token)), isNull(apiTokens.revokedAt), isNotNull(apiTokens.publisherName)));
  return row ? { ...row, name: row.name! } : undefined;
}
