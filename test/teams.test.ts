import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { teamsConversations } from '../db/schema.js';
import { aadUsers, teamsTenantId, tenants } from './helpers/fixture.js';
import { cardActions, cardText, startTeamsTestBot, teamsAppId, type TeamsTestBot } from './helpers/teams.js';
import { snapshot } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

describe('Teams: Bot Framework tokens (MICROSOFT_APP_ID set)', () => {
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot();
  });
  afterAll(() => bot?.close());

  it('accepts a correctly signed token and answers with an Adaptive Card', async () => {
    const { status, card, reply } = await bot.message(aadUsers.adminAgent, 'allow-reservations twcloud.example');
    expect(status).toBe(200);
    expect(cardText(card)).toContain('Allow 台灣雲端科技股份有限公司 to buy Azure reservations?');
    // The bot authenticates to the connector with its own token.
    expect(reply?.authorization).toMatch(/^Bearer ey/);
  });

  it('refuses a missing or bad token with 401 and changes nothing', async () => {
    const other = await generateKeyPair('RS256');
    const refusals: Record<string, string | null> = {
      'no token': null,
      'wrong audience': await bot.framework.token({ aud: 'another-bot' }),
      expired: await bot.framework.token({ exp: Math.floor(Date.now() / 1000) - 3600 }),
      'unknown signing key': await bot.framework.token({ key: other.privateKey, kid: 'not-published' }),
      'wrong issuer': await bot.framework.token({ iss: 'https://attacker.example' }),
      'serviceUrl differs from the claim': await bot.framework.token({ serviceurl: 'http://127.0.0.1:1/' }),
    };
    const before = await snapshot(bot.db);
    const calls = bot.framework.calls.length;
    for (const [name, token] of Object.entries(refusals)) {
      const body = bot.activity('message', aadUsers.globalAdmin, { text: 'channel activity here' }, { conversationId: `19:${name}@thread` });
      const response = await bot.post(body, { token });
      expect([name, response.status]).toEqual([name, 401]);
    }
    expect(await snapshot(bot.db)).toEqual(before);
    expect(await bot.db.select().from(teamsConversations)).toHaveLength(1);
    expect(bot.framework.calls).toHaveLength(calls);
  });

  it('proactive posts go only to service URLs learned from authenticated activities', async () => {
    // A forged activity names another service URL; it is refused and never remembered.
    const forged = bot.activity('message', aadUsers.adminAgent, { text: 'help' }, { conversationId: '19:forged@thread', serviceUrl: 'http://127.0.0.1:2/' });
    expect((await bot.post(forged, { token: null })).status).toBe(401);
    const remembered = await bot.db.select().from(teamsConversations);
    expect(remembered.map((c) => c.serviceUrl)).toEqual([bot.framework.serviceUrl]);
  });
});

