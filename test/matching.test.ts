import { describe, expect, it } from 'vitest';
import { customers } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { refreshNameKeys } from '../src/core/name-keys.js';
import { testOrganization } from './helpers/fixture.js';
import { platforms, usePlatform } from './helpers/platforms.js';
import { testOrgId, unchanged } from './helpers/tables.js';

// Names as Korean and Taiwanese partners write them: spaced loosely, and in Traditional characters.
const organization = {
  ...testOrganization,
  customers: [
    ...testOrganization.customers,
    { name: '누리소프트주식회사', domain: 'nurisoft.example', tenantId: 'e1e1e1e1-0000-4000-8000-000000000001', billingCountry: 'KR', subscriptions: [] },
    { name: '臺北軟體股份有限公司', domain: 'taipei-soft.example', tenantId: 'e1e1e1e1-0000-4000-8000-000000000002', billingCountry: 'TW', subscriptions: [] },
  ],
  offers: [
    {
      id: 'hanbit-insight', name: '한빛 인사이트 Analytics', type: 'saas', categories: ['analytics'], countries: ['KR'],
      publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-insight.example' },
      plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }] }],
    },
    {
      id: 'tw-erp', name: '雲端 ERP', type: 'saas', categories: ['ERP'], countries: ['TW'],
      publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' },
      plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
    },
  ],
};

const prefixes = { Slack: '/csp ', Teams: '@csp-ops ' };

describe.each(platforms)('$name: matching Korean and Chinese names', ({ name, start }) => {
  const p = usePlatform(() => start([organization]));
  const prefix = prefixes[name];
  const say = async (text: string, person: 'salesAgent' | 'adminAgent' = 'salesAgent') => (await unchanged(p.db, () => p.command(person, text))).text;

  it('ignores spaces beside Hangul, both ways, in customers and offers; Latin names keep their words', async () => {
    // A customer found shows its domain; a miss names only the closest names.
    expect(await say('customer 한빛소프트주식회사')).toContain('hanbitsoft.example');
    expect(await say('customer 누리소프트 주식회사')).toContain('nurisoft.example');
    expect(await say('customers 누리 소프트')).toContain('누리소프트주식회사 — nurisoft.example');
    expect(await say('offer 한빛인사이트')).toContain('support@hanbit-insight.example');
    expect(await say('marketplace 한빛인사이트')).toContain('한빛 인사이트 Analytics (hanbit-insight)');
    expect(await say('marketplace 한빛 인사이트')).toContain('한빛 인사이트 Analytics (hanbit-insight)');
    expect(await say('customer contoso ltd')).toContain('contoso.com');
    const contosos = await say('customers contoso');
    expect(contosos).toContain('Contoso Ltd — contoso.com');
    expect(contosos).toContain('Contoso Pharmaceuticals — contosopharma.com');
  });

  it('finds Traditional names from Simplified input (and 台 from 臺) in customers, offers, buy and support', async () => {
    expect(await say('customer 台湾云端科技')).toContain('twcloud.example');
    expect(await say('customer 臺灣雲端科技')).toContain('twcloud.example');
    expect(await say('customers 台北软体')).toContain('臺北軟體股份有限公司 — taipei-soft.example');
    expect(await say('offer 云端ERP')).toContain('help@tw-erp.example');
    const listed = await say('marketplace 云端 erp');
    expect(listed).toContain('雲端 ERP (tw-erp)');
    expect(listed).not.toContain('hanbit-insight');
    // The publisher's name is stored as written: a Simplified word still finds it.
    expect(await say('marketplace 软体')).toContain('雲端 ERP (tw-erp) — 臺灣雲端軟體');
    expect(await say('buy 云端ERP standard for 台北软体 seats 2', 'adminAgent')).toContain('Buy 雲端 ERP for 臺北軟體股份有限公司?');
    expect(await say('support 云端ERP')).toContain('help@tw-erp.example');
  });

  it('reads full-width and quoted input as the plain text', async () => {
    expect(await say('customer ＣＯＮＴＯＳＯ\u3000ＬＴＤ')).toContain('contoso.com');
    expect(await say('customers\u3000한빛소프트\u3000주식회사')).toContain('한빛소프트 주식회사 — hanbitsoft.example');
    expect(await say('marketplace ＥＲＰ')).toContain('雲端 ERP (tw-erp)');
    expect(await say('customer "contoso ltd"')).toContain('contoso.com');
    expect(await say('customer 「한빛」')).toContain('hanbitsoft.example');
    expect(await say('customer “台灣雲端”')).toContain('twcloud.example');
    expect(await say('customers 『누리소프트』')).toContain('누리소프트주식회사 — nurisoft.example');
    expect(await say("offer '한빛 인사이트'")).toContain('support@hanbit-insight.example');
    expect(await say('offer "tw-erp"')).toContain('help@tw-erp.example');
    expect(await say('marketplace “云端”')).toContain('雲端 ERP (tw-erp)');
  });

  it('suggests the command a misspelled one most likely meant, as it is typed here', async () => {
    expect(await say('custmers 한빛')).toContain(`There is no command "custmers". Did you mean ${prefix}customers? Type ${prefix}help for the list.`);
    expect(await say('hlep')).toContain(`Did you mean ${prefix}help?`);
    expect(await say('marketpalce erp')).toContain(`Did you mean ${prefix}marketplace?`);
    expect(await say('ＣＵＳＴＭＥＲＳ')).toContain(`Did you mean ${prefix}customers?`);
    const cli = await runCli(p.db, ['custmers', '--as', 'jihoon.park@partner.example']);
    expect(cli).toMatchObject({ exitCode: 1, output: expect.stringContaining('Did you mean npm run csp -- customers?') });
  });

  it('suggests nothing for words that are not close to a command', async () => {
    for (const text of ['xyzzy', 'cu', 'launch-missiles', '고객']) {
      const answer = await say(text);
      expect(answer).toContain(`There is no command "${text}". Type ${prefix}help for the list.`);
      expect(answer).not.toContain('Did you mean');
    }
  });

  it('recomputes at start-up the keys an older normalizeKey stored, once', async () => {
    // As the key was before Hangul spacing and Chinese folding: the name lowercased, spaces kept, characters as written.
    const orgId = await testOrgId(p.db);
    await p.db.insert(customers).values([
      { orgId, name: '서울 클라우드 상사', nameKey: '서울 클라우드 상사', domain: 'seoul-cloud.example', tenantId: 'e1e1e1e1-0000-4000-8000-000000000003', billingCountry: 'KR' },
      { orgId, name: '台中雲端', nameKey: '台中雲端', domain: 'taichung.example', tenantId: 'e1e1e1e1-0000-4000-8000-000000000004', billingCountry: 'TW' },
    ]);
    expect(await say('customer 서울클라우드상사')).toContain('No customer matches');
    expect(await refreshNameKeys(p.db)).toBe(2);
    expect(await refreshNameKeys(p.db)).toBe(0);
    expect(await say('customer 서울클라우드상사')).toContain('seoul-cloud.example');
    expect(await say('customer 台中云端')).toContain('taichung.example');
  });
});
