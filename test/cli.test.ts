import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { acquireDataDirLock } from '../db/lock.js';
import { apiTokens, customers, reservations, staff, subscriptions } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { startBot } from '../src/bot.js';
import { openTestDatabase } from './helpers/database.js';
import { testOrganization } from './helpers/fixture.js';
import { silentLog } from './helpers/slack.js';
import { snapshot } from './helpers/tables.js';

const run = promisify(execFile);
let database: DatabaseHandle;
let dir: string;

beforeAll(async () => {
  database = await openTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'csp-cli-'));
});
afterAll(async () => {
  await database?.close();
  await rm(dir, { recursive: true, force: true });
});

async function tables() {
  const db = database.db;
  return {
    staff: await db.select().from(staff).orderBy(staff.email),
    customers: await db.select().from(customers).orderBy(customers.tenantId),
    subscriptions: await db.select().from(subscriptions).orderBy(subscriptions.id),
    reservations: await db.select().from(reservations).orderBy(reservations.id),
  };
}

describe('import', () => {
  it('loads an organization from one JSON file; importing it again changes nothing', async () => {
    const file = join(dir, 'org.json');
    await writeFile(file, JSON.stringify(testOrganization));
    const first = await runCli(database.db, ['import', file]);
    expect(first).toEqual({ output: 'Imported 4 staff members, 7 customers, 1 contact, 7 subscriptions and 3 reservations.', exitCode: 0 });
    const after = await tables();
    expect(after.customers.map((c) => c.name)).toContain('台灣雲端科技股份有限公司');
    expect((await runCli(database.db, ['import', file])).exitCode).toBe(0);
    expect(await tables()).toEqual(after);
  });

  it('refuses an invalid file whole, naming the JSON path of each bad field', async () => {
    const before = await snapshot(database.db);
    const bad = structuredClone(testOrganization) as Record<string, any>;
    bad.staff[1].role = 'owner';
    bad.customers[2].tenantId = 'not-a-guid';
    bad.customers[3].billingCountry = 'Taiwan';
    bad.customers[4].subscriptions[0].offer = 'azure-everything';
    bad.customers[0].reservations[0].scope = 'single';
    bad.customers[0].reservations[1].subscriptionId = 'c0c0c0c0-0000-4000-8000-000000000002';
    bad.customers[0].reservations[1].term = 'P2Y';
    bad.customers.push({ ...bad.customers[0], name: '새 고객', domain: 'new.example' });
    const file = join(dir, 'bad.json');
    await writeFile(file, JSON.stringify(bad));
    const { output, exitCode } = await runCli(database.db, ['import', file]);
    expect(exitCode).toBe(1);
    expect(output).toContain('staff[1].role:');
    expect(output).toContain('customers[2].tenantId:');
    expect(output).toContain('customers[3].billingCountry: expected a two-letter country code such as KR');
    expect(output).toContain('customers[4].subscriptions[0].offer:');
    expect(output).toContain('customers[0].reservations[0].subscriptionId: expected a subscriptionId when scope is single, and none when it is shared');
    expect(output).toContain("customers[0].reservations[1].subscriptionId: not one of this customer's subscriptions: c0c0c0c0-0000-4000-8000-000000000002");
    expect(output).toContain('customers[0].reservations[1].term:');
    expect(output).toContain('customers[7].tenantId: duplicate tenant ID 11111111-1111-4111-8111-111111111111');
    expect(output).toContain('Nothing was imported.');
    await writeFile(file, JSON.stringify({ organization: { name: 'x' }, staff: 'nobody', customers: [null, 7] }));
    const odd = await runCli(database.db, ['import', file]);
    expect(odd.output).toContain('staff: ');
    expect(odd.output).toContain('customers[0]: ');
    await writeFile(file, '{ "organization": ');
    expect((await runCli(database.db, ['import', file])).output).toMatch(/Could not read .*bad\.json: .*JSON.*Nothing was imported\./s);
    expect((await runCli(database.db, ['import', join(dir, 'missing.json')])).output).toContain('no such file');
    expect(await snapshot(database.db)).toEqual(before);
  });
});

