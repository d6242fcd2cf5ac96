import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { channelLanguages, customerContacts, organizations, slackUserLocales, staff } from '../../db/schema.js';
import { canonicalTimeZone, catalogLocale, translator, type Locale, type Translate } from '../i18n/index.js';
import { requireAdmin, requirePublisherRole } from './access.js';
import { changeCachePerDatabase } from './change-cache.js';
import { recordActivity } from './activity.js';
import type { Actor, CoreContext, Organization } from './context.js';
import { DomainError } from './errors.js';

type LanguageSource = 'user' | 'platform' | 'organization';

/** The organization's defaults; a hand-built organization without them speaks English in UTC. */
export const organizationLocale = (org: Organization | undefined): Locale => catalogLocale(org?.locale) ?? 'en';
export const organizationTimeZone = (org: Organization | undefined): string => org?.timeZone ?? 'UTC';

/** Whom a reply speaks to: their own choice, else their Slack or Teams language, else the organization's. */
export function readerLanguage(org: Organization | undefined, actor: Actor, platformLocale?: string | null): { locale: Locale; source: LanguageSource } {
  const own = actor.kind === 'unknown' ? undefined : catalogLocale(actor.language);
  if (own) return { locale: own, source: 'user' };
  const platform = catalogLocale(platformLocale);
  if (platform) return { locale: platform, source: 'platform' };
  return { locale: organizationLocale(org), source: 'organization' };
}

export function readerTranslator(org: Organization | undefined, actor: Actor, platformLocale?: string | null): Translate {
  return translator(readerLanguage(org, actor, platformLocale).locale, organizationTimeZone(org));
}

/** `language ko-KR|zh-TW|en|auto`: anyone known to the organization keeps their own choice; auto clears it. */
export async function setOwnLanguage(ctx: CoreContext, value: string): Promise<Locale | null> {
  const language = value.toLowerCase() === 'auto' ? null : catalogLocale(value);
  if (language === undefined) throw new DomainError('language.usage', { value: value.slice(0, 40) });
  const { actor } = ctx;
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  const table = actor.kind === 'staff' ? staff : customerContacts;
  await ctx.db.update(table).set({ language }).where(and(eq(table.orgId, ctx.org.id), eq(table.id, actor.id)));
  return language;
}

/** `channel language …` (admins): what csp-ops posts in this channel is in that language; `organization` follows the organization's. */
export async function setChannelLanguage(ctx: CoreContext, value: string): Promise<Locale | null> {
  requireAdmin(ctx.actor, 'what.channelLanguage');
  const language = value.toLowerCase() === 'organization' ? null : catalogLocale(value);
  if (language === undefined) throw new DomainError('channel.languageUsage', { value: value.slice(0, 40) });
  const { platform, channelId } = ctx.conversation;
  if (platform === 'cli' || !channelId) throw new DomainError('channel.noChannel');
  const channel = and(eq(channelLanguages.orgId, ctx.org.id), eq(channelLanguages.platform, platform), eq(channelLanguages.channelId, channelId));
  if (language === null) await ctx.db.delete(channelLanguages).where(channel);
  else {
    await ctx.db
      .insert(channelLanguages)
      .values({ orgId: ctx.org.id, platform, channelId, locale: language })
      .onConflictDoUpdate({ target: [channelLanguages.orgId, channelLanguages.platform, channelLanguages.channelId], set: { locale: language } });
  }
  return language;
}

/**
 * How csp-ops writes in a channel: the channel's language or the organization's, in the organization's zone.
 * A direct chat with a customer contact (the channel is their Slack user ID or Entra object ID) is in their own language first.
 */
export async function channelTranslator(db: Database, orgId: string, platform: string, channelId: string): Promise<Translate> {
  const contactUser = platform === 'teams' ? customerContacts.teamsAadObjectId : customerContacts.slackUserId;
  const [row] = await db
    .select({ locale: organizations.locale, timeZone: organizations.timeZone, channel: channelLanguages.locale, contact: customerContacts.language })
    .from(organizations)
    .leftJoin(channelLanguages, and(eq(channelLanguages.orgId, organizations.id), sql`${channelLanguages.platform} = ${platform}`, eq(channelLanguages.channelId, channelId)))
    .leftJoin(customerContacts, and(eq(customerContacts.orgId, organizations.id), eq(contactUser, channelId)))
    .where(eq(organizations.id, orgId));
  return translator(catalogLocale(row?.channel) ?? catalogLocale(row?.contact) ?? catalogLocale(row?.locale) ?? 'en', row?.timeZone ?? 'UTC');
}

