import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aadUsers, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { outboxSettled, unchanged } from './helpers/tables.js';
import { cardActions, cardText, startTeamsTestBot, type AdaptiveCardJson, type TeamsTestBot } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

/** A reservation of Contoso's that its contact Dana may ask about. */
const reservation = 'r1000000-0000-4000-8000-000000000002';
const reason = '지역 이전으로 더 이상 필요 없음 / 已搬遷區域';

describe('Slack: a card in a channel is everyone\'s', () => {
  let bot: TestBot;
  let card: { ts: string; reply: SlackReply };
  const approvals = 'C0APPROVE1';
  beforeAll(async () => {
    bot = await startTestBot();
    await bot.command(users.globalAdmin, 'channel approvals here', { channel: approvals });
    await bot.command(users.contact, `request cancel ${reservation} because ${reason}`, { channel: 'C0CONTOSO1' });
    const post = await waitFor('the approval card', () => bot.slack.posts().find((p) => p.body.channel === approvals && replyText(p.body as SlackReply).includes(reason)));
    card = { ts: post.ts!, reply: post.body as SlackReply };
  });
  afterAll(() => bot?.close());

  const approve = () => buttons(card.reply).find((b) => b.text.text === 'Approve')!;

  it('R-Q2 R-A3 a refused Approve is told to the clicker alone; the card keeps its buttons and nothing changes', async () => {
    for (const [who, refusal] of [
      [users.salesAgent, 'Your role is sales agent'],
      [users.contact, 'Only partner staff can run'],
      [users.stranger, 'not registered as partner staff'],
    ] as const) {
      const { reply } = await unchanged(bot.db, () => bot.click(who, approve(), { channel: approvals, messageTs: card.ts }));
      expect(reply).toMatchObject({ response_type: 'ephemeral', replace_original: false });
      expect(replyText(reply)).toContain(refusal);
    }
    // No answer replaced the card: every response so far was the clickers' own.
    expect(bot.slack.responses.filter((r) => (r.body as SlackReply).replace_original)).toEqual([]);
  });

  it('R-Q3 R-Q5 the admin\'s decision replaces the card for everyone; a later click is told who decided, privately', async () => {
    const { reply } = await bot.click(users.adminAgent, approve(), { channel: approvals, messageTs: card.ts });
    expect(reply).toMatchObject({ replace_original: true });
    expect(reply?.response_type).toBeUndefined();
    expect(replyText(reply)).toContain('Approved by 王小明');
    expect(buttons(reply)).toEqual([]);
    // The decision's queued card refreshes finish first: the late click must change nothing.
    await outboxSettled(bot.db);
    const late = await unchanged(bot.db, () => bot.click(users.globalAdmin, approve(), { channel: approvals, messageTs: card.ts }));
    expect(late.reply).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(replyText(late.reply)).toContain('already decided');
    expect(replyText(late.reply)).toContain('Approved by 王小明');
  });
});

