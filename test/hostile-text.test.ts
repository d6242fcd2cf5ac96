import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subscriptions } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { renderText, type View } from '../src/views/model.js';
import { renderSlack, renderSlackModal, slackLimits } from '../src/views/slack.js';
import { maxCardBytes, renderAdaptiveCard } from '../src/views/teams.js';
import { validateAdaptiveCard } from './helpers/adaptive-card.js';
import { slackMessageSchema, slackRichTextSchema } from './helpers/block-kit.js';
import { aadUsers, testOrganization, users } from './helpers/fixture.js';
import { buttons, decodeSlackEntities, startTestBot, type SlackBlock, type SlackReply, type TestBot } from './helpers/slack.js';
import { testOrgId } from './helpers/tables.js';
import { cardActions, cardText, choiceList, type CardAction, startTeamsTestBot, type AdaptiveCardJson, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

/*
 * Names, reasons and fields from imports, customers and Partner Center are data, never markup: every
 * view shows them literally, on Slack (no mrkdwn), Teams (no Markdown-parsed element) and the terminal.
 */
const hostile = '*굵게* _기울임_ ~취소~ `코드` > 인용 <!channel> <!here> <@U0ADMIN01> <#C123> <https://evil.example|여기> [Approve](https://evil.example) **粗體** # 標題 &amp; \u001b[31m';
/** Pieces of `hostile` that must never reach a parsed text. */
const fragments = ['굵게', '기울임', '粗體', '標題', 'evil.example', '!channel', 'U0ADMIN01'];
const holdsData = (text: string) => fragments.some((f) => text.includes(f));

const names = {
  customer: `고객 ${hostile}`,
  secondCustomer: `고객 둘 ${hostile}`,
  subscription: `구독 ${hostile}`,
  product: `제품 ${hostile}`,
  offer: `오퍼 ${hostile}`,
  plan: `方案 ${hostile}`,
  publisher: `發行商 ${hostile}`,
  support: `지원 ${hostile}`,
  admin: `관리자 ${hostile}`,
  contact: `연락처 ${hostile}`,
  buyer: `구매자 ${hostile}`,
  reason: `사유 ${hostile}`,
  rejection: `거절 ${hostile}`,
  partner: `夥伴 ${hostile}`,
  audienceOffer: `청중 ${hostile}`,
  channelContact: `채널 ${hostile}`,
  steps: `단계 ${hostile}`,
};

const hostileTenant = 'dddddddd-dddd-4ddd-8ddd-dddddddddddd';
const reservationId = 'rddd0000-0000-4000-8000-000000000001';
const contactIds = { slack: 'UCONTACT9', aad: 'a0000000-0000-4000-8000-00000000000c' };

const hostileOrganization = {
  ...testOrganization,
  staff: testOrganization.staff.map((s) => (s.role === 'global-admin' ? { ...s, name: names.admin } : s)),
  offers: [
    {
      id: 'hostile-offer', name: names.offer, publisher: { name: names.publisher, supportContact: names.support },
      landingPageUrl: 'https://hostile-offer.example/activate', type: 'saas', categories: ['analytics'], countries: ['KR', 'US'],
      publisherSteps: { cancel: names.steps, seats: names.steps },
      plans: [{ id: 'hostile-plan', name: names.plan, prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }, { term: 'monthly', market: 'US', currency: 'USD', price: 10 }] }],
    },
  ],
  customers: [
    ...testOrganization.customers,
    {
      name: names.customer, domain: 'hostile.example', tenantId: hostileTenant, billingCountry: 'KR',
      contacts: [{ name: names.contact, email: 'contact@hostile.example', slackUserId: contactIds.slack, teamsAadObjectId: contactIds.aad }],
      subscriptions: [
        { id: 'dddd0000-0000-4000-8000-000000000001', offer: 'azure-plan', friendlyName: names.subscription, status: 'active', ownerRoleAssigned: true },
        {
          id: 'saasdddd-0000-4000-8000-000000000001', offer: 'marketplace-saas', friendlyName: names.subscription, status: 'active',
          offerId: 'hostile-offer', planId: 'hostile-plan', seats: 5, term: 'monthly', purchasedAt: '2026-10-10T00:00:00Z', activatedAt: '2026-10-17T00:00:00Z',
        },
      ],
      reservations: [
        {
          id: reservationId, product: names.product, region: 'koreacentral', quantity: 1, term: 'P1Y', billingPlan: 'upfront', scope: 'shared',
          price: 100, currency: 'USD', purchasedBy: 'customer', purchasedAt: '2026-06-01T00:00:00Z',
        },
      ],
    },
    // A second match for 고객: choosing between them shows both names on buttons.
    { name: names.secondCustomer, domain: 'hostile-two.example', tenantId: 'eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee', billingCountry: 'TW', subscriptions: [] },
  ],
};