/** `settings locale …` / `settings time-zone …`: a global admin (a publisher's owner) changes the organization's defaults. */
export async function changeSetting(ctx: CoreContext, setting: 'locale' | 'time-zone', value: string): Promise<'changed' | 'unchanged'> {
  const actor = ctx.org.kind === 'publisher' ? requirePublisherRole(ctx.actor, 'owner', 'what.settings') : requireGlobalAdmin(ctx.actor);
  const columns =
    setting === 'locale'
      ? { locale: catalogLocale(value) ?? invalid('settings.badLocale', value) }
      : { timeZone: canonicalTimeZone(value) ?? invalid('settings.badTimeZone', value) };
  const [current] = await ctx.db.select({ locale: organizations.locale, timeZone: organizations.timeZone }).from(organizations).where(eq(organizations.id, ctx.org.id));
  if (current && Object.entries(columns).every(([name, v]) => current[name as keyof typeof current] === v)) return 'unchanged';
  await ctx.db.transaction(async (tx) => {
    await tx.update(organizations).set(columns).where(eq(organizations.id, ctx.org.id));
    await recordActivity(tx, { ...ctx, actor }, 'settings_changed', null, { setting, value: Object.values(columns)[0]! });
  });
  return 'changed';
}

function requireGlobalAdmin(actor: Actor): Extract<Actor, { kind: 'staff' }> {
  if (actor.kind === 'unknown') throw new DomainError('error.unknownUser');
  if (actor.kind === 'staff' && actor.role === 'global-admin') return actor;
  throw new DomainError('error.globalAdminNeeded', {}, { terms: { role: actor.kind === 'staff' ? `role.${actor.role}` : 'role.contact', what: 'what.settings' } });
}

function invalid(key: 'settings.badLocale' | 'settings.badTimeZone', value: string): never {
  throw new DomainError(key, { value: value.slice(0, 60) });
}

const localeRefreshMs = 24 * 60 * 60 * 1000;
const slackLookups = new Map<string, Promise<string | null>>();
type LocaleRow = typeof slackUserLocales.$inferSelect;
/** Each user's row of slack_user_locales, kept until the table changes (src/core/change-cache.ts). */
const knownLocales = changeCachePerDatabase<LocaleRow | null>(['slack_user_locales']);

async function storedLocale(db: Database, userId: string): Promise<LocaleRow | undefined> {
  const read = async () => (await db.select().from(slackUserLocales).where(eq(slackUserLocales.userId, userId)))[0] ?? null;
  const cache = knownLocales(db);
  return (await (cache ? cache.read(userId, read) : read())) ?? undefined;
}

/**
 * A Slack user's language: users.info (include_locale) is asked once, then again at most daily;
 * a stale value answers at once while it is read again. Lookups for one user share one request.
 */
export async function slackUserLocale(db: Database, userId: string, lookup: (userId: string) => Promise<string | null>, now = new Date()): Promise<string | null> {
  const cached = await storedLocale(db, userId);
  const fresh = cached && now.getTime() - cached.fetchedAt.getTime() < localeRefreshMs;
  if (fresh) return cached.locale;
  let pending = slackLookups.get(userId);
  if (!pending) {
    // A failed lookup (no users:read scope, Slack down) counts as no locale until the next daily try.
    pending = lookup(userId)
      .catch(() => null)
      .then(async (locale) => {
        await db
          .insert(slackUserLocales)
          .values({ userId, locale, fetchedAt: now })
          .onConflictDoUpdate({ target: slackUserLocales.userId, set: { locale, fetchedAt: now } });
        return locale;
      })
      .finally(() => slackLookups.delete(userId));
    slackLookups.set(userId, pending);
  }
  if (cached) {
    pending.catch(() => undefined);
    return cached.locale;
  }
  return pending.catch(() => null);
}
