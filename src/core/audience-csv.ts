import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { tz } from '@date-fns/tz';
import { format } from './dates.js';
import { eq, inArray } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { offers, partnerDirectory } from '../../db/schema.js';
import { catalogs, locales, translator, type MessageKey, type MessageParams, type Translate } from '../i18n/index.js';
import { recordActivity } from './activity.js';
import { requirePublisherRole } from './access.js';
import { isAudienceType, loadAudience, offerAudience, writeAudience, type AudiencePartner, type AudienceState, type OfferAudience } from './audience.js';
import type { CoreContext } from './context.js';
import { DomainError } from './errors.js';
import { csvField, csvFile } from './price-list.js';

/** R-I5: the columns of an exported partner list, in file order. Only tenantId and regions are read back. */
export const audienceCsvColumns = ['tenantId', 'name', 'regions', 'hasResold'] as const;
export type AudienceCsvColumn = (typeof audienceCsvColumns)[number];

/** The words the file shows, from the message catalog: the core writes no sentences. */
export interface AudienceCsvText {
  headers: Record<AudienceCsvColumn, string>;
  yes: string;
  no: string;
}

export function audienceCsvText(t: Translate): AudienceCsvText {
  return {
    headers: Object.fromEntries(audienceCsvColumns.map((c) => [c, t(`audienceCsv.column.${c}`)])) as AudienceCsvText['headers'],
    yes: t('audienceCsv.yes'),
    no: t('audienceCsv.no'),
  };
}

/**
 * R-I5: the offer's draft list as CSV (UTF-8 with a BOM, RFC 4180, the price
 * list's writer): one row per partner with its directory name, its regions
 * separated by semicolons (empty: every region) and whether it resold the
 * offer. A draft that is not "specific partners" gives the header row only.
 */
export function audienceCsv(audience: OfferAudience, text: AudienceCsvText): Buffer {
  const lines = [audienceCsvColumns.map((c) => csvField(text.headers[c]))];
  const partners = audience.draft.option === 'specific' ? audience.draft.partners : [];
  for (const p of partners) {
    lines.push([
      csvField(p.tenantId),
      csvField(audience.partnerNames.get(p.tenantId) ?? ''),
      csvField(p.regions.join(';')),
      csvField(audience.resold.has(p.tenantId) ? text.yes : text.no),
    ]);
  }
  return csvFile(lines);
}

/** `csp-audience-<offer>-2026-11-23.csv`: the UTC day the list was read. Offer IDs are letters, digits, dots, dashes and underscores. */
export function audienceCsvFileName(offerId: string, now: Date): string {
  return `csp-audience-${offerId}-${format(now, 'yyyy-MM-dd', { in: tz('UTC') })}.csv`;
}

interface CsvRecord {
  /** The physical line the record starts on, 1-based (a quoted field may span lines). */
  line: number;
  cells: string[];
}

/** RFC 4180 records, with CRLF, LF or CR line ends; a quote inside an unquoted field is kept as it is. */
function csvRecords(text: string): { records: CsvRecord[]; unclosedAt?: number } {
  const records: CsvRecord[] = [];
  let cells: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  const endRecord = () => {
    cells.push(field);
    records.push({ line: start, cells });
    cells = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
        field += c;
      }
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      cells.push(field);
      field = '';
    } else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) return { records, unclosedAt: start };
  if (field !== '' || cells.length) endRecord();
  return { records };
}

/** Header cells compare without case, spaces or punctuation: "Tenant ID", "tenantId" and "tenant_id" are one column. */
const headerKey = (value: string) => value.normalize('NFKC').toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a problem quotes from the file, kept short. */
const quote = (value: string) => (value.length > 60 ? `${value.slice(0, 59)}…` : value);

interface Problem {
  /** 0 for a problem of the whole file. */
  line: number;
  key: MessageKey;
  params: MessageParams;
}

interface ReadRow {
  line: number;
  partner: AudiencePartner;
}

