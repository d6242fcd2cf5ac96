import { getTableColumns, type InferSelectModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';

/** The raw rows of a statement's result: postgres.js answers the rows, PGlite `{ rows }`. */
export const rawRows = (result: unknown): Record<string, unknown>[] => ((result as { rows?: unknown[] }).rows ?? (result as unknown[])) as Record<string, unknown>[];

/**
 * One table's columns in a raw row (each named `prefix` + its column name), typed as the table's: each
 * value read by its column as Drizzle's own queries read it.
 */
export function columnsOf<T extends PgTable>(table: T, row: Record<string, unknown>, prefix = ''): InferSelectModel<T> {
  return Object.fromEntries(
    Object.entries(getTableColumns(table)).map(([key, column]) => {
      const value = row[prefix + column.name];
      return [key, value === null || value === undefined ? null : column.mapFromDriverValue(value)];
    }),
  ) as InferSelectModel<T>;
}

/** The rows a raw statement returned (`returning *` from db.execute), typed as the table's. */
export function rowsOf<T extends PgTable>(table: T, result: unknown): InferSelectModel<T>[] {
  return rawRows(result).map((row) => columnsOf(table, row));
}
