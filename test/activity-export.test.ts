import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activityLog, customers, organizations } from '../db/schema.js';
import { runCli, saveCliFiles } from '../src/adapters/cli/run.js';
import { activityExportColumns, exportActivity } from '../src/core/activity-export.js';
import { translator, type MessageKey } from '../src/i18n/index.js';
import { parseCsv } from './helpers/csv.js';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { aadUsers, otherOrganization, otherTeamId, tenants, testOrganization, users } from './helpers/fixture.js';
import { replyText, signedHeaders, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { unchanged } from './helpers/tables.js';
import { cardLinks, cardText, startTeamsTestBot, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

// `activity export`: every activity entry of a range as CSV and Excel files, delivered as the price list is.

/** The test organization in Seoul (UTC+9, no daylight saving), with a customer whose name a spreadsheet would run as a formula. */
const formulaCustomer = { name: '=HYPERLINK("http://evil.example","click")', domain: 'formula.example', tenantId: 'f0f0f0f0-0000-4000-8000-00000000000f' };
const seoulOrganization = {
  ...testOrganization,
  organization: { ...testOrganization.organization, timeZone: 'Asia/Seoul' },
  customers: [...testOrganization.customers, { ...formulaCustomer, billingCountry: 'KR', subscriptions: [] }],
};

const englishHeader = ['Time', 'Actor', 'Action', 'Action code', 'Customer', 'Details'];
const exportDir = join(tmpdir(), 'csp-ops-exports');
const exportFiles = async () => (await readdir(exportDir).catch(() => [])).sort();
/** Temporary export files made since, and still there (other test files' exports may come and go meanwhile). */
const exportsSince = async (before: string[]) => (await exportFiles()).filter((name) => !before.includes(name));

/** Entries around the first quarter of 2026 in Seoul: `at` is UTC, and Seoul is 9 hours ahead. */
const entries: { at: string; actor: string; action: string; details: Record<string, string>; customer: string | null }[] = [
  // 2025-12-31 23:59:59.999 in Seoul: before `since 2026-01-01`.
  { at: '2025-12-31T14:59:59.999Z', actor: '박지훈', action: 'deliveries_retried', details: { count: '2' }, customer: null },
  // 2026-01-01 00:00 in Seoul: the first moment of `since 2026-01-01`.
  { at: '2025-12-31T15:00:00.000Z', actor: '王小明', action: 'create_customer_purchase_permission', details: {}, customer: tenants.hanbit },
  { at: '2026-02-10T03:00:00.000Z', actor: '=HYPERLINK("http://evil.example")', action: 'request_filed', details: { kind: 'cancel', reservation: 'r-1' }, customer: tenants.taiwanCloud },
  { at: '2026-02-11T03:00:00.000Z', actor: '-1+1', action: 'saas_cancelled', details: { subscription: '+sub, "quoted"\nline' }, customer: formulaCustomer.tenantId },
  { at: '2026-02-12T03:00:00.000Z', actor: '@SUM(A1)', action: 'a_later_version_action', details: {}, customer: null },
  // 2026-03-31 23:59:59 in Seoul: the last moment of `until 2026-03-31`.
  { at: '2026-03-31T14:59:59.000Z', actor: '최수아', action: 'owner_role_confirmed', details: { subscription: 's-1' }, customer: tenants.hanbit },
  // 2026-04-01 00:00 in Seoul: after it.
  { at: '2026-03-31T15:00:00.000Z', actor: '陳怡君', action: 'deliveries_retried', details: { count: '1' }, customer: null },
];
const inQuarter = entries.slice(1, 6);
const customerNames: Record<string, string> = {
  [tenants.hanbit]: '한빛소프트 주식회사',
  [tenants.taiwanCloud]: '台灣雲端科技股份有限公司',
  [formulaCustomer.tenantId]: formulaCustomer.name,
};

/** `2026-02-10T12:00:00+09:00`: Seoul's time, written out here by hand. */
const seoulTime = (at: string) => `${new Date(Date.parse(at) + 9 * 3600_000).toISOString().slice(0, 19)}+09:00`;
/** A cell as the CSV writes it: text a spreadsheet would run as a formula gets a leading apostrophe. */
const asCsv = (cell: string) => (/^[=+\-@]/.test(cell) ? `'${cell}` : cell);

/** The rows an export of these entries holds, in the reader's language (the action's sentence), cells as the workbook holds them. */
function expectedRows(list: typeof entries, locale: 'en' | 'ko-KR') {
  const t = translator(locale, 'Asia/Seoul');
  return list.map((e) => [
    seoulTime(e.at),
    e.actor,
    e.action === 'a_later_version_action' ? e.action : t(`action.${e.action}` as MessageKey, e.details),
    e.action,
    e.customer ? customerNames[e.customer]! : '',
    Object.keys(e.details).length ? JSON.stringify(e.details) : '',
  ]);
}

/** Every row of every sheet, each cell's text; and that no cell is a formula. */
async function readXlsx(bytes: Buffer): Promise<{ sheets: string[]; rows: string[][] }> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ExcelJS.Buffer);
  const rows: string[][] = [];
  for (const sheet of workbook.worksheets) {
    sheet.eachRow((row) => {
      rows.push(activityExportColumns.map((_, i) => {
        const cell = row.getCell(i + 1);
        expect(cell.type === ExcelJS.ValueType.String || cell.type === ExcelJS.ValueType.Null, `cell ${cell.address} is text`).toBe(true);
        return (cell.value ?? '') as string;
      }));
    });
  }
  return { sheets: workbook.worksheets.map((s) => s.name), rows };
}

