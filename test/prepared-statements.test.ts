import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { onPostgres, openTestDatabase } from './helpers/database.js';

// Statements are prepared once per SQL text and then only bound and executed: by postgres.js on a
// server, by db/pglite-statements.ts on the embedded database. Either way a query gives what it
// gave unprepared: the same rows and types, its errors, a table changed under it, and on the
// embedded database no more prepared statements than the cache keeps.

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
let database: DatabaseHandle;
beforeAll(async () => {
  database = await openTestDatabase();
  await database.db.execute(sql`create schema probe`);
});
afterAll(() => database?.close());

/** Rows of a raw query: postgres.js answers an array, PGlite { rows }. */
const rowsOf = <T>(result: unknown) => ((result as { rows?: T[] }).rows ?? (result as T[]));
const db = () => database.db;

describe(`prepared statements (${engine})`, () => {
  it('run again, a statement gives the same rows and types for every kind of value, parameters included', async () => {
    await db().execute(sql`create table probe.kinds (id int primary key, word text, big bigint, amount numeric(12, 2), flag boolean, doc jsonb, at timestamptz, day date, tags text[], counts int[], raw bytea)`);
    const values = { word: '한빛 "quoted" \\ café', big: '9007199254740993', amount: '12.50', doc: { nested: ['一', 2, null] }, at: '2026-05-18 09:00:00+00', day: '2026-05-18', tags: ['a', 'b c', 'ü'], counts: [1, 2, 3] };
    for (const id of [1, 2]) {
      await db().execute(
        sql`insert into probe.kinds values (${id}, ${values.word}, ${values.big}, ${values.amount}, ${id === 1}, ${JSON.stringify(values.doc)}, ${values.at}, ${values.day}, ${sql.param(values.tags)}, ${sql.param(values.counts)}, ${null})`,
      );
    }
    const select = (id: number) => db().execute(sql`select id, word, big::text as big, amount::text as amount, flag, doc, at::text as at, day::text as day, tags, counts, raw from probe.kinds where id = ${id}`);
    const runs = [await select(1), await select(1), await select(2), await select(2)].map((result) => rowsOf<Record<string, unknown>>(result));
    const expected = (id: number) => [{ id, ...values, flag: id === 1, raw: null }];
    expect(runs).toEqual([expected(1), expected(1), expected(2), expected(2)]);
  });

  it('a statement whose table gained a column since it was prepared answers with the new column, and one deallocated is prepared again', async () => {
    await db().execute(sql`create table probe.grows (id int)`);
    await db().execute(sql`insert into probe.grows values (1)`);
    const all = () => db().execute(sql`select * from probe.grows`).then((result) => rowsOf(result));
    expect(await all()).toEqual([{ id: 1 }]);
    expect(await all()).toEqual([{ id: 1 }]);
    await db().execute(sql`alter table probe.grows add column name text default 'Contoso'`);
    expect(await all()).toEqual([{ id: 1, name: 'Contoso' }]);
    // Every statement of the session deallocated (as pg_dump does): prepared again when next run.
    await db().execute(sql`deallocate all`);
    expect(await all()).toEqual([{ id: 1, name: 'Contoso' }]);
  });

  it('a failing statement fails as before, rolls its transaction back, and runs again afterwards', async () => {
    await db().execute(sql`create table probe.unique_names (name text primary key)`);
    const insert = (name: string) => db().execute(sql`insert into probe.unique_names values (${name})`);
    await insert('Northwind');
    const failure = await insert('Northwind').then(
      () => undefined,
      (error: { cause?: { code?: string } }) => error,
    );
    expect(failure?.cause?.code).toBe('23505');
    await expect(
      db().transaction(async (tx) => {
        await tx.execute(sql`insert into probe.unique_names values (${'Fabrikam'})`);
        await tx.execute(sql`insert into probe.unique_names values (${'Northwind'})`);
      }),
    ).rejects.toThrow();
    await insert('Contoso');
    const names = rowsOf<{ name: string }>(await db().execute(sql`select name from probe.unique_names order by name`)).map((row) => row.name);
    expect(names).toEqual(['Contoso', 'Northwind']);
  });

  it('hundreds of different statements all run, and the embedded database keeps a bounded number prepared', async () => {
    for (let n = 0; n < 300; n++) {
      const [row] = rowsOf<{ n: number }>(await db().execute(sql.raw(`select ${n}::int as n`)));
      expect(row).toEqual({ n });
    }
    if (!onPostgres) {
      const prepared = rowsOf<{ prepared: number }>(await db().execute(sql`select count(*)::int as prepared from pg_prepared_statements`))[0]!.prepared;
      expect(prepared).toBeGreaterThan(100);
      expect(prepared).toBeLessThanOrEqual(256);
    }
  });
});
