import { readFile } from 'node:fs/promises';
import { count } from 'drizzle-orm';
import type { Database } from '../client.js';
import { organizations } from '../schema.js';
import { importOrganization, parseImportFile } from '../../src/core/import.js';

export const demoAdminEmail = 'admin@fabrikam.example';

/** Loads the demo organization into an empty database; returns whether it did. */
export async function seedDemoIfEmpty(db: Database): Promise<boolean> {
  const [{ n } = { n: 0 }] = await db.select({ n: count() }).from(organizations);
  if (n > 0) return false;
  const file = JSON.parse(await readFile(new URL('./demo.json', import.meta.url), 'utf8'));
  await importOrganization(db, parseImportFile(file));
  return true;
}