/** Every row the file holds and every problem it has, so that the directory check can add its own with their lines. */
function readAudienceCsv(text: string, t: Translate): { rows: ReadRow[]; problems: Problem[] } {
  const words = audienceCsvText(t).headers;
  const columns = `${words.tenantId}, ${words.name}, ${words.regions}, ${words.hasResold}`;
  const { records, unclosedAt } = csvRecords(text.replace(/^\uFEFF/, ''));
  const problems: Problem[] = [];
  if (unclosedAt !== undefined) problems.push({ line: unclosedAt, key: 'audienceCsv.problem.unclosedQuote', params: { line: unclosedAt } });
  const blank = (r: CsvRecord) => r.cells.every((c) => !c.trim());
  const header = records.find((r) => !blank(r));
  if (!header) {
    if (!problems.length) problems.push({ line: 1, key: 'audienceCsv.problem.empty', params: { columns } });
    return { rows: [], problems };
  }
  const index = {} as Partial<Record<AudienceCsvColumn, number>>;
  header.cells.forEach((cell, i) => {
    const key = headerKey(cell);
    // A file exported in one language is read back in any: a Korean header names the same column.
    const column = audienceCsvColumns.find((c) => key && (key === headerKey(c) || locales.some((l) => key === headerKey(catalogs[l][`audienceCsv.column.${c}`]))));
    if (!column) return; // Other columns are the user's own notes.
    if (index[column] !== undefined) problems.push({ line: header.line, key: 'audienceCsv.problem.repeatedColumn', params: { line: header.line, column: words[column] } });
    else index[column] = i;
  });
  for (const column of ['tenantId', 'regions'] as const) {
    if (index[column] === undefined) problems.push({ line: header.line, key: 'audienceCsv.problem.missingColumn', params: { line: header.line, column: words[column], columns } });
  }
  if (index.tenantId === undefined || index.regions === undefined) return { rows: [], problems };
  const rows: ReadRow[] = [];
  const firstLine = new Map<string, number>();
  for (const record of records.slice(records.indexOf(header) + 1)) {
    if (blank(record)) continue;
    const { line } = record;
    const raw = (record.cells[index.tenantId] ?? '').trim();
    let tenantId: string | undefined;
    if (!raw) problems.push({ line, key: 'audienceCsv.problem.noTenantId', params: { line } });
    else if (!guid.test(raw)) problems.push({ line, key: 'audienceCsv.problem.badTenantId', params: { line, value: quote(raw) } });
    else {
      tenantId = raw.toLowerCase();
      const first = firstLine.get(tenantId);
      if (first !== undefined) problems.push({ line, key: 'audienceCsv.problem.duplicate', params: { line, tenantId, first } });
      else firstLine.set(tenantId, line);
      if (first !== undefined) tenantId = undefined;
    }
    const regions: string[] = [];
    let regionsValid = true;
    for (const part of (record.cells[index.regions] ?? '').split(/[;,]/)) {
      const value = part.trim();
      if (!value) continue;
      const code = value.toUpperCase();
      if (!/^[A-Z]{2}$/.test(code)) {
        problems.push({ line, key: 'audienceCsv.problem.badRegion', params: { line, value: quote(value) } });
        regionsValid = false;
      } else if (!regions.includes(code)) regions.push(code);
    }
    if (tenantId && regionsValid) rows.push({ line, partner: { tenantId, regions } });
  }
  if (!rows.length && !problems.length) problems.push({ line: 0, key: 'audienceCsv.problem.noRows', params: {} });
  return { rows, problems };
}

const sentences = (problems: Problem[], t: Translate) => [...problems].sort((a, b) => a.line - b.line).map((p) => t(p.key, p.params));

/**
 * R-I5: a partner list file read back: with or without a BOM, CRLF or LF, a
 * header row naming at least the tenant ID and regions columns (as exported,
 * or as the keys tenantId and regions), other columns ignored. Any bad row
 * refuses the whole file: each problem is a sentence that starts with its line.
 */
export function parseAudienceCsv(text: string, t: Translate = translator('en')): { partners: AudiencePartner[] } | { problems: string[] } {
  const { rows, problems } = readAudienceCsv(text, t);
  return problems.length ? { problems: sentences(problems, t) } : { partners: rows.map((r) => r.partner) };
}