describe('Teams: a card in a channel is everyone\'s', () => {
  let bot: TeamsTestBot;
  let card: { id: string; content: AdaptiveCardJson };
  const approvals = '19:approvals@thread.tacv2';
  beforeAll(async () => {
    bot = await startTeamsTestBot();
    await bot.message(aadUsers.globalAdmin, 'channel approvals here', { conversationId: approvals });
    await bot.message(aadUsers.contact, `request cancel ${reservation} because ${reason}`, { conversationId: '19:contoso@thread.tacv2' });
    const post = await waitFor('the approval card', () =>
      bot.framework.calls.find((c) => c.method === 'POST' && c.conversationId === approvals && cardText(c.body.attachments?.[0]?.content as AdaptiveCardJson).includes(reason)),
    );
    card = { id: post.postedId, content: post.body.attachments![0]!.content as AdaptiveCardJson };
  });
  afterAll(() => bot?.close());

  const click = (who: string) => {
    const approve = cardActions(card.content).find((a) => a.title === 'Approve')!;
    return bot.click(who, { verb: approve.verb!, value: approve.data!.value }, card.id, { conversationId: approvals });
  };

  it('R-Q2 R-A3 a refused Approve is a message to the clicker; the card is not updated and nothing changes', async () => {
    for (const [who, refusal] of [
      [aadUsers.salesAgent, 'Your role is sales agent'],
      [aadUsers.contact, 'Only partner staff can run'],
      [aadUsers.stranger, 'not registered as partner staff'],
    ] as const) {
      const clicked = await unchanged(bot.db, () => click(who));
      expect(clicked.answer?.type).toBe('application/vnd.microsoft.activity.message');
      expect(clicked.message).toContain(refusal);
      expect(clicked.update).toBeUndefined();
    }
    expect(bot.framework.calls.filter((c) => c.method === 'PUT')).toEqual([]);
  });

  it('R-Q3 R-Q5 the admin\'s decision updates the card for everyone; a later click is told who decided, privately', async () => {
    const decided = await click(aadUsers.adminAgent);
    expect(cardText(decided.card)).toContain('Approved by 王小明');
    expect(cardActions(decided.card)).toEqual([]);
    expect(decided.update).toMatchObject({ method: 'PUT', conversationId: approvals, activityId: card.id });
    expect(cardText(decided.updatedCard)).toBe(cardText(decided.card));
    // The decision also queues the card's refresh for every channel showing it: that update is not the late click's.
    await outboxSettled(bot.db);
    const late = await unchanged(bot.db, () => click(aadUsers.globalAdmin));
    expect(late.message).toContain('already decided');
    expect(late.update).toBeUndefined();
  });
});

describe('Teams: an answer with customer data is the asker\'s alone', () => {
  let bot: TeamsTestBot;
  const channel = { conversationId: '19:sales@thread.tacv2', conversationType: 'channel' as const };
  beforeAll(async () => {
    bot = await startTeamsTestBot();
  });
  afterAll(() => bot?.close());

  it('in a channel everyone sees who asked what; the asker\'s Teams shows them the account', async () => {
    const asked = await bot.message(aadUsers.salesAgent, 'customer 한빛', channel);
    const shared = cardText(asked.sharedCard);
    expect(shared).toBe('陳怡君 asked csp-ops: customer 한빛. The answer is shown to them only.');
    // Nothing of the account travels in what everyone's client receives.
    expect(JSON.stringify(asked.reply?.body)).not.toContain('hanbit');
    expect(asked.refresh?.userIds).toEqual([`29:${aadUsers.salesAgent}`]);
    expect(cardText(asked.card)).toContain('한빛소프트');
    expect(cardText(asked.card)).toContain('hanbitsoft.example');
    // Another member's client refreshing the same card gets the shared line, not the account.
    const other = await bot.refresh(aadUsers.helpdeskAgent, asked.refresh!.action, asked.replyToId!, channel);
    expect(cardText(other.card)).toBe(shared);
    expect(JSON.stringify(other.answer)).not.toContain('hanbit');
  });

  it('an error is the asker\'s too; a group chat works the same; an unknown view is said to be gone', async () => {
    const missing = await bot.message(aadUsers.salesAgent, 'customer 存在しない会社', { conversationId: '19:group@unq.gbl.spaces', conversationType: 'groupChat' });
    expect(cardText(missing.sharedCard)).toContain('asked csp-ops: customer 存在しない会社');
    expect(cardText(missing.card)).toContain('No customer matches');
    const gone = await bot.refresh(aadUsers.salesAgent, { verb: 'private-view', data: { value: '00000000-0000-4000-8000-000000000000' } }, 'x', channel);
    expect(gone.message).toContain('no longer kept');
  });

  it('a personal chat gets the whole answer at once, as before', async () => {
    const asked = await bot.message(aadUsers.salesAgent, 'customer 한빛', { conversationId: 'a:personal', conversationType: 'personal' });
    expect(asked.sharedCard).toBeUndefined();
    expect(asked.card?.refresh).toBeUndefined();
    expect(cardText(asked.card)).toContain('hanbitsoft.example');
  });
});
