import { canonicalTimeZone, catalogLocale, formatTimestamp, translator, type Locale } from '../i18n/index.js';
import {
  changeSetting, organizationLocale, organizationTimeZone, readerLanguage, setChannelLanguage, setOwnLanguage,
} from '../core/languages.js';
import type { View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';

const languageName = (locale: Locale) => `language.name.${locale}` as const;

/** `language [ko-KR|zh-TW|en|auto]`: which language the person is answered in and why, or their new choice, told in it. */
export async function languageView(env: OrgEnv, value: string | undefined): Promise<View> {
  if (value === undefined) {
    const { locale, source } = readerLanguage(env.org, env.actor, await env.platformLocale?.());
    return { lines: [env.t('language.current', { language: env.t(languageName(locale)), source: env.t(`language.source.${source}`, { prefix: env.prefix }) })] };
  }
  const chosen = await setOwnLanguage(coreContext(env), value);
  const actor = env.actor.kind === 'unknown' ? env.actor : { ...env.actor, language: chosen };
  const now = readerLanguage(env.org, actor, await env.platformLocale?.()).locale;
  const t = translator(now, env.t.timeZone);
  return { tone: 'success', lines: [t(chosen ? 'language.set' : 'language.auto', { language: t(languageName(now)) })] };
}

/** `channel language …`: the language of what csp-ops posts in this channel. */
export async function channelLanguageView(env: OrgEnv, value: string): Promise<View> {
  const chosen = await setChannelLanguage(coreContext(env), value);
  const { t } = env;
  return chosen
    ? { tone: 'success', lines: [t('channel.languageSet', { language: t(languageName(chosen)) })] }
    : { tone: 'success', lines: [t('channel.languageCleared', { language: t(languageName(organizationLocale(env.org))) })] };
}

/** `settings [locale … | time-zone …]`: the organization's default language and time zone. */
export async function settingsView(env: OrgEnv, change: { setting: 'locale' | 'time-zone'; value: string } | undefined): Promise<View> {
  const ctx = coreContext(env);
  if (change && (await changeSetting(ctx, change.setting, change.value)) === 'unchanged') return { tone: 'info', lines: [env.t('settings.unchanged')] };
  const org = change ? { ...env.org, ...(change.setting === 'locale' ? { locale: catalogLocale(change.value)! } : { timeZone: canonicalTimeZone(change.value)! }) } : env.org;
  const t = translator(env.t.locale, organizationTimeZone(org));
  const zone = organizationTimeZone(org);
  const language = t(languageName(organizationLocale(org)));
  if (change?.setting === 'locale') return { tone: 'success', lines: [t('settings.localeSet', { language })] };
  if (change) return { tone: 'success', lines: [t('settings.timeZoneSet', { zone, time: formatTimestamp(t, env.now()) })] };
  return {
    title: t('settings.title', { org: env.org.name }),
    facts: [
      { label: t('settings.locale'), value: language },
      { label: t('settings.timeZone'), value: t('settings.timeZoneValue', { zone, time: formatTimestamp(t, env.now()) }) },
    ],
    lines: [t('settings.usage', { prefix: env.prefix })],
  };
}
