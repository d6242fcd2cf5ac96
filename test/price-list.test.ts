import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ExcelJS from 'exceljs';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { acquireDataDirLock } from '../db/lock.js';
import { runCli, saveCliFiles } from '../src/adapters/cli/run.js';
import { createDownloads } from '../src/adapters/downloads.js';
import { startBot } from '../src/bot.js';
import { priceListColumns, priceListCsv, priceListRows, type PriceListText } from '../src/core/price-list.js';
import { translator } from '../src/i18n/index.js';
import type { ImportFileInput } from '../src/core/import-schema.js';
import type { Offer } from '../src/core/marketplace.js';
import { slackRichTextSchema } from './helpers/block-kit.js';
import { parseCsv } from './helpers/csv.js';
import { aadUsers, otherOrganization, testOrganization, users } from './helpers/fixture.js';
import { replyText, silentLog, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { cardLinks, cardText, startTeamsTestBot, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

/** Three offers: a partner's SaaS in Korea with a 30-day trial on one plan, one in Taiwan, and a Microsoft VM image. */
const offers = [
  {
    id: 'hanbit-erp',
    name: '한빛 ERP 클라우드',
    publisher: { name: '한빛소프트웨어', supportContact: 'support@hanbit-erp.example' },
    landingPageUrl: 'https://hanbit-erp.example/activate',
    type: 'saas',
    categories: ['ERP', '재무'],
    countries: ['KR', 'TW'],
    plans: [
      {
        id: 'standard', name: '스탠다드', freeTrialDays: 30,
        prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 15000 }, { term: 'annual', market: 'KR', currency: 'KRW', price: 150000 }],
      },
      // A comma and quotes in a name: the CSV must quote the field.
      { id: 'pro', name: '프로, "고급"', prices: [{ term: 'annual', market: 'TW', currency: 'TWD', price: 3600.5 }] },
    ],
  },
  {
    id: 'tw-erp',
    name: '台灣雲端 ERP',
    publisher: { name: '雲端軟體股份有限公司', supportContact: 'help@tw-erp.example' },
    type: 'saas',
    categories: ['ERP'],
    countries: ['TW'],
    plans: [{ id: 'basic', name: '基本方案', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 300 }] }],
  },
  {
    id: 'ms-defender-vm',
    name: 'Microsoft Defender VM image',
    publisher: { name: 'Microsoft Corporation', supportContact: 'https://support.microsoft.com' },
    type: 'vm',
    categories: ['Security'],
    countries: ['US', 'KR'],
    plans: [{ id: 'byol', name: 'BYOL', prices: [{ term: 'monthly', market: 'US', currency: 'USD', price: 12.5 }] }],
  },
] satisfies ImportFileInput['offers'];

const withOffers = { ...testOrganization, offers } satisfies ImportFileInput;

const header = ['Offer ID', 'Offer', 'Publisher', 'Type', 'Plan ID', 'Plan', 'Term', 'Market', 'Currency', 'Price', 'Free trial', 'Trial days', 'Applies after trial'];
/** The rows in catalog order (by name: Latin, then Han, then Hangul), prices as the CSV writes them. */
const csvRows = {
  vm: ['ms-defender-vm', 'Microsoft Defender VM image', 'Microsoft Corporation', 'virtual machine', 'byol', 'BYOL', 'monthly', 'US', 'USD', '12.50', 'no', '', 'no'],
  tw: ['tw-erp', '台灣雲端 ERP', '雲端軟體股份有限公司', 'SaaS', 'basic', '基本方案', 'monthly', 'TW', 'TWD', '300.00', 'no', '', 'no'],
  trialMonthly: ['hanbit-erp', '한빛 ERP 클라우드', '한빛소프트웨어', 'SaaS', 'standard', '스탠다드', 'free trial, 30 days, then monthly', 'KR', 'KRW', '0', 'yes', '30', 'no'],
  monthly: ['hanbit-erp', '한빛 ERP 클라우드', '한빛소프트웨어', 'SaaS', 'standard', '스탠다드', 'monthly', 'KR', 'KRW', '15000', 'yes', '30', 'yes'],
  trialAnnual: ['hanbit-erp', '한빛 ERP 클라우드', '한빛소프트웨어', 'SaaS', 'standard', '스탠다드', 'free trial, 30 days, then annual', 'KR', 'KRW', '0', 'yes', '30', 'no'],
  annual: ['hanbit-erp', '한빛 ERP 클라우드', '한빛소프트웨어', 'SaaS', 'standard', '스탠다드', 'annual', 'KR', 'KRW', '150000', 'yes', '30', 'yes'],
  pro: ['hanbit-erp', '한빛 ERP 클라우드', '한빛소프트웨어', 'SaaS', 'pro', '프로, "고급"', 'annual', 'TW', 'TWD', '3600.50', 'no', '', 'no'],
};
const allRows = [csvRows.vm, csvRows.tw, csvRows.trialMonthly, csvRows.monthly, csvRows.trialAnnual, csvRows.annual, csvRows.pro];

