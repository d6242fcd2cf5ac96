import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { activityLog, offerAudiencePartners, offerAudiences, offers, organizations, partnerDirectory, staff } from '../db/schema.js';
import { audienceCsv, audienceCsvFileName, audienceCsvText, AudienceCsvRefused, fetchCsv, importAudienceCsv, parseAudienceCsv } from '../src/core/audience-csv.js';
import { offerAudience, writeAudience } from '../src/core/audience.js';
import type { CoreContext } from '../src/core/context.js';
import { DomainError } from '../src/core/errors.js';
import { normalizeKey } from '../src/core/text.js';
import { translator } from '../src/i18n/index.js';
import { openTestDatabase } from './helpers/database.js';

const t = translator('en');
const text = audienceCsvText(t);

/** Partners of the directory: Korean, Chinese and Taiwanese names, one with a comma and quotes, one a spreadsheet would run as a formula. */
const partners = {
  hanbit: { tenantId: '0b6f3a52-1c4e-4d2a-9f11-6a7e2c0d9a01', name: '한빛파트너스 주식회사', country: 'KR' },
  yunhe: { tenantId: '1c7a4b63-2d5f-4e3b-8a22-7b8f3d1eab12', name: '北京云合科技有限公司', country: 'CN' },
  quoted: { tenantId: '2d8b5c74-3e60-4f4c-9b33-8c904e2fbc23', name: '대한 "클라우드", 유한회사', country: 'KR' },
  formula: { tenantId: '3e9c6d85-4f71-4a5d-8c44-9da15f30cd34', name: '=雲端夥伴有限公司', country: 'TW' },
};
/** A well-formed tenant ID no partner of the directory has. */
const stranger = '4fad7e96-5a82-4b6e-9d55-aeb2604ade45';

let handle: DatabaseHandle;
let ctx: CoreContext;
let developer: CoreContext;

const offerBase = {
  publisherName: '한빛소프트웨어',
  publisherSupportContact: 'support@hanbit.example',
  type: 'saas' as const,
  countries: ['KR', 'TW', 'CN'],
  plans: [{ id: 'standard', name: '스탠다드', prices: [{ term: 'monthly' as const, market: 'KR', currency: 'KRW', price: 15000 }] }],
};

async function draftOf(offerId: string) {
  const [audience] = await handle.db.select().from(offerAudiences).where(eq(offerAudiences.offerId, offerId));
  const rows = await handle.db
    .select({ tenantId: offerAudiencePartners.tenantId, regions: offerAudiencePartners.regions })
    .from(offerAudiencePartners)
    .where(and(eq(offerAudiencePartners.offerId, offerId), eq(offerAudiencePartners.draft, true)))
    .orderBy(asc(offerAudiencePartners.tenantId));
  return { option: audience?.draftOption ?? null, partners: rows };
}

/** Everything an import could change. */
async function state() {
  return {
    audiences: await handle.db.select().from(offerAudiences).orderBy(asc(offerAudiences.offerId)),
    partners: await handle.db.select().from(offerAudiencePartners).orderBy(asc(offerAudiencePartners.offerId), asc(offerAudiencePartners.tenantId)),
    activity: (await handle.db.select().from(activityLog)).length,
  };
}

async function refusal(action: Promise<unknown>): Promise<AudienceCsvRefused> {
  const error = await action.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AudienceCsvRefused);
  return error as AudienceCsvRefused;
}

async function domainError(action: Promise<unknown>): Promise<DomainError> {
  const error = await action.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  return error as DomainError;
}