const publisher = { team: 'T0ISVHOST1', tenant: '0c0c0c0c-0000-4000-8000-00000000000c', slack: 'UISVOWN01', aad: 'b0000000-0000-4000-8000-0000000000a1' };
const directoryPartner = 'c9000000-0000-4000-8000-000000000009';
const publisherOrganization = {
  organization: { name: '발행사 조직', kind: 'publisher', slackTeamId: publisher.team, teamsTenantId: publisher.tenant },
  staff: [{ name: '이서연', email: 'seoyeon@isv-host.example', role: 'owner', slackUserId: publisher.slack, teamsAadObjectId: publisher.aad }],
  offers: [
    {
      id: 'hostile-audience', name: names.audienceOffer, type: 'saas', publisher: { name: '발행사 조직', supportContact: 'support@isv-host.example' }, countries: ['KR', 'TW'],
      plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }] }],
      audience: { option: 'specific', published: true, partners: [{ tenantId: directoryPartner, regions: ['KR'] }] },
      salesMaterialsUrl: 'https://isv-host.example/csp-kit', channelContact: names.channelContact,
    },
  ],
  partnerDirectory: [{ name: names.partner, tenantId: directoryPartner, country: 'KR', competencies: ['Cloud Platform'], skills: ['Azure'] }],
  customers: [],
};

type Person = 'globalAdmin' | 'adminAgent' | 'salesAgent' | 'contact' | 'publisher';

/** One message as its reader sees it, and the platform's message it came from. */
interface Shown {
  visible: string;
  buttons: { label: string; id: string; value: string; data?: Record<string, string> }[];
  /** The message itself (Slack) or the card (Teams), for the markup checks. */
  raw: unknown;
  /** Teams: the activity the buttons belong to. */
  message?: string;
  /** Slack: the notification text as Slack shows it, its entities decoded. */
  fallback?: string;
}

interface Driver {
  db: TestBot['db'];
  port: number;
  command(person: Person, text: string, where?: 'approvals' | 'purchases'): Promise<Shown>;
  click(person: Person, shown: Shown, label: string): Promise<Shown>;
  /** Reject with a typed reason: Slack's modal (returned too) or Teams' card input. */
  reject(person: Person, shown: Shown, reason: string): Promise<{ prompt: Shown; result: Shown }>;
  posted(where: 'approvals' | 'purchases', text: string): Promise<Shown>;
  /** Every message and card the bot sent so far, wherever it went. */
  sent(): unknown[];
  /** Markup problems of one message (empty when user text stayed text). */
  problems(raw: unknown): string[];
  close(): Promise<void>;
}

const walk = (node: unknown, visit: (n: Record<string, unknown>) => void): void => {
  if (Array.isArray(node)) for (const item of node) walk(item, visit);
  else if (typeof node === 'object' && node !== null) {
    visit(node as Record<string, unknown>);
    for (const value of Object.values(node)) walk(value, visit);
  }
};

/** What Slack shows of blocks: plain_text as it is, rich text runs, links as their text or address. */
function slackVisible(blocks: SlackBlock[] | undefined): string {
  const parts: string[] = [];
  walk(blocks ?? [], (n) => {
    if (n.type === 'plain_text' && typeof n.text === 'string') parts.push(n.text);
    if (n.type === 'rich_text_section') {
      parts.push((n.elements as { type: string; text?: string; url?: string }[]).map((e) => (e.type === 'link' ? (e.text ?? e.url) : e.text)).join(''));
    }
  });
  return parts.join('\n');
}

