import { catalogBatches, type CatalogFilter, type Offer } from '../core/marketplace.js';
import { priceListColumns, priceListCsv, priceListFileName, priceListRows, priceListXlsx, type PriceListText } from '../core/price-list.js';
import type { MessageKey, Translate } from '../i18n/index.js';
import type { View } from '../views/model.js';
import type { OrgEnv } from './context.js';
import { catalogFilterText } from './grammar-marketplace.js';

export const csvContentType = 'text/csv; charset=utf-8';
export const xlsxContentType = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

function priceListText(t: Translate): PriceListText {
  return {
    sheet: t('priceList.sheet'),
    headers: Object.fromEntries(priceListColumns.map((c) => [c, t(`priceList.column.${c}` as MessageKey)])) as PriceListText['headers'],
    type: (type) => t(`offerType.${type}`),
    term: (row) => (row.kind === 'trial' ? t('priceList.trialTerm', { days: row.freeTrialDays!, term: t(`saasTermName.${row.term}`) }) : t(`saasTermName.${row.term}`)),
    yes: t('priceList.yes'),
    no: t('priceList.no'),
  };
}

/**
 * `price-list [filters]` (R-M3): every current price of the offers this partner
 * may resell (R-M2) that match, as CSV and Excel files the adapter delivers.
 */
export async function priceListView(env: OrgEnv, filter: CatalogFilter): Promise<View> {
  const { t } = env;
  const offers: Offer[] = [];
  for await (const batch of catalogBatches(env.db, env.org, filter)) offers.push(...batch);
  const filters = catalogFilterText(filter).join(' ');
  if (!offers.length) return { tone: 'info', lines: [filters ? t('priceList.noneMatch', { filters }) : t('priceList.none')] };
  const rows = priceListRows(offers);
  const now = env.now();
  const text = priceListText(t);
  return {
    tone: 'success',
    title: t('priceList.title'),
    facts: [
      { label: t('priceList.offers'), value: String(offers.length) },
      { label: t('priceList.rows'), value: String(rows.length) },
      ...(filters ? [{ label: t('priceList.filters'), value: filters }] : []),
    ],
    lines: [t('priceList.rowsExplained'), t('priceList.trialRows')],
    files: [
      { name: priceListFileName(now, 'csv'), contentType: csvContentType, data: priceListCsv(rows, text) },
      { name: priceListFileName(now, 'xlsx'), contentType: xlsxContentType, data: await priceListXlsx(rows, text, now) },
    ],
  };
}
