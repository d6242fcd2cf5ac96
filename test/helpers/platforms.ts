import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../../db/client.js';
import { aadUsers, users } from './fixture.js';
import { buttons, replyLinks, replyText, startTestBot, type SlackReply } from './slack.js';
import { cardActions, cardLinks, cardText, choiceList, startTeamsTestBot, type AdaptiveCardJson } from './teams.js';
import { waitFor } from './wait.js';

export type Person = keyof typeof users;
/** The Partner Center connector's settings and timing, for a bot that uses it. */
export type Connector = Pick<Parameters<typeof startTestBot>[0] & object, 'partnerCenter' | 'partnerCenterTuning'>;

/** What a user sees, the same shape on every platform. */
export interface Reply {
  text: string;
  buttons: { label: string; style?: 'primary' | 'danger'; id: string; value: string; /** Anything else the button carries (Teams: which user-specific view it is on). */ data?: Record<string, string> }[];
  /** The addresses the text links to. */
  links: string[];
  /** The platform's handle on the message, for clicking its buttons. */
  message?: string;
}

/** A second channel of the same workspace or team, for what is posted away from where a command ran. */
export const elsewhere = { slack: 'C0OPS00002', teams: '19:ops-elsewhere@thread.tacv2' } as const;

/** Drives one platform through its real adapter: the same scenarios run on each. */
export interface PlatformDriver {
  db: Database;
  /** The bot's HTTP port (its API endpoints). */
  port: number;
  /** A command in the test channel, or `elsewhere`. */
  command(person: Person, text: string, where?: 'elsewhere'): Promise<Reply>;
  click(person: Person, reply: Reply, label: string): Promise<Reply>;
  /** Clicks a button that asks for typed input, types it, and confirms (a Slack modal; a Teams card input). */
  clickWithInput(person: Person, reply: Reply, label: string, inputs: Record<string, string>): Promise<Reply>;
  /** Waits for a message the bot posted on its own (announcements, request cards) that contains the text. */
  posted(text: string, timeoutMs?: number): Promise<Reply>;
  close(): Promise<void>;
}

function pick(reply: Reply, label: string) {
  const button = reply.buttons.find((b) => b.label === label);
  if (!button) throw new Error(`no "${label}" button in: ${reply.text}`);
  return button;
}

/** Each person's Slack or Teams client language. */
export type Locales = Partial<Record<Person, string>>;
const byId = (ids: Record<Person, string>, locales: Locales = {}) => Object.fromEntries(Object.entries(locales).map(([person, locale]) => [ids[person as Person], locale]));

async function slackDriver(organizations?: unknown[], connector?: Connector, locales?: Locales): Promise<PlatformDriver> {
  const bot = await startTestBot({ organizations, ...connector, fakeSlack: { locales: byId(users, locales) } });
  const toReply = (reply: SlackReply | undefined): Reply => ({
    text: replyText(reply),
    links: replyLinks(reply),
    buttons: buttons(reply).map((b) => ({ label: b.text.text, style: b.style as Reply['buttons'][number]['style'], id: b.action_id, value: b.value })),
  });
  return {
    db: bot.db,
    port: bot.bot.port,
    command: async (person, text, where) => toReply((await bot.command(users[person], text, where ? { channel: elsewhere.slack } : {})).reply),
    async click(person, reply, label) {
      const button = pick(reply, label);
      // A posted message (its ts is known) is in a channel; a command's answer is the clicker's own.
      return toReply((await bot.click(users[person], { action_id: button.id, value: button.value }, { messageTs: reply.message })).reply);
    },
    async clickWithInput(person, reply, label, inputs) {
      const button = pick(reply, label);
      const { reply: replaced } = await bot.clickAndSubmit(users[person], { action_id: button.id, value: button.value }, inputs, { messageTs: reply.message });
      return toReply(replaced);
    },
    async posted(text, timeoutMs) {
      const post = await waitFor(`a post with "${text}"`, () => bot.slack.posts().reverse().find((p) => replyText(p.body as SlackReply).includes(text)), timeoutMs);
      return { ...toReply(post.body as SlackReply), message: post.ts };
    },
    close: () => bot.close(),
  };
}

async function teamsDriver(organizations?: unknown[], connector?: Connector, locales?: Locales): Promise<PlatformDriver> {
  const bot = await startTeamsTestBot({ organizations, ...connector, locales: byId(aadUsers, locales) });
  const styles = { positive: 'primary', destructive: 'danger' } as const;
  const toReply = (card: AdaptiveCardJson | undefined, message?: string): Reply => ({
    text: cardText(card),
    links: cardLinks(card).map((link) => link.url),
    buttons: cardActions(card).flatMap((a) => {
      const { value = '', ...data } = a.data ?? {};
      // Choosing from a list and clicking Choose: a button per choice, its click carrying the choice.
      const list = choiceList(card, a);
      if (list) return (list.choices ?? []).map((c) => ({ label: c.title, id: a.verb!, value, data: { ...data, [list.id!]: c.value } }));
      return [{ label: a.title, style: styles[a.style as keyof typeof styles], id: a.verb ?? '', value, data }];
    }),
    message,
  });
  /** A click's answer as the clicker sees it: their card, or a message beside the card they clicked. */
  const answered = (reply: Reply, result: Awaited<ReturnType<typeof bot.click>>): Reply =>
    result.message !== undefined ? { text: result.message, buttons: [], links: [], message: reply.message } : toReply(result.card, reply.message);
  const driver: PlatformDriver = {
    db: bot.db,
    port: bot.bot.port,
    async command(person, text, where) {
      const { card, replyToId } = await bot.message(aadUsers[person], text, where ? { conversationId: elsewhere.teams } : {});
      return toReply(card, replyToId);
    },
    async click(person, reply, label) {
      const button = pick(reply, label);
      const result = await bot.click(aadUsers[person], { verb: button.id, value: button.value, inputs: button.data }, reply.message ?? 'unknown');
      // The clicker's refreshed card and everyone's updated card say the same.
      if (result.updatedCard && cardText(result.updatedCard) !== cardText(result.card)) throw new Error('the card was updated differently for everyone');
      return answered(reply, result);
    },
    async clickWithInput(person, reply, label, inputs) {
      // Teams shows the input on the card; the confirming click carries what was typed.
      const prompt = await driver.click(person, reply, label);
      const confirm = prompt.buttons[0];
      if (!confirm) return prompt;
      const result = await bot.click(aadUsers[person], { verb: confirm.id, value: confirm.value, inputs: { ...confirm.data, ...inputs } }, reply.message ?? 'unknown');
      return answered(reply, result);
    },
    async posted(text, timeoutMs) {
      const call = await waitFor(`a post with "${text}"`, () =>
        [...bot.framework.calls].reverse().find((c) => c.method === 'POST' && !c.body.replyToId && cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson).includes(text)),
        timeoutMs,
      );
      return toReply(call.body.attachments?.[0]?.content as AdaptiveCardJson, call.postedId);
    },
    close: () => bot.close(),
  };
  return driver;
}

/**
 * Starts a platform's bot for one describe block (then runs `setup` once) and
 * stops it afterwards; the returned driver works once the block's tests run.
 */
export function usePlatform(start: () => Promise<PlatformDriver>, setup?: (driver: PlatformDriver) => Promise<unknown>): PlatformDriver {
  const driver = {} as PlatformDriver;
  beforeAll(async () => {
    Object.assign(driver, await start());
    await setup?.(driver);
  });
  afterAll(() => driver.close?.());
  return driver;
}

export const platforms = [
  { name: 'Slack', start: slackDriver },
  { name: 'Teams', start: teamsDriver },
] as const;