describe('Teams: conversations', () => {
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot();
  });
  afterAll(() => bot?.close());

  it('greets a team it is added to with help, and remembers the conversation', async () => {
    const before = bot.framework.calls.length;
    const body = bot.activity('conversationUpdate', aadUsers.globalAdmin, { membersAdded: [{ id: `28:${teamsAppId}` }] }, { conversationId: '19:general@thread.tacv2' });
    expect((await bot.post(body, {})).status).toBe(200);
    const greeting = await waitFor('the greeting', () => bot.framework.calls[before]);
    expect(greeting.conversationId).toBe('19:general@thread.tacv2');
    expect(JSON.stringify(greeting.body)).toContain('csp-ops commands');
    const rows = await bot.db.select().from(teamsConversations);
    expect(rows.map((r) => r.conversationId)).toContain('19:general@thread.tacv2');
  });

  it('accepts @mentions, a leading /csp or csp, and plain text in a personal chat', async () => {
    const mention = bot.activity('message', aadUsers.salesAgent, {
      text: '<at>csp-ops</at> customer contoso.com',
      entities: [{ type: 'mention', text: '<at>csp-ops</at>', mentioned: { id: `28:${teamsAppId}`, name: 'csp-ops' } }],
    }, {});
    const before = bot.framework.calls.length;
    expect((await bot.post(mention, {})).status).toBe(200);
    // In a channel everyone sees who asked what; the answer itself is the asker's (see test/shared-cards.test.ts).
    const shared = JSON.stringify((await waitFor('the answer', () => bot.framework.calls[before])).body);
    expect(shared).toContain('asked csp-ops: customer contoso.com');
    expect(shared).not.toContain('Contoso Ltd');
    for (const text of ['/csp customer contoso.com', 'csp customer contoso.com', 'CSP   customer contoso.com']) {
      expect(cardText((await bot.message(aadUsers.salesAgent, text)).card)).toContain('contoso.com');
    }
    const personal = await bot.message(aadUsers.salesAgent, 'help', { conversationId: 'a:personal-chat', conversationType: 'personal' });
    expect(cardText(personal.card)).toContain('customers [text] [page N] — find customers by name, domain or tenant ID. Example: customers contoso');
    const channel = await bot.message(aadUsers.salesAgent, 'help');
    expect(cardText(channel.card)).toContain('Example: @csp-ops customers contoso');
  });

  it('R-P10 in a channel, the confirmation and its outcome are the asker\'s own; the change is announced in the channel', async () => {
    const asked = await bot.message(aadUsers.adminAgent, 'allow-reservations Café Lumière', { conversationId: '19:ops@thread.tacv2' });
    const turnOn = cardActions(asked.card).find((a) => a.title === 'Turn on')!;
    expect(turnOn.style).toBe('positive');
    const before = bot.framework.calls.length;
    const { value, ...data } = turnOn.data!;
    const clicked = await bot.click(aadUsers.adminAgent, { verb: turnOn.verb!, value, inputs: data }, asked.replyToId!, { conversationId: '19:ops@thread.tacv2' });
    expect(clicked.answer).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
    expect(cardText(clicked.card)).toContain('Azure reservation purchases are now on for Café Lumière');
    expect(cardActions(clicked.card)).toHaveLength(0);
    // The card everyone sees is not rewritten with the asker's answer; the asker's view shows the outcome from now on.
    expect(clicked.update).toBeUndefined();
    const again = await bot.refresh(aadUsers.adminAgent, asked.refresh!.action, asked.replyToId!, { conversationId: '19:ops@thread.tacv2' });
    expect(cardText(again.card)).toBe(cardText(clicked.card));
    const others = await bot.refresh(aadUsers.salesAgent, asked.refresh!.action, asked.replyToId!, { conversationId: '19:ops@thread.tacv2' });
    expect(cardText(others.card)).toBe(cardText(asked.sharedCard));
    const announced = await waitFor('the announcement', () =>
      bot.framework.calls.slice(before).find((c) => c.method === 'POST' && JSON.stringify(c.body).includes('turned on Azure reservation purchases')),
    );
    expect(announced).toMatchObject({ conversationId: '19:ops@thread.tacv2' });
    expect(JSON.stringify(announced.body)).toContain('王小明 turned on Azure reservation purchases for Café Lumière.');
  });

  it('channel activity here works in Teams too', async () => {
    const set = await bot.message(aadUsers.globalAdmin, 'channel activity here', { conversationId: '19:activity@thread.tacv2' });
    expect(cardText(set.card)).toContain('Changes will be announced in this channel.');
    const asked = await bot.message(aadUsers.globalAdmin, 'disallow-reservations Café Lumière', { conversationId: '19:elsewhere@thread.tacv2' });
    const turnOff = cardActions(asked.card).find((a) => a.title === 'Turn off')!;
    expect(turnOff.style).toBe('destructive');
    const before = bot.framework.calls.length;
    const { value, ...data } = turnOff.data!;
    await bot.click(aadUsers.globalAdmin, { verb: turnOff.verb!, value, inputs: data }, asked.replyToId!, { conversationId: '19:elsewhere@thread.tacv2' });
    const announced = await waitFor('the announcement', () =>
      bot.framework.calls.slice(before).find((c) => JSON.stringify(c.body).includes('turned off Azure reservation purchases')),
    );
    expect(announced).toMatchObject({ method: 'POST', conversationId: '19:activity@thread.tacv2' });
  });

  it('R-A5 a tenant linked to no organization gets help naming its tenant ID', async () => {
    const { card } = await bot.message(aadUsers.adminAgent, 'customers', { tenantId: '7a7a7a7a-0000-4000-8000-000000000000' });
    expect(cardText(card)).toContain('This Microsoft tenant (7a7a7a7a-0000-4000-8000-000000000000) is not linked to a partner organization');
  });

  it('a malformed card action changes nothing and answers with help', async () => {
    const before = await snapshot(bot.db);
    const body = bot.activity('invoke', aadUsers.globalAdmin, { name: 'adaptiveCard/action', value: { action: { type: 'Action.Submit' } } }, {});
    const response = await bot.post(body, {});
    expect(response.status).toBe(200);
    expect(JSON.stringify(await response.json())).toContain('csp-ops commands');
    expect(await snapshot(bot.db)).toEqual(before);
    expect(tenants.cafe).toBeTruthy();
  });
});

describe('Teams: local development without an app ID', () => {
  let bot: TeamsTestBot;
  beforeAll(async () => {
    bot = await startTeamsTestBot({ authenticated: false });
  });
  afterAll(() => bot?.close());

  it('with TEAMS_ALLOW_UNAUTHENTICATED=true, activities without a token are served', async () => {
    const { status, card } = await bot.message(aadUsers.salesAgent, 'customer 한빛', { tenantId: teamsTenantId });
    expect(status).toBe(200);
    expect(cardText(card)).toContain('한빛소프트 주식회사');
  });
});