describe('CLI commands: same grammar, same core', () => {
  it('runs a command as the staff member named by --as', async () => {
    const { output, exitCode } = await runCli(database.db, ['customers', '한빛', '--as', 'jihoon.park@partner.example']);
    expect(exitCode).toBe(0);
    expect(output).toContain('한빛소프트 주식회사 — hanbitsoft.example');
    const help = await runCli(database.db, ['help', '--as', 'jihoon.park@partner.example']);
    expect(help.output).toContain('npm run csp -- allow-reservations <customer>');
  });

  it('shows a confirmation and acts only with --yes (R-P10)', async () => {
    const asAdmin = ['--as', 'xiaoming.wang@partner.example'];
    const asked = await runCli(database.db, ['allow-reservations', 'twcloud.example', ...asAdmin]);
    expect(asked.output).toContain('you, the partner, pay for every purchase they make');
    expect(asked.output).toContain('To turn on, run the same command again with --yes.');
    const done = await runCli(database.db, ['allow-reservations', 'twcloud.example', ...asAdmin, '--yes']);
    expect(done.output).toContain('Azure reservation purchases are now on for 台灣雲端科技股份有限公司');
    const log = await runCli(database.db, ['activity', '--as', 'sua.choi@partner.example']);
    expect(log.output).toContain('王小明 — Create customer purchase permission — 台灣雲端科技股份有限公司');
  });

  it('R-M7 a subscription edit shows what will change, and --yes clicks its confirm button once', async () => {
    const asAdmin = ['--as', 'xiaoming.wang@partner.example'];
    const file = join(dir, 'offers.json');
    const offer = {
      id: 'tw-erp', name: '雲端 ERP', publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' }, type: 'saas', categories: ['ERP'], countries: ['TW'],
      plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
    };
    await writeFile(file, JSON.stringify({ ...testOrganization, offers: [offer] }));
    expect((await runCli(database.db, ['import', file])).exitCode).toBe(0);
    const bought = await runCli(database.db, ['buy', 'tw-erp', 'standard', 'for', '台灣雲端科技', 'seats', '2', ...asAdmin, '--yes']);
    expect(bought.output).toContain('Bought 雲端 ERP for 台灣雲端科技股份有限公司');
    const id = /Subscription: ([0-9a-f-]{36})/.exec(bought.output)![1]!;

    const before = await tables();
    const asked = await runCli(database.db, ['subscription', id, 'seats', '3', ...asAdmin]);
    expect(asked.output).toContain('2 → 3');
    expect(asked.output).toContain('NT$1,800 → NT$2,700 (+NT$900)');
    expect(asked.output).toContain('To confirm, run the same command again with --yes.');
    expect(await tables()).toEqual(before);
    const done = await runCli(database.db, ['subscription', id, 'seats', '3', ...asAdmin, '--yes']);
    expect(done).toMatchObject({ exitCode: 0 });
    expect(done.output).toContain('雲端 ERP — 標準版 now has 3 seats.');
    const cancel = await runCli(database.db, ['subscription', id, 'cancel', ...asAdmin]);
    expect(cancel.output).toContain('To cancel the subscription, run the same command again with --yes.');
  });

  it('refuses unknown staff, missing --as and bad flags with exit codes', async () => {
    expect(await runCli(database.db, ['customers', '--as', 'nobody@example.com'])).toEqual({ output: 'No staff member has the email nobody@example.com.', exitCode: 1 });
    expect((await runCli(database.db, ['customers'])).output).toContain('Say who is acting with --as <staff email>.');
    expect((await runCli(database.db, ['customers', '--bogus'])).exitCode).toBe(2);
    const refused = await runCli(database.db, ['allow-reservations', 'contoso.com', '--as', 'yijun.chen@partner.example', '--yes']);
    expect(refused.exitCode).toBe(1);
    expect(refused.output).toContain('needs the admin agent or global admin role');
  });
});

