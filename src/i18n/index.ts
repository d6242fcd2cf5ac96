import { format } from 'date-fns';
import { tz } from '@date-fns/tz';
import { en, type MessageKey } from './en.js';

export type { MessageKey };
export type MessageParams = Record<string, string | number>;
export type Translate = (key: MessageKey, params?: MessageParams) => string;

const catalogs: Record<string, Record<MessageKey, string>> = { en };
export const locales = Object.keys(catalogs);

export function translator(locale = 'en'): Translate {
  const catalog = catalogs[locale] ?? en;
  return (key, params = {}) =>
    catalog[key].replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** An amount in its currency, such as $3,120.50. */
export function formatMoney(amount: number, currency: string): string {
  return new Intl.NumberFormat('en', { style: 'currency', currency }).format(amount);
}

/** Dates are shown in UTC, to the minute: the activity log and Partner Center both use UTC. */
export function formatTimestamp(t: Translate, date: Date): string {
  return t('date.utc', { date: format(date, 'yyyy-MM-dd HH:mm', { in: tz('UTC') }) });
}
