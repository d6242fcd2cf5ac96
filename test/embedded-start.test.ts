import { execFile, spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { asc, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../db/client.js';
import { organizations } from '../db/schema.js';
import { freePort } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

// The embedded database's first start: a new data folder starts as a copy of the migrated template
// the build leaves in dist/db/ (README, "Settings", DATA_DIR), so it needs neither initdb nor the
// migrations; one copied from an older template gets the migrations that came after it.

const root = fileURLToPath(new URL('..', import.meta.url));
const journal = JSON.parse(await readFile(join(root, 'db/migrations/meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
const migrationCount = journal.entries.length;
const demoNames = ['Fabrikam Cloud Partners (demo)', '누리소프트 주식회사 (demo ISV)'];
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function tempDir(prefix: string) {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The app's tables, columns and indexes, as PostgreSQL describes them. */
async function schemaOf(db: Database) {
  const rows = (result: unknown) => (result as { rows: unknown[] }).rows;
  return {
    columns: rows(
      await db.execute(sql`select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = 'public' order by 1, 2`),
    ),
    indexes: rows(await db.execute(sql`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2`)),
    constraints: rows(await db.execute(sql`select conrelid::regclass::text as "table", conname, pg_get_constraintdef(oid) as def from pg_constraint where connamespace = 'public'::regnamespace order by 1, 2`)),
  };
}

describe('a new embedded data folder', () => {
  it('starts as a copy of the built template: the compiled bot applies no migration, loads the demo and serves', { timeout: 180_000 }, async () => {
    // What npm start runs first (prestart): compiles dist/ and makes the template when it is missing or stale.
    await promisify(execFile)(process.execPath, ['scripts/build.mjs', '--quiet'], { cwd: root, timeout: 150_000 });
    const dataDir = join(await tempDir('csp-first-start'), 'data');
    const port = await freePort();
    const bot = spawn(process.execPath, ['dist/src/main.js'], { cwd: root, env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', SLACK_APP_TOKEN: '', MICROSOFT_APP_ID: '', TEAMS_ALLOW_UNAUTHENTICATED: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void (bot.exitCode === null && bot.signalCode === null && bot.kill('SIGKILL')));
    let output = '';
    bot.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    bot.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((done) => bot.once('exit', (code) => done(code)));
    await waitFor(
      'the bot to serve',
      async () => {
        if (bot.exitCode !== null) throw new Error(`the bot exited (${bot.exitCode}):\n${output}`);
        return output.includes('Try it from another terminal') && (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false));
      },
      150_000,
    );
    expect(output).toContain('Loaded the demo partner');
    // A folder initdb made would have had every migration applied, and said so.
    expect(output).not.toMatch(/Applied \d+ database migrations/);
    bot.kill('SIGTERM');
    expect(await exited, output).toBe(0);

    const database = await openDatabase({ dataDir });
    try {
      expect(database.migrations).toEqual({ applied: 0, total: migrationCount });
      const stored = await database.db.select({ name: organizations.name, demo: organizations.demo }).from(organizations).orderBy(asc(organizations.name));
      expect(stored).toEqual(demoNames.map((name) => ({ name, demo: true })));
    } finally {
      await database.close();
    }
  });

  it('copied from a template made before the newest migration gets that migration, and then has the schema the migrations make', { timeout: 120_000 }, async () => {
    // An older template: the migrations without the newest one, applied to a folder of its own.
    const olderMigrations = await tempDir('csp-older-migrations');
    await cp(join(root, 'db/migrations'), olderMigrations, { recursive: true });
    const newest = journal.entries.at(-1)!.tag;
    await rm(join(olderMigrations, `${newest}.sql`));
    await writeFile(join(olderMigrations, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, -1) }));
    const olderTemplate = join(await tempDir('csp-older-template'), 'data');
    const older = new PGlite({ dataDir: olderTemplate, extensions: { pg_trgm } });
    await migrate(drizzle(older), { migrationsFolder: olderMigrations });
    await older.close();

    const dataDir = join(await tempDir('csp-from-older'), 'data');
    const upgraded = await openDatabase({ dataDir, startFrom: olderTemplate });
    const fresh = await openDatabase({});
    try {
      expect(upgraded.migrations).toEqual({ applied: 1, total: migrationCount, fromTemplate: true });
      expect(await schemaOf(upgraded.db)).toEqual(await schemaOf(fresh.db));
    } finally {
      await upgraded.close();
      await fresh.close();
    }
    // The template itself was copied, not changed: it still lacks the newest migration.
    const template = await openDatabase({ dataDir: olderTemplate });
    try {
      expect(template.migrations).toEqual({ applied: 1, total: migrationCount });
    } finally {
      await template.close();
    }
  });
});