describe('the embedded data folder is opened by one process', () => {
  const cli = (env: Record<string, string>) =>
    run(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'customers', '台灣', '--as', 'jihoon.park@partner.example'], {
      env: { ...process.env, DATABASE_URL: '', ...env },
    }).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e) => ({ code: e.code as number, out: `${e.stdout}${e.stderr}` }),
    );

  it('while the bot holds the folder, the CLI runs through the bot', async () => {
    const dataDir = join(dir, 'bridged');
    const bot = await startBot({
      db: database.db,
      config: { PORT: 0, SLACK_SIGNING_SECRET: undefined, SLACK_BOT_TOKEN: undefined, SLACK_APP_TOKEN: undefined, SLACK_API_URL: 'http://127.0.0.1:9/' },
      log: silentLog,
      cliToken: 'bridge-token-for-test',
    });
    const lock = acquireDataDirLock(dataDir, { pid: process.pid, cliPort: bot.port, cliToken: 'bridge-token-for-test' });
    try {
      const result = await cli({ DATA_DIR: dataDir });
      expect(result).toMatchObject({ code: 0 });
      expect(result.out).toContain('台灣雲端科技股份有限公司 — twcloud.example');
      const forged = await fetch(`http://127.0.0.1:${bot.port}/internal/cli`, { method: 'POST', headers: { 'x-csp-cli-token': 'guess' }, body: '{"argv":["help"]}' });
      expect(forged.status).toBe(403);
    } finally {
      if (lock.acquired) lock.release();
      await bot.stop();
    }
  });

  it('while another process holds it without a bridge, the CLI says the folder is in use and touches nothing', async () => {
    const dataDir = join(dir, 'busy');
    const lock = acquireDataDirLock(dataDir, { pid: process.pid });
    try {
      const result = await cli({ DATA_DIR: dataDir });
      expect(result.code).toBe(1);
      expect(result.out).toContain(`The data folder ${dataDir} is in use by another csp-ops process (pid ${process.pid})`);
      expect(acquireDataDirLock(dataDir, { pid: process.pid }).acquired).toBe(false);
    } finally {
      if (lock.acquired) lock.release();
    }
  });

  it('a lock left by a process that died is taken over', async () => {
    const dataDir = join(dir, 'stale');
    const first = acquireDataDirLock(dataDir, { pid: 2 ** 22 + 12345 });
    expect(first.acquired).toBe(true);
    const second = acquireDataDirLock(dataDir, { pid: process.pid });
    expect(second.acquired).toBe(true);
    if (second.acquired) second.release();
  });

  it('a lock naming this process\'s PID that this process did not take was left by a killed process given the same PID (PID 1 in a container)', async () => {
    const dataDir = join(dir, 'same-pid');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'csp-ops.lock'), JSON.stringify({ pid: process.pid, cliPort: 9, cliToken: 'from-the-killed-process' }));
    const lock = acquireDataDirLock(dataDir, { pid: process.pid });
    expect(lock.acquired).toBe(true);
    if (lock.acquired) lock.release();
  });
});

