import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { and, eq, isNull, lte } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { partnerCenterConnections } from '../../db/schema.js';
import { enqueue, organizationChannel } from '../core/announcements.js';
import type { Logger } from '../log.js';
import { connectedOrganizations } from './audit.js';

const dayMs = 24 * 60 * 60 * 1000;
/** Microsoft Entra refresh tokens lapse 90 days after they were issued unless a newer one replaces them. */
export const refreshTokenLifetimeMs = 90 * dayMs;
/** The warning comes this long before that. */
export const expiryWarningMs = 14 * dayMs;

/** Where the connector keeps the newest refresh token, and what it learns about it from Microsoft Entra. */
export interface RefreshTokenStore {
  /** The token to send: the newest one kept, or the settings' one when none is (or when the settings hold a new one). */
  newest(initial: string): Promise<string>;
  /** Entra answered with a new refresh token. */
  rotated(token: string): Promise<void>;
  /** Entra refused the token (invalid_grant): revoked, lapsed, or the consenting user's password or MFA was reset. */
  refused(code: string, description: string): Promise<void>;
}

/** AES-256-GCM with a key setting (PARTNER_CENTER_TOKEN_KEY, SLACK_TOKEN_KEY: 32 bytes, base64 or hex). */
export function tokenCipher(key: Buffer) {
  if (key.length !== 32) throw new Error('a token key must be 32 bytes');
  return {
    seal(plain: string): string {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return ['v1', iv, cipher.getAuthTag(), data].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
    },
    open(sealed: string): string {
      const [version, iv, tag, data] = sealed.split('.');
      if (version !== 'v1' || !iv || !tag || data === undefined) throw new Error('not a sealed token');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString('utf8');
    },
  };
}
export type TokenCipher = ReturnType<typeof tokenCipher>;

/** The key setting's bytes: 32 bytes written as base64 (44 characters) or hex (64). */
export function tokenKeyBytes(setting: string): Buffer | undefined {
  const bytes = /^[0-9a-f]{64}$/i.test(setting) ? Buffer.from(setting, 'hex') : Buffer.from(setting, 'base64');
  return bytes.length === 32 ? bytes : undefined;
}

const hash = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Keeps the tenant's newest refresh token sealed in the database, so a restart (or the CLI)
 * uses it rather than the settings' first one. A refusal, and a token 14 days from lapsing, are
 * announced once in the activity channel of each organization the connector acts for.
 */
export function databaseTokenStore(db: Database, tenantId: string, cipher: TokenCipher, log: Logger, onAnnounce: () => void = () => {}): RefreshTokenStore {
  const where = eq(partnerCenterConnections.tenantId, tenantId);
  return {
    async newest(initial) {
      const [row] = await db.select().from(partnerCenterConnections).where(where);
      if (row && row.seedHash === hash(initial)) {
        try {
          return cipher.open(row.sealedRefreshToken);
        } catch {
          log.warn('Partner Center: the stored refresh token cannot be opened with PARTNER_CENTER_TOKEN_KEY (was the key changed?); PARTNER_CENTER_REFRESH_TOKEN is used instead');
        }
      }
      // None kept yet, or the settings hold a token from a new consent: the chain starts again from it.
      const fresh = { sealedRefreshToken: cipher.seal(initial), seedHash: hash(initial), receivedAt: new Date(), refusedAt: null, refusal: null, expiryWarnedAt: null };
      await db.insert(partnerCenterConnections).values({ tenantId, ...fresh }).onConflictDoUpdate({ target: partnerCenterConnections.tenantId, set: fresh });
      return initial;
    },
    async rotated(token) {
      await db
        .update(partnerCenterConnections)
        .set({ sealedRefreshToken: cipher.seal(token), receivedAt: new Date(), refusedAt: null, refusal: null, expiryWarnedAt: null })
        .where(where);
    },
    async refused(code, description) {
      const refusal = `${code}: ${description.split('\n')[0]}`;
      log.warn(`Partner Center: Microsoft Entra refused the refresh token (${refusal}); the partner must consent again (README, "Connect to Partner Center")`);
      const announced = await db.transaction(async (tx) => {
        // Announced once per refusal: the first process to record it does.
        const [changed] = await tx
          .update(partnerCenterConnections)
          .set({ refusedAt: new Date(), refusal })
          .where(and(where, isNull(partnerCenterConnections.refusedAt)))
          .returning({ tenantId: partnerCenterConnections.tenantId });
        if (!changed) return false;
        for (const org of await connectedOrganizations(tx, tenantId)) {
          const channel = organizationChannel(org, 'activity');
          if (channel) await enqueue(tx, org.id, channel, { key: 'connector.tokenRefusedNotice', params: { tenant: tenantId, reason: refusal } });
        }
        return true;
      });
      if (announced) onAnnounce();
    },
  };
}

/** A store for a connector without a database (or without the key setting): the newest token lives as long as the process. */
export function memoryTokenStore(): RefreshTokenStore {
  let held: string | undefined;
  return {
    newest: async (initial) => held ?? initial,
    rotated: async (token) => void (held = token),
    refused: async () => {},
  };
}

export interface RefreshTokenState {
  receivedAt: Date;
  expiresAt: Date;
  refusedAt?: Date;
  refusal?: string;
}

/** What is known about the tenant's refresh token, for `connector status`. */
export async function refreshTokenState(db: Database, tenantId: string): Promise<RefreshTokenState | undefined> {
  const [row] = await db.select().from(partnerCenterConnections).where(eq(partnerCenterConnections.tenantId, tenantId));
  if (!row) return undefined;
  return {
    receivedAt: row.receivedAt,
    expiresAt: new Date(row.receivedAt.getTime() + refreshTokenLifetimeMs),
    ...(row.refusedAt ? { refusedAt: row.refusedAt, refusal: row.refusal ?? '' } : {}),
  };
}

/**
 * Announces once, in each connected organization's activity channel, that the token held lapses
 * within 14 days: csp-ops renews it with every token request, so this means none succeeded lately.
 */
export async function warnExpiringRefreshToken(db: Database, tenantId: string, now = new Date()): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(partnerCenterConnections)
      .set({ expiryWarnedAt: now })
      .where(
        and(
          eq(partnerCenterConnections.tenantId, tenantId),
          isNull(partnerCenterConnections.expiryWarnedAt),
          isNull(partnerCenterConnections.refusedAt),
          lte(partnerCenterConnections.receivedAt, new Date(now.getTime() - refreshTokenLifetimeMs + expiryWarningMs)),
        ),
      )
      .returning({ receivedAt: partnerCenterConnections.receivedAt });
    if (!row) return false;
    const expires = new Date(row.receivedAt.getTime() + refreshTokenLifetimeMs);
    for (const org of await connectedOrganizations(tx, tenantId)) {
      const channel = organizationChannel(org, 'activity');
      if (channel) await enqueue(tx, org.id, channel, { key: 'connector.tokenExpiringNotice', params: { tenant: tenantId, date: expires } });
    }
    return true;
  });
}

