import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { asc, eq, sql } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '../db/client.js';
import { activityLog, customers, offers, organizations, purchases } from '../db/schema.js';
import { demoAdminEmail, demoAtStart, seedDemoIfEmpty } from '../db/seed/demo.js';
import { runCli } from '../src/adapters/cli/run.js';
import { orgTables, removeDemoOrganizations } from '../src/core/demo.js';
import { organizationNamed } from '../src/core/organizations.js';
import { translator } from '../src/i18n/index.js';
import { onPostgres, openFreshPostgres, openTestDatabase } from './helpers/database.js';
import { testOrganization } from './helpers/fixture.js';
import { killBotProcesses, startBotProcess, type BotProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const migrationsFolder = join(root, 'db/migrations');
const cleanups: (() => Promise<unknown> | void)[] = [];
afterAll(async () => {
  killBotProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const demoNames = ['Fabrikam Cloud Partners (demo)', '누리소프트 주식회사 (demo ISV)'];
const realName = testOrganization.organization.name;
const t = translator('en');

/** Rows of a raw query: postgres.js answers an array, PGlite { rows }. */
const rowsOf = <T>(result: unknown) => ((result as { rows?: T[] }).rows ?? (result as T[]));

async function writeJson(value: unknown) {
  const dir = await mkdtemp(join(tmpdir(), 'csp-demo-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'file.json');
  await writeFile(file, JSON.stringify(value));
  return file;
}

/** Every row of every table, as PostgreSQL writes it out (byte for byte), with its JSON to sort it by owner. */
async function everyRow(db: Database) {
  const tables = rowsOf<{ name: string }>(
    await db.execute(sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`),
  );
  const all: Record<string, { json: Record<string, unknown>; text: string }[]> = {};
  for (const { name } of tables) {
    all[name] = rowsOf<{ json: Record<string, unknown>; text: string }>(await db.execute(sql.raw(`select to_jsonb(t) as json, t::text as text from "${name}" t order by 2`)));
  }
  return all;
}

const offerTables = ['offer_audiences', 'offer_audience_partners', 'audience_support_requests'];

/** The rows that are not the demo's: its organizations, every row with their org_id, and the offers a demo publisher manages with their audiences. */
function notDemo(all: Awaited<ReturnType<typeof everyRow>>, demoIds: Set<string>, demoOffers: Set<string>) {
  const kept: Record<string, string[]> = {};
  for (const [table, rows] of Object.entries(all)) {
    kept[table] = rows
      .filter(({ json }) => {
        if (table === 'organizations') return !demoIds.has(json.id as string);
        if (table === 'offers') return !demoOffers.has(json.id as string);
        if (offerTables.includes(table)) return !demoOffers.has(json.offer_id as string);
        return !demoIds.has(json.org_id as string);
      })
      .map((row) => row.text);
  }
  return kept;
}

async function stop(bot: BotProcess) {
  bot.child.kill('SIGTERM');
  await waitFor('the bot to stop', () => bot.child.exitCode !== null || bot.child.signalCode !== null, 30_000);
}

const cleared = { SLACK_APP_TOKEN: '', SLACK_BOT_TOKEN: '', SLACK_SIGNING_SECRET: '', MICROSOFT_APP_ID: '', MICROSOFT_APP_PASSWORD: '', MICROSOFT_APP_TENANT_ID: '', TEAMS_ALLOW_UNAUTHENTICATED: '' };
/** `node --import tsx src/main.ts --demo` where organizations are stored: it stops before serving. */
const startRefused = (env: Record<string, string>) =>
  run(process.execPath, ['--import', 'tsx', 'src/main.ts', '--demo'], { cwd: root, env: { ...process.env, ...cleared, DATABASE_URL: '', DATA_DIR: '', PORT: '0', ...env }, timeout: 120_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const refusal = '--demo loads the demo organizations only into a database with no organizations; this one has some, so nothing was loaded.\n';

describe('the demo on the embedded database (PGlite, src/main.ts)', () => {
  it('a fresh start loads the demo marked as demo and the try-it commands work; --demo there refuses; demo remove empties it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'csp-demo-embedded-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    // Loading the demo comes before the bot answers /healthz.
    const bot = await startBotProcess('the bot on a fresh folder', { DATA_DIR: dataDir }, 120_000);
    await waitFor('the try-it hint', () => bot.output().includes('Try it from another terminal'), 30_000);
    expect(bot.output()).toContain('Loaded the demo partner "Fabrikam Cloud Partners (demo)" and the demo publisher "누리소프트 주식회사 (demo ISV)", marked as demo.');
    // The README's first try-it command, through the running bot.
    const cli = (...args: string[]) => run(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, env: { ...process.env, DATABASE_URL: '', DATA_DIR: dataDir }, timeout: 120_000 });
    expect((await cli('customers', '--as', demoAdminEmail)).stdout).toContain('Northwind Traders');
    await stop(bot);

    const refused = await startRefused({ DATA_DIR: dataDir });
    expect(refused).toMatchObject({ code: 1, stderr: refusal });

    const database = await openDatabase({ dataDir });
    try {
      const stored = await database.db.select({ name: organizations.name, demo: organizations.demo }).from(organizations).orderBy(asc(organizations.name));
      expect(stored).toEqual(demoNames.map((name) => ({ name, demo: true })));
      const removed = await runCli(database.db, ['demo', 'remove']);
      expect(removed.exitCode).toBe(0);
      expect(removed.output).toContain(`Removed the demo organizations ${demoNames.join(', ')}: 7 staff members, 10 customers, `);
      expect(removed.output.split('\n')[1]).toBe(t('cli.demoNoneLeft'));
      expect(await database.db.select().from(organizations)).toEqual([]);
    } finally {
      await database.close();
    }
    // The terminal on the emptied folder does not load the demo just to remove it.
    expect((await cli('demo', 'remove')).stdout).toBe('No demo organization is stored, so there is nothing to remove.\n');
  }, 300_000);
});

describe('the demo beside the partner\'s own organization', { timeout: 120_000 }, () => {
  let database: DatabaseHandle;
  const as = (email: string) => ['--as', email];
  const realAdmin = 'xiaoming.wang@partner.example';
  // One email in both: the demo's Traditional Chinese sales agent is also the partner's global admin.
  const shared = 'yijun.chen@fabrikam.example';
  const realFile = { ...testOrganization, staff: [...testOrganization.staff, { name: '陳怡君', email: shared, role: 'global-admin' as const }] };
  const db = () => database.db;

  it('only the demo stored: commands that name no organization act for it', async () => {
    database = await openTestDatabase();
    cleanups.push(() => database.close());
    expect(await seedDemoIfEmpty(database.db)).toBe(true);
    expect((await database.db.select({ demo: organizations.demo }).from(organizations)).map((o) => o.demo)).toEqual([true, true]);
    expect((await runCli(database.db, ['api-token', 'list'])).output).toBe('Fabrikam Cloud Partners (demo) has no API tokens. Create one with: npm run csp -- api-token create');
    expect((await runCli(database.db, ['customers', '台灣', ...as(shared)])).output).toContain('台灣雲端科技股份有限公司');
  });

  it('after importing a real organization, commands without --org act for it; --org and --as still reach the demo', async () => {
    expect(await runCli(database.db, ['import', await writeJson(realFile)])).toMatchObject({ exitCode: 0 });
    const [real] = await database.db.select().from(organizations).where(eq(organizations.name, realName));
    expect(real!.demo).toBe(false);

    expect((await runCli(database.db, ['api-token', 'list'])).output).toBe(`${realName} has no API tokens. Create one with: npm run csp -- api-token create`);
    const purchase = {
      id: 'PO-DEMO-1', customer: 'twcloud.example', kind: 'saas', saas: { offerId: 'tw-erp', planId: 'standard', seats: 3, price: 900, currency: 'TWD' },
      buyer: { name: '林美玲', email: 'meiling@twcloud.example' }, purchasedAt: '2026-11-22T03:00:00Z',
    };
    expect((await runCli(database.db, ['record-purchase', JSON.stringify(purchase)])).output).toContain('Recorded purchase PO-DEMO-1 by 台灣雲端科技股份有限公司');
    const [recorded] = await database.db.select({ orgId: purchases.orgId }).from(purchases).where(eq(purchases.sourceId, 'PO-DEMO-1'));
    expect(recorded!.orgId).toBe(real!.id);
    expect((await organizationNamed(db(), undefined)).name).toBe(realName);
    // The connector's commands: no organization names its tenant, so the partner's own.
    expect((await organizationNamed(db(), undefined, '6b5e2a3c-0000-4000-8000-0000000000aa')).name).toBe(realName);
    // An email in both: the partner's own; --org names the demo.
    expect((await runCli(database.db, ['settings', ...as(shared)])).output).toContain(realName);
    expect((await runCli(database.db, ['settings', ...as(shared), '--org', demoNames[0]!])).output).toContain(demoNames[0]);
    expect((await runCli(database.db, ['api-token', 'list', '--org', demoNames[0]!])).output).toContain(`${demoNames[0]} has no API tokens`);
    // The demo's own staff still try it as the README says.
    expect((await runCli(database.db, ['customers', 'northwind', ...as(demoAdminEmail)])).output).toContain('Northwind Traders');
  });

  it('demo remove deletes every demo row in one transaction, leaves every other row byte for byte, and says when there is nothing left to remove', async () => {
    // Both organizations at work: permissions, confirmations, activity, tokens, purchases, a subscription to a demo publisher's offer.
    for (const [args, expected] of [
      [['allow-reservations', 'northwind', ...as(demoAdminEmail), '--yes'], 'Azure reservation purchases are now on for Northwind Traders'],
      [['allow-reservations', 'twcloud.example', ...as(realAdmin), '--yes'], 'Azure reservation purchases are now on for 台灣雲端科技股份有限公司'],
      [['buy', 'nuri-sign', 'basic', 'for', '한빛소프트', 'seats', '2', ...as(realAdmin), '--yes'], 'Bought 누리'],
      [['api-token', 'create', '데모', '--org', demoNames[0]!], 'API token "데모"'],
      [['api-token', 'create', '청구'], `API token "청구" for ${realName}`],
    ] as const) {
      expect((await runCli(database.db, [...args])).output).toContain(expected);
    }

    const demoIds = new Set((await db().select({ id: organizations.id }).from(organizations).where(eq(organizations.demo, true))).map((o) => o.id));
    const demoOffers = new Set((await db().select({ id: offers.id, by: offers.publisherOrgId }).from(offers)).filter((o) => o.by && demoIds.has(o.by)).map((o) => o.id));
    expect(demoOffers.size).toBe(6);

    // A row of the partner's that (against the rules) names a demo customer makes the removal fail: nothing at all is removed.
    const [demoCustomer] = await db().select({ id: customers.id }).from(customers).where(eq(customers.domain, 'northwind.example'));
    const [real] = await db().select().from(organizations).where(eq(organizations.name, realName));
    const [blocker] = await db().insert(activityLog).values({ orgId: real!.id, customerId: demoCustomer!.id, actorName: '검사', action: 'test' }).returning();
    const whole = await everyRow(db());
    await expect(removeDemoOrganizations(db())).rejects.toThrow();
    expect(await everyRow(db())).toEqual(whole);
    await db().delete(activityLog).where(eq(activityLog.id, blocker!.id));

    const before = await everyRow(db());
    const demoRows = (table: string) => before[table]!.filter(({ json }) => demoIds.has(json.org_id as string)).length;
    // nuri-sign stays, with its audience: the partner's subscription names it.
    const gone = [...demoOffers].filter((id) => id !== 'nuri-sign');
    const other = orgTables.reduce((sum, [table]) => sum + (['staff', 'customers', 'subscriptions'].includes(table) ? 0 : demoRows(table)), 0) +
      offerTables.reduce((sum, table) => sum + before[table]!.filter(({ json }) => gone.includes(json.offer_id as string)).length, 0);
    const removed = await runCli(database.db, ['demo', 'remove']);
    expect(removed).toEqual({
      output: t('cli.demoRemoved', {
        count: 2, names: demoNames.join(', '), staff: demoRows('staff'), customers: demoRows('customers'), subscriptions: demoRows('subscriptions'),
        offers: gone.length, other,
      }),
      exitCode: 0,
    });
    expect(removed.output).toMatch(/^Removed the demo organizations Fabrikam Cloud Partners \(demo\), 누리소프트 주식회사 \(demo ISV\): 7 staff members, 10 customers, \d+ subscriptions, 5 offers and \d+ other rows/);

    const after = await everyRow(db());
    expect(notDemo(after, demoIds, demoOffers)).toEqual(notDemo(before, demoIds, demoOffers));
    // demo remove knows every table with an org_id, and none holds a demo row any more.
    const columns = rowsOf<{ table: string }>(await db().execute(sql`select table_name as table from information_schema.columns where table_schema = 'public' and column_name = 'org_id'`));
    expect(orgTables.map(([name]) => name).sort()).toEqual(columns.map((c) => c.table).sort());
    for (const [table] of orgTables) expect(after[table]!.filter(({ json }) => demoIds.has(json.org_id as string)), table).toEqual([]);
    expect(after.organizations!.map(({ json }) => json.name)).toEqual([realName]);
    const left = await db().select({ id: offers.id, by: offers.publisherOrgId }).from(offers).where(eq(offers.id, 'nuri-sign'));
    expect(left).toEqual([{ id: 'nuri-sign', by: null }]);
    expect(after.offers!.filter(({ json }) => demoOffers.has(json.id as string)).length).toBe(1);

    // The demo's staff are gone with it; the partner's own carry on without --org.
    expect((await runCli(database.db, ['customers', ...as(demoAdminEmail)])).output).toBe(`No staff member has the email ${demoAdminEmail}.`);
    expect((await runCli(database.db, ['customers', '高雄', ...as(shared)])).output).toContain('高雄精密工業');

    const again = await runCli(database.db, ['demo', 'remove']);
    expect(again).toEqual({ output: 'No demo organization is stored, so there is nothing to remove.', exitCode: 0 });
    expect(await everyRow(db())).toEqual(after);
    expect((await runCli(database.db, ['demo'])).output).toBe(t('cli.demoUsage'));
    expect(t('cli.usage')).toContain('npm run csp -- demo remove');
  });
});

describe('a database seeded before demo organizations were marked', () => {
  it(`the migration recognises the demo by its names and Slack team IDs, and no other organization (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, async () => {
    // The migrations as they were before this one.
    const journal = JSON.parse(await readFile(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
    const upTo = journal.entries.findIndex((e) => e.tag.endsWith('_demo_organizations'));
    const old = await mkdtemp(join(tmpdir(), 'csp-migrations-'));
    cleanups.push(() => rm(old, { recursive: true, force: true }));
    await mkdir(join(old, 'meta'));
    await writeFile(join(old, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.slice(0, upTo) }));
    for (const file of await readdir(migrationsFolder)) if (file.endsWith('.sql')) await copyFile(join(migrationsFolder, file), join(old, file));

    let db: Database;
    let migrate: (folder: string) => Promise<void>;
    if (onPostgres) {
      const fresh = await openFreshPostgres(process.env.TEST_DATABASE_URL!, 'csp_demo_upgrade');
      // Start again from nothing: the helper's database is migrated already.
      for (const statement of ['drop schema drizzle cascade', 'drop schema public cascade', 'create schema public']) await fresh.db.execute(sql.raw(statement));
      cleanups.push(() => fresh.close());
      const url = new URL(process.env.TEST_DATABASE_URL!);
      url.pathname = `/${fresh.name}`;
      const client = postgres(url.toString(), { max: 1, onnotice: () => {} });
      cleanups.push(() => client.end());
      const pg = drizzlePostgres(client);
      db = pg as unknown as Database;
      migrate = (folder) => migratePostgres(pg, { migrationsFolder: folder });
    } else {
      const client = new PGlite({ extensions: { pg_trgm } });
      cleanups.push(() => client.close());
      const lite = drizzlePglite(client);
      db = lite as unknown as Database;
      migrate = (folder) => migratePglite(lite, { migrationsFolder: folder });
    }
    await migrate(old);
    await db.execute(sql`insert into organizations (name, kind, slack_team_id) values
      ('Fabrikam Cloud Partners (demo)', 'partner', 'T0DEMO0001'), ('누리소프트 주식회사 (demo ISV)', 'publisher', 'T0DEMOISV1'),
      ('台北雲端夥伴股份有限公司', 'partner', 'T0REAL0001'), ('한빛 클라우드 파트너스', 'partner', null)`);
    await migrate(migrationsFolder);
    const marked = rowsOf<{ name: string; demo: boolean }>(await db.execute(sql`select name, demo from organizations order by name`));
    expect(marked).toEqual([
      { name: 'Fabrikam Cloud Partners (demo)', demo: true },
      { name: '누리소프트 주식회사 (demo ISV)', demo: true },
      { name: '台北雲端夥伴股份有限公司', demo: false },
      { name: '한빛 클라우드 파트너스', demo: false },
    ].sort((a, b) => (a.name < b.name ? -1 : 1)));
  }, 60_000);
});

describe(
  onPostgres
    ? 'a fresh PostgreSQL database at start-up (PostgreSQL: src/main.ts as child processes)'
    : 'a fresh database reached by DATABASE_URL at start-up (PGlite in memory stands in: the start-up decision src/main.ts acts on)',
  () => {
    it('says how to import an organization or load the demo; --demo loads the demo marked as demo; --demo where organizations are stored refuses in one line', async () => {
      if (onPostgres) {
        const fresh = await openFreshPostgres(process.env.TEST_DATABASE_URL!, 'csp_demo_start');
        cleanups.push(() => fresh.close());
        const url = new URL(process.env.TEST_DATABASE_URL!);
        url.pathname = `/${fresh.name}`;
        const env = { DATABASE_URL: url.toString() };

        const plain = await startBotProcess('the bot on an empty database', env);
        await waitFor('the start-up hint', () => plain.output().includes('No organization is stored'), 30_000);
        expect(plain.output()).toContain(
          'No organization is stored in this database yet. Import yours with `npm run csp -- import <file.json>` (README, "Import format"), or start once with `npm start -- --demo` to load the demo organizations.',
        );
        expect(plain.output()).not.toContain('Try it');
        await stop(plain);
        expect(await fresh.db.select().from(organizations)).toEqual([]);

        const demo = await startBotProcess('the bot with --demo', env, 60_000, ['--demo']);
        await waitFor('the try-it hint', () => demo.output().includes('Try it from another terminal'), 30_000);
        expect(demo.output()).toContain('Loaded the demo partner');
        expect(demo.output()).not.toContain('No organization is stored');
        await stop(demo);
        const stored = await fresh.db.select({ name: organizations.name, demo: organizations.demo }).from(organizations).orderBy(asc(organizations.name));
        expect(stored).toEqual(demoNames.map((name) => ({ name, demo: true })));
        expect((await runCli(fresh.db, ['customers', ...['--as', demoAdminEmail]])).output).toContain('Northwind Traders');

        const refused = await startRefused(env);
        expect(refused).toMatchObject({ code: 1, stderr: refusal });
        expect(await fresh.db.select({ name: organizations.name, demo: organizations.demo }).from(organizations).orderBy(asc(organizations.name))).toEqual(stored);
      } else {
        const database = await openDatabase({});
        try {
          expect(await demoAtStart(database.db, { embedded: false, asked: false })).toEqual({ loaded: false, refused: false, own: 0, demo: 0 });
          expect(await database.db.select().from(organizations)).toEqual([]);
          expect(await demoAtStart(database.db, { embedded: false, asked: true })).toEqual({ loaded: true, refused: false, own: 0, demo: 2 });
          expect((await database.db.select({ demo: organizations.demo }).from(organizations)).map((o) => o.demo)).toEqual([true, true]);
          expect(await demoAtStart(database.db, { embedded: false, asked: true })).toEqual({ loaded: false, refused: true, own: 0, demo: 2 });
          await runCli(database.db, ['import', await writeJson(testOrganization)]);
          expect(await demoAtStart(database.db, { embedded: false, asked: false })).toEqual({ loaded: false, refused: false, own: 1, demo: 2 });
        } finally {
          await database.close();
        }
      }
    }, 180_000);
  },
);
