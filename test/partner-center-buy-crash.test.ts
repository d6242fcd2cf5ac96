import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { activityLog, confirmations, customers, outbox, partnerCenterIntents, subscriptions } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { refreshCatalog } from '../src/partner-center/catalog.js';
import { createPartnerCenterClient } from '../src/partner-center/client.js';
import { partnerTenant, startFakePartnerCenter } from './helpers/fake-partner-center.js';
import { startFakeSlack } from './helpers/fake-slack.js';
import { connectedOrganization, otherOrganization, tenants, users } from './helpers/fixture.js';
import { onPostgres } from './helpers/database.js';
import { killBotProcesses, sharedDatabase, startSlackBotProcess } from './helpers/processes.js';
import { blockActionBody, buttons, replyText, signingSecret, slashCommandBody, type SlackReply } from './helpers/slack.js';
import { waitFor } from './helpers/wait.js';

// A Buy made in Partner Center survives a real crash: the bot runs as a child process (src/main.ts) and is
// SIGKILLed with two purchases in flight, one whose checkout Partner Center made (its answer held back), one
// whose cart was created and kept but never checked out. The restarted bot's repair commits the first once,
// as the admin who clicked, from the cart and order Partner Center holds, and abandons the second: it never
// checks a cart out itself, so nothing is bought twice and nothing bought is lost.

const engine = onPostgres ? 'PostgreSQL' : 'PGlite';
const channel = 'C0BUYCRASH';
const product = 'DZH318Z0CRSH';
const cleanups: (() => Promise<unknown> | void)[] = [];