const shownProblems = 20;

/** The whole file was refused: `problems` has every sentence; the message shows the first 20. */
export class AudienceCsvRefused extends DomainError {
  constructor(readonly problems: string[], t: Translate) {
    const shown = problems.slice(0, shownProblems);
    if (problems.length > shownProblems) shown.push(t('audienceCsv.moreProblems', { count: problems.length - shownProblems }));
    super('audienceCsv.refused', { count: problems.length, problems: shown.join('\n') });
  }
}

export interface AudienceCsvImport {
  audience: OfferAudience;
  /** Partners of the file that were not on the draft list. */
  added: number;
  /** Partners of the file already on the draft list: left as they were, regions included. */
  alreadyThere: number;
}

/**
 * R-I5: adds the partners of a file (with their regions) to the offer's draft
 * list. The whole file is refused, nothing changed, if any row is bad or names
 * a tenant ID the partner directory does not hold; every problem names its line.
 * A draft of no partners becomes "specific partners"; "any partner" is refused.
 * Owner or manager only.
 */
export async function importAudienceCsv(db: Database, ctx: CoreContext, offerText: string, csvText: string, t: Translate = translator('en')): Promise<AudienceCsvImport> {
  const actor = requirePublisherRole(ctx.actor, 'manager', 'what.editAudience');
  const found = await offerAudience(db, ctx, offerText);
  const { offer } = found;
  if (!isAudienceType(offer)) throw new DomainError('audience.fixedType', { offer: offer.name }, { terms: { type: `offerType.${offer.type}` } });
  if (found.draft.option === 'any') throw new DomainError('audienceCsv.optionAny', { offer: offer.name });
  const { rows, problems } = readAudienceCsv(csvText, t);
  const ids = rows.map((r) => r.partner.tenantId);
  const known = new Set(ids.length ? (await db.select({ tenantId: partnerDirectory.tenantId }).from(partnerDirectory).where(inArray(partnerDirectory.tenantId, ids))).map((p) => p.tenantId) : []);
  for (const { line, partner } of rows) {
    if (!known.has(partner.tenantId)) problems.push({ line, key: 'audienceCsv.problem.unknownPartner', params: { line, tenantId: partner.tenantId } });
  }
  if (problems.length) throw new AudienceCsvRefused(sentences(problems, t), t);
  return db.transaction(async (tx) => {
    // Two imports (or an import and an edit) into one offer take turns: each adds to the list the other left.
    const [locked] = await tx.select().from(offers).where(eq(offers.id, offer.id)).for('update');
    const audience = await loadAudience(tx, locked!);
    if (audience.draft.option === 'any') throw new DomainError('audienceCsv.optionAny', { offer: offer.name });
    const current = audience.draft.option === 'specific' ? audience.draft.partners : [];
    const fresh = rows.map((r) => r.partner).filter((p) => !current.some((c) => c.tenantId === p.tenantId));
    const next: AudienceState = { option: 'specific', partners: [...current, ...fresh] };
    await writeAudience(tx, offer.id, 'draft', next);
    await recordActivity(tx, { ...ctx, actor }, 'audience_draft_changed', null, { offer: offer.name, option: next.option, partners: String(next.partners.length) });
    return { audience: await loadAudience(tx, locked!), added: fresh.length, alreadyThere: rows.length - fresh.length };
  });
}

export interface FetchCsvOptions {
  /** Bytes read at most; 1 MB unless told. */
  maxBytes?: number;
  /** For the whole download, redirects included; 10 seconds unless told. */
  timeoutMs?: number;
  /** Loopback, private and link-local addresses are refused unless this is set (tests). */
  allowPrivateNetwork?: boolean;
  /** Host names read from whatever address they resolve to, a private one too (AUDIENCE_IMPORT_ALLOWED_HOSTS). */
  allowedHosts?: readonly string[];
}

