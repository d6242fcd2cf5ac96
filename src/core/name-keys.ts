import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { customers, offers, partnerDirectory } from '../../db/schema.js';
import { normalizeKey } from './text.js';

const batchSize = 500;

/**
 * Makes every stored name_key what normalizeKey says today, for rows written by an older one.
 * No migration can: the key needs JavaScript (Unicode marks, the Chinese character table).
 * Run at start-up after the migrations. Only names with a character outside printable ASCII,
 * or a quote at the start, can have a different key, so only those are read, in batches by
 * primary key; only keys that differ are written, and only while the name is still the one read.
 * Idempotent, so two instances starting together agree. Returns how many keys changed.
 */
export async function refreshNameKeys(db: Database): Promise<number> {
  const tables = [
    { table: customers, id: customers.id },
    { table: offers, id: offers.id },
    { table: partnerDirectory, id: partnerDirectory.tenantId },
  ];
  let changed = 0;
  for (const { table, id } of tables) {
    for (let after: string | undefined; ; ) {
      const rows = await db
        .select({ id, name: table.name, nameKey: table.nameKey })
        .from(table)
        .where(and(after === undefined ? undefined : gt(id, after), sql`${table.name} ~ '[^ -~]|^[[:space:]]*[''"\`]'`))
        .orderBy(asc(id))
        .limit(batchSize);
      const stale = rows.map((row) => ({ ...row, fresh: normalizeKey(row.name) })).filter((row) => row.fresh !== row.nameKey);
      if (stale.length) {
        await db.transaction(async (tx) => {
          for (const row of stale) await tx.update(table).set({ nameKey: row.fresh }).where(and(eq(id, row.id), eq(table.name, row.name)));
        });
        changed += stale.length;
      }
      if (rows.length < batchSize) break;
      after = rows[rows.length - 1]!.id;
    }
  }
  return changed;
}
