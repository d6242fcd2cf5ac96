import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import {
  audienceSupportRequests, offerAudiencePartners, offers, partnerCenterOrders, partnerDirectory, purchases, reservationRequests, reservations, subscriptions,
} from '../db/schema.js';
import { normalizeKey } from '../src/core/text.js';
import { aadUsers, otherOrganization, tenants, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type SlackReply } from './helpers/slack.js';
import { cardActions, cardText, choiceList, startTeamsTestBot, type AdaptiveCardJson } from './helpers/teams.js';
import { customerId, testOrgId, unchanged } from './helpers/tables.js';

// Every list is paged in SQL (R-M1, R-P9, R-I3 …): with hundreds of rows, a page stays inside Slack's
// 50 blocks and 3,000 characters a section (the Block Kit schema checks every reply) and a Teams card's
// size (the Adaptive Card parser checks every card; its JSON is measured below).

const publisherTeam = 'T0PAGEISV1';
const publisherTenant = '0c0c0c0c-0000-4000-8000-00000000000c';
const publisherOwner = { slack: 'UPAGEOWNR', aad: 'c0000000-0000-4000-8000-000000000001' };
const audienceOffer = 'page-audience';

const publisherOrganization = {
  organization: { name: '누리 소프트웨어 出版', kind: 'publisher', slackTeamId: publisherTeam, teamsTenantId: publisherTenant },
  staff: [{ name: '김누리', email: 'nuri@nuri-isv.example', role: 'owner', slackUserId: publisherOwner.slack, teamsAadObjectId: publisherOwner.aad }],
  offers: [
    {
      id: audienceOffer, name: '누리 전자서명 雲端版', type: 'saas', publisher: { name: '누리 소프트웨어', supportContact: 'help@nuri-isv.example' }, countries: ['KR', 'TW'],
      salesMaterialsUrl: 'https://nuri-isv.example/csp', channelContact: 'csp@nuri-isv.example',
      plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 9000 }] }],
      audience: { option: 'specific', published: true, partners: [] },
    },
  ],
  partnerDirectory: [],
  customers: [],
};

