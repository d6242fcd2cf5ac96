import { TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser';
import { IntlMessageFormat } from 'intl-messageformat';
import { tz } from '@date-fns/tz';
import { format, ko as koDates, zhTW as zhTWDates } from '../core/dates.js';
import { en, type MessageKey } from './en.js';
import { ko } from './ko.js';
import { zhTW } from './zh-TW.js';

export type { MessageKey };
/** An amount of money, written the reader's way when the sentence is rendered. */
export interface Money {
  amount: number;
  currency: string;
}
/** A moment as JSON keeps it (in the outbox, the activity log, a confirmation's outcome). */
export interface StoredTime {
  time: string;
}
/** A calendar day, YYYY-MM-DD (an invoice's date): written the reader's way. */
export interface CalendarDay {
  day: string;
}
/** One field of a subscription or reservation that differs between csp-ops and Partner Center, as users read it. */
export interface FieldChange {
  field: 'name' | 'seats' | 'auto-renew' | 'status' | 'quantity' | 'scope';
  from: string;
  to: string;
}
/** Several such fields, written as a list of "field before → after" in the reader's language. */
export interface FieldChanges {
  fieldChanges: FieldChange[];
}
/** A Date or a stored time is shown in the reader's language and the organization's time zone; money in the reader's format. */
export type MessageParams = Record<string, string | number | Date | StoredTime | CalendarDay | Money | FieldChanges>;
/** Parameters that survive JSON: Dates become stored times. */
export type StoredParams = Record<string, string | number | StoredTime | CalendarDay | Money | FieldChanges>;

export function storedParams(params: MessageParams): StoredParams {
  return Object.fromEntries(Object.entries(params).map(([name, value]) => [name, value instanceof Date ? { time: value.toISOString() } : value]));
}

/** A changed field's value: a status, on/off or a scope in the reader's words, anything else (a name, a count) as it is. */
function fieldValue(t: Translate, field: FieldChange['field'], value: string): string {
  if (value === 'on' || value === 'off') return t(`subscription.${value}`);
  // A reservation's scope is `shared`, or the one subscription it applies to (R-P12).
  if (field === 'scope') return value === 'shared' ? t('scope.shared') : t('scope.single', { subscription: value });
  return `status.${value}` in en ? t(`status.${value}` as MessageKey) : value;
}

/** "seats 15 → 20, status cancelled → active", in the reader's words. */
export function fieldChangesText(t: Translate, changes: FieldChange[]): string {
  return changes.map((c) => t(`change.${c.field}`, { from: fieldValue(t, c.field, c.from), to: fieldValue(t, c.field, c.to) })).join(t('list.separator'));
}

function paramText(t: Translate, value: MessageParams[string]): string | number {
  if (value instanceof Date) return formatTimestamp(t, value);
  if (typeof value !== 'object') return value;
  if ('time' in value) return formatTimestamp(t, new Date(value.time));
  if ('day' in value) return formatDay(t, new Date(`${value.day}T00:00:00Z`));
  if ('fieldChanges' in value) return fieldChangesText(t, value.fieldChanges);
  return formatMoney(t, value.amount, value.currency);
}

export const locales = ['en', 'ko-KR', 'zh-TW'] as const;
export type Locale = (typeof locales)[number];
export const catalogs: Record<Locale, Record<MessageKey, string>> = { en, 'ko-KR': ko, 'zh-TW': zhTW };

/** A translation function that also knows whom it speaks to: their language and their organization's time zone. */
export interface Translate {
  (key: MessageKey, params?: MessageParams): string;
  readonly locale: Locale;
  readonly timeZone: string;
}

/**
 * The catalog language for a locale tag as people and platforms write it: `ko`, `ko-KR`, `ko_kr`
 * (Slack, Teams), `zh-TW`, `zh-Hant`, `zh-HK`, `en-US`… Undefined for a language csp-ops does not speak.
 */
export function catalogLocale(tag: string | null | undefined): Locale | undefined {
  // Most tags asked about are none, or a stored language already spelled as a catalog's (every command asks).
  if (!tag) return undefined;
  if (tag === 'en' || tag === 'ko-KR' || tag === 'zh-TW') return tag;
  const [language, ...rest] = (tag ?? '').trim().replace(/_/g, '-').toLowerCase().split('-');
  if (language === 'en') return 'en';
  if (language === 'ko') return 'ko-KR';
  if (language === 'zh' && rest.some((part) => ['tw', 'hk', 'mo', 'hant'].includes(part))) return 'zh-TW';
  return undefined;
}

/** The first language of an Accept-Language header csp-ops speaks ("ko-KR,ko;q=0.9,en;q=0.8" → ko-KR), else English. */
export function preferredLocale(acceptLanguage: string | undefined): Locale {
  for (const tag of (acceptLanguage ?? '').split(',')) {
    const found = catalogLocale(tag.split(';')[0]);
    if (found) return found;
  }
  return 'en';
}

/** An IANA zone as Intl spells it (asia/seoul → Asia/Seoul), or undefined for a name that is not one. */
export function canonicalTimeZone(value: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

interface Compiled {
  format: IntlMessageFormat;
  /** Its plain arguments: one a caller left out shows as {name}, rather than failing the whole reply. */
  names: string[];
}
const compiled = new Map<string, Compiled>();

function message(locale: Locale, key: MessageKey): Compiled {
  const id = `${locale}\u0000${key}`;
  let found = compiled.get(id);
  if (!found) {
    // Tags are off: a sentence's <offer> or <file.json> is text, never markup.
    const format = new IntlMessageFormat(catalogs[locale][key] ?? en[key], locale, undefined, { ignoreTag: true });
    const names = new Set<string>();
    const walk = (elements: MessageFormatElement[]): void => {
      for (const e of elements) {
        if (e.type === TYPE.argument) names.add(e.value);
        if (e.type === TYPE.plural || e.type === TYPE.select) Object.values(e.options).forEach((option) => walk(option.value));
      }
    };
    walk(format.getAst());
    found = { format, names: [...names] };
    compiled.set(id, found);
  }
  return found;
}

const translators = new Map<string, Translate>();

/** One translator per language and zone, made once: it holds nothing else. */
export function translator(locale: Locale = 'en', timeZone = 'UTC'): Translate {
  const id = `${locale}\u0000${timeZone}`;
  let found = translators.get(id);
  if (!found) translators.set(id, (found = makeTranslator(locale, timeZone)));
  return found;
}

function makeTranslator(locale: Locale, timeZone: string): Translate {
  const t = (key: MessageKey, params: MessageParams = {}): string => {
    const { format, names } = message(locale, key);
    const values: Record<string, string | number> = {};
    for (const name of names) values[name] = `{${name}}`;
    for (const [name, value] of Object.entries(params)) values[name] = paramText(t as Translate, value);
    return String(format.format(values));
  };
  return Object.assign(t, { locale, timeZone });
}

/** IANA zones whose usual abbreviation the platform's time zone data leaves out (it writes GMT+9). */
const zoneAbbreviations: Record<string, string> = { 'Asia/Seoul': 'KST', 'Asia/Tokyo': 'JST', 'Asia/Hong_Kong': 'HKT' };

const zoneNames = new Map<string, Intl.DateTimeFormat>();
function zoneLabel(timeZone: string, date: Date): string {
  if (zoneAbbreviations[timeZone]) return zoneAbbreviations[timeZone];
  let names = zoneNames.get(timeZone);
  if (!names) zoneNames.set(timeZone, (names = new Intl.DateTimeFormat('en', { timeZone, timeZoneName: 'short' })));
  return names.formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? timeZone;
}

const timestampPatterns: Record<Locale, string> = { en: 'yyyy-MM-dd HH:mm', 'ko-KR': 'yyyy년 M월 d일 HH:mm', 'zh-TW': 'yyyy/MM/dd a h:mm' };
const dayPatterns: Record<Locale, string> = { en: 'yyyy-MM-dd', 'ko-KR': 'yyyy년 M월 d일', 'zh-TW': 'yyyy/MM/dd' };
const monthPatterns: Record<Locale, string> = { en: 'yyyy-MM', 'ko-KR': 'yyyy년 M월', 'zh-TW': 'yyyy/MM' };
const dateLocales = { en: undefined, 'ko-KR': koDates, 'zh-TW': zhTWDates };

/** A moment, to the minute, in the reader's language and the organization's time zone, with the zone named. */
export function formatTimestamp(t: Translate, date: Date): string {
  const local = format(date, timestampPatterns[t.locale], { in: tz(t.timeZone), locale: dateLocales[t.locale] });
  return t('date.zoned', { date: local, zone: zoneLabel(t.timeZone, date) });
}

/** A calendar day (a billing period's, a search's): business days are UTC days (R-B rules), written the reader's way. */
export function formatDay(t: Translate, date: Date): string {
  return format(date, dayPatterns[t.locale], { in: tz('UTC'), locale: dateLocales[t.locale] });
}

/** A billing month, written the reader's way. */
export function formatMonth(t: Translate, date: Date): string {
  return format(date, monthPatterns[t.locale], { in: tz('UTC') });
}

// Intl gives TWD two decimals, but New Taiwan dollars are billed whole, like won.
const wholeCurrencies = new Set(['KRW', 'TWD', 'JPY']);
const moneyFormats = new Map<string, Intl.NumberFormat>();

/** An amount in its currency, written the reader's way: $3,120.50, ₩1,234,567, NT$1,000. */
export function formatMoney(t: Pick<Translate, 'locale'>, amount: number, currency: string): string {
  const id = `${t.locale}\u0000${currency}`;
  let money = moneyFormats.get(id);
  if (!money) {
    const whole = wholeCurrencies.has(currency.toUpperCase());
    money = new Intl.NumberFormat(t.locale, { style: 'currency', currency, ...(whole ? { minimumFractionDigits: 0, maximumFractionDigits: 0 } : {}) });
    moneyFormats.set(id, money);
  }
  return money.format(amount);
}
