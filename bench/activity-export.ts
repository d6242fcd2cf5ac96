/**
 * `activity export` of a large log: 1,000,000 activity entries are bulk-inserted with
 * generate_series, then the command runs as the terminal runs it (runCli, then the files
 * written into a folder) while the process's memory is sampled.
 *
 *   npm run bench:export                         in-memory PGlite
 *   DATABASE_URL=postgres://… npm run bench:export
 *                                                a fresh database on that server, dropped afterwards
 *   BENCH_ENTRIES=200000 npm run bench:export    fewer entries
 *
 * The export reads the log a batch at a time and writes both files as it goes, so its memory
 * does not grow with the log. The npm script caps the process's heap at 128 MB, less than the
 * CSV of a million entries alone; the run fails when the RSS grew by more than the bound below
 * while the export ran (on PostgreSQL: with PGlite the process also holds the database, whose
 * page cache grows with what it reads), or when a file lacks an entry.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { sql } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import { runCli, saveCliFiles } from '../src/adapters/cli/run.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { cleanups, runBenchmark } from './cleanup.js';
import { openBenchDatabase } from './database.js';
import { fmt, mb } from './report.js';

const entryCount = Number(process.env.BENCH_ENTRIES ?? 1_000_000);
if (!Number.isInteger(entryCount) || entryCount <= 0) {
  console.error(`BENCH_ENTRIES must be a positive whole number, not "${process.env.BENCH_ENTRIES}".`);
  process.exit(2);
}
/** What the export may add to the process while it runs, whatever the log's size (the heap's cap is the npm script's). */
const bound = { rssMb: 256 };
const heapCapMb = v8.getHeapStatistics().heap_size_limit / 1024 / 1024;

const organization = {
  organization: { name: '한빛 클라우드 파트너스 (bench)', slackTeamId: 'T0BENCHEXP', locale: 'en', timeZone: 'Asia/Seoul' },
  staff: [{ name: '박지훈', email: 'jihoon.park@bench.example', role: 'helpdesk-agent', slackUserId: 'UBENCHEXP1' }],
  customers: [
    { name: '한빛소프트 주식회사', domain: 'hanbitsoft.example', tenantId: '55555555-5555-4555-8555-555555555555', billingCountry: 'KR', subscriptions: [] },
    { name: '台灣雲端科技股份有限公司', domain: 'twcloud.example', tenantId: '88888888-8888-4888-8888-888888888888', billingCountry: 'TW', subscriptions: [] },
    { name: '=HYPERLINK("http://evil.example")', domain: 'formula.example', tenantId: '99999999-9999-4999-8999-999999999999', billingCountry: 'US', subscriptions: [] },
    { name: 'Contoso Ltd', domain: 'contoso.com', tenantId: '11111111-1111-4111-8111-111111111111', billingCountry: 'US', subscriptions: [] },
  ],
};

/** The largest RSS and heap seen since the last reset, sampled every 20 ms. */
const peaks = { rss: 0, heap: 0 };
const sample = () => {
  const now = process.memoryUsage();
  peaks.rss = Math.max(peaks.rss, now.rss);
  peaks.heap = Math.max(peaks.heap, now.heapUsed);
};
const sampler = setInterval(sample, 20);
sampler.unref();

/** Lines in a file, read as a stream. */
async function lineCount(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) for (const byte of chunk as Buffer) if (byte === 10) lines++;
  return lines;
}

/** Rows in every sheet of a workbook, read as a stream. */
async function workbookRows(path: string): Promise<{ sheets: number; rows: number }> {
  let sheets = 0;
  let rows = 0;
  for await (const sheet of new ExcelJS.stream.xlsx.WorkbookReader(path, { worksheets: 'emit', sharedStrings: 'ignore', styles: 'ignore', hyperlinks: 'ignore' })) {
    sheets++;
    for await (const _row of sheet) rows++;
  }
  return { sheets, rows };
}

