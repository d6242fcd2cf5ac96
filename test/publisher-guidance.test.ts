import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceSupportRequests } from '../db/schema.js';
import { translator, type Locale } from '../src/i18n/index.js';
import { aadUsers, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type SlackReply } from './helpers/slack.js';
import { cardActions, cardLinks, cardText, startTeamsTestBot, type AdaptiveCardJson } from './helpers/teams.js';
import { sentence } from './helpers/languages.js';
import { unchanged } from './helpers/tables.js';

// Issue 19: what Partner Center and seed 003 ("Cloud Solution Provider program", publishers) tell,
// said where a publisher or a partner needs it, on Slack and Teams, in English, Korean and Chinese.

const supportPage = 'https://aka.ms/marketplacepublishersupport';
const regionsArticle = 'https://learn.microsoft.com/partner-center/regional-authorization-overview';
const cspArticle = 'https://learn.microsoft.com/partner-center/marketplace-offers/cloud-solution-providers';

const isvTeam = 'T0PUBGUIDE';
const isvTenant = '0d0d0d0d-0000-4000-8000-00000000000d';
const publisherPeople = {
  owner: { slack: 'UPGOWNER1', aad: 'd0000000-0000-4000-8000-000000000001' },
  manager: { slack: 'UPGMANAG1', aad: 'd0000000-0000-4000-8000-000000000002' },
  developer: { slack: 'UPGDEVEL1', aad: 'd0000000-0000-4000-8000-000000000003' },
};
const partnerPeople = {
  adminAgent: { slack: users.adminAgent, aad: aadUsers.adminAgent },
  salesAgent: { slack: users.salesAgent, aad: aadUsers.salesAgent },
};
const people = { ...publisherPeople, ...partnerPeople };
type Person = keyof typeof people;

const partner = {
  seoul: 'c1000000-0000-4000-8000-000000000001',
  taipei: 'c2000000-0000-4000-8000-000000000002',
  tokyo: 'c3000000-0000-4000-8000-000000000003',
};

const forPartners = { salesMaterialsUrl: 'https://hanbit-isv.example/csp-kit', channelContact: 'csp@hanbit-isv.example' };
const saas = (id: string, name: string, audience: unknown, materials: object = forPartners) => ({
  id, name, type: 'saas', publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-isv.example' }, countries: ['KR', 'TW', 'US'],
  ...materials,
  plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }, { term: 'monthly', market: 'US', currency: 'USD', price: 9 }] }],
  audience,
});

const publisherOrganization = {
  organization: { name: '한빛 애널리틱스', kind: 'publisher', slackTeamId: isvTeam, teamsTenantId: isvTenant },
  staff: [
    { name: '이서연', email: 'seoyeon@hanbit-isv.example', role: 'owner', slackUserId: publisherPeople.owner.slack, teamsAadObjectId: publisherPeople.owner.aad },
    { name: '林志明', email: 'zhiming@hanbit-isv.example', role: 'manager', slackUserId: publisherPeople.manager.slack, teamsAadObjectId: publisherPeople.manager.aad },
    { name: 'Sam Lee', email: 'sam@hanbit-isv.example', role: 'developer', slackUserId: publisherPeople.developer.slack, teamsAadObjectId: publisherPeople.developer.aad },
  ],
  offers: [
    // The test partner (서울 클라우드 파트너스) is authorized in KR only; 台北雲端夥伴 everywhere, Tokyo Cloud Works in TW.
    saas('pg-insight', '한빛 인사이트', {
      option: 'specific', published: true,
      partners: [{ tenantId: partner.seoul, regions: ['KR'] }, { tenantId: partner.taipei, regions: [] }, { tenantId: partner.tokyo, regions: ['TW'] }],
    }),
    saas('pg-any', '한빛 리포트', { option: 'any', published: true }),
    saas('pg-beta', '한빛 베타', { option: 'none', published: false }),
    saas('pg-bare', '한빛 초안', { option: 'none', published: false }, {}),
  ],
  partnerDirectory: [
    { name: '서울 클라우드 파트너스', tenantId: partner.seoul, country: 'KR', competencies: ['Cloud Platform'], skills: ['Azure'] },
    { name: '台北雲端夥伴', tenantId: partner.taipei, country: 'TW', competencies: ['Data & AI'], skills: ['Analytics'] },
    { name: 'Tokyo Cloud Works', tenantId: partner.tokyo, country: 'JP', competencies: ['Cloud Platform'], skills: ['Security'] },
  ],
  customers: [],
};

