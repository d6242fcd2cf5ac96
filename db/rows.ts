import { getTableColumns, type InferSelectModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/**
 * The rows a raw statement returned (`returning *` from db.execute), typed as the table's: each
 * value read by its column as Drizzle's own queries read it. postgres.js answers the rows, PGlite
 * `{ rows }`.
 */
export function rowsOf<T extends PgTable>(table: T, result: unknown): InferSelectModel<T>[] {
  const raw = ((result as { rows?: unknown[] }).rows ?? (result as unknown[])) as Record<string, unknown>[];
  const columns = Object.entries(getTableColumns(table));
  return raw.map(
    (row) => Object.fromEntries(columns.map(([key, column]) => [key, row[column.name] === null ? null : column.mapFromDriverValue(row[column.name])])) as InferSelectModel<T>,
  );
}