async function main(): Promise<boolean> {
  console.log(`csp-ops activity export benchmark — Node ${process.version}, ${fmt(entryCount, 0)} activity entries`);
  const { handle, description } = await openBenchDatabase('csp_bench_export');
  cleanups.push({ name: 'database', run: () => handle.close() });
  console.log(`database: ${description}`);
  const { db } = handle;
  const embedded = description.startsWith('PGlite');
  const { orgId } = await importOrganization(db, parseImportFile(organization));

  // One entry a minute from 2024-01-01 (UTC), spread over the customers, actors and kinds of action.
  let started = performance.now();
  await db.execute(sql`
    insert into activity_log (org_id, customer_id, actor_name, action, details, created_at)
    select ${orgId},
           (select array_agg(id order by domain) from customers where org_id = ${orgId})[1 + g % 4],
           (array['박지훈', '王小明', 'Dana', '최수아'])[1 + g % 4],
           (array['request_filed', 'create_customer_purchase_permission', 'saas_cancelled', 'deliveries_retried'])[1 + g % 4],
           case g % 4
             when 0 then jsonb_build_object('kind', 'cancel', 'reservation', 'r-' || g)
             when 1 then '{}'::jsonb
             when 2 then jsonb_build_object('subscription', 'sub-' || g)
             else jsonb_build_object('count', (g % 7)::text)
           end,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute'
    from generate_series(0, ${entryCount - 1}) g`);
  console.log(`inserted ${fmt(entryCount, 0)} entries in ${fmt((performance.now() - started) / 1000, 1)} s`);

  const out = await mkdtemp(join(tmpdir(), 'csp-bench-export-'));
  cleanups.push({ name: 'files', run: () => rm(out, { recursive: true, force: true }) });
  global.gc?.();
  const before = process.memoryUsage();
  peaks.rss = before.rss;
  peaks.heap = before.heapUsed;
  started = performance.now();
  const cpu = process.cpuUsage();
  const result = await saveCliFiles(await runCli(db, ['activity', 'export', 'since', '2024-01-01', '--as', 'jihoon.park@bench.example']), out);
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  sample();
  clearInterval(sampler);
  console.log(`\n${result.output}\n`);
  const paths = [...result.output.matchAll(/^Wrote (.+)$/gm)].map((m) => m[1]!);
  const csv = paths.find((p) => p.endsWith('.csv'));
  const xlsx = paths.find((p) => p.endsWith('.xlsx'));
  if (result.exitCode !== 0 || !csv || !xlsx) {
    console.log('FAILED: the export did not write both files.');
    return false;
  }

  console.log('checking the files (read back as streams) …');
  const csvLines = await lineCount(csv);
  const workbook = await workbookRows(xlsx);
  const heapGrowth = peaks.heap - before.heapUsed;
  const rssGrowth = peaks.rss - before.rss;
  const figures: [string, string][] = [
    ['entries', fmt(entryCount, 0)],
    ['export (runCli + files written)', `${fmt(seconds, 1)} s, ${fmt(entryCount / seconds, 0)} entries/s`],
    ['CPU time of this process', `${fmt((user + system) / 1e6, 1)} s (user ${fmt(user / 1e6, 1)} s, system ${fmt(system / 1e6, 1)} s; PGlite's work is in it, a PostgreSQL server's is not)`],
    ['CSV', `${mb((await stat(csv)).size)}, ${fmt(csvLines, 0)} lines (header + entries)`],
    ['XLSX', `${mb((await stat(xlsx)).size)}, ${fmt(workbook.rows, 0)} rows in ${workbook.sheets} sheet${workbook.sheets > 1 ? 's' : ''} (headers + entries)`],
    ['heap used', `${mb(before.heapUsed)} before, peak ${mb(peaks.heap)} during the export (+${mb(heapGrowth)}; the heap is capped at ${fmt(heapCapMb, 0)} MB)`],
    [
      'RSS',
      `${mb(before.rss)} before, peak ${mb(peaks.rss)} during the export (+${mb(rssGrowth)}; ` +
        (embedded ? 'the embedded database\'s page cache is in it, so no bound is checked)' : `bound +${bound.rssMb} MB)`),
    ],
  ];
  console.log(`\n=== Results (${description}) ===\n`);
  const width = Math.max(...figures.map(([k]) => k.length));
  for (const [k, v] of figures) console.log(`${k.padEnd(width)}  ${v}`);

  const problems: string[] = [];
  if (csvLines !== entryCount + 1) problems.push(`the CSV holds ${csvLines - 1} entries, not ${entryCount}`);
  if (workbook.rows !== entryCount + workbook.sheets) problems.push(`the workbook holds ${workbook.rows - workbook.sheets} entries, not ${entryCount}`);
  if (!embedded && rssGrowth > bound.rssMb * 1024 * 1024) problems.push(`the RSS grew by ${mb(rssGrowth)}`);
  console.log(
    problems.length
      ? `\nFAILED: ${problems.join('; ')}.`
      : `\nOK: every entry in both files; the export ran in a heap capped at ${fmt(heapCapMb, 0)} MB` +
          (embedded ? '.' : ` and added at most ${mb(rssGrowth)} of RSS (bound +${bound.rssMb} MB).`),
  );
  return problems.length === 0;
}

await runBenchmark(main);