let slack: FakeSlack;
let bot: TeamsTestBot;
let orgId: string;

beforeAll(async () => {
  slack = await startFakeSlack();
  bot = await startTeamsTestBot({ slackApiUrl: slack.apiUrl, organizations: [seoulOrganization, otherOrganization], locales: { [aadUsers.salesAgent]: 'ko-KR' } });
  const [org] = await bot.db.select().from(organizations).where(eq(organizations.name, seoulOrganization.organization.name));
  orgId = org!.id;
  const list = await bot.db.select().from(customers).where(eq(customers.orgId, orgId));
  const idOf = (tenant: string | null) => (tenant ? list.find((c) => c.tenantId === tenant)!.id : null);
  await bot.db.insert(activityLog).values(entries.map((e) => ({ orgId, customerId: idOf(e.customer), actorName: e.actor, action: e.action, details: e.details, createdAt: new Date(e.at) })));
  // Another partner's entry in the same quarter: never exported here (R-A5).
  const [other] = await bot.db.select().from(organizations).where(eq(organizations.slackTeamId, otherTeamId));
  await bot.db.insert(activityLog).values({ orgId: other!.id, actorName: 'Other Admin', action: 'deliveries_retried', details: { count: '9' }, createdAt: new Date('2026-02-01T00:00:00Z') });
});
afterAll(async () => {
  await bot?.close();
  await slack?.close();
});

/** A signed `/csp` command in a Slack channel: the answer shown to the asker alone (sent later through response_url when it takes a while). */
async function slackCommand(user: string, text: string, channel = 'C0EXPORT01') {
  const id = randomUUID();
  const body = slashCommandBody(user, text, slack.responseUrl(id), { channel });
  const response = await fetch(`http://127.0.0.1:${bot.bot.port}/slack/events`, { method: 'POST', headers: signedHeaders(body), body });
  const ack = (await response.json()) as SlackReply & { response_type?: string };
  const answer = replyText(ack).includes('Working on it') ? ((await waitFor('the answer', () => slack.responses.find((r) => r.id === id))).body as typeof ack) : ack;
  expect(answer.response_type).toBe('ephemeral');
  return replyText(answer);
}