describe('purchase intake from the terminal (R-P8)', () => {
  it('api-token create shows a token once and stores only its hash; list and revoke manage it', async () => {
    const created = await runCli(database.db, ['api-token', 'create', '청구', '내보내기']);
    expect(created.exitCode).toBe(0);
    const token = /^(csp_\S+)$/m.exec(created.output)![1]!;
    const id = /\(ID ([0-9a-f-]{36})\)/.exec(created.output)![1]!;
    expect(created.output).toContain('API token "청구 내보내기" for 한빛 클라우드 파트너스');
    expect(JSON.stringify(await database.db.select().from(apiTokens))).not.toContain(token);
    expect((await runCli(database.db, ['api-token', 'list'])).output).toMatch(new RegExp(`${id} — 청구 내보내기 \\(purchase intake\\) — created .* — last used never$`));
    expect(await runCli(database.db, ['api-token', 'revoke', id])).toEqual({ output: `API token ${id} is revoked; requests carrying it are refused from now on.`, exitCode: 0 });
    expect(await runCli(database.db, ['api-token', 'revoke', id])).toEqual({ output: `No active API token has the ID ${id}. Nothing was changed.`, exitCode: 1 });
    expect((await runCli(database.db, ['api-token', 'rotate'])).exitCode).toBe(2);
  });

  it('record-purchase takes the intake\'s body from a file or inline, once; a bad one stores nothing', async () => {
    const body = {
      id: 'PO-CLI-0001', customer: 'twcloud.example', kind: 'saas',
      saas: { offerId: 'tw-erp', planId: 'standard', seats: 12, price: 360, currency: 'TWD' },
      buyer: { name: '林美玲', email: 'meiling@twcloud.example' }, purchasedAt: '2026-11-22T03:00:00Z',
    };
    const file = join(dir, 'purchase.json');
    await writeFile(file, JSON.stringify(body));
    expect(await runCli(database.db, ['record-purchase', file])).toEqual({
      output: 'Recorded purchase PO-CLI-0001 by 台灣雲端科技股份有限公司; it will be announced in the channels that subscribe to purchases.',
      exitCode: 0,
    });
    expect(await runCli(database.db, ['record-purchase', JSON.stringify(body)])).toEqual({ output: 'Purchase PO-CLI-0001 by 台灣雲端科技股份有限公司 was already recorded. Nothing was changed.', exitCode: 0 });
    const before = await snapshot(database.db);
    const invalid = await runCli(database.db, ['record-purchase', JSON.stringify({ ...body, id: 'PO-CLI-0002', saas: { ...body.saas, seats: 0 } })]);
    expect(invalid).toEqual({ output: expect.stringContaining('saas.seats: '), exitCode: 1 });
    expect((await runCli(database.db, ['record-purchase', join(dir, 'missing.json')])).output).toContain('no such file. Nothing was recorded.');
    expect((await runCli(database.db, ['record-purchase', JSON.stringify({ ...body, id: 'PO-CLI-0003', customer: 'unknown.example' })])).output).toBe(
      'No customer has the tenant ID or domain "unknown.example". Nothing was recorded.',
    );
    expect((await runCli(database.db, ['record-purchase', file, '--org', '없는 조직'])).output).toContain('No organization is named "없는 조직"');
    expect(await snapshot(database.db)).toEqual(before);
  });
});

describe('import conflicts with stored data', () => {
  it('refuses a file whose keys clash with another stored row, and stores nothing', async () => {
    const before = await snapshot(database.db);
    const clash = structuredClone(testOrganization) as Record<string, any>;
    clash.customers = [{ ...clash.customers[0], tenantId: 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', name: '중복 도메인' }];
    const file = join(dir, 'clash.json');
    await writeFile(file, JSON.stringify(clash));
    const { output, exitCode } = await runCli(database.db, ['import', file]);
    expect(exitCode).toBe(1);
    expect(output).toMatch(/The file conflicts with data already stored: .*contoso\.com/);
    expect(await snapshot(database.db)).toEqual(before);
  });
});

describe('CLI choices', () => {
  it('lists the customers an ambiguous name matches as commands to type', async () => {
    const { output } = await runCli(database.db, ['customer', 'contoso', '--as', 'sua.choi@partner.example']);
    expect(output).toContain('2 customers match "contoso". Choose one:');
    expect(output).toContain(`Contoso Pharmaceuticals (contosopharma.com): npm run csp -- customer 22222222-2222-4222-8222-222222222222 --as sua.choi@partner.example`);
  });
});

describe('CLI: Owner not known (R-P5)', () => {
  it('says how to confirm Owner with a command', async () => {
    const { output } = await runCli(database.db, ['allow-reservations', '한빛소프트', '--as', 'xiaoming.wang@partner.example']);
    expect(output).toContain('does not know whether 한빛소프트 주식회사\'s key user holds the Owner role');
    expect(output).toContain('confirm it with: npm run csp -- owner-assigned 55555555-5555-4555-8555-555555555555 b2b2b2b2-0000-4000-8000-000000000005');
  });
});

