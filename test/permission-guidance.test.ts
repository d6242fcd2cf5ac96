import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../db/schema.js';
import type { Database } from '../db/client.js';
import { runCli } from '../src/adapters/cli/run.js';
import { translator, type Locale, type MessageKey, type Translate } from '../src/i18n/index.js';
import { directMessageChannel } from './helpers/fake-slack.js';
import { aadUsers, hanbitSubscription, tenants, users } from './helpers/fixture.js';
import { organizationIn } from './helpers/languages.js';
import { buttons, replyText, startTestBot, type SlackReply } from './helpers/slack.js';
import { cardActions, cardLinks, cardText, startTeamsTestBot, type AdaptiveCardJson } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

// Issue 19: when a customer may buy Azure reservations, the people who need it are told what they can
// now do and how, in their language, with the links of seeds 000/001 ("Verify the customer has been
// assigned the correct role in Azure", "Help customers manage reservations they purchase").

const portal = 'https://portal.azure.com/';
const ownerDoc = 'https://learn.microsoft.com/azure/cost-management-billing/manage/add-change-subscription-administrator#to-assign-a-user-as-an-administrator';
const aboutDoc = 'https://learn.microsoft.com/azure/cost-management-billing/reservations/save-compute-costs-reservations';
const manageDoc = 'https://learn.microsoft.com/azure/cost-management-billing/reservations/manage-reserved-vm-instance';

const customer = '台灣雲端科技股份有限公司';
const params = { actor: '王小明', customer, partner: '한빛 클라우드 파트너스' };
/** The lines after the announcement's first (seed 000/001 guidance, R-P5, R-P7, R-P11, R-P12). */
const guidance: MessageKey[] = ['allow.guideOwner', 'allow.guideScope', 'allow.guidePrice', 'allow.guideLinks', 'allow.guidePartner'];

/** Taiwan Cloud's contacts: three with their own language, one reading the organization's, one with no chat user. */
const contacts = [
  { name: '林美玲', email: 'meiling.lin@twcloud.example', locale: 'zh-TW', slackUserId: 'UMEILING1', teamsAadObjectId: 'c0000000-0000-4000-8000-000000000011' },
  { name: '김서연', email: 'seoyeon.kim@twcloud.example', locale: 'ko-KR', slackUserId: 'USEOYEON1', teamsAadObjectId: 'c0000000-0000-4000-8000-000000000012' },
  { name: 'Emily Chen', email: 'emily.chen@twcloud.example', locale: 'en', slackUserId: 'UEMILYCH1', teamsAadObjectId: 'c0000000-0000-4000-8000-000000000013' },
  { name: '陳大文', email: 'taiman.chan@twcloud.example', slackUserId: 'UTAIMAN01', teamsAadObjectId: 'c0000000-0000-4000-8000-000000000014' },
  { name: '王大同', email: 'datong.wang@twcloud.example' },
] as const;
const reachable = contacts.filter((c) => 'slackUserId' in c);

/** The test organization speaking `locale`, Taiwan Cloud with these contacts (each keeping only the IDs `keep` names). */
function organization(locale: string, keep: (c: (typeof contacts)[number]) => object = (c) => c) {
  const base = organizationIn(locale);
  return {
    ...base,
    customers: base.customers.map((c) => (c.tenantId === tenants.taiwanCloud ? { ...c, contacts: contacts.map(keep) } : c)),
  };
}

interface Message {
  text: string;
  links: string[];
}
interface Answer extends Message {
  buttons: { label: string; id: string; value: string; data?: Record<string, string> }[];
  message?: string;
}