function slackProblems(raw: unknown): string[] {
  const problems: string[] = [];
  walk(raw, (n) => {
    if (n.type === 'mrkdwn' && holdsData(String(n.text))) problems.push(`user text in mrkdwn: ${String(n.text)}`);
    // plain_text turns :shortcodes: into emoji unless told not to.
    if (n.type === 'plain_text' && holdsData(String(n.text)) && n.emoji !== false) problems.push(`user text in plain_text with emoji: ${String(n.text)}`);
    if (n.type === 'link' && String(n.url).includes('evil.example') && n.text !== undefined && n.text !== n.url) problems.push(`a link labelled ${String(n.text)} goes to ${String(n.url)}`);
  });
  const message = raw as { text?: unknown; mrkdwn?: unknown; blocks?: unknown };
  if (typeof message.text === 'string' && message.blocks !== undefined) {
    if (message.text.includes('<')) problems.push(`a raw < in the top-level text: ${message.text}`);
    if (String(message.mrkdwn) !== 'false') problems.push('the top-level text is formatted as mrkdwn');
  }
  return problems;
}

function teamsProblems(raw: unknown): string[] {
  const problems: string[] = [];
  walk(raw, (n) => {
    // TextBlock and FactSet text is Markdown to Teams.
    if ((n.type === 'TextBlock' || n.type === 'FactSet') && holdsData(JSON.stringify(n))) problems.push(`user text in a ${String(n.type)}: ${JSON.stringify(n)}`);
    if (n.type === 'TextRun' && typeof n.selectAction === 'object' && n.selectAction && (n.selectAction as { url?: string }).url !== n.text) {
      problems.push(`a link labelled ${String(n.text)} goes to ${(n.selectAction as { url?: string }).url}`);
    }
  });
  // Links are TextRuns showing their own address; an Action.OpenUrl elsewhere would be a button naming something else.
  const runLinks = new Set<unknown>();
  walk(raw, (n) => { if (n.type === 'TextRun' && n.selectAction) runLinks.add(n.selectAction); });
  walk(raw, (n) => { if (n.type === 'Action.OpenUrl' && !runLinks.has(n) && String(n.url).includes('evil.example')) problems.push(`a button opens ${String(n.url)}`); });
  return problems;
}

async function slackDriver(): Promise<Driver> {
  const bot = await startTestBot({ organizations: [hostileOrganization, publisherOrganization] });
  const acks: unknown[] = [];
  const people: Record<Person, { user: string; team?: string }> = {
    globalAdmin: { user: users.globalAdmin }, adminAgent: { user: users.adminAgent }, salesAgent: { user: users.salesAgent },
    contact: { user: contactIds.slack }, publisher: { user: publisher.slack, team: publisher.team },
  };
  const channels = { approvals: 'C0OPS00001', purchases: 'C0PURCH001' };
  const show = (reply: SlackReply | undefined): Shown => {
    slackMessageSchema.parse(reply);
    const visible = slackVisible(reply?.blocks);
    return { visible, fallback: decodeSlackEntities(reply?.text ?? ''), raw: reply, buttons: buttons(reply).map((b) => ({ label: b.text.text, id: b.action_id, value: b.value })) };
  };
  const pick = (shown: Shown, label: string) => {
    const button = shown.buttons.find((b) => b.label === label);
    if (!button) throw new Error(`no "${label}" button in: ${shown.visible}`);
    return { action_id: button.id, value: button.value };
  };
  return {
    db: bot.db,
    port: bot.bot.port,
    async command(person, text, where) {
      const { reply } = await bot.command(people[person].user, text, { team: people[person].team, channel: where && channels[where] });
      acks.push(reply);
      return show(reply);
    },
    async click(person, shown, label) {
      return show((await bot.click(people[person].user, pick(shown, label))).reply);
    },
    async reject(person, shown, reason) {
      const { modal, reply } = await bot.clickAndSubmit(people[person].user, pick(shown, 'Reject'), { reason });
      if (!modal) throw new Error('no modal was opened');
      return { prompt: { visible: slackVisible(modal.blocks as SlackBlock[]), raw: modal, buttons: [] }, result: show(reply) };
    },
    async posted(where, text) {
      const post = await waitFor(`a post in ${where} with "${text}"`, () =>
        bot.slack.posts().reverse().find((p) => p.body.channel === channels[where] && slackVisible((p.body as SlackReply).blocks).includes(text)));
      return show(post.body as SlackReply);
    },
    sent: () => [
      ...acks,
      ...bot.slack.responses.map((r) => r.body),
      ...bot.slack.calls.filter((c) => c.method.startsWith('chat.')).map((c) => c.body),
      ...bot.slack.calls.filter((c) => c.method === 'views.open').map((c) => c.body.view),
      ...bot.slack.files().map((f) => ({ blocks: f.blocks })),
    ],
    problems: slackProblems,
    close: () => bot.close(),
  };
}