/** Where a URL from chat must not lead: the bot's own host, its network, cloud metadata endpoints. */
const privateNetworks = new BlockList();
for (const [net, prefix] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) {
  privateNetworks.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [['::', 127], ['::ffff:0:0', 96], ['64:ff9b::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  privateNetworks.addSubnet(net, prefix, 'ipv6');
}

function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  return family === 4 ? privateNetworks.check(address, 'ipv4') : family === 6 ? privateNetworks.check(address, 'ipv6') : true;
}

class PrivateAddress extends Error {}

/** DNS answers are checked where the connection is made, so a name cannot resolve to a public address for a check and a private one for the request. */
function publicLookup(hostname: string, options: LookupOptions, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    if (!addresses.length || addresses.some((a) => isPrivateAddress(a.address))) return callback(new PrivateAddress(hostname), '');
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
}

const maxRedirects = 3;

const megabytes = (bytes: number) => (bytes >= 1024 * 1024 ? `${+(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`);

/**
 * R-I5: the text of a CSV file the bot can reach over http(s): at most 1 MB,
 * within 10 seconds, up to 3 redirects, UTF-8 (a BOM is dropped). Every failure is a DomainError
 * whose message names the URL the user gave.
 */
export async function fetchCsv(url: string, options: FetchCsvOptions = {}): Promise<string> {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const shown = quote(url.trim());
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const get = (target: URL): Promise<{ status: number; location?: string; body?: Buffer }> =>
    new Promise((resolve, reject) => {
      const host = target.hostname.replace(/^\[|\]$/g, '');
      // Checked at each redirect: a named host may send the bot only to another named host or a public one.
      const anyAddress = options.allowPrivateNetwork || options.allowedHosts?.includes(host.toLowerCase());
      if (!anyAddress && isIP(host) && isPrivateAddress(host)) return reject(new DomainError('audienceCsv.fetch.privateAddress', { url: shown }));
      const request = (target.protocol === 'https:' ? https : http).get(
        target,
        {
          signal: controller.signal,
          headers: { 'user-agent': 'csp-ops', accept: 'text/csv, text/plain;q=0.9, */*;q=0.1' },
          ...(anyAddress ? {} : { lookup: publicLookup }),
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (status >= 300 && status < 400 && response.headers.location) {
            response.resume();
            return resolve({ status, location: response.headers.location });
          }
          if (status < 200 || status >= 300) {
            response.resume();
            return resolve({ status });
          }
          if (Number(response.headers['content-length']) > maxBytes) {
            response.destroy();
            return reject(new DomainError('audienceCsv.fetch.tooLarge', { url: shown, max: megabytes(maxBytes) }));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) {
              response.destroy();
              reject(new DomainError('audienceCsv.fetch.tooLarge', { url: shown, max: megabytes(maxBytes) }));
            } else chunks.push(chunk);
          });
          response.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      request.on('error', reject);
    });
  try {
    let target: URL;
    try {
      target = new URL(url.trim());
    } catch {
      throw new DomainError('audienceCsv.fetch.badUrl', { url: shown });
    }
    for (let hop = 0; ; hop++) {
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new DomainError('audienceCsv.fetch.badUrl', { url: shown });
      const answer = await get(target);
      if (answer.location !== undefined) {
        if (hop >= maxRedirects) throw new DomainError('audienceCsv.fetch.redirects', { url: shown });
        target = new URL(answer.location, target);
        continue;
      }
      if (!answer.body) throw new DomainError('audienceCsv.fetch.status', { url: shown, status: answer.status });
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(answer.body);
      } catch {
        throw new DomainError('audienceCsv.fetch.notText', { url: shown });
      }
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    if (controller.signal.aborted) throw new DomainError('audienceCsv.fetch.timeout', { url: shown, seconds: +(timeoutMs / 1000).toFixed(1) });
    if (error instanceof PrivateAddress) throw new DomainError('audienceCsv.fetch.privateAddress', { url: shown });
    const reason = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
    throw new DomainError('audienceCsv.fetch.failed', { url: shown, reason });
  } finally {
    clearTimeout(timer);
  }
}
