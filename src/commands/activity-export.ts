import { TZDate, tz } from '@date-fns/tz';
import { addDays, format } from '../core/dates.js';
import { activityExportColumns, exportActivity, type ActivityExportText } from '../core/activity-export.js';
import { resolveCustomer } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import { en } from '../i18n/en.js';
import { formatDay, type MessageKey, type Translate } from '../i18n/index.js';
import type { View } from '../views/model.js';
import type { OrgEnv } from './context.js';
import { commandText, type Command } from './grammar.js';
import { csvContentType, xlsxContentType } from './price-list.js';

function exportText(t: Translate): ActivityExportText {
  return {
    sheet: t('activityExport.sheet'),
    headers: Object.fromEntries(activityExportColumns.map((c) => [c, t(`activityExport.column.${c}` as MessageKey)])) as ActivityExportText['headers'],
    // An action the catalog does not know (written by a newer version) shows its code.
    action: (code, details) => (`action.${code}` in en ? t(`action.${code}` as MessageKey, details) : code),
  };
}

/** The moment a calendar day (given as its UTC midnight) starts in the time zone. */
const startOfDay = (day: Date, timeZone: string) => new Date(new TZDate(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), timeZone).getTime());

/**
 * `activity export [customer] [since YYYY-MM-DD] [until YYYY-MM-DD]`: every activity entry of
 * the range as CSV and Excel files the adapter delivers (as the price list's). The days are
 * the organization's (its time zone) and both are included; either end may be left open.
 */
export async function activityExportView(env: OrgEnv, command: Extract<Command, { name: 'activity-export' }>): Promise<View> {
  const { t } = env;
  const { since, until } = command;
  if (since && until && until < since) {
    const swapped = commandText({ ...command, since: until, until: since });
    throw new DomainError('activityExport.untilBeforeSince', { since: formatDay(t, since), until: formatDay(t, until), example: swapped }, { commands: ['example'] });
  }
  const customer = command.customer ? await resolveCustomer(env.db, env.org.id, command.customer) : undefined;
  const zone = t.timeZone;
  const range = {
    bounds: since && until ? 'both' : since ? 'since' : until ? 'until' : 'all',
    since: since ? formatDay(t, since) : '',
    until: until ? formatDay(t, until) : '',
    zone,
  };
  const exported = await exportActivity(
    env.db,
    env.org.id,
    { customerId: customer?.id, from: since && startOfDay(since, zone), until: until && startOfDay(addDays(until, 1), zone) },
    exportText(t),
    zone,
  );
  if (!exported) return { tone: 'info', lines: [t(customer ? 'activityExport.noneFor' : 'activityExport.none', { customer: customer?.name ?? '', range: t('activityExport.range', range) })] };
  // Named by the days they cover: those asked for, else those of the first and last entry.
  const day = (date: Date) => format(date, 'yyyy-MM-dd', { in: tz(zone) });
  const name = `csp-activity-${since ? day(startOfDay(since, zone)) : day(exported.first)}-${until ? day(startOfDay(until, zone)) : day(exported.last)}`;
  return {
    tone: 'success',
    title: customer ? t('activityExport.titleCustomer', { customer: customer.name }) : t('activityExport.title'),
    facts: [
      { label: t('activityExport.entries'), value: new Intl.NumberFormat(t.locale).format(exported.entries) },
      { label: t('activityExport.rangeLabel'), value: t('activityExport.range', range) },
    ],
    lines: [t('activityExport.columns', { zone })],
    files: [
      { name: `${name}.csv`, contentType: csvContentType, ...exported.csv },
      { name: `${name}.xlsx`, contentType: xlsxContentType, ...exported.xlsx },
    ],
  };
}