async function teamsDriver(): Promise<Driver> {
  const bot: TeamsTestBot = await startTeamsTestBot({ organizations: [hostileOrganization, publisherOrganization] });
  const answers: unknown[] = [];
  const people: Record<Person, { aad: string; tenantId?: string }> = {
    globalAdmin: { aad: aadUsers.globalAdmin }, adminAgent: { aad: aadUsers.adminAgent }, salesAgent: { aad: aadUsers.salesAgent },
    contact: { aad: contactIds.aad }, publisher: { aad: publisher.aad, tenantId: publisher.tenant },
  };
  const conversations = { approvals: '19:ops-channel@thread.tacv2', purchases: '19:purchases@thread.tacv2' };
  const show = (card: AdaptiveCardJson | undefined, message?: string): Shown => ({
    visible: cardText(card),
    raw: card,
    buttons: cardActions(card).map((a) => {
      const { value = '', ...data } = a.data ?? {};
      return { label: a.title, id: a.verb ?? '', value, data };
    }),
    message,
  });
  const pick = (shown: Shown, label: string) => {
    const button = shown.buttons.find((b) => b.label === label);
    if (!button) throw new Error(`no "${label}" button in: ${shown.visible}`);
    return { verb: button.id, value: button.value, inputs: button.data };
  };
  const click = async (person: Person, shown: Shown, action: { verb: string; value: string; inputs?: Record<string, string> }) => {
    const { card, updatedCard, message } = await bot.click(people[person].aad, action, shown.message ?? 'unknown', { tenantId: people[person].tenantId });
    answers.push(...[card, updatedCard].filter(Boolean));
    // A message shown beside the card is plain text to Teams.
    return message !== undefined ? { visible: message, raw: { message }, buttons: [], message: shown.message } : show(card, shown.message);
  };
  return {
    db: bot.db,
    port: bot.bot.port,
    async command(person, text, where) {
      const { card, sharedCard, replyToId } = await bot.message(people[person].aad, text, { tenantId: people[person].tenantId, conversationId: where && conversations[where] });
      // The asker's own view came from a refresh, not a post: it is checked with everything sent.
      if (sharedCard) answers.push(card);
      return show(card, replyToId);
    },
    click: (person, shown, label) => click(person, shown, pick(shown, label)),
    async reject(person, shown, reason) {
      const prompt = await click(person, shown, pick(shown, 'Reject'));
      const confirm = prompt.buttons[0]!;
      return { prompt, result: await click(person, shown, { verb: confirm.id, value: confirm.value, inputs: { ...confirm.data, reason } }) };
    },
    async posted(where, text) {
      const call = await waitFor(`a post in ${where} with "${text}"`, () =>
        [...bot.framework.calls].reverse().find((c) => c.method === 'POST' && !c.body.replyToId && c.conversationId === conversations[where] && cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson).includes(text)));
      const card = call.body.attachments?.[0]?.content as AdaptiveCardJson;
      validateAdaptiveCard(card);
      return show(card, call.postedId);
    },
    sent: () => [...bot.framework.calls.map((c) => c.body), ...answers],
    problems: (raw) => {
      const problems = teamsProblems(raw);
      // An activity's own text is Markdown too; csp-ops sends cards only.
      const text = (raw as { text?: unknown }).text;
      if (typeof text === 'string' && holdsData(text)) problems.push(`user text in an activity's text: ${text}`);
      return problems;
    },
    close: () => bot.close(),
  };
}

