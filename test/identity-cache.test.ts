import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { DatabaseHandle, Transaction } from '../db/client.js';
import { confirmations, customers, organizations, staff } from '../db/schema.js';
import { normalizeKey } from '../src/core/text.js';
import { translator } from '../src/i18n/index.js';
import { onPostgres, secondConnection } from './helpers/database.js';
import { teamId, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { testOrgId, unchanged } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

/*
 * Commands that only read answer from identities (and customer names) kept in memory, forgotten when
 * the database announces a change (migration 0028, src/core/change-cache.ts). Every change here is made
 * as another process makes it: on PostgreSQL through a pool of its own; PGlite has one process.
 */

const en = translator('en');
const ko = translator('ko-KR');
const prefix = '/csp ';
const adminLine = en('help.allow', { prefix });

let bot: TestBot;
let other: DatabaseHandle;
beforeAll(async () => {
  bot = await startTestBot();
  other = await secondConnection(bot.database);
});
afterAll(async () => {
  if (other !== bot.database) await other.close();
  await bot?.close();
});

/** A change made by another process whose notification has not arrived: it is never sent (the table's trigger is off for it). */
async function unannounced(table: 'staff' | 'organizations', change: (tx: Transaction) => Promise<unknown>) {
  await other.db.transaction(async (tx) => {
    await tx.execute(sql.raw(`alter table ${table} disable trigger ${table}_changed`));
    await change(tx);
    await tx.execute(sql.raw(`alter table ${table} enable always trigger ${table}_changed`));
  });
}

const setRole = (db: DatabaseHandle['db'] | Transaction, user: string, role: 'admin-agent' | 'sales-agent' | 'helpdesk-agent') =>
  db.update(staff).set({ role }).where(eq(staff.slackUserId, user));

const confirmationRows = () => bot.db.select().from(confirmations).orderBy(confirmations.id);
const helpText = async (user: string) => replyText((await bot.command(user, 'help')).reply);

describe(`a click checks the clicker in the database, not in memory (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-A3 a role removed a moment ago refuses the next click, though no notification of it has arrived; nothing changes', async () => {
    const card = await bot.command(users.adminAgent, 'allow-reservations contoso.com');
    const turnOn = buttons(card.reply).find((b) => b.text.text === 'Turn on');
    expect(turnOn, replyText(card.reply)).toBeDefined();

    await unannounced('staff', (tx) => setRole(tx, users.adminAgent, 'sales-agent'));
    // What only reads still answers for the role it remembers: the change was never announced.
    expect(await helpText(users.adminAgent)).toContain(adminLine);

    const before = await confirmationRows();
    const { reply } = await unchanged(bot.db, () => bot.click(users.adminAgent, turnOn!));
    expect(replyText(reply)).toContain(en('error.roleNeeded', { role: en('role.sales-agent'), what: en('what.togglePermission') }));
    expect(await confirmationRows()).toEqual(before);

    // Given back (announced), the same card turns it on.
    await setRole(other.db, users.adminAgent, 'admin-agent');
    expect(replyText((await bot.click(users.adminAgent, turnOn!)).reply)).toContain(en('allow.done', { customer: 'Contoso Ltd' }));
  });

  it('R-A1 R-P2 a Turn on starts from the identity kept in memory and checks the clicker in the statement that acts: unlinked meanwhile (unannounced), they are refused', async () => {
    const card = await bot.command(users.adminAgent, 'allow-reservations contosopharma.com');
    const turnOn = buttons(card.reply).find((b) => b.text.text === 'Turn on');
    expect(turnOn, replyText(card.reply)).toBeDefined();

    await unannounced('staff', (tx) => tx.update(staff).set({ slackUserId: null }).where(eq(staff.slackUserId, users.adminAgent)));
    // What is kept still names them an admin agent: the change was never announced.
    expect(await helpText(users.adminAgent)).toContain(adminLine);

    const before = await confirmationRows();
    const { reply } = await unchanged(bot.db, () => bot.click(users.adminAgent, turnOn!));
    expect(replyText(reply)).toContain(en('error.unknownUser'));
    expect(await confirmationRows()).toEqual(before);
    await other.db.update(staff).set({ slackUserId: users.adminAgent }).where(eq(staff.email, 'xiaoming.wang@partner.example'));
    await waitFor('help for the admin again', async () => (await helpText(users.adminAgent)).includes(adminLine));
  });

  it('R-A1 someone unlinked from their Slack user by another process is refused at once: the click does not wait for the notification', async () => {
    const card = await bot.command(users.globalAdmin, 'disallow-reservations contoso.com');
    const turnOff = buttons(card.reply).find((b) => b.text.text === 'Turn off');
    expect(turnOff, replyText(card.reply)).toBeDefined();

    await other.db.update(staff).set({ slackUserId: null }).where(eq(staff.slackUserId, users.globalAdmin));
    const before = await confirmationRows();
    const { reply } = await unchanged(bot.db, () => bot.click(users.globalAdmin, turnOff!));
    expect(replyText(reply)).toContain(en('error.unknownUser'));
    expect(await confirmationRows()).toEqual(before);
    await other.db.update(staff).set({ slackUserId: users.globalAdmin }).where(eq(staff.email, 'jihoon.park@partner.example'));
  });
});

describe(`what only reads sees a change once it is announced (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('a role, a language, the organization\'s settings and its workspace link', async () => {
    // Role: the helpdesk agent made an admin agent is shown the admin's help.
    expect(await helpText(users.helpdeskAgent)).not.toContain(adminLine);
    await setRole(other.db, users.helpdeskAgent, 'admin-agent');
    await waitFor('help for the new role', async () => (await helpText(users.helpdeskAgent)).includes(adminLine));
    await setRole(other.db, users.helpdeskAgent, 'helpdesk-agent');
    await waitFor('help for the old role again', async () => !(await helpText(users.helpdeskAgent)).includes(adminLine));

    // Language: their own choice, stored by someone else.
    await other.db.update(staff).set({ language: 'ko-KR' }).where(eq(staff.slackUserId, users.salesAgent));
    await waitFor('help in Korean', async () => (await helpText(users.salesAgent)).includes(ko('help.title')));
    await other.db.update(staff).set({ language: null }).where(eq(staff.slackUserId, users.salesAgent));
    await waitFor('help in English again', async () => (await helpText(users.salesAgent)).includes(en('help.title')));

    // The organization's time zone, which its settings show.
    const orgId = await testOrgId(bot.db);
    const settings = async () => replyText((await bot.command(users.globalAdmin, 'settings')).reply);
    expect(await settings()).not.toContain('Pacific/Auckland');
    await other.db.update(organizations).set({ timeZone: 'Pacific/Auckland' }).where(eq(organizations.id, orgId));
    await waitFor('the new time zone', async () => (await settings()).includes('Pacific/Auckland'));

    // Its Slack workspace: linked elsewhere, this one gets the notice for a workspace linked to none.
    await other.db.update(organizations).set({ slackTeamId: 'T0MOVED001' }).where(eq(organizations.id, orgId));
    const notice = en('help.unknownWorkspace', { teamId });
    await waitFor('the unlinked workspace', async () => (await helpText(users.adminAgent)).includes(notice));
    await other.db.update(organizations).set({ slackTeamId: teamId }).where(eq(organizations.id, orgId));
    await waitFor('the workspace linked again', async () => (await helpText(users.adminAgent)).includes(adminLine));
  });

  it('a customer renamed elsewhere is found by its new name, and no longer by its old one', async () => {
    const shown = async (text: string) => replyText((await bot.command(users.salesAgent, `customer ${text}`)).reply);
    expect(await shown('Contoso Ltd')).toContain('contoso.com');
    const name = 'Contoso Holdings 控股';
    await other.db
      .update(customers)
      .set({ name, nameKey: normalizeKey(name) })
      .where(and(eq(customers.orgId, await testOrgId(bot.db)), eq(customers.domain, 'contoso.com')));
    await waitFor('the new name', async () => (await shown('Contoso Holdings')).includes(name));
    await waitFor('the old name forgotten', async () => !(await shown('Contoso Ltd')).includes('contoso.com'));
  });
});

describe(`this instance's own change is shown at once (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-M10 the organization\'s time zone and a person\'s language set here answer the next command, though no notification was sent', async () => {
    const silenced = ['organizations', 'staff'] as const;
    const triggers = (how: 'disable' | 'enable always') => Promise.all(silenced.map((t) => other.db.execute(sql.raw(`alter table ${t} ${how} trigger ${t}_changed`))));
    const settings = async () => replyText((await bot.command(users.adminAgent, 'settings')).reply);
    const [org] = await bot.db.select({ timeZone: organizations.timeZone }).from(organizations).where(eq(organizations.id, await testOrgId(bot.db)));
    // Kept in memory first: the reader's identity, with its organization, and the sales agent's.
    expect(await settings()).not.toContain('Europe/Lisbon');
    expect(await helpText(users.salesAgent)).toContain(en('help.title'));
    await triggers('disable');
    try {
      await bot.command(users.globalAdmin, 'settings time-zone Europe/Lisbon');
      expect(await settings()).toContain('Europe/Lisbon');
      await bot.command(users.salesAgent, 'language ko-KR');
      expect(await helpText(users.salesAgent)).toContain(ko('help.title'));
    } finally {
      await bot.command(users.globalAdmin, `settings time-zone ${org!.timeZone}`);
      await bot.command(users.salesAgent, 'language auto');
      await triggers('enable always');
    }
  });
});

describe(`cards shown at the same moment (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it('R-P10 twelve confirmations asked at once (stored together) each act once', async () => {
    const cards = await Promise.all(Array.from({ length: 12 }, () => bot.command(users.adminAgent, 'allow-reservations contosopharma.com')));
    const turnOns = cards.map((card) => buttons(card.reply).find((b) => b.text.text === 'Turn on')!);
    expect(new Set(turnOns.map((b) => b.value)).size).toBe(12);
    const stored = await bot.db.select().from(confirmations).where(inArray(confirmations.id, turnOns.map((b) => b.value)));
    expect(stored.map((c) => c.usedAt)).toEqual(Array(12).fill(null));

    // Each card's first click acts (one turns it on, the others find it on); its second is told it was used.
    const first = await Promise.all(turnOns.map((b) => bot.click(users.adminAgent, b)));
    expect(first.filter((c) => replyText(c.reply).includes(en('allow.done', { customer: 'Contoso Pharmaceuticals' })))).toHaveLength(1);
    const second = await Promise.all(turnOns.map((b) => bot.click(users.adminAgent, b)));
    expect(second.every((c) => /This was already confirmed by 王小明 on/.test(replyText(c.reply)))).toBe(true);
    const used = await bot.db.select().from(confirmations).where(inArray(confirmations.id, turnOns.map((b) => b.value)));
    expect(used.filter((c) => c.usedAt !== null)).toHaveLength(12);
  });
});

if (onPostgres) {
  describe('PostgreSQL: the listener\'s connection lost', () => {
    it('what is kept is forgotten when the listener is back, since a change may have gone unheard meanwhile', async () => {
      expect(await helpText(users.adminAgent)).toContain(adminLine);
      await unannounced('staff', (tx) => setRole(tx, users.adminAgent, 'sales-agent'));
      expect(await helpText(users.adminAgent)).toContain(adminLine);

      // The listening connection ends (a restart of the server, a network cut): it comes back by itself.
      await other.db.execute(sql`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and application_name like '% listen'`);
      await waitFor('help for the role the database holds', async () => !(await helpText(users.adminAgent)).includes(adminLine));
      await waitFor('the listener back', async () => {
        const result = await other.db.execute(sql`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like '% listen'`);
        return ((result as unknown as { n: number }[])[0]?.n ?? 0) > 0;
      });
      await setRole(other.db, users.adminAgent, 'admin-agent');
      await waitFor('help for the admin role again', async () => (await helpText(users.adminAgent)).includes(adminLine));
    });
  });
}