/** The test partner organization, known to publishers' audiences as 서울 클라우드 파트너스. */
const partnerOrganization = { ...testOrganization, organization: { ...testOrganization.organization, cspTenantId: partner.seoul } };

interface Reply {
  text: string;
  /** The addresses the message links to (a Slack rich text link, a Teams card's link run). */
  links: string[];
  buttons: { label: string; click(): Promise<Reply> }[];
}
interface Driver {
  db: Awaited<ReturnType<typeof startTestBot>>['db'];
  prefix: string;
  command(person: Person, text: string): Promise<Reply>;
  close(): Promise<void>;
}

const isPublisher = (person: Person) => person in publisherPeople;
const everyone = (locale: string, key: 'slack' | 'aad') => Object.fromEntries(Object.values(people).map((p) => [p[key], locale]));

const slackLinks = (reply: SlackReply | undefined) =>
  (reply?.blocks ?? []).flatMap((b) => (b.type === 'rich_text' ? (b.elements ?? []).flatMap((s) => (s.elements ?? []).flatMap((e) => (e.type === 'link' && e.url ? [e.url] : []))) : []));

const drivers: { name: string; start(locale: string): Promise<Driver> }[] = [
  {
    name: 'Slack',
    async start(locale) {
      const bot = await startTestBot({ organizations: [partnerOrganization, publisherOrganization], fakeSlack: { locales: everyone(locale, 'slack') } });
      const options = (person: Person) => (isPublisher(person) ? { team: isvTeam } : {});
      const toReply = (person: Person, reply: SlackReply | undefined): Reply => ({
        text: replyText(reply),
        links: slackLinks(reply),
        buttons: buttons(reply).map((b) => ({
          label: b.text.text,
          click: async () => toReply(person, (await bot.click(people[person].slack, { action_id: b.action_id, value: b.value }, options(person))).reply),
        })),
      });
      return {
        db: bot.db,
        prefix: '/csp ',
        command: async (person, text) => toReply(person, (await bot.command(people[person].slack, text, options(person))).reply),
        close: () => bot.close(),
      };
    },
  },
  {
    name: 'Teams',
    async start(locale) {
      const bot = await startTeamsTestBot({ organizations: [partnerOrganization, publisherOrganization], locales: everyone(locale, 'aad') });
      const options = (person: Person) => (isPublisher(person) ? { tenantId: isvTenant } : {});
      const toReply = (person: Person, card: AdaptiveCardJson | undefined, replyToId: string | undefined): Reply => ({
        text: cardText(card),
        links: cardLinks(card).map((l) => l.url),
        buttons: cardActions(card).map((a) => ({
          label: a.title,
          click: async () => {
            const { value = '', ...inputs } = a.data ?? {};
            const clicked = await bot.click(people[person].aad, { verb: a.verb ?? '', value, inputs }, replyToId ?? 'unknown', options(person));
            return toReply(person, clicked.card, replyToId);
          },
        })),
      });
      return {
        db: bot.db,
        prefix: '@csp-ops ',
        command: async (person, text) => {
          const { card, replyToId } = await bot.message(people[person].aad, text, options(person));
          return toReply(person, card, replyToId);
        },
        close: () => bot.close(),
      };
    },
  },
];

const locales: Locale[] = ['en', 'ko-KR', 'zh-TW'];