/** Every row of the first sheet, as the spreadsheet library reads the file back. */
async function readXlsx(bytes: Buffer): Promise<(string | number)[][]> {
  const workbook = new ExcelJS.Workbook();
  await workbook.xlsx.load(bytes as unknown as ExcelJS.Buffer);
  const sheet = workbook.worksheets[0]!;
  expect(sheet.name).toBe('Price list');
  const rows: (string | number)[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row) => {
    rows.push(header.map((_, i) => (row.getCell(i + 1).value ?? '') as string | number));
  });
  return rows;
}

/** The CSV rows as the spreadsheet holds them: prices and trial days are numbers. */
const asXlsx = (rows: string[][]) => rows.map((r) => r.map((v, i) => (i === 9 || (i === 11 && v !== '') ? Number(v) : v)));

const fileName = /^csp-price-list-\d{4}-\d{2}-\d{2}\.(csv|xlsx)$/;

describe('R-M3 price list through Slack', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ organizations: [withOffers, otherOrganization] });
  });
  afterAll(() => bot?.close());

  async function uploadsAfter(before: number, count: number) {
    return (await waitFor(`${count} uploaded files`, () => bot.slack.files().length >= before + count && bot.slack.files())).slice(before);
  }

  it('R-M3 uploads a CSV and an XLSX to the channel: one row per offer × plan × term × market, a free trial as two rows', async () => {
    const before = bot.slack.files().length;
    const { status, reply } = await bot.command(users.salesAgent, 'price-list');
    expect(status).toBe(200);
    const text = replyText(reply);
    expect(text).toContain('*Offers*\n3');
    expect(text).toContain('*Rows*\n7');
    expect(text).toMatch(/Uploading csp-price-list-\d{4}-\d{2}-\d{2}\.csv, csp-price-list-\d{4}-\d{2}-\d{2}\.xlsx to this channel/);
    const [csv, xlsx] = await uploadsAfter(before, 2);
    expect(csv!.filename).toMatch(fileName);
    expect(csv!.filename.endsWith('.csv')).toBe(true);
    expect(xlsx!.filename.endsWith('.xlsx')).toBe(true);
    expect(csv!.channel).toBe('C0OPS00001');
    expect(xlsx!.channel).toBe('C0OPS00001');
    // The comment is rich text: mrkdwn, which initial_comment is, cannot keep names as text.
    expect(csv!.initialComment).toBeUndefined();
    slackRichTextSchema.parse(csv!.blocks);
    expect(replyText({ blocks: csv!.blocks as SlackReply['blocks'] })).toContain('*Price list*\n*Offers*\n3\n*Rows*\n7');
    // The length announced to files.getUploadURLExternal is the length uploaded.
    expect(csv!.data!.length).toBe(csv!.length);
    expect(parseCsv(csv!.data!)).toEqual([header, ...allRows]);
    expect(csv!.data!.toString('utf8')).toContain('"프로, ""고급"""');
    expect(await readXlsx(xlsx!.data!)).toEqual([header, ...asXlsx(allRows)]);
    const calls = bot.slack.calls.map((c) => c.method);
    expect(calls).toContain('files.getUploadURLExternal');
    expect(calls).toContain('files.completeUploadExternal');
  });

  it('R-M1 filters narrow the rows: words, type, category, publisher', async () => {
    const rowsFor = async (command: string) => {
      const before = bot.slack.files().length;
      const { reply } = await bot.command(users.helpdeskAgent, command);
      const [csv] = await uploadsAfter(before, 2);
      return { text: replyText(reply), rows: parseCsv(csv!.data!).slice(1) };
    };
    expect((await rowsFor('price-list 台灣')).rows).toEqual([csvRows.tw]);
    expect((await rowsFor('price-list type:vm')).rows).toEqual([csvRows.vm]);
    expect((await rowsFor('price-list publisher:microsoft')).rows).toEqual([csvRows.vm]);
    const partner = await rowsFor('price-list category:재무 publisher:partner');
    expect(partner.rows).toEqual([csvRows.trialMonthly, csvRows.monthly, csvRows.trialAnnual, csvRows.annual, csvRows.pro]);
    expect(partner.text).toContain('*Rows*\n5');
    expect(partner.text).toContain('*Filters*\ncategory:재무 publisher:partner');
  });

  it('R-M3 nothing matches: says so and uploads nothing', async () => {
    const before = bot.slack.calls.length;
    const { reply } = await bot.command(users.salesAgent, 'price-list type:container');
    expect(replyText(reply)).toContain('No offer matches type:container, so there is no price list.');
    // Files are uploaded only with an answer that says so, after it.
    expect(replyText(reply)).not.toContain('Uploading');
    expect(bot.slack.calls.slice(before).map((c) => c.method)).not.toContain('files.getUploadURLExternal');
  });

  it('R-A1 a customer contact is refused and nothing is uploaded', async () => {
    const before = bot.slack.calls.length;
    const { reply } = await bot.command(users.contact, 'price-list');
    expect(replyText(reply)).toContain('Only partner staff can run price-list.');
    // Files are uploaded only with an answer that says so, after it.
    expect(replyText(reply)).not.toContain('Uploading');
    expect(bot.slack.calls.slice(before).map((c) => c.method)).not.toContain('files.getUploadURLExternal');
  });

  it('an upload Slack refuses (the bot is not in the channel) is explained to the asker alone', async () => {
    bot.slack.plan('files.completeUploadExternal', [{ status: 200, body: { ok: false, error: 'not_in_channel' } }]);
    const responses = bot.slack.responses.length;
    await bot.command(users.salesAgent, 'price-list', { channel: 'C0NOTMEMBR' });
    const told = await waitFor('the failure told through response_url', () => bot.slack.responses.slice(responses).find((r) => JSON.stringify(r.body).includes('not a member')));
    expect(told.body.response_type).toBe('ephemeral');
    expect(JSON.stringify(told.body)).toContain('/invite @csp-ops');
  });
});

