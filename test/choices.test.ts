import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherOrganization, testOrganization, aadUsers } from './helpers/fixture.js';
import { validateAdaptiveCard } from './helpers/adaptive-card.js';
import { platforms, usePlatform } from './helpers/platforms.js';
import { activityFor, unchanged } from './helpers/tables.js';
import { cardActions, cardText, choiceList, startTeamsTestBot, type AdaptiveCardJson, type TeamsTestBot } from './helpers/teams.js';

/*
 * Issue 19: Teams shows six buttons of a row. An ambiguous customer offers up to ten (maxCandidates), a customer
 * whose owner is unknown one confirmation per Azure subscription: on Teams such a view is one list of every choice
 * and a Choose button, which runs the chosen one exactly as its button would. Slack shows them all as buttons.
 */

const names = [
  'Lumen 한빛소프트 1 주식회사', 'Lumen 한빛소프트 2 주식회사', 'Lumen 한빛소프트 3 코리아', 'Lumen 새롬데이터',
  'Lumen 宏達科技股份有限公司', 'Lumen 宏達雲端股份有限公司', 'Lumen 臺北宏達資訊股份有限公司', 'Lumen 遠東電子股份有限公司',
  'Lumen Systems Ltd', 'Lumen 부산물류',
];
const lumen = names.map((name, i) => ({
  name,
  domain: `lumen${i}.example`,
  tenantId: `f1f1f1f1-0000-4000-8000-${String(i).padStart(12, '0')}`,
  billingCountry: i < 4 || i === 9 ? 'KR' : 'TW',
  subscriptions: [{ id: `f2f2f2f2-0000-4000-8000-${String(i).padStart(12, '0')}`, offer: 'azure-plan', friendlyName: '운영', status: 'active', ownerRoleAssigned: true }],
}));
/** A customer with seven Azure subscriptions and no known Owner: seven confirmations and Cancel (R-P4). */
const garam = {
  name: '가람물산 주식회사',
  domain: 'garam.example',
  tenantId: 'f3f3f3f3-0000-4000-8000-000000000001',
  billingCountry: 'KR',
  subscriptions: Array.from({ length: 7 }, (_, i) => ({ id: `f4f4f4f4-0000-4000-8000-00000000000${i}`, offer: 'azure-plan', friendlyName: `가람 구독 ${i + 1}`, status: 'active', ownerRoleAssigned: false })),
};
const organizations = [{ ...testOrganization, customers: [...testOrganization.customers, ...lumen, garam] }, otherOrganization];
const labels = lumen.map((c) => `${c.name} (${c.domain})`);

/** The card's one Choose button and the list it names. */
function chooser(card: AdaptiveCardJson | undefined) {
  const actions = cardActions(card);
  expect(actions.map((a) => a.verb)).toEqual(['choose']);
  const list = choiceList(card, actions[0]!);
  expect(list?.type).toBe('Input.ChoiceSet');
  return { choose: actions[0]!, list: list! };
}