/** One platform through its real adapter: the admin agent's commands and clicks, and what the bot posted where. */
interface Chat {
  db: Database;
  command(text: string, channel: string): Promise<Answer>;
  click(answer: Answer, label: string, channel: string): Promise<string>;
  postsIn(conversation: string): Message[];
  /** Where a contact's direct messages land, once the platform opened that chat. */
  directChat(contact: (typeof reachable)[number]): string;
  /** The contact's user on this platform. */
  userId(contact: (typeof reachable)[number]): string;
  /** The platform was asked to open that direct chat. */
  opened(contact: (typeof reachable)[number]): boolean;
  channels: [string, string];
  close(): Promise<void>;
}

const slackLinks = (reply: SlackReply | undefined) =>
  (reply?.blocks ?? []).flatMap((b) => (b.type === 'rich_text' ? (b.elements ?? []).flatMap((s) => (s.elements ?? []).filter((e) => e.type === 'link').map((e) => e.url!)) : []));

async function slackChat(locale: string): Promise<Chat> {
  // The admin agent's Slack speaks the organization's language too.
  const bot = await startTestBot({ organizations: [organization(locale)], fakeSlack: { locales: { [users.adminAgent]: locale } } });
  return {
    db: bot.db,
    channels: ['C0GUIDE001', 'C0SUBSCR01'],
    async command(text, channel) {
      const { reply } = await bot.command(users.adminAgent, text, { channel });
      return { text: replyText(reply), links: slackLinks(reply), buttons: buttons(reply).map((b) => ({ label: b.text.text, id: b.action_id, value: b.value })) };
    },
    async click(answer, label, channel) {
      const button = answer.buttons.find((b) => b.label === label)!;
      return replyText((await bot.click(users.adminAgent, { action_id: button.id, value: button.value }, { channel })).reply);
    },
    postsIn: (channel) => bot.slack.posts().filter((p) => p.body.channel === channel).map((p) => ({ text: replyText(p.body as SlackReply), links: slackLinks(p.body as SlackReply) })),
    userId: (contact) => contact.slackUserId,
    directChat: (contact) => directMessageChannel(contact.slackUserId),
    opened: (contact) => bot.slack.calls.some((c) => c.method === 'conversations.open' && c.body.users === contact.slackUserId),
    close: () => bot.close(),
  };
}

async function teamsChat(locale: string): Promise<Chat> {
  const bot = await startTeamsTestBot({ organizations: [organization(locale)] });
  const cardOf = (body: { attachments?: { content: unknown }[] }) => body.attachments?.[0]?.content as AdaptiveCardJson | undefined;
  return {
    db: bot.db,
    channels: ['19:guide@thread.tacv2', '19:subscribed@thread.tacv2'],
    async command(text, channel) {
      const { card, replyToId } = await bot.message(aadUsers.adminAgent, text, { conversationId: channel });
      const actions = cardActions(card).map((a) => {
        const { value = '', ...data } = a.data ?? {};
        return { label: a.title, id: a.verb ?? '', value, data };
      });
      return { text: cardText(card), links: cardLinks(card).map((l) => l.url), buttons: actions, message: replyToId };
    },
    async click(answer, label, channel) {
      const button = answer.buttons.find((b) => b.label === label)!;
      const result = await bot.click(aadUsers.adminAgent, { verb: button.id, value: button.value, inputs: button.data }, answer.message!, { conversationId: channel });
      return result.message ?? cardText(result.card);
    },
    postsIn: (conversation) =>
      bot.framework.calls
        .filter((c) => c.method === 'POST' && c.conversationId === conversation && !c.body.replyToId && c.body.attachments)
        .map((c) => ({ text: cardText(cardOf(c.body)), links: cardLinks(cardOf(c.body)).map((l) => l.url) })),
    // Only the Entra object ID is known for a contact: the personal chat is created with it.
    userId: (contact) => contact.teamsAadObjectId,
    directChat: (contact) => `a:personal-${contact.teamsAadObjectId}`,
    opened: (contact) =>
      bot.framework.calls.some((c) => c.path === '/v3/conversations' && JSON.stringify((c.body as { members?: unknown }).members) === JSON.stringify([{ id: contact.teamsAadObjectId, aadObjectId: contact.teamsAadObjectId, role: 'user' }])),
    close: () => bot.close(),
  };
}

