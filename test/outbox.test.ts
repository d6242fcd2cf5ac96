import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveryChannels, outbox } from '../db/schema.js';
import { outboxRenderer } from '../src/commands/purchases.js';
import { slackSender } from '../src/delivery/slack.js';
import { backoffSeconds, maxAttempts, startDeliveryWorker } from '../src/delivery/worker.js';
import { tenants, users } from './helpers/fixture.js';
import { buttons, silentLog, startTestBot, type TestBot } from './helpers/slack.js';
import { outboxSettled, testOrgId } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

describe('outbox delivery (R-N3)', () => {
  it('R-N3 the announcement is delivered once after a 500, then a 429 with Retry-After: 1', async () => {
    bot.slack.plan('chat.postMessage', [
      { status: 500, body: { ok: false } },
      { status: 429, headers: { 'retry-after': '1' }, body: { ok: false, error: 'ratelimited' } },
    ]);
    const { reply } = await bot.command(users.adminAgent, `allow-reservations ${tenants.taiwanCloud}`, { channel: 'C0RETRY001' });
    const started = Date.now();
    await bot.click(users.adminAgent, buttons(reply).find((b) => b.text.text === 'Turn on')!, { channel: 'C0RETRY001' });
    // The announcement row committed with the change, before any delivery.
    const [row] = await bot.db.select().from(outbox).where(eq(outbox.channelId, 'C0RETRY001'));
    // The announcement is followed by what the customer can now do (issue 19), rendered when it is sent.
    expect(row?.message).toEqual({
      key: 'allow.announce',
      params: { actor: '王小明', customer: '台灣雲端科技股份有限公司', partner: '한빛 클라우드 파트너스' },
      then: ['allow.guideBuy', 'allow.guideOwner', 'allow.guideScope', 'allow.guidePrice', 'allow.guideLinks', 'allow.guidePartner'],
    });

    const delivered = await waitFor('the delivery', async () => {
      const [current] = await bot.db.select().from(outbox).where(eq(outbox.id, row!.id));
      return current?.status === 'sent' && current;
    }, 10_000);
    expect(delivered.status).toBe('sent');
    expect(delivered.attempts).toBe(3);
    expect(delivered.postedMessageId).toMatch(/^\d+\.000100$/);
    const attempts = bot.slack.posts().filter((p) => p.body.channel === 'C0RETRY001');
    expect(attempts).toHaveLength(3);
    // 1 s backoff after the 500, then the 1 s Slack asked for.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    await outboxSettled(bot.db);
    expect(bot.slack.posts().filter((p) => p.body.channel === 'C0RETRY001')).toHaveLength(3);
  });

  it('R-N3 two workers on one database post each message exactly once', async () => {
    const orgId = await testOrgId(bot.db);
    // Ten channels, three messages each: a channel takes about one post a second.
    const rows = Array.from({ length: 30 }, (_, i) => ({
      orgId,
      platform: 'slack' as const,
      channelId: `C0SHARED0${i % 10}`,
      message: { key: 'allow.announce', params: { actor: 'bench', customer: `고객 ${i}` } },
    }));
    await bot.db.insert(outbox).values(rows);
    const second = startDeliveryWorker({
      db: bot.db,
      senders: { slack: slackSender('xoxb-test-token', bot.slack.apiUrl) },
      render: outboxRenderer(bot.db),
      log: silentLog,
      intervalMs: 20,
    });
    bot.bot.worker.wake();
    const shared = () => bot.slack.posts().filter((p) => String(p.body.channel).startsWith('C0SHARED0'));
    await waitFor('30 posts', () => shared().length >= 30, 10_000);
    await outboxSettled(bot.db);
    await second.stop();
    const texts = shared().map((p) => p.body.text);
    expect(texts).toHaveLength(30);
    expect(new Set(texts).size).toBe(30);
  });

  it('R-N3 a message that keeps failing is marked failed after the last attempt, not lost', async () => {
    expect(Array.from({ length: maxAttempts - 1 }, (_, i) => backoffSeconds(i + 1)).reduce((a, b) => a + b)).toBeGreaterThan(3600);
    const orgId = await testOrgId(bot.db);
    const [row] = await bot.db
      .insert(outbox)
      .values({ orgId, platform: 'slack', channelId: 'C0DOOMED01', message: { key: 'allow.announce', params: { actor: 'a', customer: 'b' } }, attempts: maxAttempts - 1 })
      .returning();
    bot.slack.plan('chat.postMessage', [{ status: 200, body: { ok: false, error: 'channel_not_found' } }]);
    bot.bot.worker.wake();
    const current = await waitFor('the row to give up', async () => {
      const [now] = await bot.db.select().from(outbox).where(eq(outbox.id, row!.id));
      return now?.status !== 'pending' && now;
    });
    expect(current.status).toBe('failed');
    expect(current.lastError).toBe('Slack error: channel_not_found');
  });

  it('R-N3 a channel claimed by a worker that died is delivered once its lease runs out', async () => {
    const orgId = await testOrgId(bot.db);
    const message = { key: 'allow.announce', params: { actor: '김민준', customer: '부산해운' } };
    const [stillLeased] = await bot.db.insert(outbox).values({ orgId, platform: 'slack', channelId: 'C0LEASED01', message, attempts: 1 }).returning();
    const [expired] = await bot.db.insert(outbox).values({ orgId, platform: 'slack', channelId: 'C0EXPIRED1', message, attempts: 1 }).returning();
    // As a worker that claimed both channels and died would leave them.
    await bot.db.update(deliveryChannels).set({ lockedUntil: new Date(Date.now() + 60_000) }).where(eq(deliveryChannels.channelId, 'C0LEASED01'));
    await bot.db.update(deliveryChannels).set({ lockedUntil: new Date(Date.now() - 1000) }).where(eq(deliveryChannels.channelId, 'C0EXPIRED1'));
    bot.bot.worker.wake();
    const expiredNow = await waitFor('the expired lease to be delivered', async () => {
      const [row] = await bot.db.select().from(outbox).where(eq(outbox.id, expired!.id));
      return row?.status === 'sent' && row;
    });
    const [leasedNow] = await bot.db.select().from(outbox).where(eq(outbox.id, stillLeased!.id));
    expect(expiredNow).toMatchObject({ status: 'sent', attempts: 2 });
    expect(leasedNow).toMatchObject({ status: 'pending', attempts: 1 });
    expect(bot.slack.posts().filter((p) => p.body.channel === 'C0EXPIRED1')).toHaveLength(1);
    expect(bot.slack.posts().filter((p) => p.body.channel === 'C0LEASED01')).toHaveLength(0);
  });
});
