import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../db/client.js';
import { openFreshPostgres } from '../test/helpers/database.js';

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** PGlite in memory, or (DATABASE_URL) a fresh database on that server, dropped when the handle closes. */
export async function openBenchDatabase(prefix: string): Promise<{ handle: DatabaseHandle; description: string }> {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return { handle: await openDatabase({}), description: 'PGlite, in memory' };
  const probe = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  let version: string;
  try {
    const [row] = await probe`show server_version`;
    version = String(row?.server_version ?? '?');
  } finally {
    await probe.end({ timeout: 0 }).catch(() => {});
  }
  const handle = await openFreshPostgres(serverUrl, prefix);
  return { handle, description: `PostgreSQL ${version}, fresh database ${handle.name} on ${redact(serverUrl).replace(/\/[^/]*$/, '')} (dropped afterwards)` };
}