/** Waits for the message posted in a conversation that holds this sentence. */
const postedIn = (chat: Chat, conversation: string, sentence: string) =>
  waitFor(`"${sentence.slice(0, 40)}…" in ${conversation}`, () => chat.postsIn(conversation).find((m) => m.text.includes(sentence)), 15_000);

const contactLocale = (contact: (typeof reachable)[number], organizationLocale: Locale): Locale => ('locale' in contact ? (contact.locale as Locale) : organizationLocale);

describe.each([
  { name: 'Slack', start: slackChat },
  { name: 'Teams', start: teamsChat },
])('$name', ({ start }) => {
  describe.each(['en', 'ko-KR', 'zh-TW'] as const)('organization in %s', (locale) => {
    const t = translator(locale);
    let chat: Chat;
    beforeAll(async () => {
      chat = await start(locale);
    });
    afterAll(() => chat?.close());

    const expectGuidance = (message: Message, tr: Translate) => {
      for (const key of guidance) expect(message.text).toContain(tr(key, params));
      for (const link of [ownerDoc, aboutDoc, manageDoc]) expect(message.links).toContain(link);
    };

    it('R-P5 R-P7 R-P11 R-P12 R-N1 Turn on: the announcement, here and in the channel subscribed to permissions, says what the customer can now do and how, with the links', async () => {
      const [here, subscribed] = chat.channels;
      await chat.command(`notify here permissions ${tenants.taiwanCloud}`, subscribed);
      const asked = await chat.command('allow-reservations 台灣雲端科技', here);
      const done = await chat.click(asked, t('allow.turnOn'), here);
      expect(done).toContain(t('allow.done', { customer }));
      // Four contacts have a Slack or Teams user; 王大同 has none.
      expect(done).toContain(t('allow.contactsTold', { count: reachable.length, customer }));

      for (const channel of [here, subscribed]) {
        const announced = await postedIn(chat, channel, t('allow.announce', params));
        expect(announced.text).toContain(t('allow.guideBuy', params));
        expect(announced.links).toContain(portal);
        expectGuidance(announced, t);
      }
    });

    it('R-N3 each contact with a chat user is told in a direct message, in their own language (else the organization\'s), with the links', async () => {
      for (const contact of reachable) {
        const tr = translator(contactLocale(contact, locale));
        const told = await postedIn(chat, chat.directChat(contact), tr('allow.contactNotice', params));
        expect(chat.opened(contact)).toBe(true);
        expect(told.links).toContain(portal);
        expectGuidance(told, tr);
      }
      const rows = await chat.db.select().from(outbox).where(sql`${outbox.message}->>'key' = 'allow.contactNotice'`);
      // Queued with the change (R-N3), one row a contact, addressed to the contact themselves.
      expect(rows.map((r) => r.channelId).sort()).toEqual(reachable.map((c) => chat.userId(c)).sort());
    });

    it('Turn off: the announcement carries no guidance; each contact is told they can no longer buy and that what they bought is kept', async () => {
      const [here] = chat.channels;
      const asked = await chat.command('disallow-reservations 台灣雲端科技', here);
      const done = await chat.click(asked, t('disallow.turnOff'), here);
      expect(done).toContain(t('disallow.done', { customer }));
      expect(done).toContain(t('disallow.contactsTold', { count: reachable.length, customer }));
      const announced = await postedIn(chat, here, t('disallow.announce', params));
      expect(announced.text).not.toContain(t('allow.guideBuy', params));
      expect(announced.links).toEqual([]);
      for (const contact of reachable) {
        const tr = translator(contactLocale(contact, locale));
        await postedIn(chat, chat.directChat(contact), tr('disallow.contactNotice', params));
      }
    });

    it('R-P5 customer: with Owner not known, the IAM steps with Microsoft\'s link and how to record it; with Owner known, none of it', async () => {
      const hanbit = await chat.command('customer 한빛소프트', chat.channels[0]);
      expect(hanbit.text).toContain(t('owner.unknown', { customer: '한빛소프트 주식회사' }));
      expect(hanbit.text).toContain(t('owner.howTo'));
      expect(hanbit.text).toContain(t('owner.howToDoc'));
      expect(hanbit.links).toEqual([ownerDoc]);
      expect(hanbit.text).toContain(`owner-assigned ${tenants.hanbit} ${hanbitSubscription}`);

      const contoso = await chat.command('customer contoso.com', chat.channels[0]);
      expect(contoso.text).toContain(t('customer.ownerKnown'));
      expect(contoso.text).not.toContain(t('owner.howTo'));
      expect(contoso.links).toEqual([]);
    });

    it('R-P5 allow-reservations with Owner not known gives the same steps and link', async () => {
      const asked = await chat.command('allow-reservations 한빛소프트', chat.channels[0]);
      expect(asked.text).toContain(t('owner.howTo'));
      expect(asked.text).toContain(t('owner.howToDoc'));
      expect(asked.links).toEqual([ownerDoc]);
    });

    it('a customer without a contact that has a chat user: the reply says so', async () => {
      const asked = await chat.command('allow-reservations cafe-lumiere.example', chat.channels[0]);
      const done = await chat.click(asked, t('allow.turnOn'), chat.channels[0]);
      expect(done).toContain(t('allow.contactsTold', { count: 0, customer: 'Café Lumière' }));
    });
  });
});

