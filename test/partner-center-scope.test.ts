import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceSupportRequests, offerAudiencePartners, organizations, subscriptions } from '../db/schema.js';
import { createApiToken } from '../src/core/api-tokens.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { otherOrganization, otherTeamId, teamId, testOrganization } from './helpers/fixture.js';
import { replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { cardText, startTeamsTestBot } from './helpers/teams.js';
import { unchanged } from './helpers/tables.js';

// R-A5: each organization acts only for itself — the SaaS fulfillment endpoint reaches its
// publisher's own subscriptions only, and a granted "Deauthorize CSP" request never removes a
// partner that resold the offer since it was filed (R-I6).

const plans = (market: string, currency: string, price: number) => [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market, currency, price }] }];
const catalog = [
  { id: 'hanbit-insight', name: '한빛 인사이트 Analytics', publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-insight.example' }, type: 'saas', countries: ['KR', 'US'], plans: [...plans('KR', 'KRW', 12000), ...plans('US', 'USD', 10)] },
  { id: 'tw-erp', name: '雲端 ERP', publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' }, type: 'saas', countries: ['US', 'TW'], plans: plans('US', 'USD', 30) },
];
/** The same subscription ID in two organizations, of two publishers' offers. */
const sharedId = 'saas-shared-0001';
const saasSubscription = (offerId: string) => ({ id: sharedId, offer: 'marketplace-saas', status: 'action-needed', offerId, planId: 'basic', seats: 2, term: 'monthly', purchasedAt: '2026-11-20T00:00:00Z' });
const withSubscription = (file: typeof testOrganization | typeof otherOrganization, domain: string, offerId: string) => ({
  ...file,
  offers: catalog,
  customers: file.customers.map((c) => (c.domain === domain ? { ...c, subscriptions: [...c.subscriptions, saasSubscription(offerId)] } : c)),
});

describe('R-A5 R-M9 the SaaS fulfillment endpoint finds subscriptions within its publisher\'s own offers only', () => {
  let bot: TestBot;
  let tokens: Record<'ownHanbit' | 'otherErp' | 'ownErp', string>;
  beforeAll(async () => {
    bot = await startTestBot({ organizations: [withSubscription(testOrganization, 'hanbitsoft.example', 'hanbit-insight'), withSubscription(otherOrganization, 'contoso.com', 'tw-erp')] });
    const orgId = async (slackTeamId: string) => (await bot.db.select().from(organizations).where(eq(organizations.slackTeamId, slackTeamId)))[0]!.id;
    const [own, other] = [await orgId(teamId), await orgId(otherTeamId)];
    tokens = {
      ownHanbit: (await createApiToken(bot.db, own, 'fulfillment', '한빛 애널리틱스')).token,
      otherErp: (await createApiToken(bot.db, other, 'fulfillment', '臺灣雲端軟體')).token,
      // A token for 臺灣雲端軟體 issued by the organization whose subscription is 한빛 애널리틱스's.
      ownErp: (await createApiToken(bot.db, own, 'fulfillment', '臺灣雲端軟體')).token,
    };
  });
  afterAll(() => bot?.close());

  const call = (id: string, step: string, token: string) =>
    fetch(`${bot.origin}/api/v1/saas/subscriptions/${id}/${step}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
  const rows = () => bot.db.select().from(subscriptions).where(eq(subscriptions.id, sharedId)).orderBy(subscriptions.offerId);

  it('R-A5 another organization\'s subscription of the same publisher, another publisher\'s, a prefix or another spelling of the ID is 404, and nothing changes', async () => {
    for (const [id, token] of [
      [sharedId, tokens.ownErp],
      ['saas-shared', tokens.ownHanbit],
      ['saas-shared%25', tokens.ownHanbit],
      [sharedId.toUpperCase(), tokens.ownHanbit],
      [`..%2F${sharedId}`, tokens.ownHanbit],
    ] as const) {
      const answer = await unchanged(bot.db, () => call(id, 'licenses', token));
      expect(answer.status, id).toBe(404);
    }
    expect((await rows()).map((r) => r.licensesAssignedAt)).toEqual([null, null]);
  });

  it('R-M9 each publisher\'s token reaches its own subscription of that ID, in its own organization, whichever is stored first', async () => {
    const erp = await call(sharedId, 'licenses', tokens.otherErp);
    expect(erp.status).toBe(200);
    expect(await erp.json()).toMatchObject({ id: sharedId, offerId: 'tw-erp' });
    const hanbit = await call(sharedId, 'licenses', tokens.ownHanbit);
    expect(hanbit.status).toBe(200);
    expect(await hanbit.json()).toMatchObject({ id: sharedId, offerId: 'hanbit-insight' });
    const [ofHanbit, ofErp] = await rows();
    expect([ofHanbit!.offerId, ofErp!.offerId]).toEqual(['hanbit-insight', 'tw-erp']);
    expect(ofHanbit!.licensesAssignedAt).not.toBeNull();
    expect(ofErp!.licensesAssignedAt).not.toBeNull();
    expect(ofHanbit!.orgId).not.toBe(ofErp!.orgId);
  });
});

const isvTeam = 'T0ISVSCOPE';
const isvTenant = '0b0b0b0b-0000-4000-8000-0000000000b1';
const owner = { slack: 'UISVOWNR2', aad: 'b1000000-0000-4000-8000-000000000001' };
const partner = { seoul: 'c1000000-0000-4000-8000-0000000000a1', taipei: 'c2000000-0000-4000-8000-0000000000a2' };
const publisher = {
  organization: { name: '한빛 애널리틱스', kind: 'publisher', slackTeamId: isvTeam, teamsTenantId: isvTenant },
  staff: [{ name: '이서연', email: 'seoyeon@hanbit-isv.example', role: 'owner', slackUserId: owner.slack, teamsAadObjectId: owner.aad }],
  offers: [
    {
      id: 'hb-scope', name: '한빛 인사이트', type: 'saas', publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-isv.example' }, countries: ['KR', 'TW'],
      salesMaterialsUrl: 'https://hanbit-isv.example/csp-kit', channelContact: 'csp@hanbit-isv.example',
      plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 300 }] }],
      audience: { option: 'specific', published: true, partners: [{ tenantId: partner.seoul, regions: ['KR'] }, { tenantId: partner.taipei, regions: ['TW'] }] },
    },
  ],
  partnerDirectory: [
    { name: '서울 클라우드 파트너스', tenantId: partner.seoul, country: 'KR', competencies: ['Cloud Platform'], skills: ['Azure'] },
    { name: '台北雲端夥伴', tenantId: partner.taipei, country: 'TW', competencies: ['Data & AI'], skills: ['Analytics'] },
  ],
  customers: [],
};
/** 台北雲端夥伴 as a partner organization here, reselling the offer to a customer of its own. */
const taipeiReseller = {
  organization: { name: '台北雲端夥伴', cspTenantId: partner.taipei, slackTeamId: 'T0TAIPEI01' },
  staff: [{ name: '陳美玲', email: 'meiling@taipei-partner.example', role: 'global-admin', slackUserId: 'UTAIPEI01' }],
  customers: [
    {
      name: '高雄精密工業', domain: 'kaohsiung-precision.example', tenantId: 'd1000000-0000-4000-8000-0000000000d1', billingCountry: 'TW',
      subscriptions: [{ id: 'tp-hb-0001', offer: 'marketplace-saas', status: 'active', offerId: 'hb-scope', planId: 'basic', seats: 3, term: 'monthly', purchasedAt: '2026-11-25T00:00:00Z' }],
    },
  ],
};

const audienceDrivers = [
  {
    name: 'Slack',
    async start() {
      const bot = await startTestBot({ organizations: [publisher] });
      return { db: bot.db, say: async (text: string) => replyText((await bot.command(owner.slack, text, { team: isvTeam })).reply), close: () => bot.close() };
    },
  },
  {
    name: 'Teams',
    async start() {
      const bot = await startTeamsTestBot({ organizations: [publisher] });
      return { db: bot.db, say: async (text: string) => cardText((await bot.message(owner.aad, text, { tenantId: isvTenant })).card), close: () => bot.close() };
    },
  },
];

describe.each(audienceDrivers)('$name: R-I6 granting a "Deauthorize CSP" request re-checks resales made since it was filed', ({ start }) => {
  let p: Awaited<ReturnType<(typeof audienceDrivers)[number]['start']>>;
  beforeAll(async () => {
    p = await start();
  });
  afterAll(() => p?.close());

  it('R-I6 R-I7 a partner that resold after the request was filed is kept, and the owner is told which and why', async () => {
    for (const tenantId of [partner.seoul, partner.taipei]) expect(await p.say(`audience 한빛 인사이트 remove ${tenantId}`)).toContain('한빛 인사이트');
    expect(await p.say('audience 한빛 인사이트 sync')).toContain('needs Microsoft support ("Deauthorize CSP")');
    const [request] = await p.db.select().from(audienceSupportRequests);
    expect(request!.removes.sort()).toEqual([partner.seoul, partner.taipei]);
    // While the request waits, 台北雲端夥伴 resells the offer.
    await importOrganization(p.db, parseImportFile(taipeiReseller));

    const granted = await p.say(`audience 한빛 인사이트 grant ${request!.id.slice(0, 8)}`);
    expect(granted).toContain(`Support request ${request!.id.slice(0, 8)} is granted`);
    expect(granted).toContain(
      `Kept on 한빛 인사이트's list because they resold it since the request was filed, and a partner that resold an offer can never be deauthorized: 台北雲端夥伴 (${partner.taipei}).`,
    );
    const published = await p.db.select().from(offerAudiencePartners).where(and(eq(offerAudiencePartners.offerId, 'hb-scope'), eq(offerAudiencePartners.published, true)));
    expect(published.map((r) => [r.tenantId, r.regions])).toEqual([[partner.taipei, ['TW']]]);
  });
});