describe('the markup checks', () => {
  it('catch user text in mrkdwn, an unescaped top-level text, Markdown-parsed card text and a link labelled otherwise', () => {
    expect(slackProblems({ text: names.customer, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: names.customer } }] })).toHaveLength(3);
    expect(slackProblems({ blocks: [{ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'link', url: 'https://evil.example', text: 'Approve' }] }] }] })).toHaveLength(1);
    expect(teamsProblems({ body: [{ type: 'TextBlock', text: names.customer }, { type: 'FactSet', facts: [{ title: 'x', value: names.offer }] }] })).toHaveLength(2);
    expect(teamsProblems({ body: [{ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Approve', selectAction: { type: 'Action.OpenUrl', url: 'https://evil.example' } }] }] })).toHaveLength(1);
    expect(teamsProblems({ actions: [{ type: 'Action.OpenUrl', title: 'Approve', url: 'https://evil.example' }] })).toHaveLength(1);
  });
});

const purchase = (overrides: Record<string, unknown> = {}) => ({
  id: `PO-${randomUUID()}`,
  customer: 'hostile.example',
  kind: 'reservation',
  reservation: { product: names.product, region: 'koreacentral', quantity: 1, term: 'P1Y', scope: 'shared', price: 99, currency: 'USD' },
  buyer: { name: names.buyer, email: 'buyer@hostile.example' },
  purchasedAt: '2026-11-20T01:02:03Z',
  ...overrides,
});

describe.each([
  { name: 'Slack', start: slackDriver },
  { name: 'Teams', start: teamsDriver },
])('$name: user text stays text', ({ start }) => {
  let p: Driver;
  let intake: (body: unknown) => Promise<Response>;
  beforeAll(async () => {
    p = await start();
    const { token } = await createApiToken(p.db, await testOrgId(p.db), 'hostile intake');
    intake = (body) =>
      fetch(`http://127.0.0.1:${p.port}/api/v1/purchases`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
  });
  afterAll(() => p?.close());

  /** The message keeps every markup rule and shows each expected text exactly. */
  function expectLiteral(shown: Shown, ...expected: string[]) {
    expect(p.problems(shown.raw)).toEqual([]);
    for (const text of expected) expect(shown.visible).toContain(text);
    // The notification text holds it too, unless the text was cut at its limit.
    const fallbackCut = shown.fallback?.length === slackLimits.fallbackText;
    if (shown.fallback !== undefined && !fallbackCut) for (const text of expected) expect(shown.fallback).toContain(text);
  }

  it('help and lists of customers, one customer and its subscriptions', async () => {
    expectLiteral(await p.command('salesAgent', 'help'));
    expectLiteral(await p.command('salesAgent', 'customers 고객'), names.customer, names.secondCustomer);
    const choice = await p.command('salesAgent', 'customer 고객');
    expectLiteral(choice);
    expect(choice.buttons).toHaveLength(2);
    expectLiteral(await p.command('salesAgent', 'customer hostile.example'), names.customer, names.subscription);
    expectLiteral(await p.command('salesAgent', 'subscriptions hostile.example'), names.subscription, names.offer);
    expectLiteral(await p.command('salesAgent', 'billing hostile.example 2026-11'), names.subscription);
    expectLiteral(await p.command('salesAgent', 'reservations hostile.example'), names.customer, names.product);
  });

  it('an error names a customer that does not exist as it was typed', async () => {
    expectLiteral(await p.command('salesAgent', `customer 없는 ${hostile}`), `없는 ${hostile}`);
  });

  it('R-P6 a confirmation, its committed answer and the activity log name the customer and the staff member as text', async () => {
    const asked = await p.command('globalAdmin', 'allow-reservations hostile.example');
    expectLiteral(asked, names.customer);
    expectLiteral(await p.click('globalAdmin', asked, 'Turn on'), names.customer);
    expectLiteral(await p.command('salesAgent', 'activity hostile.example'), names.admin);
  });

  it('marketplace, offer, support and the price list show offer, plan and publisher names as text', async () => {
    expectLiteral(await p.command('salesAgent', 'marketplace'), names.offer);
    expectLiteral(await p.command('salesAgent', 'offer hostile-offer'), names.offer, names.publisher, names.support, names.plan);
    expectLiteral(await p.command('salesAgent', 'support hostile-offer'), names.support);
    expectLiteral(await p.command('salesAgent', 'price-list'));
  });

  it('R-M7 the publisher\'s steps before a seat change or a cancel show as text', async () => {
    expectLiteral(await p.command('globalAdmin', 'subscription saasdddd seats 6'), names.steps);
    // Cancelling needs an open window (R-M10): a subscription bought now.
    await p.click('globalAdmin', await p.command('globalAdmin', 'buy hostile-offer hostile-plan for hostile.example seats 2'), 'Buy');
    const [bought] = await p.db.select().from(subscriptions).where(and(eq(subscriptions.offerId, 'hostile-offer'), eq(subscriptions.status, 'action-needed')));
    expectLiteral(await p.command('globalAdmin', `subscription ${bought!.id} cancel`), names.steps);
  });

  it('R-Q1 R-Q3 a request card in the approvals channel, the requests list and the reject prompt show the reason and names as text', async () => {
    await p.command('globalAdmin', 'channel approvals here', 'approvals');
    expectLiteral(await p.command('contact', `request cancel ${reservationId} because ${names.reason}`), reservationId);
    const card = await p.posted('approvals', `Request: cancel reservation ${reservationId}`);
    expectLiteral(card, names.customer, names.contact, names.reason);
    expectLiteral(await p.command('salesAgent', 'requests'), names.customer, names.contact);
    const { prompt, result } = await p.reject('adminAgent', card, names.rejection);
    expectLiteral(prompt);
    expectLiteral(result, names.rejection);
  });

  it('R-N2 a purchase announcement and a digest name the customer, product and buyer as text', async () => {
    expectLiteral(await p.command('adminAgent', 'notify here purchases hostile.example', 'purchases'), names.customer);
    expectLiteral(await p.command('salesAgent', 'notify list', 'purchases'), names.customer);
    expect((await intake(purchase())).status).toBe(201);
    expectLiteral(await p.posted('purchases', names.buyer), names.customer, names.product, names.buyer);
    // More purchases than the channel's burst: the rest come as one digest (R-N3).
    const statuses = await Promise.all(Array.from({ length: 8 }, () => intake(purchase())).map(async (r) => (await r).status));
    expect(statuses).toEqual(Array(8).fill(201));
    expectLiteral(await p.posted('purchases', 'customer purchases'), names.customer, names.buyer);
    expectLiteral(await p.command('salesAgent', 'orders hostile.example'), names.customer, names.product);
  });

  it('R-I2 R-I3 a publisher\'s audience and the partner directory show partner and offer names as text', async () => {
    expectLiteral(await p.command('publisher', 'audience hostile-audience'), names.audienceOffer, names.partner);
    expectLiteral(await p.command('publisher', 'partners'), names.partner);
  });

  it('nothing the bot sent anywhere holds user text in markup', () => {
    const sent = p.sent();
    expect(sent.length).toBeGreaterThan(20);
    for (const message of sent) expect(p.problems(message)).toEqual([]);
  });
});

describe('the terminal: user text stays text', () => {
  let bot: TestBot;
  beforeAll(async () => {
    bot = await startTestBot({ organizations: [hostileOrganization, publisherOrganization] });
  });
  afterAll(() => bot?.close());

  // ESC shows as ␛: a name cannot recolour the terminal or move its cursor.
  const shown = (text: string) => text.replace('\u001b', '\u241b');

  it.each([
    ['customer', ['customer', 'hostile.example'], [names.customer, names.subscription]],
    ['reservations', ['reservations', 'hostile.example'], [names.product]],
    ['offer', ['offer', 'hostile-offer'], [names.offer, names.publisher, names.support, names.plan]],
    ['an unknown customer', ['customer', `없는 ${hostile}`], [`없는 ${hostile}`]],
    ['a choice between customers', ['customer', '고객'], [names.customer, names.secondCustomer]],
  ])('%s prints the names with control characters made visible', async (_, args, expected) => {
    const { output } = await runCli(bot.db, [...args, '--as', 'jihoon.park@partner.example', '--org', testOrganization.organization.name]);
    expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    for (const text of expected) expect(output).toContain(shown(text));
  });

  it('R-I3 partners, run by the publisher', async () => {
    const { output } = await runCli(bot.db, ['partners', '--as', 'seoyeon@isv-host.example', '--org', publisherOrganization.organization.name]);
    expect(output).not.toContain('\u001b');
    expect(output).toContain(shown(names.partner));
  });
});

describe('size limits: whatever a view holds, the message fits', () => {
  const many = <T,>(count: number, item: (i: number) => T): T[] => Array.from({ length: count }, (_, i) => item(i));
  const views: [string, View][] = [
    ['2,000 short lines', { title: 'Activity', lines: many(2000, (i) => `• ${i} ${names.customer}`), actions: [{ id: 'run', label: 'Next page', value: 'activity page 2' }] }],
    ['80 lines of 3,000 characters', { lines: many(80, (i) => `${i} ${'가'.repeat(2995)}`) }],
    ['300 facts', { title: names.customer, facts: many(300, (i) => ({ label: `항목 ${i}`, value: names.subscription })) }],
  ];
  const cutNotice = 'The list was cut here to fit in one message: use the command\'s page option';

  it.each(views)('%s: Block Kit within 50 blocks and its character limits, ending with the cut notice', (_, view) => {
    const message = renderSlack(view);
    slackMessageSchema.parse(message);
    expect(message.blocks.length).toBeLessThanOrEqual(slackLimits.messageBlocks);
    expect(slackVisible(message.blocks.slice(-2) as SlackBlock[])).toContain(cutNotice);
    // The buttons stay: the next page is one of them.
    expect(buttons(message as SlackReply).map((b) => b.text.text)).toEqual((view.actions ?? []).map((a) => a.label));
  });

  it.each(views)('%s: an Adaptive Card under 25,000 bytes, ending with the cut notice', (_, view) => {
    const card = renderAdaptiveCard(view);
    validateAdaptiveCard(card);
    expect(Buffer.byteLength(JSON.stringify(card))).toBeLessThanOrEqual(maxCardBytes);
    expect(cardText({ body: card.body.slice(-1) } as AdaptiveCardJson)).toContain(cutNotice);
    expect(cardActions(card as AdaptiveCardJson).map((a) => a.title)).toEqual((view.actions ?? []).map((a) => a.label));
  });

  it('a title of 10,000 characters and 40 buttons: the title is shortened to 3,000, 25 choices are kept', () => {
    const view: View = { title: '標'.repeat(10_000), lines: ['x'], actions: many(40, (i) => ({ id: 'run' as const, label: `${i} ${names.customer}`, value: `customers page ${i}` })) };
    const message = renderSlack(view);
    slackMessageSchema.parse(message);
    expect(slackVisible(message.blocks as SlackBlock[])).toContain(`${'標'.repeat(2999)}…`);
    expect(buttons(message as SlackReply)).toHaveLength(25);
    const card = renderAdaptiveCard(view);
    validateAdaptiveCard(card);
    expect(cardText(card as AdaptiveCardJson)).toContain(`${'標'.repeat(2999)}…`);
    // Teams shows more than six choices as one list with a Choose button (issue 19): the same 25 as Slack.
    expect(card.actions).toHaveLength(1);
    const list = choiceList(card as AdaptiveCardJson, card.actions![0] as CardAction) as { choices?: unknown[] } | undefined;
    expect(list?.choices).toHaveLength(25);
  });

  it('a modal holds up to 100 blocks', () => {
    const modal = renderSlackModal(
      { title: 'Reject request', lines: many(300, (i) => `${i} ${'나'.repeat(2000)}`), input: { id: 'reason', label: 'Reason' }, actions: [{ id: 'reject-confirm', label: 'Reject', value: 'x' }] },
      '{}',
    );
    expect(modal.blocks.length).toBeLessThanOrEqual(slackLimits.modalBlocks);
    expect(slackRichTextSchema.safeParse(modal.blocks.slice(0, -1)).success).toBe(true);
    expect(modal.blocks.at(-1)).toMatchObject({ type: 'input', block_id: 'reason' });
  });

  it('a small view is not cut, and the terminal prints a long one whole', () => {
    const view: View = { title: names.customer, facts: [{ label: 'Domain', value: 'hostile.example' }], lines: [names.reason] };
    expect(slackVisible(renderSlack(view).blocks as SlackBlock[])).not.toContain('cut here');
    expect(cardText(renderAdaptiveCard(view) as AdaptiveCardJson)).not.toContain('cut here');
    expect(decodeSlackEntities(renderSlack(view).text)).toBe(`${names.customer}\nDomain: hostile.example\n${names.reason}`);
    expect(renderText({ lines: many(5000, String) }).split('\n')).toHaveLength(5000);
  });
});