describe('R-M3 price list through Teams: signed, expiring download links', () => {
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot({ organizations: [withOffers, otherOrganization] });
  });
  afterAll(() => bot?.close());
  afterEach(() => vi.useRealTimers());

  async function links(aad: string, text: string) {
    const { card } = await bot.message(aad, text);
    // Each file is a line "Download <name>: <address> …" whose address is a link showing itself.
    const links = cardLinks(card);
    for (const link of links) expect(link.text).toBe(link.url);
    const named = [...cardText(card).matchAll(/^Download (\S+): (http\S+) /gm)].map((m) => ({ name: m[1]!, url: m[2]! }));
    expect(named.map((n) => n.url)).toEqual(links.map((l) => l.url));
    return { text: cardText(card), urls: named };
  }

  it('R-M3 the card links to both files; each downloads with its rows', async () => {
    const { text, urls } = await links(aadUsers.salesAgent, 'price-list');
    expect(text).toContain('Offers: 3\nRows: 7');
    expect(urls.map((u) => u.name)).toEqual([expect.stringMatching(/\.csv$/), expect.stringMatching(/\.xlsx$/)]);
    for (const { url } of urls) expect(url.startsWith(`http://localhost:${bot.bot.port}/files/`)).toBe(true);
    const csv = await fetch(urls[0]!.url);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toBe(`attachment; filename="${urls[0]!.name}"; filename*=UTF-8''${urls[0]!.name}`);
    expect(csv.headers.get('cache-control')).toBe('private, no-store');
    expect(parseCsv(Buffer.from(await csv.arrayBuffer()))).toEqual([header, ...allRows]);
    const xlsx = await fetch(urls[1]!.url);
    expect(xlsx.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    expect(await readXlsx(Buffer.from(await xlsx.arrayBuffer()))).toEqual([header, ...asXlsx(allRows)]);
  });

  it('R-M3 a tampered link is refused with 403, an expired one with 410', async () => {
    const { urls } = await links(aadUsers.globalAdmin, 'price-list type:saas');
    const url = urls[0]!.url;
    const [id, expires, signature] = url.slice(url.lastIndexOf('/') + 1).split('.');
    const base = url.slice(0, url.lastIndexOf('/') + 1);
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    for (const forged of [
      `${id}.${expires}.${flip(signature!)}`,
      `${id}.${Number(expires) + 3600}.${signature}`,
      `${flip(id!)}.${expires}.${signature}`,
      'not-a-token',
    ]) {
      const answer = await fetch(base + forged);
      expect([forged, answer.status]).toEqual([forged, 403]);
      expect(await answer.text()).toBe('This download link is not valid. Run the command again in chat for a new one.\n');
    }
    // The browser's language chooses the sentence.
    const korean = await fetch(`${base}not-a-token`, { headers: { 'accept-language': 'fr-FR,ko-KR;q=0.9,en;q=0.8' } });
    expect(await korean.text()).toBe(`${translator('ko-KR')('files.linkInvalid')}\n`);
    expect((await fetch(url)).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 60 * 60 * 1000 + 1000);
    const expired = await fetch(url);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toMatch(/^This download link expired at \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\. Run the command again in chat for a new one\.\n$/);
  });

  it('R-A1 a customer contact gets no link', async () => {
    const { text, urls } = await links(aadUsers.contact, 'price-list');
    expect(text).toContain('Only partner staff can run price-list.');
    expect(urls).toEqual([]);
  });
});

