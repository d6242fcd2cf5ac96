import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tzOffset } from '@date-fns/tz';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Worksheet } from 'exceljs';
import type { Queryable } from '../../db/client.js';
import { activityLog, customers } from '../../db/schema.js';
import type { StoredParams } from '../i18n/index.js';
import { activityEntryFields, activityIn, type ActivityRange } from './activity.js';
import { csvField } from './price-list.js';

export const activityExportColumns = ['time', 'actor', 'action', 'actionCode', 'customer', 'details'] as const;
export type ActivityExportColumn = (typeof activityExportColumns)[number];

/** The words the files show, from the message catalog: the core writes no sentences. */
export interface ActivityExportText {
  sheet: string;
  headers: Record<ActivityExportColumn, string>;
  /** An entry's action in the reader's words. */
  action: (code: string, details: StoredParams) => string;
}

export interface ActivityExportFiles {
  entries: number;
  /** When the first and the last entry exported were made. */
  first: Date;
  last: Date;
  csv: { path: string; size: number };
  xlsx: { path: string; size: number };
}

/** Entries read per query: the most the export holds in memory at once. */
const batchSize = 2000;
/** An Excel sheet holds 1,048,576 rows: with its header row, this many entries, then the next sheet. */
export const entriesPerSheet = 1_048_575;
/** Where exports wait to be delivered; one left behind (its delivery never came) is removed a day later. */
const exportDir = join(tmpdir(), 'csp-ops-exports');
const leftOverMs = 24 * 60 * 60 * 1000;

type Entry = Awaited<ReturnType<typeof readBatch>>[number];

/** One batch in time order after `after` (keyset pagination: each query starts where the last ended). */
function readBatch(db: Queryable, orgId: string, range: ActivityRange, after?: { at: string; id: number }) {
  return db
    // With the moment as the database writes it (microseconds), for the next batch's start.
    .select({ ...activityEntryFields, at: sql<string>`${activityLog.createdAt}::text` })
    .from(activityLog)
    .leftJoin(customers, eq(activityLog.customerId, customers.id))
    .where(and(activityIn(orgId, range), after ? sql`(${activityLog.createdAt}, ${activityLog.id}) > (${after.at}::timestamptz, ${after.id})` : undefined))
    .orderBy(asc(activityLog.createdAt), asc(activityLog.id))
    .limit(batchSize);
}

async function* entryBatches(db: Queryable, orgId: string, range: ActivityRange, first: Entry[]): AsyncGenerator<Entry[]> {
  let batch = first;
  while (batch.length) {
    yield batch;
    if (batch.length < batchSize) return;
    const last = batch[batch.length - 1]!;
    batch = await readBatch(db, orgId, range, { at: last.at, id: last.id });
  }
}

/** `2026-01-05T09:30:00+09:00`: the moment in the zone, with the zone's offset then. */
function zonedTime(timeZone: string) {
  // Entries come in time order and offsets change at most on a quarter hour: one cached quarter serves a run of them.
  let quarter = Number.NaN;
  let offset = 0;
  return (date: Date): string => {
    const ms = date.getTime();
    if (Math.floor(ms / 900_000) !== quarter) {
      quarter = Math.floor(ms / 900_000);
      offset = tzOffset(timeZone, date);
    }
    const abs = Math.abs(offset);
    const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
    return `${new Date(ms + offset * 60_000).toISOString().slice(0, 19)}${offset < 0 ? '-' : '+'}${hhmm}`;
  };
}

async function removeLeftOvers(now: number): Promise<void> {
  for (const name of await readdir(exportDir).catch(() => [])) {
    const path = join(exportDir, name);
    const modified = await stat(path).then((s) => s.mtimeMs, () => now);
    if (now - modified > leftOverMs) await rm(path, { force: true });
  }
}

/**
 * Every activity entry of the range, oldest first, written as CSV and as an Excel workbook into
 * temporary files as it is read: a batch at a time, so the log's size does not matter. Undefined
 * when the range holds no entry (no file is made). Times are in `timeZone`, with its offset.
 */
export async function exportActivity(
  db: Queryable,
  orgId: string,
  range: ActivityRange,
  text: ActivityExportText,
  timeZone: string,
  options: { entriesPerSheet?: number } = {},
): Promise<ActivityExportFiles | undefined> {
  const firstBatch = await readBatch(db, orgId, range);
  if (!firstBatch.length) return undefined;
  await mkdir(exportDir, { recursive: true });
  await removeLeftOvers(Date.now());
  const base = join(exportDir, randomUUID());
  const csv = { path: `${base}.csv`, size: 0 };
  const xlsx = { path: `${base}.xlsx`, size: 0 };
  try {
    const csvOut = createWriteStream(csv.path);
    // UTF-8 with a byte order mark, so Excel shows Hangul and Han names instead of guessing a legacy code page.
    csvOut.write(`\uFEFF${activityExportColumns.map((c) => csvField(text.headers[c])).join(',')}\r\n`);
    // Loaded when an export is first asked for: it would add a fifth of a second to every start.
    const { default: ExcelJS } = await import('exceljs');
    const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: xlsx.path, useStyles: true, useSharedStrings: false });
    workbook.creator = 'csp-ops';
    const perSheet = options.entriesPerSheet ?? entriesPerSheet;
    let sheet: Worksheet | undefined;
    const time = zonedTime(timeZone);
    let entries = 0;
    let last = firstBatch[0]!.createdAt;
    for await (const batch of entryBatches(db, orgId, range, firstBatch)) {
      let lines = '';
      for (const entry of batch) {
        if (entries % perSheet === 0) {
          sheet?.commit();
          // Past an Excel sheet's rows, the entries go on in the next sheet: "Activity 2", …
          sheet = workbook.addWorksheet(entries ? `${text.sheet} ${entries / perSheet + 1}` : text.sheet, { views: [{ state: 'frozen', ySplit: 1 }] });
          sheet.columns = activityExportColumns.map((key) => ({ key, header: text.headers[key], width: widths[key] }));
          sheet.getRow(1).font = { bold: true };
        }
        const details = entry.details ?? {};
        const cells: Record<ActivityExportColumn, string> = {
          time: time(entry.createdAt),
          actor: entry.actorName,
          action: text.action(entry.action, details),
          actionCode: entry.action,
          customer: entry.customerName ?? '',
          details: Object.keys(details).length ? JSON.stringify(details) : '',
        };
        lines += `${activityExportColumns.map((c) => csvField(cells[c])).join(',')}\r\n`;
        sheet!.addRow(cells).commit();
        entries += 1;
        last = entry.createdAt;
      }
      if (!csvOut.write(lines)) await once(csvOut, 'drain');
    }
    sheet!.commit();
    await Promise.all([workbook.commit(), new Promise((done, fail) => csvOut.on('error', fail).end(done))]);
    csv.size = (await stat(csv.path)).size;
    xlsx.size = (await stat(xlsx.path)).size;
    return { entries, first: firstBatch[0]!.createdAt, last, csv, xlsx };
  } catch (error) {
    await Promise.all([rm(csv.path, { force: true }), rm(xlsx.path, { force: true })]);
    throw error;
  }
}

const widths: Record<ActivityExportColumn, number> = { time: 26, actor: 20, action: 60, actionCode: 28, customer: 28, details: 40 };