beforeAll(async () => {
  handle = await openTestDatabase();
  const { db } = handle;
  const [org] = await db.insert(organizations).values({ name: '한빛소프트웨어', kind: 'publisher' }).returning();
  const [manager] = await db.insert(staff).values({ orgId: org!.id, name: '김민준', email: 'minjun@hanbit.example', role: 'manager' }).returning();
  const [dev] = await db.insert(staff).values({ orgId: org!.id, name: '이서연', email: 'seoyeon@hanbit.example', role: 'developer' }).returning();
  const base = { db, org: org!, conversation: { platform: 'cli' as const, channelId: null }, now: () => new Date('2026-03-02T09:00:00Z') };
  ctx = { ...base, actor: { kind: 'staff', id: manager!.id, name: manager!.name, role: 'manager' } };
  developer = { ...base, actor: { kind: 'staff', id: dev!.id, name: dev!.name, role: 'developer' } };
  for (const [id, name] of [['hanbit-erp', '한빛 ERP 클라우드'], ['hanbit-crm', '한빛 CRM'], ['hanbit-hr', '한빛 HR'], ['hanbit-bi', '한빛 BI']] as const) {
    await db.insert(offers).values({ ...offerBase, id, name, nameKey: normalizeKey(name), publisherOrgId: org!.id, published: false });
  }
  for (const p of Object.values(partners)) await db.insert(partnerDirectory).values({ ...p, nameKey: normalizeKey(p.name) });
  await writeAudience(db, 'hanbit-erp', 'draft', {
    option: 'specific',
    partners: [
      { tenantId: partners.hanbit.tenantId, regions: ['KR'] },
      { tenantId: partners.yunhe.tenantId, regions: ['CN', 'TW'] },
      { tenantId: partners.quoted.tenantId, regions: [] },
      { tenantId: partners.formula.tenantId, regions: ['TW'] },
    ],
  });
  await db.update(offerAudiencePartners).set({ hasResold: true }).where(and(eq(offerAudiencePartners.offerId, 'hanbit-erp'), eq(offerAudiencePartners.tenantId, partners.yunhe.tenantId)));
  await writeAudience(db, 'hanbit-hr', 'draft', { option: 'any', partners: [] });
});

afterAll(async () => {
  await handle?.close();
});