describe('download links', () => {
  it('keep a bounded number of files: the oldest go first, and their links say so', () => {
    const downloads = createDownloads({ maxFiles: 2 });
    const file = (name: string) => ({ name, contentType: 'text/plain', data: Buffer.from(name) });
    const first = downloads.offer(file('a.txt'));
    downloads.offer(file('b.txt'));
    const third = downloads.offer(file('c.txt'));
    const token = (path: string) => path.slice('/files/'.length);
    expect(downloads.serve(token(first.path))).toMatchObject({ status: 410, body: expect.stringContaining('no longer kept') });
    expect(downloads.serve(token(third.path))).toMatchObject({ status: 200, body: Buffer.from('c.txt') });
  });
});

describe('R-M3 CSV', () => {
  it('quotes per RFC 4180 and keeps names a spreadsheet would run as formulas as text', () => {
    const offer = {
      id: 'x', name: '=HYPERLINK("http://evil.example")', publisherName: '-1+1', type: 'saas',
      plans: [{ id: 'p', name: 'line\nbreak', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 1 }] }],
    } as unknown as Offer;
    const headers = Object.fromEntries(priceListColumns.map((c) => [c, c])) as PriceListText['headers'];
    const csv = priceListCsv(priceListRows([offer]), { sheet: 's', headers, type: (t) => t, term: (r) => r.term, yes: 'y', no: 'n' });
    const [, row] = parseCsv(csv);
    expect(row!.slice(1, 3)).toEqual(['\'=HYPERLINK("http://evil.example")', '\'-1+1']);
    expect(row![5]).toBe('line\nbreak');
  });
});

describe('R-M3 price list from the terminal', () => {
  let bot: TestBot;
  let dir: string;
  beforeAll(async () => {
    bot = await startTestBot({ organizations: [withOffers] });
    dir = await mkdtemp(join(tmpdir(), 'csp-price-list-'));
  });
  afterAll(async () => {
    await bot?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('R-M3 runCli returns both files; they are written where the terminal says', async () => {
    const result = await runCli(bot.db, ['price-list', '台灣', '--as', 'sua.choi@partner.example']);
    expect(result.exitCode).toBe(0);
    expect(result.files?.map((f) => f.name)).toEqual([expect.stringMatching(/\.csv$/), expect.stringMatching(/\.xlsx$/)]);
    const saved = await saveCliFiles(result, join(dir, 'direct'));
    expect(saved.files).toBeUndefined();
    const paths = [...saved.output.matchAll(/^Wrote (.+)$/gm)].map((m) => m[1]!);
    expect(paths).toEqual([join(dir, 'direct', result.files![0]!.name), join(dir, 'direct', result.files![1]!.name)]);
    expect(parseCsv(await readFile(paths[0]!))).toEqual([header, csvRows.tw]);
    expect(await readXlsx(await readFile(paths[1]!))).toEqual([header, ...asXlsx([csvRows.tw])]);
  });

  it('R-M3 run inside the bot over the loopback bridge, the CLI process writes the files into --out', async () => {
    const bridged = await startBot({
      db: bot.db,
      config: { PORT: 0, SLACK_SIGNING_SECRET: undefined, SLACK_BOT_TOKEN: undefined, SLACK_APP_TOKEN: undefined, SLACK_API_URL: 'http://127.0.0.1:9/' },
      log: silentLog,
      cliToken: 'price-list-bridge-token',
    });
    const dataDir = join(dir, 'data');
    const lock = acquireDataDirLock(dataDir, { pid: process.pid, cliPort: bridged.port, cliToken: 'price-list-bridge-token' });
    try {
      const out = join(dir, 'out');
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', 'tsx', 'src/cli.ts', 'price-list', 'type:saas', '--as', 'jihoon.park@partner.example', '--out', out],
        { env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir } },
      );
      expect(stdout).toContain('Price list\nOffers: 2\nRows: 6\nFilters: type:saas');
      const paths = [...stdout.matchAll(/^Wrote (.+)$/gm)].map((m) => m[1]!);
      expect(paths).toHaveLength(2);
      for (const path of paths) expect(path.startsWith(`${out}/csp-price-list-`)).toBe(true);
      expect(parseCsv(await readFile(paths[0]!))).toEqual([header, csvRows.tw, csvRows.trialMonthly, csvRows.monthly, csvRows.trialAnnual, csvRows.annual, csvRows.pro]);
      expect((await readXlsx(await readFile(paths[1]!))).length).toBe(7);
    } finally {
      if (lock.acquired) lock.release();
      await bridged.stop();
    }
  });
});