describe('activity export through Slack: both files uploaded to the channel', () => {
  it('since and until are days in the organization\'s time zone, both included: every entry of the range, oldest first, no other partner\'s', async () => {
    const before = slack.files().length;
    const leftBefore = await exportFiles();
    const reply = await slackCommand(users.helpdeskAgent, 'activity export since 2026-01-01 until 2026-03-31');
    expect(reply).toContain('Activity export\nEntries: 5\nRange: 2026-01-01 to 2026-03-31, both included (days in Asia/Seoul)');
    expect(reply).toContain('Uploading csp-activity-2026-01-01-2026-03-31.csv, csp-activity-2026-01-01-2026-03-31.xlsx to this channel');
    const [csv, xlsx] = (await waitFor('two uploaded files', () => slack.files().length >= before + 2 && slack.files())).slice(before);
    expect([csv!.filename, xlsx!.filename, csv!.channel, xlsx!.channel]).toEqual(['csp-activity-2026-01-01-2026-03-31.csv', 'csp-activity-2026-01-01-2026-03-31.xlsx', 'C0EXPORT01', 'C0EXPORT01']);
    expect([csv!.data!.length, xlsx!.data!.length]).toEqual([csv!.length, xlsx!.length]);

    const rows = expectedRows(inQuarter, 'en');
    expect(parseCsv(csv!.data!)).toEqual([englishHeader, ...rows.map((r) => r.map(asCsv))]);
    expect(await readXlsx(xlsx!.data!)).toEqual({ sheets: ['Activity'], rows: [englishHeader, ...rows] });
    // The temporary files are gone once uploaded.
    expect(await exportsSince(leftBefore)).toEqual([]);
  });

  it('an open range: without until, up to now; without since, from the first entry', async () => {
    const before = slack.files().length;
    expect(await slackCommand(users.globalAdmin, 'activity export until 2025-12-31')).toContain('Entries: 1\nRange: up to and including 2025-12-31 (days in Asia/Seoul)');
    const [first] = (await waitFor('the files', () => slack.files().length >= before + 2 && slack.files())).slice(before);
    expect(first!.filename).toBe('csp-activity-2025-12-31-2025-12-31.csv');
    expect(parseCsv(first!.data!).slice(1)).toEqual(expectedRows(entries.slice(0, 1), 'en').map((r) => r.map(asCsv)));

    const after = slack.files().length;
    expect(await slackCommand(users.globalAdmin, 'activity export since 2026-04-01')).toContain('Entries: 1\nRange: from 2026-04-01 on, up to now (days in Asia/Seoul)');
    const [last] = (await waitFor('the files', () => slack.files().length >= after + 2 && slack.files())).slice(after);
    expect(parseCsv(last!.data!).slice(1)).toEqual(expectedRows(entries.slice(6), 'en').map((r) => r.map(asCsv)));
  });

  it('bad dates, a range that ends before it starts, an unknown customer: told what is wrong, nothing exported; an empty range makes no file', async () => {
    const before = slack.files().length;
    const leftBefore = await exportFiles();
    const cases: [string, string][] = [
      ['activity export since 2026-02-30', '"2026-02-30" is not a date. Write it as YYYY-MM-DD, for example 2026-01-31.'],
      ['activity export until 31/03/2026', '"31/03/2026" is not a date.'],
      ['activity export since', '"" is not a date.'],
      [
        'activity export since 2026-03-01 until 2026-02-01',
        'The range ends before it starts: until 2026-02-01 is earlier than since 2026-03-01. Nothing was exported. Put the earlier day after since, for example: /csp activity export since 2026-02-01 until 2026-03-01',
      ],
      ['activity export 없는회사 since 2026-01-01', 'No customer matches "없는회사"'],
      ['activity export contoso.com since 2026-01-01 and more', 'activity export does not take "and more".'],
      ['activity export since 2026-01-01 since 2026-02-01', 'activity export does not take "since 2026-02-01".'],
      ['activity export since 2030-01-01', 'The activity log has no entry in that range: from 2030-01-01 on, up to now (days in Asia/Seoul). No file was made.'],
      ['activity export 부산해운', 'The activity log has no entry for 부산해운 in that range: every entry up to now (days in Asia/Seoul). No file was made.'],
    ];
    for (const [text, expected] of cases) expect(await unchanged(bot.db, () => slackCommand(users.adminAgent, text))).toContain(expected);
    expect(await slackCommand(users.contact, 'activity export')).toContain('Only partner staff can run activity-export.');
    expect(slack.files().slice(before).map((f) => f.filename)).toEqual([]);
    expect(await exportsSince(leftBefore)).toEqual([]);
  });
});

describe('activity export through Teams: a signed link to each file', () => {
  it('a customer\'s entries, in the requester\'s language: Korean headers and actions, Hangul and Han names', async () => {
    const { card } = await bot.message(aadUsers.salesAgent, 'activity export 한빛소프트 since 2026-01-01 until 2026-03-31');
    const text = cardText(card);
    expect(text).toContain('한빛소프트 주식회사 활동 기록 내보내기');
    expect(text).toContain('기록 수: 2');
    const links = cardLinks(card);
    expect(links.map((l) => l.url.startsWith(`http://localhost:${bot.bot.port}/files/`))).toEqual([true, true]);
    const koreanHeader = activityExportColumns.map((c) => translator('ko-KR')(`activityExport.column.${c}` as MessageKey));
    const rows = expectedRows(inQuarter.filter((e) => e.customer === tenants.hanbit), 'ko-KR');

    const csv = await fetch(links[0]!.url);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe('attachment; filename="csp-activity-2026-01-01-2026-03-31.csv"; filename*=UTF-8\'\'csp-activity-2026-01-01-2026-03-31.csv');
    const csvBytes = Buffer.from(await csv.arrayBuffer());
    expect(Number(csv.headers.get('content-length'))).toBe(csvBytes.length);
    expect(parseCsv(csvBytes)).toEqual([koreanHeader, ...rows]);
    const xlsx = await fetch(links[1]!.url);
    expect(await readXlsx(Buffer.from(await xlsx.arrayBuffer()))).toEqual({ sheets: ['활동 기록'], rows: [koreanHeader, ...rows] });
  });

  it('a customer contact gets no link', async () => {
    const { card } = await bot.message(aadUsers.contact, 'activity export');
    expect(cardText(card)).toContain('Only partner staff can run activity-export.');
    expect(cardLinks(card)).toEqual([]);
  });
});