afterAll(async () => {
  killBotProcesses();
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe(`R-M8 a purchase cut off by a crash is repaired on restart (${engine}, child process)`, () => {
  it('R-M8 R-N3 SIGKILL mid-Buy: a checkout Partner Center made is committed once with its subscription and activation link, announced once; a cart never checked out is abandoned, nothing bought', { timeout: 180_000 }, async () => {
    const pc = await startFakePartnerCenter();
    cleanups.push(() => pc.close());
    pc.addCustomer(tenants.hanbit, '한빛소프트 주식회사', 'hanbitsoft.example', 'KR');
    pc.addCustomer(tenants.kaohsiung, '高雄精密工業', 'kaohsiung-precision.example', 'TW');
    pc.commerce.addProduct({
      id: product,
      title: 'Fabrikam 협업 Suite',
      publisherName: 'Fabrikam ISV',
      skus: [
        {
          id: '0001',
          title: 'Standard',
          markets: {
            KR: { currency: 'KRW', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 16000 }] },
            TW: { currency: 'TWD', terms: [{ duration: 'P1M', billingCycle: 'monthly', price: 390 }] },
          },
        },
      ],
    });
    const slack = await startFakeSlack();
    cleanups.push(() => slack.close());

    const { settings: database, open } = await sharedDatabase('csp_buycrash', cleanups);
    const setup = await open();
    for (const file of [connectedOrganization(partnerTenant), otherOrganization]) await importOrganization(setup.db, parseImportFile(file));
    await refreshCatalog(setup.db, createPartnerCenterClient(pc.clientSettings()), pc.origin, ['KR', 'TW']);
    await setup.close();

    const env: NodeJS.ProcessEnv = {
      ...database,
      SLACK_SIGNING_SECRET: signingSecret,
      SLACK_BOT_TOKEN: 'xoxb-buy-crash-test',
      SLACK_API_URL: slack.apiUrl,
      LOG_LEVEL: 'warn',
      ...pc.config,
      // Short Partner Center timings, so the restarted bot knows soon that no answer is coming any more.
      PARTNER_CENTER_TIMEOUT_SECONDS: '1',
      PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS: '0',
    };
    type Bot = Awaited<ReturnType<typeof startSlackBotProcess>>;
    const command = (bot: Bot, text: string) =>
      bot.post(slashCommandBody(users.adminAgent, text, slack.responseUrl(randomUUID()), { channel })).then((r) => r.json() as Promise<SlackReply>);
    const buyButton = (card: SlackReply) => {
      const buy = buttons(card).find((b) => b.text.text === 'Buy');
      expect(buy, JSON.stringify(card)).toBeDefined();
      return buy!;
    };
    /** A click whose answer is not awaited: the process is killed meanwhile. */
    const clickAway = (bot: Bot, card: SlackReply) => {
      const buy = buyButton(card);
      void bot.post(blockActionBody(users.adminAgent, buy.action_id, buy.value, slack.responseUrl(randomUUID()), { channel })).catch(() => undefined);
    };
    /** A click and what the user is told (the response_url post). */
    const click = async (bot: Bot, card: SlackReply) => {
      const buy = buyButton(card);
      const id = randomUUID();
      await bot.post(blockActionBody(users.adminAgent, buy.action_id, buy.value, slack.responseUrl(id), { channel }));
      return replyText((await waitFor('the click\'s answer', () => slack.responses.find((r) => r.id === id))).body as SlackReply);
    };
    const checkoutPath = (tenant: string) => `/v1/customers/${tenant}/carts/`;

    const first = await startSlackBotProcess(env);
    expect(replyText(await command(first, 'notify here subscriptions'))).toContain('will now hear about');
    // 高雄: the cart is created and kept; its checkout never reaches Partner Center's order system (the answer never comes).
    for (let i = 0; i < 2; i++) pc.plan({ method: 'POST', path: checkoutPath(tenants.kaohsiung), status: 503, delayMs: 60_000 });
    const cartOnly = await command(first, `buy ${product} 0001 for 高雄精密工業 seats 4 monthly`);
    clickAway(first, cartOnly);
    await waitFor('高雄\'s checkout sent', () => pc.requests.some((r) => r.method === 'POST' && r.path.startsWith(checkoutPath(tenants.kaohsiung))));
    // 한빛: Partner Center makes the order and holds its answer; the process is killed before it commits.
    const checkedOut = await command(first, `buy ${product} 0001 for 한빛소프트 seats 5 monthly`);
    const held = pc.hold('POST', checkoutPath(tenants.hanbit));
    clickAway(first, checkedOut);
    await held.arrived;
    first.child.kill('SIGKILL');
    await first.exited;
    held.release();
    expect(first.child.signalCode).toBe('SIGKILL');

    // Partner Center holds one order (한빛's) and 高雄's cart still open; csp-ops holds only the two intents and their carts.
    expect(pc.commerce.checkouts.map((c) => c.tenant)).toEqual([tenants.hanbit]);
    const [order] = pc.commerce.checkouts;
    const kaohsiungCart = [...pc.commerce.carts.values()].find((c) => c.tenant === tenants.kaohsiung)!.cart;
    expect(kaohsiungCart.status).toBe('Active');
    const crashed = await open();
    const intents = await crashed.db.select().from(partnerCenterIntents);
    expect(intents.map((i) => [i.status, i.change.kind === 'purchase' && i.change.purchase.cartId])).toEqual(
      expect.arrayContaining([['pending', order!.cartId], ['pending', kaohsiungCart.id]]),
    );
    expect(intents).toHaveLength(2);
    expect(await crashed.db.select().from(subscriptions).where(eq(subscriptions.offerId, product))).toEqual([]);
    await crashed.close();

    const second = await startSlackBotProcess(env);
    const announced = await waitFor(
      'the purchase announced after the repair',
      () => slack.posts().find((p) => p.body.channel === channel && String(p.body.text ?? '').includes('bought Fabrikam 협업 Suite')),
      90_000,
    );
    expect(String(announced.body.text)).toContain('王小明 bought Fabrikam 협업 Suite (Standard, 5 seats) for 한빛소프트 주식회사');
    // The cards tell a later click what came of each Buy, and buy nothing more.
    const boughtLater = await click(second, checkedOut);
    expect(boughtLater).toContain('This was already confirmed by 王小明');
    expect(boughtLater).toContain('Bought Fabrikam 협업 Suite for 한빛소프트 주식회사');
    const abandonedLater = await click(second, cartOnly);
    expect(abandonedLater).toContain('Partner Center holds no purchase from this Buy (it was cut off before the checkout, or Partner Center cancelled the order), so nothing was bought.');
    expect(abandonedLater).toContain('Run the command again');
    second.child.kill('SIGTERM');
    await second.exited;

    const after = await open();
    try {
      const placed = pc.orders.get(tenants.hanbit)!.find((o) => o.id === order!.orderId) as { lineItems: { subscriptionId: string }[] };
      const remote = pc.subscriptions.get(tenants.hanbit)!.get(placed.lineItems[0]!.subscriptionId)!;
      const link = pc.commerce.activationLinks.get(`${order!.orderId}/0`)!;
      const [hanbit] = await after.db.select().from(customers).where(eq(customers.tenantId, tenants.hanbit));
      const bought = await after.db.select().from(subscriptions).where(eq(subscriptions.offerId, product));
      expect(bought).toMatchObject([{ id: remote.id.toLowerCase(), customerId: hanbit!.id, planId: '0001', seats: 5, price: '16000.00', currency: 'KRW', activationLink: link, etag: remote.attributes.etag }]);
      expect(boughtLater).toContain(bought[0]!.id);
      const settled = await after.db.select().from(partnerCenterIntents);
      expect(settled.map((i) => [i.customerId === hanbit!.id ? '한빛' : '高雄', i.status, i.actorName]).sort()).toEqual([
        ['高雄', 'abandoned', '王小明'],
        ['한빛', 'done', '王小明'],
      ]);
      expect(settled.find((i) => i.status === 'done')!.outcome).toEqual({ order: order!.orderId, subscription: bought[0]!.id });
      expect(await after.db.select().from(activityLog).where(eq(activityLog.action, 'saas_purchased'))).toMatchObject([{ customerId: hanbit!.id, actorName: '王小明' }]);
      const announcements = (await after.db.select().from(outbox)).filter((row) => (row.message as { key?: string }).key === 'buy.announce');
      expect(announcements).toMatchObject([{ channelId: channel, status: 'sent' }]);
      const outcomes = (await after.db.select().from(confirmations)).filter((c) => c.kind === 'buy').map((c) => [c.outcome?.key, Boolean(c.failedAt)]);
      expect(outcomes.sort()).toEqual([['buy.bought', false], ['buy.notPlaced', true]]);
      // Exactly one checkout made at Partner Center, none again after the restart; 高雄's cart was never checked out.
      expect(pc.commerce.checkouts).toHaveLength(1);
      expect(pc.requests.filter((r) => r.method === 'POST' && r.path.startsWith(checkoutPath(tenants.hanbit)))).toHaveLength(1);
      expect(kaohsiungCart.status).toBe('Active');
    } finally {
      await after.close();
    }
  });
});
