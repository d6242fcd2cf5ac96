/**
 * Lookups in a large organization: 100,000 customers and 1,000,000 activity entries
 * (bench/large-data.ts) beside the test organization's own, a fifth of the customers with a
 * purchase permission (what the account view reads), then each command run as the
 * terminal runs it (runCli: identity, parsing, the core's queries, rendering), one at a time
 * on one connection's worth of load, with its p50 and p99.
 *
 *   npm run bench:lookups                              in-memory PGlite
 *   DATABASE_URL=postgres://… npm run bench:lookups    a fresh database on that server, dropped afterwards
 *   BENCH_RUNS=200                                     runs per command (500), after 20 warm-up runs
 *   BENCH_CUSTOMERS=20000 BENCH_ACTIVITY=200000        a smaller organization
 *   BENCH_EXPLAIN=1                                    also EXPLAIN (ANALYZE, BUFFERS) every statement each command ran
 *
 * A command whose runs take long stops after BENCH_COMMAND_SECONDS (30) and reports the runs it made.
 * A benchmark, not a test: it prints figures; it fails only when a command answers other than expected.
 */
import { runCli } from '../src/adapters/cli/run.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { testOrganization } from '../test/helpers/fixture.js';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/client.js';
import { cleanups, runBenchmark } from './cleanup.js';
import { openBenchDatabase } from './database.js';
import { resultRows, seedLargeOrganization } from './large-data.js';
import { fmt, table } from './report.js';

function positive(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) {
    console.error(`${name} must be a positive whole number, not "${process.env[name]}".`);
    process.exit(2);
  }
  return value;
}

const size = { customers: positive('BENCH_CUSTOMERS', 100_000), activity: positive('BENCH_ACTIVITY', 1_000_000) };
const runs = positive('BENCH_RUNS', 500);
const warmup = 20;
const commandSeconds = positive('BENCH_COMMAND_SECONDS', 30);
const explain = process.env.BENCH_EXPLAIN === '1';
/** The global admin of the test organization: every command here is open to them. */
const as = testOrganization.staff[0]!.email;

interface Lookup {
  label: string;
  /** The command, the same every run or one of its own each run (run 0 is checked, then 20 warm up). */
  argv: string[] | ((run: number) => string[]);
  /** What the answer must say, so a figure is for the path it names. */
  expect: (output: string, exitCode: number) => boolean;
}

/** Each SQL statement the database is sent while `capturing` is set, with its parameters. */
const captured: { query: string; params: unknown[] }[] = [];
let capturing = false;

type Client = Record<string, (...args: unknown[]) => unknown>;