describe('Teams: more choices than Teams shows are one list and a Choose button', () => {
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot({ organizations, locales: { [aadUsers.adminAgent]: 'ko-KR', [aadUsers.salesAgent]: 'zh-TW' } });
  });
  afterAll(() => bot?.close());

  /** Picks the choice at `index` from the card's list and clicks Choose, as a Teams user does. */
  async function choose(aad: string, card: AdaptiveCardJson | undefined, replyToId: string, index: number) {
    const { choose: button, list } = chooser(card);
    const { value, ...data } = button.data!;
    return bot.click(aad, { verb: button.verb!, value, inputs: { ...data, [list.id!]: list.choices![index]!.value } }, replyToId);
  }

  it('ten customers matching "Lumen" (Korean and Chinese names among them) are all in the list; the card is valid Adaptive Card 1.5', async () => {
    const { card } = await bot.message(aadUsers.globalAdmin, 'customer Lumen');
    validateAdaptiveCard(card);
    expect(cardText(card)).toContain('10 customers match "Lumen". Choose one:');
    const { choose: button, list } = chooser(card);
    expect(button.title).toBe('Choose');
    expect(list.label).toBe('Choices (10)');
    expect(list.choices!.map((c) => c.title).sort()).toEqual([...labels].sort());
  });

  it('choosing the 8th runs `customer` for that customer: the answer is the one its tenant ID typed gets', async () => {
    const { card, replyToId } = await bot.message(aadUsers.globalAdmin, 'customer Lumen');
    const eighth = chooser(card).list.choices![7]!;
    const customer = lumen[labels.indexOf(eighth.title)]!;
    const chosen = await unchanged(bot.db, () => choose(aadUsers.globalAdmin, card, replyToId!, 7));
    expect(cardText(chosen.card)).toContain(customer.name);
    expect(cardText(chosen.card)).toBe(cardText((await bot.message(aadUsers.globalAdmin, `customer ${customer.tenantId}`)).card));
  });

  it('R-P1 choosing the 10th runs `allow-reservations` for that customer', async () => {
    const { card, replyToId } = await bot.message(aadUsers.globalAdmin, 'allow-reservations Lumen');
    const tenth = chooser(card).list.choices![9]!;
    const customer = lumen[labels.indexOf(tenth.title)]!;
    const chosen = await choose(aadUsers.globalAdmin, card, replyToId!, 9);
    expect(cardText(chosen.card)).toContain(`Allow ${customer.name} to buy Azure reservations?`);
    expect(cardActions(chosen.card).map((a) => a.title)).toEqual(['Turn on', 'Cancel']);
  });

  it('in Korean and Traditional Chinese: the list and its button in the reader\'s language, the choice runs', async () => {
    for (const [aad, label, title, ambiguous] of [
      [aadUsers.adminAgent, '선택 항목(10개)', '선택', '"Lumen"에 일치하는 고객이 10명 있습니다. 하나를 선택하세요:'],
      [aadUsers.salesAgent, '選項（10 個）', '選擇', '有 10 位客戶符合「Lumen」。請選擇一位：'],
    ] as const) {
      const { card, replyToId } = await bot.message(aad, 'customer Lumen');
      expect(cardText(card)).toContain(ambiguous);
      const { choose: button, list } = chooser(card);
      expect([list.label, button.title]).toEqual([label, title]);
      // zh-TW writes a choice as 名稱（網域）.
      const tenth = lumen.find((c) => list.choices![9]!.title.includes(c.domain))!;
      expect(cardText((await choose(aad, card, replyToId!, 9)).card)).toContain(tenth.name);
    }
  });

  it('six or fewer choices stay buttons: "宏達" matches three customers', async () => {
    const { card, replyToId } = await bot.message(aadUsers.globalAdmin, 'customer 宏達');
    expect(card?.body?.some((e) => e.type === 'Input.ChoiceSet')).toBe(false);
    const buttons = cardActions(card);
    expect(buttons.map((b) => b.title).sort()).toEqual(labels.filter((l) => l.includes('宏達')).sort());
    expect(buttons.every((b) => b.verb === 'run')).toBe(true);
    const { value, ...data } = buttons[2]!.data!;
    const clicked = await bot.click(aadUsers.globalAdmin, { verb: 'run', value, inputs: data }, replyToId!);
    expect(cardText(clicked.card)).toContain(buttons[2]!.title.split(' (')[0]);
  });

  it('R-P4 a confirmation per subscription: the chosen one acts as its button would, with the same checks of who chooses', async () => {
    const { card, replyToId } = await bot.message(aadUsers.globalAdmin, 'allow-reservations 가람물산');
    const { list } = chooser(card);
    expect(list.choices!.map((c) => c.title)).toEqual([...garam.subscriptions.map((s) => `Owner is assigned on ${s.friendlyName}`), 'Cancel']);
    // What a button carrying the 6th confirmation would send.
    const [verb, ...rest] = list.choices![5]!.value.split(' ');
    const button = { verb: verb!, value: rest.join(' ') };
    for (const who of [aadUsers.stranger, aadUsers.salesAgent, aadUsers.helpdeskAgent]) {
      const chosen = await unchanged(bot.db, () => choose(who, card, replyToId!, 5));
      const clicked = await unchanged(bot.db, () => bot.click(who, button, replyToId!));
      expect(chosen.message ?? cardText(chosen.card)).toBe(clicked.message ?? cardText(clicked.card));
    }
    const refused = await choose(aadUsers.stranger, card, replyToId!, 5);
    expect(refused.message ?? cardText(refused.card)).toContain('You are not registered as partner staff');

    const recorded = await choose(aadUsers.globalAdmin, card, replyToId!, 5);
    const sixth = garam.subscriptions[5]!.id;
    expect(cardText(recorded.card)).toContain(`Recorded: 가람물산 주식회사's key user holds Owner on ${sixth}.`);
    const activity = await activityFor(bot.db, garam.tenantId);
    expect(activity.map((r) => r.action)).toEqual(['owner_role_confirmed']);
    expect(JSON.stringify(activity[0]!.details)).toContain(sixth);
  });
});

describe.each(platforms)('$name: every one of ten customers can be chosen', ({ name, start }) => {
  const p = usePlatform(() => start(organizations));

  it('all ten are offered (Slack: ten buttons); the 8th runs allow-reservations for that customer', async () => {
    const reply = await p.command('globalAdmin', 'allow-reservations Lumen');
    expect(reply.text).toContain('10 customers match "Lumen". Choose one:');
    expect(reply.buttons.map((b) => b.label).sort()).toEqual([...labels].sort());
    if (name === 'Slack') expect(reply.buttons.every((b) => b.id.startsWith('csp:run:'))).toBe(true);
    const eighth = reply.buttons[7]!.label;
    const chosen = await p.click('globalAdmin', reply, eighth);
    expect(chosen.text).toContain(`Allow ${eighth.split(' (')[0]} to buy Azure reservations?`);
  });
});
