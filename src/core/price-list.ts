import { tz } from '@date-fns/tz';
import { format } from './dates.js';
import type { BillingTerm, OfferType } from '../../db/schema.js';
import type { Offer } from './marketplace.js';

/**
 * One row of the price list (R-M3): a plan of an offer at one term in one market.
 * A plan with a free trial has two rows for each term and market: the trial,
 * priced 0, then the price and term that apply after it.
 */
export interface PriceListRow {
  offerId: string;
  offerName: string;
  publisher: string;
  type: OfferType;
  planId: string;
  planName: string;
  term: BillingTerm;
  market: string;
  currency: string;
  price: number;
  /** The plan's free trial in days, on both of its rows. */
  freeTrialDays?: number;
  /** `trial`: the free trial itself; `after-trial`: what the customer pays once it ends. */
  kind: 'plain' | 'trial' | 'after-trial';
}

export function priceListRows(offers: Offer[]): PriceListRow[] {
  return offers.flatMap((offer) =>
    offer.plans.flatMap((plan) =>
      plan.prices.flatMap((p): PriceListRow[] => {
        const row = {
          offerId: offer.id,
          offerName: offer.name,
          publisher: offer.publisherName,
          type: offer.type,
          planId: plan.id,
          planName: plan.name,
          term: p.term,
          market: p.market,
          currency: p.currency,
          price: p.price,
        };
        if (!plan.freeTrialDays) return [{ ...row, kind: 'plain' }];
        const trial = { ...row, freeTrialDays: plan.freeTrialDays };
        return [{ ...trial, price: 0, kind: 'trial' }, { ...trial, kind: 'after-trial' }];
      }),
    ),
  );
}

export const priceListColumns = [
  'offerId', 'offerName', 'publisher', 'type', 'planId', 'planName', 'term', 'market', 'currency', 'price', 'freeTrial', 'trialDays', 'afterTrial',
] as const;
export type PriceListColumn = (typeof priceListColumns)[number];

/** The words a spreadsheet shows, from the message catalog: the core writes no sentences. */
export interface PriceListText {
  sheet: string;
  headers: Record<PriceListColumn, string>;
  type: (type: OfferType) => string;
  /** The term column: the billing term, or the trial and its length on a trial row. */
  term: (row: PriceListRow) => string;
  yes: string;
  no: string;
}

/** Digits after the decimal point the currency uses (KRW and JPY none, USD two). */
function currencyDigits(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

function cells(row: PriceListRow, text: PriceListText): Record<PriceListColumn, string | number | null> {
  return {
    offerId: row.offerId,
    offerName: row.offerName,
    publisher: row.publisher,
    type: text.type(row.type),
    planId: row.planId,
    planName: row.planName,
    term: text.term(row),
    market: row.market,
    currency: row.currency,
    price: row.price,
    freeTrial: row.freeTrialDays ? text.yes : text.no,
    trialDays: row.freeTrialDays ?? null,
    afterTrial: row.kind === 'after-trial' ? text.yes : text.no,
  };
}

/**
 * RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled,
 * lines end in CRLF. Text a spreadsheet would run as a formula (=, +, -, @ first)
 * gets a leading apostrophe: names come from publishers' import files.
 */
export function csvField(value: string | number | null): string {
  const text = value === null ? '' : typeof value === 'number' ? String(value) : /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A CSV file of fields already written by `csvField`: UTF-8 with a byte order mark, so Excel shows Hangul and Han names instead of guessing a legacy code page. */
export function csvFile(lines: string[][]): Buffer {
  return Buffer.from(`\uFEFF${lines.map((l) => l.join(',')).join('\r\n')}\r\n`, 'utf8');
}

export function priceListCsv(rows: PriceListRow[], text: PriceListText): Buffer {
  const lines = [priceListColumns.map((c) => csvField(text.headers[c]))];
  for (const row of rows) {
    const values = cells(row, text);
    lines.push(priceListColumns.map((c) => (c === 'price' ? row.price.toFixed(currencyDigits(row.currency)) : csvField(values[c]))));
  }
  return csvFile(lines);
}

const widths: Record<PriceListColumn, number> = {
  offerId: 24, offerName: 32, publisher: 24, type: 14, planId: 16, planName: 24, term: 22, market: 8, currency: 9, price: 12, freeTrial: 10, trialDays: 10, afterTrial: 12,
};

/** The same rows as an Excel workbook: prices are numbers with their currency's decimals, the header stays in view and filters. */
export async function priceListXlsx(rows: PriceListRow[], text: PriceListText, now: Date): Promise<Buffer> {
  // Loaded when a workbook is first asked for: it would add a fifth of a second to every start.
  const { default: ExcelJS } = await import('exceljs');
  const workbook = new ExcelJS.Workbook();
  workbook.creator = 'csp-ops';
  workbook.created = now;
  workbook.modified = now;
  const sheet = workbook.addWorksheet(text.sheet, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = priceListColumns.map((key) => ({ key, header: text.headers[key], width: widths[key] }));
  sheet.getRow(1).font = { bold: true };
  for (const row of rows) {
    const added = sheet.addRow(cells(row, text));
    const digits = currencyDigits(row.currency);
    added.getCell('price').numFmt = digits ? `#,##0.${'0'.repeat(digits)}` : '#,##0';
  }
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: priceListColumns.length } };
  return Buffer.from(await workbook.xlsx.writeBuffer());
}

/** `csp-price-list-2026-11-23.csv`: the UTC day the prices were read. */
export function priceListFileName(now: Date, extension: 'csv' | 'xlsx'): string {
  return `csp-price-list-${format(now, 'yyyy-MM-dd', { in: tz('UTC') })}.${extension}`;
}