describe.each(drivers.flatMap((d) => locales.map((locale) => ({ ...d, locale }))))('$name in $locale: publisher guidance (seed 003)', ({ start, locale }) => {
  let p: Driver;
  const t = translator(locale);
  beforeAll(async () => {
    p = await start(locale);
  });
  afterAll(() => p?.close());

  const pendingRequest = async (offerId: string) => {
    const [request] = await p.db.select().from(audienceSupportRequests).where(and(eq(audienceSupportRequests.offerId, offerId), eq(audienceSupportRequests.status, 'pending')));
    return request!;
  };

  /** Seed 003, "Deauthorize partners in the CSP program", steps 1–6, and the link to Partner Center's support page. */
  const expectFilingSteps = (reply: Reply, offer: { name: string; type: 'saas' }) => {
    for (const step of ['audience.file.step1', 'audience.file.step2', 'audience.file.step4', 'audience.file.step5', 'audience.file.step6'] as const) expect(reply.text).toContain(t(step));
    expect(reply.text).toContain(t('audience.file.step3', { offer: offer.name, type: t(`offerType.${offer.type}`) }));
    // Partner Center's own words in every language: the values to select and the issue title, as the English
    // article (and the Traditional Chinese one, for the title) gives them.
    for (const words of ['Manage live offer', 'Update existing offer', 'Deauthorize CSP', supportPage]) expect(reply.text).toContain(words);
    // Beside them, the labels of seed 003 (Korean) and of the Traditional Chinese edition of the same article.
    const localized = {
      en: ['Select the product version', 'Select a category that best describes the issue', 'Select a problem that best describes the issue', '"Next"'],
      'ko-KR': ['제품 버전 선택', '라이브 제품 관리', '문제를 가장 잘 설명하는 범주 선택', '문제를 가장 잘 설명하는 항목 선택', '기존 제품 업데이트', '문제 세부 정보 페이지', 'CSP 권한 부여 취소'],
      'zh-TW': ['選取產品版本', 'Live 供應專案管理', '選取最能描述問題的類別', '選取最能描述問題的問題', '更新現有的供應專案', '問題詳細資料', '取消 CSP 授權'],
    }[locale];
    for (const words of localized) expect(reply.text).toContain(words);
    expect(reply.links).toContain(supportPage);
    expect(reply.text).toContain(t('audience.file.details'));
  };

  it('R-I7 removing a partner after publishing: the reply that records the support request says how to file it, with the details to paste', async () => {
    // Only a removal: nothing takes effect at once, whatever order the partners are listed in.
    await p.command('manager', 'audience pg-insight remove 台北雲端夥伴');
    const synced = await p.command('manager', 'audience pg-insight sync');
    const request = await pendingRequest('pg-insight');
    const id = request.id.slice(0, 8);
    expect(synced.text).toContain(t('audience.supportRequested', { id }));
    expect(synced.text).toContain(t('audience.file.how'));
    expectFilingSteps(synced, { name: '한빛 인사이트', type: 'saas' });
    expect(synced.text).toContain(t('audience.file.offer', { offer: '한빛 인사이트', id: 'pg-insight' }));
    expect(synced.text).toContain(t('audience.file.change', { from: t('audience.pcOption.specific'), to: t('audience.pcOption.specific') }));
    expect(synced.text).toContain(t('audience.file.remove', { partners: `台北雲端夥伴 (${partner.taipei})` }));
    expect(synced.text).toContain(t('audience.file.after', { prefix: p.prefix, offer: 'pg-insight', id }));
  });

  it('R-I7 moving any → specific: the details name the option requested and the partners to stay authorized', async () => {
    await p.command('manager', 'audience pg-any set specific');
    await p.command('manager', 'audience pg-any add 서울 클라우드 파트너스 in KR');
    const synced = await p.command('manager', 'audience pg-any sync');
    const request = await pendingRequest('pg-any');
    expect(synced.text).toContain(t('audience.supportRequested', { id: request.id.slice(0, 8) }));
    expectFilingSteps(synced, { name: '한빛 리포트', type: 'saas' });
    expect(synced.text).toContain(t('audience.file.change', { from: t('audience.pcOption.any'), to: t('audience.pcOption.specific') }));
    expect(synced.text).toContain(t('audience.file.keep', { partners: `서울 클라우드 파트너스 (${partner.seoul})` }));
  });

  it('R-I7 the audience view links each pending request to its steps: a line with the command and a button', async () => {
    const request = await pendingRequest('pg-insight');
    const id = request.id.slice(0, 8);
    const shown = await p.command('developer', 'audience pg-insight');
    expect(shown.text).toContain(`${p.prefix}audience pg-insight steps ${id}`);
    const button = shown.buttons.find((b) => b.label === t('audience.stepsButton', { id }));
    expect(button, shown.text).toBeDefined();
    const steps = await button!.click();
    expect(steps.text).toContain(t('audience.file.title', { id }));
    expectFilingSteps(steps, { name: '한빛 인사이트', type: 'saas' });
    expect(steps.text).toContain(t('audience.file.remove', { partners: `台北雲端夥伴 (${partner.taipei})` }));

    // Typed, by any publisher role; once decided there is nothing to file.
    expect((await p.command('developer', `audience pg-insight steps ${id}`)).text).toContain(t('audience.file.title', { id }));
    await p.command('owner', `audience pg-insight refuse ${id}`);
    expect((await p.command('developer', `audience pg-insight steps ${id}`)).text).toContain(t('audience.file.decided', { id, status: 'refused' }));
  });

  it('R-I4 the audience view explains partner regions, with the regional markets and currencies article', async () => {
    const shown = await p.command('developer', 'audience pg-insight');
    expect(shown.text).toContain(`서울 클라우드 파트너스 — ${partner.seoul} — KR`);
    expect(shown.text).toContain(t('audience.regionsNote'));
    expect(shown.links).toContain(regionsArticle);
  });

  it('R-I8 the audience view says whether the sales materials and channel contact are set, and how to set them', async () => {
    const complete = await p.command('developer', 'audience pg-insight');
    expect(complete.text).toContain(forPartners.salesMaterialsUrl);
    expect(complete.text).toContain(forPartners.channelContact);
    expect(complete.text).not.toContain(t('audience.notSet'));

    await p.command('manager', 'audience pg-bare set any');
    const bare = await p.command('developer', 'audience pg-bare');
    expect(bare.text).toContain(t('audience.salesMaterials'));
    expect(bare.text).toContain(t('audience.notSet'));
    expect(bare.text).toContain(t('audience.materialsHow', { offer: '한빛 초안' }));
    const refused = await p.command('manager', 'audience pg-bare publish');
    expect(refused.text).toContain(t('audience.materialsMissing', { offer: '한빛 초안' }));
  });

  it('seed 003 (opening paragraphs): publishing an offer to CSP partners for the first time reminds the publisher of its support duties', async () => {
    const drafted = await p.command('manager', 'audience pg-beta set any');
    expect(drafted.text).toContain(t('audience.draftSaved', { prefix: p.prefix, offer: 'pg-beta', published: 'no' }));
    const published = await p.command('manager', 'audience pg-beta publish');
    expect(published.text).toContain(t('audience.publishedNow'));
    expect(published.text).toContain(t('audience.duties', { offer: '한빛 베타' }));
    expect(published.links).toContain(cspArticle);
    // Already open to partners: no second reminder.
    await p.command('manager', 'audience pg-beta set any');
    const again = await p.command('manager', 'audience pg-beta sync');
    expect(again.text).toContain(t('audience.syncedNow'));
    expect(again.text).not.toContain(t('audience.duties', { offer: '한빛 베타' }));
  });

  it('R-I3 R-I5 the directory, a saved draft and an export say what comes next', async () => {
    expect((await p.command('developer', 'partners country:KR')).text).toContain(t('partners.next', { prefix: p.prefix }));
    const drafted = await p.command('manager', 'audience pg-insight add Tokyo Cloud Works in TW');
    expect(drafted.text).toContain(t('audience.draftSaved', { prefix: p.prefix, offer: 'pg-insight', published: 'yes' }));
    expect((await p.command('developer', 'audience pg-insight export')).text).toMatch(sentence(t, 'audience.exported', { offer: '한빛 인사이트', prefix: p.prefix }, ['count']));
  });

  it('R-I4 a partner authorized in some regions: the marketplace and the offer name the markets and link the article', async () => {
    const catalog = await p.command('salesAgent', 'marketplace 한빛');
    expect(catalog.text).toContain(t('marketplace.regionsOnly', { regions: 'KR' }));
    expect(catalog.text).toContain(t('marketplace.regionsNote'));
    expect(catalog.links).toContain(regionsArticle);
    const offer = await p.command('salesAgent', 'offer pg-insight');
    expect(offer.text).toContain(t('offer.regionsNote', { regions: 'KR' }));
    expect(offer.links).toContain(regionsArticle);
    // An offer open to every partner has no such limit.
    expect((await p.command('salesAgent', 'offer pg-beta')).text).not.toContain(regionsArticle);
  });

  it('R-I4 buy for a customer billed outside the authorized regions is refused with why and what to do', async () => {
    const refused = await unchanged(p.db, () => p.command('adminAgent', 'buy pg-insight basic for contoso.com seats 1'));
    expect(refused.text).toContain(t('buy.region', { offer: '한빛 인사이트', id: 'pg-insight', regions: 'KR', customer: 'Contoso Ltd', country: 'US', prefix: p.prefix }));
    expect(refused.links).toContain(regionsArticle);
  });
});
