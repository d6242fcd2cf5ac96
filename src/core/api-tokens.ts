import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
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

interface TokenLookup {
  resolve: (org: Organization | undefined) => void;
  reject: (error: unknown) => void;
}

/** Per database: the token hashes asked for during this turn of the event loop, and who asked. */
const lookups = new WeakMap<Database, Map<string, TokenLookup[]>>();

/**
 * The organization a bearer token belongs to, or undefined for a wrong or revoked token. The
 * lookups asked for in one turn of the event loop go to the database as one query, issued after
 * all of them arrived: each still reads the tokens as they stand after it was asked (a token
 * revoked before that is refused), and a busy intake spends one query, not one per request.
 */
export function organizationForToken(db: Database, token: string): Promise<Organization | undefined> {
  let asked = lookups.get(db);
  if (!asked) {
    const batch = new Map<string, TokenLookup[]>();
    lookups.set(db, (asked = batch));
    setImmediate(() => {
      lookups.delete(db);
      lookUpTokens(db, [...batch.keys()]).then(
        (found) => batch.forEach((waiting, hashed) => waiting.forEach((w) => w.resolve(found.get(hashed)))),
        (error) => batch.forEach((waiting) => waiting.forEach((w) => w.reject(error))),
      );
    });
  }
  const hashed = hash(token);
  return new Promise((resolve, reject) => {
    const waiting = asked.get(hashed) ?? [];
    asked.set(hashed, waiting.concat({ resolve, reject }));
  });
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