describe('R-I5: the authorized partner list as CSV', () => {
  it('R-I5: exports the draft list as UTF-8 CSV with a BOM, RFC 4180 quoting, catalog headers and directory names', async () => {
    const data = audienceCsv(await offerAudience(handle.db, ctx, 'hanbit-erp'), text);
    expect([...data.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const lines = data.toString('utf8').slice(1).split('\r\n');
    expect(lines).toEqual([
      'Tenant ID,Name,Regions,Has resold',
      `${partners.hanbit.tenantId},한빛파트너스 주식회사,KR,no`,
      `${partners.yunhe.tenantId},北京云合科技有限公司,CN;TW,yes`,
      `${partners.quoted.tenantId},"대한 ""클라우드"", 유한회사",,no`,
      `${partners.formula.tenantId},'=雲端夥伴有限公司,TW,no`,
      '',
    ]);
    expect(audienceCsvFileName('hanbit-erp', ctx.now())).toBe('csp-audience-hanbit-erp-2026-03-02.csv');
  });

  it('R-I5: a draft that is not "specific partners" exports the header row only', async () => {
    expect(audienceCsv(await offerAudience(handle.db, ctx, 'hanbit-hr'), text).toString('utf8')).toBe('\uFEFFTenant ID,Name,Regions,Has resold\r\n');
    expect(audienceCsv(await offerAudience(handle.db, ctx, 'hanbit-crm'), text).toString('utf8')).toBe('\uFEFFTenant ID,Name,Regions,Has resold\r\n');
  });

  it('R-I5: round trip — offer A exported and imported into offer B gives B the same draft list, tenant IDs and regions', async () => {
    const exported = audienceCsv(await offerAudience(handle.db, ctx, 'hanbit-erp'), text);
    expect(await draftOf('hanbit-crm')).toEqual({ option: null, partners: [] });
    const result = await importAudienceCsv(handle.db, ctx, 'hanbit-crm', exported.toString('utf8'), t);
    expect({ added: result.added, alreadyThere: result.alreadyThere }).toEqual({ added: 4, alreadyThere: 0 });
    expect(result.audience.offer.id).toBe('hanbit-crm');
    const a = await draftOf('hanbit-erp');
    expect(a.partners).toHaveLength(4);
    expect(await draftOf('hanbit-crm')).toEqual(a);
    // The file's "Has resold" describes offer A: it is not copied to B.
    const resold = await handle.db.select().from(offerAudiencePartners).where(and(eq(offerAudiencePartners.offerId, 'hanbit-crm'), eq(offerAudiencePartners.hasResold, true)));
    expect(resold).toEqual([]);
    const [entry] = await handle.db.select().from(activityLog).where(eq(activityLog.action, 'audience_draft_changed'));
    expect(entry).toMatchObject({ actorName: '김민준', details: { offer: '한빛 CRM', option: 'specific', partners: '4' } });
    expect(t('audienceCsv.imported', { offer: result.audience.offer.name, added: result.added, already: result.alreadyThere })).toContain('Added 4 partners');

    // Importing it again adds nothing; partners already there keep their regions.
    await writeAudience(handle.db, 'hanbit-crm', 'draft', { option: 'specific', partners: [{ tenantId: partners.hanbit.tenantId, regions: ['KR', 'CN'] }] });
    const again = await importAudienceCsv(handle.db, ctx, '한빛 CRM', exported.toString('utf8'), t);
    expect({ added: again.added, alreadyThere: again.alreadyThere }).toEqual({ added: 3, alreadyThere: 1 });
    expect((await draftOf('hanbit-crm')).partners.find((p) => p.tenantId === partners.hanbit.tenantId)?.regions).toEqual(['KR', 'CN']);
    await writeAudience(handle.db, 'hanbit-crm', 'draft', { option: 'specific', partners: a.partners });
  });

  it('R-I5: reads a hand-made file back — no BOM, LF, keys as headers, extra columns, no name or hasResold, mixed case', () => {
    const file = [
      'Note,regions,TENANTID',
      `"two lines\nof notes",kr; tw,${partners.hanbit.tenantId.toUpperCase()}`,
      '',
      `,,${partners.yunhe.tenantId}`,
      ',,',
    ].join('\n');
    expect(parseAudienceCsv(file, t)).toEqual({
      partners: [
        { tenantId: partners.hanbit.tenantId, regions: ['KR', 'TW'] },
        { tenantId: partners.yunhe.tenantId, regions: [] },
      ],
    });
    // The exported file, with CRLF and its BOM, parses to offer A's list.
    const crlf = `\uFEFFTenant ID,Name,Regions,Has resold\r\n${partners.formula.tenantId},"a, ""b""",TW;KR,yes\r\n`;
    expect(parseAudienceCsv(crlf)).toEqual({ partners: [{ tenantId: partners.formula.tenantId, regions: ['TW', 'KR'] }] });
    // A file exported in Korean or Chinese reads back for an English reader too.
    for (const locale of ['ko-KR', 'zh-TW'] as const) {
      const { headers } = audienceCsvText(translator(locale));
      const exported = `\uFEFF${[headers.tenantId, headers.name, headers.regions, headers.hasResold].join(',')}\r\n${partners.formula.tenantId},한빛,KR,\r\n`;
      expect(parseAudienceCsv(exported, translator('en'))).toEqual({ partners: [{ tenantId: partners.formula.tenantId, regions: ['KR'] }] });
    }
  });

  it('R-I5: a bad file is refused whole, every problem with its line number, and nothing changes', async () => {
    const file = [
      'Tenant ID,Name,Regions,Has resold', // line 1
      `${partners.hanbit.tenantId},한빛파트너스 주식회사,KR,no`, // line 2
      'not-a-guid,잘못된 파트너,KR,no', // line 3
      `${stranger},모르는 파트너,KR,no`, // line 4: not in the directory
      `${partners.hanbit.tenantId},한빛파트너스 주식회사,TW,no`, // line 5: duplicate of line 2
      `${partners.yunhe.tenantId},北京云合科技有限公司,CN;Korea,no`, // line 6
      `${partners.quoted.tenantId},"대한 ""클라우드"", 유한회사",,no`, // line 7: fine
    ].join('\r\n');
    const before = await state();
    const error = await refusal(importAudienceCsv(handle.db, ctx, 'hanbit-bi', file, t));
    expect(error.problems).toEqual([
      'line 3: tenant ID "not-a-guid" is not a GUID.',
      `line 4: tenant ID ${stranger} is not a partner in the directory.`,
      `line 5: duplicate tenant ID ${partners.hanbit.tenantId} (already on line 2).`,
      'line 6: region "Korea" is not a two-letter country code such as KR.',
    ]);
    expect(error.problems.map((p) => Number(/^line (\d+):/.exec(p)?.[1]))).toEqual([3, 4, 5, 6]);
    const message = t(error.code, error.params);
    expect(message).toContain('nothing changed: it has 4 problems');
    expect(message).toContain('line 6: region "Korea"');
    expect(await state()).toEqual(before);
    expect(await draftOf('hanbit-bi')).toEqual({ option: null, partners: [] });

    // Without the directory, the parser alone finds the other three.
    const parsed = parseAudienceCsv(file, t);
    expect('problems' in parsed && parsed.problems.map((p) => p.slice(0, 7))).toEqual(['line 3:', 'line 5:', 'line 6:']);
  });

  it('R-I5: a file without a tenant ID column, or with nothing in it, is refused with its line', () => {
    expect(parseAudienceCsv('Name,Regions\r\n한빛,KR\r\n', t)).toEqual({
      problems: ['line 1: the header row has no Tenant ID column (the columns are Tenant ID, Name, Regions, Has resold).'],
    });
    expect(parseAudienceCsv('\n\n"Tenant ID",Regions\n', t)).toEqual({ problems: ['The file lists no partners: there is nothing to import.'] });
    expect(parseAudienceCsv('\uFEFF', t)).toEqual({ problems: ['line 1: the file is empty; its first row must name the columns (Tenant ID, Name, Regions, Has resold).'] });
    expect(parseAudienceCsv(`Tenant ID,Regions\n${partners.hanbit.tenantId},KR\n"${partners.yunhe.tenantId},CN\n`, t)).toEqual({
      problems: ['line 3: a quoted field is never closed (a " is missing).'],
    });
    expect(parseAudienceCsv(`Tenant ID,Regions,tenant_id\n${partners.hanbit.tenantId},KR,x\n`, t)).toEqual({ problems: ['line 1: the header row has the Tenant ID column twice.'] });
  });

  it('R-I5: "any partner" must become "specific partners" first; only an owner or manager imports', async () => {
    const file = `Tenant ID,Regions\r\n${partners.hanbit.tenantId},KR\r\n`;
    const before = await state();
    const any = await domainError(importAudienceCsv(handle.db, ctx, 'hanbit-hr', file, t));
    expect(any.code).toBe('audienceCsv.optionAny');
    expect(t(any.code, any.params)).toContain('set specific');
    const role = await domainError(importAudienceCsv(handle.db, developer, 'hanbit-bi', file, t));
    expect(role.code).toBe('error.publisherRoleNeeded');
    expect(t(role.code, { ...role.params, role: t('role.developer'), what: t('what.editAudience') })).toBe('Your role is developer. Changing CSP audiences needs the owner or manager role; ask someone with that role.');
    expect(await state()).toEqual(before);
  });
});

describe('R-I5: fetchCsv reads a partner list over http', () => {
  let server: Server;
  let base: string;
  const exported = () => offerAudience(handle.db, ctx, 'hanbit-erp').then((a) => audienceCsv(a, text));

  beforeAll(async () => {
    const body = await exported();
    server = createServer((request, response) => {
      switch (request.url) {
        case '/list.csv':
          response.writeHead(200, { 'content-type': 'text/csv; charset=utf-8' }).end(body);
          return;
        case '/moved':
          response.writeHead(302, { location: '/list.csv' }).end();
          return;
        case '/loop':
          response.writeHead(302, { location: '/loop' }).end();
          return;
        case '/big':
          response.writeHead(200, { 'content-length': String(2 * 1024 * 1024) }).end(Buffer.alloc(2 * 1024 * 1024, 0x61));
          return;
        case '/stream': {
          // No length announced: the cap applies while reading.
          response.writeHead(200);
          const chunk = Buffer.alloc(64 * 1024, 0x61);
          let sent = 0;
          const more = () => {
            while (sent < 40 && response.write(chunk)) sent++;
            if (sent < 40) response.once('drain', more);
            else response.end();
          };
          response.on('error', () => {});
          more();
          return;
        }
        case '/cp949':
          response.writeHead(200).end(Buffer.from([0xc7, 0xd1, 0xba, 0xfb, 0x2c, 0x4b, 0x52]));
          return;
        case '/slow':
          return; // never answers
        default:
          response.writeHead(404).end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const loopback = { allowPrivateNetwork: true };
  const code = async (url: string, options: Parameters<typeof fetchCsv>[1] = loopback) => {
    const error = await domainError(fetchCsv(url, options));
    return { code: error.code, message: t(error.code, error.params) };
  };

  it('R-I5: reads the served file (and follows a redirect), and it imports like the exported one', async () => {
    const csv = await fetchCsv(`${base}/list.csv`, loopback);
    // The text, without the byte order mark (the decoder drops it).
    expect(csv).toBe((await exported()).toString('utf8').replace(/^\uFEFF/, ''));
    expect(await fetchCsv(`${base}/moved`, loopback)).toBe(csv);
    await writeAudience(handle.db, 'hanbit-bi', 'draft', { option: 'none', partners: [] });
    const result = await importAudienceCsv(handle.db, ctx, 'hanbit-bi', csv, t);
    expect(result.added).toBe(4);
    expect(await draftOf('hanbit-bi')).toEqual(await draftOf('hanbit-erp'));
  });

  it('R-I5: a 404, a file over 1 MB, a slow server, redirects in a loop and non-UTF-8 text are clear errors', async () => {
    expect(await code(`${base}/nothing-here.csv`)).toEqual({ code: 'audienceCsv.fetch.status', message: `${base}/nothing-here.csv answered HTTP 404, so no file was read.` });
    expect(await code(`${base}/big`)).toEqual({ code: 'audienceCsv.fetch.tooLarge', message: `${base}/big is larger than 1 MB: a partner list must be smaller.` });
    expect((await code(`${base}/stream`)).code).toBe('audienceCsv.fetch.tooLarge');
    expect(await code(`${base}/slow`, { ...loopback, timeoutMs: 300 })).toEqual({ code: 'audienceCsv.fetch.timeout', message: `${base}/slow did not send the file within 0.3 seconds.` });
    expect((await code(`${base}/loop`)).code).toBe('audienceCsv.fetch.redirects');
    expect((await code(`${base}/cp949`)).code).toBe('audienceCsv.fetch.notText');
  });

  it('R-I5: only http(s) URLs, and by default no loopback or private address, by IP or by name', async () => {
    expect((await code('ftp://example.com/list.csv')).code).toBe('audienceCsv.fetch.badUrl');
    expect((await code('partners.csv')).code).toBe('audienceCsv.fetch.badUrl');
    expect((await code(`${base}/list.csv`, {})).code).toBe('audienceCsv.fetch.privateAddress');
    expect((await code(`${base.replace('127.0.0.1', 'localhost')}/list.csv`, {})).code).toBe('audienceCsv.fetch.privateAddress');
    expect((await code('http://[::ffff:127.0.0.1]/list.csv', {})).code).toBe('audienceCsv.fetch.privateAddress');
    expect((await code('http://169.254.169.254/latest/meta-data', {})).code).toBe('audienceCsv.fetch.privateAddress');
    const refused = await code('http://127.0.0.1:1/list.csv');
    expect(refused).toEqual({ code: 'audienceCsv.fetch.failed', message: 'Could not read http://127.0.0.1:1/list.csv: ECONNREFUSED.' });
  });
});