/** Long names in Korean and Traditional Chinese: the rows are as wide as real ones get. */
const koreanName = (i: number) => `서울특별시 강남구 클라우드 파트너스 주식회사 제${i}지점`;
const chineseName = (i: number) => `臺灣雲端科技股份有限公司第${i}分公司`;
const tenantOf = (i: number) => `d0000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const at = (i: number) => new Date(Date.UTC(2025, 0, 1) + i * 3_600_000);

async function fillLists(db: Database) {
  const orgId = await testOrgId(db);
  const hanbit = await customerId(db, tenants.hanbit);
  const taiwan = await customerId(db, tenants.taiwanCloud);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
  await db.insert(reservations).values(
    range(300).map((i) => ({
      orgId, id: `page-r-${String(i).padStart(3, '0')}`, customerId: hanbit, product: `가상 머신 D${i}s v5 虛擬機器`, region: 'koreacentral', quantity: i, term: 'P1Y' as const,
      billingPlan: 'monthly' as const, scope: 'shared' as const, price: '120.00', currency: 'USD', purchasedBy: i % 2 ? ('partner' as const) : ('customer' as const), purchasedAt: at(i),
    })),
  );
  await db.insert(purchases).values(
    range(15).map((i) => ({
      orgId, sourceId: `page-saas-${i}`, customerId: hanbit, kind: 'saas' as const, details: { offerId: '누리-sign', planId: 'basic', seats: i }, price: '9.00', currency: 'USD',
      buyerName: koreanName(i), buyerEmail: `buyer${i}@hanbitsoft.example`, purchasedAt: at(1000 + i), received: {},
    })),
  );
  await db.insert(partnerCenterOrders).values(
    range(15).map((i) => ({ orgId, id: `page-pc-${i}`, customerId: hanbit, status: 'completed', lineItems: [{ friendlyName: chineseName(i), quantity: i }], orderedAt: at(2000 + i), syncedAt: at(3000) })),
  );
  await db.insert(subscriptions).values(
    range(200).map((i) => ({ orgId, id: `page-s-${String(i).padStart(3, '0')}`, customerId: taiwan, offer: 'microsoft-365' as const, friendlyName: chineseName(i), status: 'active' as const, purchasedAt: at(i) })),
  );
  await db.insert(reservationRequests).values(
    range(120).map((i) => ({
      orgId, customerId: hanbit, reservationId: `page-r-${String(i).padStart(3, '0')}`, kind: 'cancel' as const, reason: `${koreanName(i)} — ${chineseName(i)}`,
      requestedByName: koreanName(i), requestedPlatform: 'slack', createdAt: at(i),
    })),
  );
  await db.insert(offers).values(
    range(300).map((i) => {
      const name = i % 2 ? `${koreanName(i)} 분석 플랫폼` : `${chineseName(i)} 資料分析平台`;
      return {
        id: `page-offer-${String(i).padStart(3, '0')}`, name, nameKey: normalizeKey(name), publisherName: i % 2 ? '한빛 애널리틱스' : '臺灣雲端軟體', publisherSupportContact: 'help@example.com',
        type: 'saas' as const, categories: ['analytics'], countries: ['KR', 'TW'], plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly' as const, market: 'KR', currency: 'KRW', price: 1000 }] }],
      };
    }),
  );
  await db.insert(partnerDirectory).values(
    range(300).map((i) => {
      const name = i % 2 ? koreanName(i) : chineseName(i);
      return { tenantId: tenantOf(i), name, nameKey: normalizeKey(name), country: i % 2 ? 'KR' : 'TW', competencies: ['Cloud Platform', '데이터 분석'], skills: ['Azure', '資安'] };
    }),
  );
  await db.insert(offerAudiencePartners).values(
    range(300).map((i) => ({ offerId: audienceOffer, tenantId: tenantOf(i), regions: ['KR', 'TW'], published: true, draft: true, hasResold: i <= 25 })),
  );
  await db.insert(audienceSupportRequests).values(
    range(12).map((i) => ({ offerId: audienceOffer, fromOption: 'specific' as const, toOption: 'specific' as const, requestedByName: koreanName(i), createdAt: at(i) })),
  );
}

/** What a list reply shows, and what its "Next page" button runs. */
interface Shown {
  text: string;
  next?: string;
  /** The platform's ID of that button. */
  nextId?: string;
  /** The reply as sent, to measure. */
  bytes: number;
}

interface Driver {
  db: Database;
  /** A command from the partner's sales agent, or (publisher) from the publisher's owner. */
  command(text: string, as?: 'partner' | 'publisher'): Promise<Shown>;
  next(shown: Shown, as?: 'partner' | 'publisher'): Promise<Shown>;
  close(): Promise<void>;
}

const organizationsUnderTest = [testOrganization, otherOrganization, publisherOrganization];

async function slackDriver(): Promise<Driver> {
  const bot = await startTestBot({ organizations: organizationsUnderTest });
  const who = (as: 'partner' | 'publisher' = 'partner') => (as === 'partner' ? { user: users.salesAgent, team: undefined } : { user: publisherOwner.slack, team: publisherTeam });
  const shown = (reply: SlackReply | undefined): Shown => {
    const next = buttons(reply).find((b) => b.text.text === 'Next page');
    return { text: replyText(reply), next: next?.value, nextId: next?.action_id, bytes: Buffer.byteLength(JSON.stringify(reply)) };
  };
  return {
    db: bot.db,
    async command(text, as) {
      const { user, team } = who(as);
      return shown((await bot.command(user, text, { team })).reply);
    },
    async next(list, as) {
      const { user, team } = who(as);
      return shown((await bot.click(user, { action_id: list.nextId!, value: list.next! }, { team })).reply);
    },
    close: () => bot.close(),
  };
}

async function teamsDriver(): Promise<Driver> {
  const bot = await startTeamsTestBot({ organizations: organizationsUnderTest });
  const who = (as: 'partner' | 'publisher' = 'partner') => (as === 'partner' ? { user: aadUsers.salesAgent, tenantId: undefined } : { user: publisherOwner.aad, tenantId: publisherTenant });
  const shown = (card: AdaptiveCardJson | undefined, message?: string): Shown & { message?: string; inputs?: Record<string, string> } => {
    const next = cardActions(card).find((a) => a.title === 'Next page');
    if (next) return { text: cardText(card), next: next.data?.value, nextId: next.verb, bytes: Buffer.byteLength(JSON.stringify(card)), message };
    // More than six buttons (a How to file per pending request): Next page is one of the list's choices, sent through Choose.
    for (const choose of cardActions(card)) {
      const list = choiceList(card, choose);
      const choice = list?.choices?.find((c) => c.title === 'Next page');
      if (list && choice) {
        const command = choice.value.slice(choice.value.indexOf(' ') + 1);
        return { text: cardText(card), next: command, nextId: choose.verb, inputs: { [list.id!]: choice.value }, bytes: Buffer.byteLength(JSON.stringify(card)), message };
      }
    }
    return { text: cardText(card), bytes: Buffer.byteLength(JSON.stringify(card)), message };
  };
  return {
    db: bot.db,
    async command(text, as) {
      const { user, tenantId } = who(as);
      const { card, replyToId } = await bot.message(user, text, { tenantId });
      return shown(card, replyToId);
    },
    async next(list, as) {
      const { user, tenantId } = who(as);
      const { inputs, message } = list as { message?: string; inputs?: Record<string, string> };
      const value = inputs ? Object.keys(inputs)[0]! : list.next!;
      const { card } = await bot.click(user, { verb: list.nextId!, value, inputs }, message ?? 'unknown', { tenantId });
      return shown(card);
    },
    close: () => bot.close(),
  };
}

/** Teams refuses a message over about 28 KB; a page keeps well under it. */
const maxCardBytes = 24_000;

/** The distinct lines of a reply that match (Slack's fallback text repeats what the blocks show). */
const rowsOf = (text: string, pattern: RegExp) => [...new Set(text.split('\n').filter((line) => pattern.test(line)))];

describe.each([
  { name: 'Slack', start: slackDriver },
  { name: 'Teams', start: teamsDriver },
])('$name: long lists come a page at a time', ({ start }) => {
  let p: Driver;
  beforeAll(async () => {
    p = await start();
    await fillLists(p.db);
  });
  afterAll(() => p?.close());

  /** The first page, the second through its button, and the last without one; a page past the end is refused and changes nothing. */
  async function pages(command: string, pattern: RegExp, pagesExpected: number, as?: 'partner' | 'publisher') {
    const first = await p.command(command, as);
    expect(first.bytes).toBeLessThan(maxCardBytes);
    expect(first.text).toContain(`Page 1 of ${pagesExpected}`);
    const firstRows = rowsOf(first.text, pattern);
    expect(firstRows.length).toBeGreaterThan(0);
    expect(first.next).toBe(`${command} page 2`);
    const second = await p.next(first, as);
    expect(second.bytes).toBeLessThan(maxCardBytes);
    expect(second.text).toContain(`Page 2 of ${pagesExpected}`);
    const secondRows = rowsOf(second.text, pattern);
    expect(secondRows.length).toBeGreaterThan(0);
    expect(secondRows.filter((row) => firstRows.includes(row))).toEqual([]);
    const last = await p.command(`${command} page ${pagesExpected}`, as);
    expect(last.text).toContain(`Page ${pagesExpected} of ${pagesExpected}`);
    expect(last.next).toBeUndefined();
    const refused = await unchanged(p.db, () => p.command(`${command} page 999`, as));
    expect(refused.text).toContain(`There is no page 999; the last page is ${pagesExpected}.`);
    return { first, second, last };
  }

  it('R-P9 R-P11 reservations: 300 of 한빛소프트 in pages of 10, newest first', async () => {
    const { first, second, last } = await pages(`reservations ${tenants.hanbit}`, /^• 가상 머신/, 30);
    expect(first.text).toContain('Page 1 of 30 (300 in all).');
    expect(first.text).toContain('가상 머신 D300s v5 虛擬機器');
    expect(second.text).toContain('가상 머신 D290s v5 虛擬機器');
    expect(last.text).toContain('가상 머신 D1s v5 虛擬機器');
  });

  it('R-P9 orders: reservations, SaaS purchases and Partner Center orders merged newest first, 330 in pages of 10', async () => {
    const { first, last } = await pages(`orders ${tenants.hanbit}`, /^• /, 33);
    // The Partner Center orders are the newest, then the SaaS purchases, then the reservations.
    expect(first.text).toContain(chineseName(15));
    expect(rowsOf(first.text, /order page-pc-/)).toHaveLength(10);
    expect(last.text).toContain('가상 머신 D1s v5 虛擬機器');
  });

  it('R-M6 subscriptions: 201 of 台灣雲端科技 in pages of 10', async () => {
    // With the one it already had.
    const { first } = await pages(`subscriptions ${tenants.taiwanCloud}`, /^• /, 21);
    expect(first.text).toContain(chineseName(200));
  });

  it('R-Q1 requests: 120 in pages of 10, newest first, for all customers or one', async () => {
    const { first } = await pages('requests all', /asked by/, 12);
    expect(first.text).toContain(koreanName(120));
    await pages(`requests pending ${tenants.hanbit}`, /asked by/, 12);
  });

  it('R-M1 R-M2 marketplace: 300 offers in pages of 10, filtered in the database', async () => {
    await pages('marketplace', /^• /, 30);
    const korean = await p.command('marketplace 분석 플랫폼 publisher:partner');
    expect(korean.text).toContain('Marketplace: 150 offers');
    expect(korean.text).toContain('Page 1 of 15');
  });

  it('R-I3 partners: the directory of 300 partners in pages of 10, filtered by country in the database', async () => {
    await pages('partners', /^• /, 30, 'publisher');
    const taiwan = await p.command('partners country:TW skill:資安', 'publisher');
    expect(taiwan.text).toContain('Partner directory: 150 partners');
    expect(rowsOf(taiwan.text, /^• /).every((row) => row.includes('— TW —'))).toBe(true);
  });

  it('R-I3 R-I6 audience: the partner table of 300, who resold and pending support requests come a page at a time', async () => {
    const { first, second, last } = await pages(`audience ${audienceOffer}`, /^• .* — KR, TW — /, 30, 'publisher');
    expect(first.text).toContain('specific partners (300)');
    expect(first.text).toContain('(this page; 25 in all)');
    expect(rowsOf(first.text, /^• Pending support request/)).toHaveLength(10);
    expect(rowsOf(second.text, /^• Pending support request/)).toHaveLength(2);
    expect(rowsOf(last.text, /^• Pending support request/)).toHaveLength(0);
  });
});