describe('Teams: a contact who cannot be reached yet is listed by notify failures, and retry tells them (R-N3)', () => {
  const en = translator('en');
  // Only Teams users: the change is made in the terminal, and nothing has yet been said to the bot in Teams.
  const teamsOnly = (c: (typeof contacts)[number]) => Object.fromEntries(Object.entries(c).filter(([field]) => field !== 'slackUserId'));
  let bot: Awaited<ReturnType<typeof startTeamsTestBot>>;
  beforeAll(async () => {
    bot = await startTeamsTestBot({ organizations: [organization('en', teamsOnly)] });
  });
  afterAll(() => bot?.close());

  it('R-N3 no service URL known: the direct messages give up visibly, then reach the contacts once the bot was written to', async () => {
    const done = await runCli(bot.db, ['allow-reservations', 'twcloud.example', '--as', 'xiaoming.wang@partner.example', '--yes']);
    expect(done.output).toContain(en('allow.contactsTold', { count: reachable.length, customer }));
    const failed = await waitFor('the direct messages given up', async () => {
      const rows = await bot.db.select().from(outbox).where(and(eq(outbox.platform, 'teams'), eq(outbox.status, 'failed')));
      return rows.length === reachable.length && rows;
    }, 15_000);
    expect(failed.every((r) => r.lastError?.startsWith('no Teams conversation of the organization is known yet'))).toBe(true);

    const channel = '19:ops@thread.tacv2';
    const failures = cardText((await bot.message(aadUsers.globalAdmin, 'notify failures', { conversationId: channel })).card);
    const meiling = reachable[0]!;
    expect(failures).toContain(en('failures.directChat', { name: meiling.name, id: meiling.teamsAadObjectId }));
    expect(failures).toContain('no Teams conversation of the organization is known yet');

    await bot.message(aadUsers.globalAdmin, 'notify failures retry', { conversationId: channel });
    for (const contact of reachable) {
      const tr = translator(contactLocale(contact, 'en'));
      await waitFor(`the direct message to ${contact.name}`, () =>
        bot.framework.calls.find((c) => c.conversationId === `a:personal-${contact.teamsAadObjectId}` && cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson).includes(tr('allow.contactNotice', params))),
      15_000);
    }
  });
});