/** Records what the driver is sent: postgres.js through unsafe(), PGlite through query(), in transactions too. */
function captureStatements(handle: DatabaseHandle) {
  const [run, transaction] = handle.kind === 'postgres' ? ['unsafe', 'begin'] : ['query', 'transaction'];
  const record = (client: Client) => {
    const original = client[run]!.bind(client);
    client[run] = (query: unknown, params: unknown, ...rest: unknown[]) => {
      if (capturing && typeof query === 'string') captured.push({ query, params: (params as unknown[]) ?? [] });
      return original(query, params, ...rest);
    };
  };
  const client = (handle.db as unknown as { $client: Client }).$client;
  record(client);
  const begin = client[transaction]!.bind(client);
  client[transaction] = (...args: unknown[]) => {
    const body = args.pop() as (tx: Client) => unknown;
    return begin(...args, (tx: Client) => (record(tx), body(tx)));
  };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function main(): Promise<boolean> {
  console.log(`csp-ops lookups at scale — Node ${process.version}, ${fmt(size.customers, 0)} customers and ${fmt(size.activity, 0)} activity entries in one organization`);
  const { handle, description } = await openBenchDatabase('csp_bench_lookups');
  cleanups.push({ name: 'database', run: () => handle.close() });
  console.log(`database: ${description}`);
  const { db } = handle;
  const { orgId } = await importOrganization(db, parseImportFile(testOrganization));
  let started = performance.now();
  const busy = await seedLargeOrganization(db, orgId, size);
  // A fifth of the customers, the busiest among them, may buy Azure reservations themselves (what the account view shows).
  await db.execute(sql`
    insert into customer_purchase_permissions (org_id, customer_id, resource, granted_at)
    select org_id, id, 'azure-reservations', created_at + interval '30 days' from customers
    where org_id = ${orgId} and (abs(hashtext(tenant_id)) % 5 = 0 or tenant_id = ${busy.tenantId})`);
  await db.execute(sql`vacuum analyze customer_purchase_permissions`);
  console.log(`seeded in ${fmt((performance.now() - started) / 1000, 1)} s; the busiest customer: ${busy.customerName}`);

  const [facts] = resultRows<{ entries: number; key: string }>(
    await db.execute(sql`
      select (select count(*)::int from activity_log where customer_id = c.id) as entries, c.name_key as key
      from customers c where c.org_id = ${orgId} and c.tenant_id = ${busy.tenantId}`),
  );
  // The longest end of the busiest name's key no other name contains: "a part of a name that matches one".
  const words = facts!.key.split(' ');
  let part: string | undefined;
  for (let i = 1; i < words.length && !part; i++) {
    const candidate = words.slice(i).join(' ');
    const [row] = resultRows<{ n: number }>(await db.execute(sql`select count(*)::int as n from customers where org_id = ${orgId} and strpos(name_key, ${candidate}) > 0`));
    if (row!.n === 1) part = candidate;
  }
  part ??= facts!.key.slice(1);
  // One letter changed in every word: no name contains it, several are close. And one letter left out of a word.
  const typo = busy.customerName.split(' ').map((w) => (w.length > 3 ? `${w.slice(0, 2)}x${w.slice(3)}` : w)).join(' ');
  const slip = busy.customerName.replace(/(?<=\s|^)(\p{L}{2})\p{L}(\p{L}{2,})/u, '$1$2');
  console.log(`${busy.customerName}: ${fmt(facts!.entries, 0)} activity entries; a part naming only it: "${part}"; typos: "${typo}", "${slip}"`);

  const cli = (...words: string[]) => [...words, '--as', as];
  // Customers in no particular order, one a run: a customer named again is answered from memory
  // (src/core/customer-names.ts), so these runs each look one up in the database. With each, the end
  // of its name after two characters, and how many names contain that end.
  const pool = 2 + warmup + runs;
  const others = resultRows<{ name: string; domain: string; tenantId: string; part: string; naming: number }>(
    await db.execute(sql`
      select c.name, c.domain, c.tenant_id as "tenantId", substr(c.name_key, 3) as part,
             (select count(*)::int from customers o where o.org_id = ${orgId} and o.name_key like '%' || substr(c.name_key, 3) || '%') as naming
      from (select * from customers where org_id = ${orgId} and tenant_id <> ${busy.tenantId} order by md5(id::text) limit ${3 * pool}) c`),
  );
  const partsNamingOne = others.filter((c) => c.naming === 1);
  type Other = (typeof others)[number];
  const another = (words: (c: Other) => string[], among: Other[] = others.slice(0, pool)) => (run: number) => cli(...words(among[run % among.length]!));
  // A page in the middle of a list: its offset grows with the data.
  const middlePage = async (...words: string[]) => {
    const { output } = await runCli(db, cli(...words));
    const pages = Number(/Page 1 of ([\d,]+)/.exec(output)?.[1]?.replace(/,/g, '') ?? 1);
    return String(Math.ceil(pages / 2));
  };
  const [allMiddle, cloudMiddle] = [await middlePage('customers'), await middlePage('customers', 'cloud')];
  const pageTitle = (page: string) => `Page ${page} of`;
  const found = (title: string) => (out: string, code: number) => code === 0 && out.includes(title);
  const lookups: Lookup[] = [
    { label: 'help (no query)', argv: cli('help'), expect: (_out, code) => code === 0 },
    { label: 'customer <exact name>', argv: another((c) => ['customer', c.name]), expect: found(others[0]!.name) },
    { label: 'customer <domain>', argv: another((c) => ['customer', c.domain]), expect: found(others[0]!.name) },
    { label: 'customer <tenant ID>', argv: another((c) => ['customer', c.tenantId]), expect: found(others[0]!.name) },
    { label: 'customer <busiest>, asked again', argv: cli('customer', busy.customerName), expect: found(busy.customerName) },
    { label: 'customer <part naming one>', argv: another((c) => ['customer', c.part], partsNamingOne), expect: found(partsNamingOne[0]!.name) },
    { label: 'customer <part of the busiest>, asked again', argv: cli('customer', part), expect: found(busy.customerName) },
    { label: 'customer <part naming many>', argv: cli('customer', 'cloud'), expect: (out, code) => code === 1 && out.includes('10+') },
    { label: 'customer 한빛 (two characters)', argv: cli('customer', '한빛'), expect: (out, code) => code === 1 && out.includes('10+') },
    { label: 'customer 宏達 (two characters)', argv: cli('customer', '宏達'), expect: (out, code) => code === 1 && out.includes('10+') },
    { label: 'customer <typos> (closest)', argv: cli('customer', typo), expect: (out, code) => code === 1 && out.includes(busy.customerName) },
    { label: 'customer <a slip> (closest)', argv: cli('customer', slip), expect: (out, code) => code === 1 && out.includes(busy.customerName) },
    { label: 'customer Contosso (closest)', argv: cli('customer', 'Contosso'), expect: (out, code) => code === 1 && out.includes('Closest names: Contoso Ltd, Contoso Pharmaceuticals') },
    { label: 'customer Contoso Ltd (fixture)', argv: cli('customer', 'Contoso Ltd'), expect: found('Contoso Ltd') },
    { label: 'activity <busiest>', argv: cli('activity', busy.customerName), expect: found(busy.customerName) },
    { label: 'activity <customer>', argv: another((c) => ['activity', c.name]), expect: found(others[0]!.name) },
    { label: 'activity <busiest> page 50', argv: cli('activity', busy.customerName, 'page', '50'), expect: found('Page 50') },
    { label: 'activity <busiest> since', argv: cli('activity', busy.customerName, 'since', '2026-01-01'), expect: found(busy.customerName) },
    { label: 'activity', argv: cli('activity'), expect: found('Page 1') },
    { label: 'activity page 50', argv: cli('activity', 'page', '50'), expect: found('Page 50') },
    { label: 'customers', argv: cli('customers'), expect: found('Page 1 of') },
    { label: `customers page ${allMiddle}`, argv: cli('customers', 'page', allMiddle), expect: found(pageTitle(allMiddle)) },
    { label: 'customers cloud', argv: cli('customers', 'cloud'), expect: found('Page 1 of') },
    { label: `customers cloud page ${cloudMiddle}`, argv: cli('customers', 'cloud', 'page', cloudMiddle), expect: found(pageTitle(cloudMiddle)) },
    { label: 'customers 클라우드', argv: cli('customers', '클라우드'), expect: found('Page 1 of') },
    { label: 'customers 한빛 (two characters)', argv: cli('customers', '한빛'), expect: found('Page 1 of') },
    { label: 'customers <tenant ID start>', argv: cli('customers', busy.tenantId.slice(0, 8)), expect: found(busy.customerName) },
    { label: 'reservations Contoso Ltd', argv: cli('reservations', 'Contoso Ltd'), expect: found('Contoso Ltd') },
    { label: 'reservations <busiest>', argv: cli('reservations', busy.customerName), expect: (_out, code) => code === 0 },
    { label: 'requests', argv: cli('requests'), expect: (_out, code) => code === 0 },
    { label: 'home', argv: cli('home'), expect: (_out, code) => code === 0 },
  ];

  captureStatements(handle);
  const body: string[][] = [];
  let failed = false;
  for (const lookup of lookups) {
    const argv = typeof lookup.argv === 'function' ? lookup.argv : () => lookup.argv as string[];
    const first = await runCli(db, argv(0));
    if (!lookup.expect(first.output, first.exitCode)) {
      console.log(`\nFAILED: ${lookup.label} answered (exit ${first.exitCode}):\n${first.output}`);
      failed = true;
      continue;
    }
    for (let i = 1; i <= warmup; i++) await runCli(db, argv(i));
    const times: number[] = [];
    const deadline = performance.now() + commandSeconds * 1000;
    while (times.length < runs && performance.now() < deadline) {
      const words = argv(1 + warmup + times.length);
      started = performance.now();
      await runCli(db, words);
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    const row = [lookup.label, fmt(percentile(times, 50), 2), fmt(percentile(times, 99), 2), fmt(times[times.length - 1]!, 2), fmt(times.length, 0), first.output.split('\n')[0]!.slice(0, 60)];
    body.push(row);
    console.log(row.join('  |  '));
    if (explain) await explainStatements(handle, lookup, pool);
  }
  console.log(`\n=== ${description}: ${fmt(size.customers, 0)} customers, ${fmt(size.activity, 0)} activity entries; ms per command (runCli) ===\n`);
  table(['command', 'p50', 'p99', 'max', 'runs', 'answer'], body, new Set([1, 2, 3, 4]));
  return !failed;
}

/**
 * Runs the command once more, then EXPLAIN (ANALYZE, BUFFERS) of each statement it sent, in one transaction
 * where the settings it made (set_config) hold as they did (the commands here only read).
 */
async function explainStatements(handle: DatabaseHandle, lookup: Lookup, pool: number) {
  captured.length = 0;
  capturing = true;
  try {
    // A run of its own, past those timed: not answered from memory.
    await runCli(handle.db, typeof lookup.argv === 'function' ? lookup.argv(pool - 1) : lookup.argv);
  } finally {
    capturing = false;
  }
  const statements = captured.filter(({ query }) => /^\s*(select|with)\b/i.test(query));
  console.log(`\n--- ${lookup.label}: ${statements.length} statements`);
  await handle.db.transaction(async (tx) => {
    for (const { query, params } of statements) {
      const setting = /^\s*select set_config\(/i.test(query);
      if (!setting) console.log(`\n${query}\n  params: ${JSON.stringify(params).slice(0, 200)}`);
      const rows = resultRows<Record<string, string>>(await tx.execute(sql.raw(bind(setting ? query : `explain (analyze, buffers) ${query}`, params))));
      if (!setting) for (const row of rows) console.log(`  ${Object.values(row)[0]}`);
    }
  });
}

/** The statement with its parameters written in as literals, for EXPLAIN (its plan is then the one those values get). */
function bind(query: string, params: unknown[]): string {
  const literal = (value: unknown): string =>
    value === null || value === undefined ? 'null' : typeof value === 'number' ? String(value) : `'${String(value instanceof Date ? value.toISOString() : value).replace(/'/g, "''")}'`;
  return query.replace(/\$(\d+)/g, (_, n: string) => literal(params[Number(n) - 1]));
}

await runBenchmark(main);
