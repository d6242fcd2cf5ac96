import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database, DatabaseHandle } from '../db/client.js';
import { demoAdminEmail, seedDemoIfEmpty } from '../db/seed/demo.js';
import { runCli } from '../src/adapters/cli/run.js';
import { catalogs, locales, translator, type Locale, type MessageKey } from '../src/i18n/index.js';
import type { Logger } from '../src/log.js';
import { validateAdaptiveCard } from './helpers/adaptive-card.js';
import { openTestDatabase, publicTables, restorePoint } from './helpers/database.js';
import { startFakeSlack, type FakeSlack } from './helpers/fake-slack.js';
import { aadUsers } from './helpers/fixture.js';
import { slackMessageSchema } from './helpers/block-kit.js';
import { buttons, replyText, richText, slashCommandBody, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { startTeamsTestBot, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

const partnerTeam = 'T0DEMO0001';
const publisherTeam = 'T0DEMOISV1';
const channel = 'C0DEMOOPS1';
const prefix = '/csp ';

/** The demo's people (db/seed), each in the language they read: their own choice, else their Slack client's, else the organization's. */
const people = {
  globalAdmin: { user: 'U0DEMOADM1', team: partnerTeam, locale: 'en' },
  adminAgent: { user: 'U0DEMOAGT1', team: partnerTeam, locale: 'ko-KR' },
  salesAgent: { user: 'U0DEMOSAL1', team: partnerTeam, locale: 'zh-TW' },
  helpdeskAgent: { user: 'U0DEMOHLP1', team: partnerTeam, locale: 'en' },
  /** Dana, Contoso Ltd's contact: the customer the examples for contacts are about. */
  contact: { user: 'U0DEMOCUS1', team: partnerTeam, locale: 'en' },
  publisherOwner: { user: 'U0ISVOWNR1', team: publisherTeam, locale: 'ko-KR' },
  publisherManager: { user: 'U0ISVMGR01', team: publisherTeam, locale: 'en' },
  publisherDeveloper: { user: 'U0ISVDEV01', team: publisherTeam, locale: 'zh-TW' },
  stranger: { user: 'U0NOBODY01', team: partnerTeam, locale: 'en' },
  unlinked: { user: 'U0NOBODY01', team: 'T0UNLINKED', locale: 'en' },
} as const satisfies Record<string, { user: string; team: string; locale: Locale }>;
type Person = keyof typeof people;
/** The publisher's staff name no language; their Slack clients do. */
const slackLocales = { [people.publisherOwner.user]: 'ko-KR', [people.publisherDeveloper.user]: 'zh-TW' };

const generalForStaff = ['help', 'home', 'language', 'settings', 'connector'];
const partnerAdminHelp = {
  general: generalForStaff,
  customers: ['customers', 'customer', 'activity', 'activity', 'orders'],
  permissions: ['allow-reservations', 'disallow-reservations', 'allow-savings-plans', 'disallow-savings-plans', 'owner-assigned'],
  requests: ['reservations', 'request', 'requests', 'approve'],
  marketplace: ['marketplace', 'offer', 'buy', 'subscriptions', 'subscription', 'billing', 'support', 'price-list'],
  notifications: ['channel', 'notify', 'notify'],
};
const partnerStaffHelp = {
  general: generalForStaff,
  customers: ['customers', 'customer', 'activity', 'activity', 'orders'],
  requests: ['reservations', 'request', 'requests'],
  marketplace: ['marketplace', 'offer', 'subscriptions', 'billing', 'support', 'price-list'],
  notifications: ['notify', 'notify'],
};
const publisherHelp = { general: ['help', 'language', 'settings'], publishers: ['audience', 'partners'] };

/** What each person's help lists, group by group (headings `help.group.<group>`), by the command each line starts with. */
const expectedHelp: Record<Person, Record<string, string[]>> = {
  globalAdmin: partnerAdminHelp,
  adminAgent: partnerAdminHelp,
  salesAgent: partnerStaffHelp,
  helpdeskAgent: partnerStaffHelp,
  contact: { general: ['help', 'home', 'language'], requests: ['reservations', 'request'], marketplace: ['subscription'] },
  publisherOwner: publisherHelp,
  publisherManager: publisherHelp,
  publisherDeveloper: publisherHelp,
  stranger: { general: generalForStaff },
  unlinked: { general: generalForStaff },
};

/** How each language introduces a line's example: the words after the line's last prefix. */
const exampleWord: Record<Locale, string> = { en: 'Example: ', 'ko-KR': '예: ', 'zh-TW': '範例：' };

/** Examples that change data (or record a confirmation): the demo is loaded again after each, so each runs on a fresh one. */
const changing = new Set<MessageKey>([
  'help.language', 'help.allow', 'help.disallow', 'help.allowSavingsPlans', 'help.disallowSavingsPlans', 'help.owner', 'help.request', 'help.decide',
  'help.buy', 'help.subscription', 'help.subscriptionCancel', 'help.channel', 'help.notify',
]);

/**
 * What each example's answer shows, whoever runs it in whatever language: names and IDs of the demo data,
 * a sentence of the catalog, and whether it is a confirmation (a button to confirm, and Cancel).
 */
const expectedAnswer: Partial<Record<MessageKey, { shows?: string[]; says?: MessageKey; confirmation?: true }>> = {
  'help.help': { says: 'help.title' },
  'help.home': { says: 'home.title' },
  'help.language': { shows: ['한국어'] },
  'help.settings': { says: 'settings.locale' },
  'help.connector': { says: 'connector.title' },
  'help.customers': { shows: ['Contoso Ltd', 'Contoso Pharmaceuticals'] },
  'help.customer': { shows: ['Contoso Ltd', '11111111-1111-4111-8111-111111111111', 'saas-contoso-crm'] },
  'help.activity': { shows: ['Contoso Ltd', 'Dana Contoso', '7c41e2d9-0b3a-4c5d-8e6f-1a2b3c4d5e02'] },
  'help.orders': { shows: ['Contoso Ltd', 'Azure Cosmos DB', '3f2a6b1c-8d4e-4f70-9a2b-5c6d7e8f9a01'] },
  'help.allow': { shows: ['Northwind Traders', 'a1a1a1a1-0000-4000-8000-000000000003'], confirmation: true },
  'help.disallow': { shows: ['Contoso Ltd', 'Alex Admin'], confirmation: true },
  'help.allowSavingsPlans': { shows: ['Northwind Traders', 'a1a1a1a1-0000-4000-8000-000000000003'], confirmation: true },
  'help.disallowSavingsPlans': { shows: ['Contoso Ltd', 'Alex Admin'], confirmation: true },
  'help.owner': { shows: ['Contoso Pharmaceuticals', 'a1a1a1a1-0000-4000-8000-000000000002'] },
  'help.reservations': { shows: ['Virtual Machines D4s v5', 'Azure Cosmos DB'] },
  'help.request': { shows: ['3f2a6b1c-8d4e-4f70-9a2b-5c6d7e8f9a01'] },
  'help.requests': { shows: ['c9dbae2f', 'Dana Contoso'] },
  'help.decide': { shows: ['7c41e2d9-0b3a-4c5d-8e6f-1a2b3c4d5e02', 'Dana Contoso'] },
  'help.marketplace': { shows: ['hanbit-insight'] },
  'help.offer': { shows: ['Contoso CRM Cloud', 'support@contoso-crm.example'] },
  'help.buy': { shows: ['Contoso CRM Cloud', '한빛소프트 주식회사', '₩4,000,000'], confirmation: true },
  'help.subscriptions': { shows: ['한빛소프트 주식회사', 'saas-hb-insight'] },
  'help.subscription': { shows: ['인사이트 분석팀', 'saas-hb-insight'], confirmation: true },
  'help.subscriptionCancel': { shows: ['saas-contoso-crm'] },
  'help.billing': { shows: ['高雄精密工業', '180,000'] },
  'help.support': { shows: ['Contoso Software', 'support@contoso-crm.example'] },
  'help.priceList': { shows: ['csp-price-list-'] },
  'help.activityExport': { shows: ['Contoso Ltd', 'csp-activity-2026-01-01-'] },
  'help.channel': { says: 'channel.approvalsSet' },
  'help.notify': { shows: ['Contoso Ltd', '한빛소프트 주식회사'] },
  'help.notifyList': { says: 'notify.listTitle' },
  'help.notifyFailures': { says: 'failures.none' },
  'help.audience': { shows: ['누리 HR 클라우드', 'Fabrikam Cloud Partners'] },
  'help.partners': { shows: ['台北雲端夥伴', 'Formosa Cloud Solutions'] },
};

interface HelpGroupShown {
  heading: string;
  lines: string[];
}

/** Help as Slack shows it: the title, the lines before the groups, and each group's heading and lines (a section each, under a header). */
function helpShown(reply: SlackReply | undefined) {
  let title: string | undefined;
  const before: string[] = [];
  const groups: HelpGroupShown[] = [];
  for (const block of reply?.blocks ?? []) {
    if (block.type === 'header' && title === undefined) title = block.text?.text;
    else if (block.type === 'header') groups.push({ heading: block.text!.text, lines: [] });
    else if (block.type === 'rich_text') (groups.at(-1)?.lines ?? before).push(...(block.elements ?? []).flatMap((section) => richText(section.elements).split('\n')));
  }
  return { title, before, groups };
}

/** The help key a shown line is, in the reader's language. */
function keyOfLine(line: string, locale: Locale): MessageKey {
  const t = translator(locale);
  const key = (Object.keys(catalogs.en) as MessageKey[]).find((k) => k.startsWith('help.') && t(k, { prefix }) === line);
  if (!key) throw new Error(`no help line reads: ${line}`);
  return key;
}

/** A help line's example in each language, as its catalog writes it: the words after its last `{prefix}`. */
function examplesOf(key: MessageKey): string[] {
  return [...new Set(locales.map((locale) => catalogs[locale][key].slice(catalogs[locale][key].lastIndexOf('{prefix}') + '{prefix}'.length)))];
}

/** Every row of every table as text, but the cache of Slack users' languages (filled as people are answered): what "nothing changed" compares. */
async function everyRow(db: Database) {
  const all: Record<string, string[]> = {};
  for (const name of (await publicTables(db)).filter((t) => t !== 'slack_user_locales')) {
    const result = await db.execute(sql.raw(`select t::text as text from "${name}" t order by 1`));
    all[name] = ((result as { rows?: { text: string }[] }).rows ?? (result as unknown as { text: string }[])).map((r) => r.text);
  }
  return all;
}

const outcomes: string[] = [];
/** Logs nothing, but keeps each command's outcome (ok, refused, error) as the bot logs it. */
const log: Logger = { debug() {}, warn() {}, error() {}, info: (message, fields) => void (message === 'command' && outcomes.push((fields as { outcome: string }).outcome)) };
let database: DatabaseHandle;
let slack: FakeSlack;
let bot: TestBot;
/** Back to the demo as it was loaded: a fresh state for each example that changes something. */
let restoreDemo: () => Promise<void>;
let teams: TeamsTestBot | undefined;

beforeAll(async () => {
  database = await openTestDatabase();
  await seedDemoIfEmpty(database.db);
  restoreDemo = await restorePoint(database.db);
  slack = await startFakeSlack({ locales: slackLocales });
  bot = await startTestBot({ database, slack, log });
});
afterAll(async () => {
  await bot?.close();
  await teams?.close();
  await slack?.close();
  await database?.close();
});

/** A signed slash command in the demo's channel (so those that need a channel have one); resolves with the answer and its outcome. */
async function say(person: Person, text: string) {
  const before = outcomes.length;
  const id = randomUUID();
  const { user, team } = people[person];
  const acked = (await (await bot.post(slashCommandBody(user, text, slack.responseUrl(id), { team, channel }))).json()) as SlackReply;
  // An answer not ready within Slack's 3 s comes afterwards through response_url.
  const reply = acked.blocks ? acked : ((await waitFor(`the answer to "${text}"`, () => slack.responses.find((r) => r.id === id), 30_000)).body as SlackReply);
  return { reply: slackMessageSchema.parse(reply) as SlackReply, outcome: await waitFor(`the outcome of "${text}"`, () => outcomes[before]) };
}

describe('help lists the commands of the reader\'s kind of organization and role, grouped by task', () => {
  for (const person of Object.keys(people) as Person[]) {
    const { locale } = people[person];
    it(`${person} (${locale})`, async () => {
      const t = translator(locale);
      const { reply, outcome } = await say(person, 'help');
      expect(outcome).toBe('ok');
      const shown = helpShown(reply);
      expect(shown.title).toBe(t('help.title'));
      expect(shown.before.at(-1)).toBe(t('help.intro'));
      const commands = (line: string) => line.slice(prefix.length).split(/[\s,]/)[0];
      const expected = Object.entries(expectedHelp[person]).map(([group, names]) => ({ heading: t(`help.group.${group}` as MessageKey), commands: names }));
      expect(shown.groups.map((g) => ({ heading: g.heading, commands: g.lines.map(commands) }))).toEqual(expected);
      // Someone unknown, or a workspace linked to no organization, is told why only help runs.
      const notice = person === 'stranger' ? t('help.unknownUser') : person === 'unlinked' ? t('help.unknownWorkspace', { teamId: 'T0UNLINKED' }) : undefined;
      expect(shown.before).toEqual([...(notice ? [notice] : []), t('help.intro')]);
    });
  }

  it('partner admins see the permission toggles, customer contacts and publishers do not; publishers see audiences and the directory, partners do not', async () => {
    const shownTo = async (person: Person) => helpShown((await say(person, 'help')).reply).groups.flatMap((g) => g.lines).join('\n');
    const admin = await shownTo('globalAdmin');
    const contact = await shownTo('contact');
    const owner = await shownTo('publisherOwner');
    expect(admin).toContain('/csp allow-reservations <customer>');
    expect(admin).not.toContain('/csp audience');
    expect(contact).not.toContain('/csp allow-reservations');
    expect(contact).not.toContain('/csp customers');
    expect(contact).toContain('/csp subscription <subscription> cancel');
    expect(owner).toContain('/csp audience <제품>');
    expect(owner).toContain('/csp partners');
    for (const command of ['/csp customers', '/csp allow-reservations', '/csp buy', '/csp connector']) expect(owner).not.toContain(command);
  });

  it('in a terminal the groups are headed lines, without the commands that run only in a channel', async () => {
    const { output } = await runCli(database.db, ['help', '--as', demoAdminEmail]);
    const t = translator('en');
    expect(output).toContain(`\n\n${t('help.group.permissions')}\n${t('help.allow', { prefix: 'npm run csp -- ' })}\n`);
    expect(output).toContain(`\n\n${t('help.group.notifications')}\n${t('help.notifyFailures', { prefix: 'npm run csp -- ' })}`);
    for (const key of ['help.channel', 'help.notify'] as const) expect(output).not.toContain(t(key, { prefix: 'npm run csp -- ' }));
  });

  it('in Teams each group is under a bold heading with a line above it, in a valid card', async () => {
    teams = await startTeamsTestBot();
    const { card } = await teams.message(aadUsers.contact, 'help');
    validateAdaptiveCard(card);
    const t = translator('en');
    const headings = (card as unknown as { body: { separator?: boolean; inlines?: { text: string; weight?: string }[] }[] }).body
      .filter((b) => b.separator)
      .map((b) => ({ text: b.inlines?.map((r) => r.text).join(''), bold: b.inlines?.every((r) => r.weight === 'Bolder') }));
    expect(headings).toEqual(['general', 'requests', 'marketplace'].map((g) => ({ text: t(`help.group.${g}` as MessageKey), bold: true })));
  });
});

describe('every example in help runs as written on the demo organization, for everyone it is shown to', () => {
  for (const person of Object.keys(people).filter((p) => p !== 'stranger' && p !== 'unlinked') as Person[]) {
    const { locale } = people[person];
    it(`${person}: each example of their help, in each language, answers as expected`, { timeout: 120_000 }, async () => {
      const t = translator(locale);
      const loaded = await everyRow(database.db);
      const lines = helpShown((await say(person, 'help')).reply).groups.flatMap((g) => g.lines);
      const runs = lines.flatMap((line) => {
        const key = keyOfLine(line, locale);
        const shown = line.slice(line.lastIndexOf(prefix) + prefix.length);
        // The example follows the language's own word for it, and is the one its catalog holds.
        expect(line.endsWith(`${exampleWord[locale]}${prefix}${shown}`), line).toBe(true);
        expect(examplesOf(key)).toContain(shown);
        return examplesOf(key).map((example) => ({ key, example }));
      });
      const failures: string[] = [];
      const check = async ({ key, example }: (typeof runs)[number]) => {
        const { reply, outcome } = await say(person, example);
        const text = replyText(reply);
        const expected = expectedAnswer[key] ?? {};
        const problems = [
          outcome !== 'ok' ? `outcome ${outcome}` : '',
          ...(expected.shows ?? []).filter((s) => !text.includes(s)).map((s) => `no "${s}"`),
          expected.says && !text.includes(t(expected.says)) ? `no "${t(expected.says)}"` : '',
          expected.confirmation && buttons(reply).length < 2 ? 'no confirmation buttons' : '',
          !expected.shows && !expected.says ? 'nothing expected' : '',
        ].filter(Boolean);
        if (problems.length) failures.push(`${key} "${example}": ${problems.join('; ')}\n${text}`);
      };
      // Those that change nothing, on the demo as loaded; then each of the others, the demo loaded again after it.
      for (const run of runs.filter((r) => !changing.has(r.key))) await check(run);
      expect(await everyRow(database.db)).toEqual(loaded);
      for (const run of runs.filter((r) => changing.has(r.key))) {
        await check(run);
        await restoreDemo();
      }
      expect(failures).toEqual([]);
    });
  }
});
