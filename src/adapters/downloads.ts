import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { formatTimestamp, preferredLocale, translator } from '../i18n/index.js';
import type { ViewFile } from '../views/model.js';

export interface DownloadAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
  /** A file on disk to stream as the body instead (an export). */
  file?: string;
}

/** The size of a view's file in bytes. */
export const fileSize = (file: ViewFile) => ('data' in file ? file.data.length : file.size);

/** Removes the temporary files among these once they are delivered (or cannot be): bytes in memory need nothing. */
export async function discardFiles(files: readonly ViewFile[] = []): Promise<void> {
  await Promise.all(files.map((file) => ('path' in file ? rm(file.path, { force: true }) : undefined)));
}

export interface Downloads {
  /** Keeps the file and returns the path of a link to it, signed and valid until `expiresAt`. */
  offer(file: ViewFile): { path: string; expiresAt: Date };
  /** Answers `GET /files/<token>`. */
  /** `acceptLanguage`: the browser's Accept-Language, for the sentence a refused link answers with. */
  serve(token: string, acceptLanguage?: string): DownloadAnswer;
  /** Forgets every file (the process stops: its links die with it), removing those on disk. */
  clear(): Promise<void>;
}

const tokenPattern = /^([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/;

/**
 * Files (a price list or an activity export for Teams) served by the bot behind
 * links that carry the file's ID and expiry, signed with HMAC-SHA256 under a key
 * made at start. The files stay in this process's memory (or, an export, on disk,
 * streamed when fetched) until their link expires, within a count bound and a
 * bound on the bytes held in memory (the oldest go first): a link is served by
 * the process that made it, and a restart forgets it, which the answer says.
 */
export function createDownloads(options: { ttlMs?: number; maxFiles?: number; maxBytes?: number } = {}): Downloads {
  const ttlMs = options.ttlMs ?? 60 * 60 * 1000;
  const maxFiles = options.maxFiles ?? 200;
  const maxBytes = options.maxBytes ?? 100 * 1024 * 1024;
  const key = randomBytes(32);
  const files = new Map<string, ViewFile & { expiresAt: number }>();
  let bytes = 0;

  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');
  const inMemory = (file: ViewFile | undefined) => (file && 'data' in file ? file.data.length : 0);
  const drop = (id: string) => {
    const file = files.get(id);
    bytes -= inMemory(file);
    files.delete(id);
    return file ? discardFiles([file]) : Promise.resolve();
  };
  const dropExpired = (now: number) => {
    for (const [id, file] of files) if (file.expiresAt <= now) void drop(id);
  };
  const refuse = (status: number, message: string): DownloadAnswer => ({
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' },
    body: `${message}\n`,
  });

  return {
    offer(file) {
      const now = Date.now();
      dropExpired(now);
      const id = randomBytes(16).toString('base64url');
      const expiresAt = Math.ceil((now + ttlMs) / 1000);
      files.set(id, { ...file, expiresAt: expiresAt * 1000 });
      bytes += inMemory(file);
      // Map order is insertion order: the first entries are the oldest. The new file always stays.
      for (const oldest of files.keys()) {
        if (files.size <= 1 || (files.size <= maxFiles && bytes <= maxBytes)) break;
        void drop(oldest);
      }
      const payload = `${id}.${expiresAt}`;
      return { path: `/files/${payload}.${sign(payload)}`, expiresAt: new Date(expiresAt * 1000) };
    },
    serve(token, acceptLanguage) {
      const t = translator(preferredLocale(acceptLanguage));
      const match = tokenPattern.exec(token);
      const given = Buffer.from(match?.[3] ?? '');
      const expected = Buffer.from(sign(`${match?.[1]}.${match?.[2]}`));
      if (!match || given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse(403, t('files.linkInvalid'));
      const expiresAt = Number(match[2]) * 1000;
      const now = Date.now();
      if (expiresAt <= now) return refuse(410, t('files.linkExpired', { expired: formatTimestamp(t, new Date(expiresAt)) }));
      dropExpired(now);
      const file = files.get(match[1]!);
      if (!file) return refuse(410, t('files.linkGone'));
      return {
        status: 200,
        headers: {
          'content-type': file.contentType,
          'content-length': String(fileSize(file)),
          // An ASCII name for old clients, the exact one (RFC 6266 / 5987) for the rest.
          'content-disposition': `attachment; filename="${file.name.replace(/[^\x20-\x7e]|["\\]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
          'cache-control': 'private, no-store',
          'x-content-type-options': 'nosniff',
        },
        ...('data' in file ? { body: file.data } : { body: '', file: file.path }),
      };
    },
    async clear() {
      await Promise.all([...files.keys()].map(drop));
    },
  };
}
