import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otherTeamId, tenants, users } from './helpers/fixture.js';
import { blockActionBody, buttons, replyText, signedHeaders, slashCommandBody, startTestBot, type SlackReply, type TestBot } from './helpers/slack.js';
import { activityFor, customerId, permissionFor, snapshot } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

describe('Slack requests', () => {
  it('answers GET /healthz once migrations ran, with the delivery backlog', async () => {
    const response = await fetch(bot.url.replace('/slack/events', '/healthz'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', deliveries: { pending: 0, failed: 0 } });
  });

  it('keeps /api/messages off when Teams has no app ID and unauthenticated use is not allowed', async () => {
    const response = await fetch(bot.url.replace('/slack/events', '/api/messages'), { method: 'POST', body: '{"type":"message","text":"help"}' });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: 'Teams is not configured: set MICROSOFT_APP_ID (see README).' });
  });

  it('refuses a bad signature with 401 and changes nothing', async () => {
    const before = await snapshot(bot.db);
    const forged = await bot.command(users.globalAdmin, 'channel activity here', { secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const id = await customerId(bot.db, tenants.contoso);
    const body = blockActionBody(users.globalAdmin, 'csp:allow-reservations:0', id, bot.slack.responseUrl('forged'));
    const tampered = await fetch(bot.url, { method: 'POST', headers: signedHeaders(body), body: body.replace('UGLOBAL01', 'UADMIN001') });
    expect(tampered.status).toBe(401);
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('refuses a timestamp older than 5 minutes with 401 and changes nothing', async () => {
    const before = await snapshot(bot.db);
    const stale = Math.floor(Date.now() / 1000) - 5 * 60 - 5;
    const { status } = await bot.command(users.globalAdmin, 'channel activity here', { timestamp: stale });
    expect(status).toBe(401);
    const id = await customerId(bot.db, tenants.contoso);
    const click = await bot.post(blockActionBody(users.globalAdmin, 'csp:allow-reservations:0', id, bot.slack.responseUrl('stale')), { timestamp: stale });
    expect(click.status).toBe(401);
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-P10 a retried click (X-Slack-Retry-Num) and a double click write one activity row', async () => {
    const { reply } = await bot.command(users.adminAgent, 'allow-reservations contoso.com');
    const turnOn = buttons(reply).find((b) => b.text.text === 'Turn on')!;
    await bot.click(users.adminAgent, turnOn);
    const retried = await bot.click(users.adminAgent, turnOn, { retryNum: 1 });
    expect(replyText(retried.reply)).toMatch(/This was already confirmed by 王小明 on .* UTC; nothing more was changed\./);
    await bot.click(users.globalAdmin, turnOn);
    expect((await activityFor(bot.db, tenants.contoso)).map((r) => r.action)).toEqual(['create_customer_purchase_permission']);
    expect(await permissionFor(bot.db, tenants.contoso)).toHaveLength(1);
  });

  it('a retried slash command (X-Slack-Retry-Num) shows the same answer and writes nothing', async () => {
    const before = await snapshot(bot.db);
    const first = await bot.command(users.adminAgent, 'allow-reservations Café Lumière');
    const retried = await bot.command(users.adminAgent, 'allow-reservations Café Lumière', { retryNum: 1 });
    expect(replyText(retried.reply)).toBe(replyText(first.reply));
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-A1 an unknown user gets help only, and changes nothing', async () => {
    const before = await snapshot(bot.db);
    const help = await bot.command(users.stranger, 'help');
    expect(replyText(help.reply)).toContain('You are not registered as partner staff or a customer contact');
    // The general help only: none of the commands they cannot run.
    expect(replyText(help.reply)).toContain('/csp help — this list');
    expect(replyText(help.reply)).not.toContain('/csp allow-reservations');
    for (const text of ['customers', 'allow-reservations contoso.com', 'channel activity here']) {
      const { reply } = await bot.command(users.stranger, text);
      expect(replyText(reply)).toContain('You are not registered as partner staff of this organization, so you can only run help.');
    }
    const id = await customerId(bot.db, tenants.cafe);
    const click = await bot.click(users.stranger, { action_id: 'csp:allow-reservations:0', value: id });
    expect(replyText(click.reply)).toContain('so you can only run help');
    expect(await snapshot(bot.db)).toEqual(before);
  });

  it('R-A1 a customer contact cannot run staff commands', async () => {
    const { reply } = await bot.command(users.contact, 'customers');
    expect(replyText(reply)).toContain('Only partner staff can run customers.');
  });

  it('R-A5 a workspace linked to no organization gets help naming its team ID', async () => {
    const { reply } = await bot.command(users.globalAdmin, 'customers', { team: 'T0UNLINKED' });
    expect(replyText(reply)).toContain('This workspace (team T0UNLINKED) is not linked to a partner organization');
  });

  it('R-A5 the same Slack user ID in another organization sees only that organization', async () => {
    // users.adminAgent is also the other partner's global admin, in its own workspace.
    const other = await bot.command(users.adminAgent, 'customers', { team: otherTeamId });
    expect(replyText(other.reply)).toContain('Page 1 of 1 (1 customer).');
    expect(replyText(other.reply)).not.toContain('한빛');
    // A confirmation shown in the test organization is not found from the other workspace.
    const shown = await bot.command(users.adminAgent, 'allow-reservations Café Lumière');
    const turnOn = buttons(shown.reply).find((b) => b.text.text === 'Turn on')!;
    const before = await snapshot(bot.db);
    const click = await bot.click(users.adminAgent, turnOn, { team: otherTeamId });
    expect(replyText(click.reply)).toContain('This button no longer matches anything; run the command again.');
    expect(await snapshot(bot.db)).toEqual(before);
    expect(await permissionFor(bot.db, tenants.cafe)).toHaveLength(0);
  });

  it('answers Slack\'s SSL check, which is not signed, with an empty 200 and reads nothing else in its body', async () => {
    // A payload smuggled beside ssl_check: were it read, the form choices it asks for would be the answer.
    const click = JSON.parse(new URLSearchParams(blockActionBody(users.adminAgent, 'csp:run:0', 'customers', bot.slack.responseUrl('ssl'))).get('payload')!) as { team: unknown; user: unknown };
    const suggestion = { type: 'block_suggestion', team: click.team, user: click.user, action_id: 'customer', block_id: 'customer', value: '', view: { private_metadata: '{}' } };
    const body = new URLSearchParams({ ssl_check: '1', token: 'legacy-token', payload: JSON.stringify(suggestion) }).toString();
    const response = await fetch(bot.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
    expect({ status: response.status, body: await response.text() }).toEqual({ status: 200, body: '' });
  });

  it('answers help in its ack as application/json, the same reply every time', async () => {
    const answers = [];
    for (const n of [1, 2]) {
      const response = await bot.post(slashCommandBody(users.adminAgent, 'help', bot.slack.responseUrl(`help-${n}`)));
      answers.push({ status: response.status, type: response.headers.get('content-type'), body: await response.text() });
    }
    expect(answers[0]).toMatchObject({ status: 200, type: 'application/json' });
    expect(answers[1]).toEqual(answers[0]);
    const reply = JSON.parse(answers[0]!.body) as SlackReply & { response_type: string };
    expect(reply.response_type).toBe('ephemeral');
    expect(replyText(reply)).toContain('/csp allow-reservations');
  });

  it('answers a malformed request body with 401 rather than crashing', async () => {
    const body = slashCommandBody(users.adminAgent, 'help', bot.slack.responseUrl('x')).slice(0, 20);
    const response = await fetch(bot.url, { method: 'POST', headers: signedHeaders(body, undefined, 'wrong'), body });
    expect(response.status).toBe(401);
  });

  it('acks a slow command within Slack\'s 3 seconds and answers through response_url when done', async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    // Hold a lock on the organizations table, so the lookup of who is asking waits.
    let locked!: () => void;
    const lockHeld = new Promise<void>((r) => (locked = r));
    const holding = bot.db.transaction(async (tx) => {
      await tx.execute(sql`LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE`);
      locked();
      await released;
    });
    await lockHeld;
    const responseId = 'slow-command';
    const started = Date.now();
    const body = slashCommandBody(users.salesAgent, 'customer contoso.com', bot.slack.responseUrl(responseId));
    const response = await bot.post(body);
    const ackedAfter = Date.now() - started;
    expect(response.status).toBe(200);
    expect(ackedAfter).toBeLessThan(3000);
    expect(await response.json()).toMatchObject({ response_type: 'ephemeral', text: 'Working on it…' });
    release();
    await holding;
    const answer = (await waitFor('the answer', () => bot.slack.responses.find((r) => r.id === responseId))).body;
    expect(replyText(answer as never)).toContain('Contoso Ltd');
  });
});