describe('activity export from the terminal', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'csp-activity-export-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('the files are written where the terminal says, and the temporary ones removed', async () => {
    const result = await runCli(bot.db, ['activity', 'export', '台灣雲端', 'until', '2026-03-31', '--as', 'sua.choi@partner.example']);
    expect(result.exitCode).toBe(0);
    const temporary = result.files!.map((f) => ('path' in f ? f.path : ''));
    expect(temporary.every((path) => existsSync(path))).toBe(true);
    const saved = await saveCliFiles(result, dir);
    const paths = [...saved.output.matchAll(/^Wrote (.+)$/gm)].map((m) => m[1]!);
    expect(paths).toEqual([join(dir, 'csp-activity-2026-02-10-2026-03-31.csv'), join(dir, 'csp-activity-2026-02-10-2026-03-31.xlsx')]);
    expect(temporary.some((path) => existsSync(path))).toBe(false);
    const rows = expectedRows(inQuarter.filter((e) => e.customer === tenants.taiwanCloud), 'en');
    expect(parseCsv(await readFile(paths[0]!))).toEqual([englishHeader, ...rows.map((r) => r.map(asCsv))]);
    expect((await readXlsx(await readFile(paths[1]!))).rows).toEqual([englishHeader, ...rows]);
  });

  it('thousands of entries, many at the same moment, each exported once and in order across read batches and sheets', async () => {
    // 4,500 entries at three moments: batches end in the middle of a moment.
    const moments = ['2027-05-01T00:00:00Z', '2027-05-02T00:00:00Z', '2027-05-03T00:00:00Z'];
    const many = Array.from({ length: 4500 }, (_, n) => ({ orgId, actorName: `구매자 ${n}`, action: 'deliveries_retried', details: { count: String(n) }, createdAt: new Date(moments[Math.floor(n / 1500)]!) }));
    for (let i = 0; i < many.length; i += 1000) await bot.db.insert(activityLog).values(many.slice(i, i + 1000));

    const result = await saveCliFiles(await runCli(bot.db, ['activity', 'export', 'since', '2027-05-01', 'until', '2027-05-31', '--as', 'jihoon.park@partner.example']), dir);
    expect(result.output).toContain('Entries: 4,500');
    const csv = parseCsv(await readFile(join(dir, 'csp-activity-2027-05-01-2027-05-31.csv')));
    expect(csv.slice(1).map((row) => JSON.parse(row[5]!).count)).toEqual(many.map((_, n) => String(n)));

    // Past a sheet's rows the entries go on in the next sheet, each with its header.
    const t = translator('en');
    const files = await exportActivity(
      bot.db,
      orgId,
      { from: new Date(moments[0]!), until: new Date('2027-06-01T00:00:00Z') },
      { sheet: 'Activity', headers: Object.fromEntries(activityExportColumns.map((c) => [c, c])) as Record<(typeof activityExportColumns)[number], string>, action: (code) => code },
      t.timeZone,
      { entriesPerSheet: 2000 },
    );
    try {
      const { sheets, rows } = await readXlsx(await readFile(files!.xlsx.path));
      expect(sheets).toEqual(['Activity', 'Activity 2', 'Activity 3']);
      const headerRows = rows.filter((r) => r[0] === 'time');
      expect(headerRows).toHaveLength(3);
      expect(rows.filter((r) => r[0] !== 'time').map((r) => JSON.parse(r[5]!).count)).toEqual(many.map((_, n) => String(n)));
      expect(rows[0]).toEqual([...activityExportColumns]);
      expect(rows[2001]).toEqual([...activityExportColumns]);
    } finally {
      await rm(files!.csv.path, { force: true });
      await rm(files!.xlsx.path, { force: true });
    }
  });
});
