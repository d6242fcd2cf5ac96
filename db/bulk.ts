import { getTableColumns, sql, type InferInsertModel, type InferSelectModel } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import type { Queryable } from './client.js';

/**
 * Inserts many rows with one statement and one parameter: the rows travel as a JSON array that
 * jsonb_populate_recordset turns into the table's row type, inserted in the array's order (so
 * serial IDs follow it). Drizzle's multi-row VALUES builds a parameter for every value of every
 * row, which for a few hundred rows costs more than the database takes to insert them. Every row
 * names the same columns; the others take their defaults. Values go as JSON writes them: Dates
 * as ISO strings, objects for jsonb columns.
 */
export async function insertMany<T extends PgTable>(
  db: Queryable,
  table: T,
  rows: InferInsertModel<T>[],
  options: { onConflictDoNothing?: boolean; returning?: boolean } = {},
): Promise<InferSelectModel<T>[]> {
  if (!rows.length) return [];
  const columns = getTableColumns(table);
  const keys = Object.keys(rows[0]!);
  const names = keys.map((key) => columns[key]!.name);
  const json = JSON.stringify(rows.map((row) => Object.fromEntries(keys.map((key, i) => [names[i], (row as Record<string, unknown>)[key] ?? null]))));
  const list = sql.join(names.map((name) => sql.identifier(name)), sql`, `);
  const fromJson = sql.join(names.map((name) => sql`r.${sql.identifier(name)}`), sql`, `);
  const result = await db.execute(sql`insert into ${table} (${list})
    select ${fromJson} from jsonb_populate_recordset(null::${table}, ${json}::jsonb) with ordinality as r order by r.ordinality
    ${options.onConflictDoNothing ? sql`on conflict do nothing` : sql``} ${options.returning ? sql`returning *` : sql``}`);
  if (!options.returning) return [];
  // postgres.js answers the rows, PGlite { rows }; either way as the driver read them, so each column maps its own.
  const raw = ((result as { rows?: unknown[] }).rows ?? (result as unknown as unknown[])) as Record<string, unknown>[];
  const fields = Object.entries(columns);
  return raw.map(
    (row) => Object.fromEntries(fields.map(([key, column]) => [key, row[column.name] === null ? null : column.mapFromDriverValue(row[column.name])])) as InferSelectModel<T>,
  );
}
