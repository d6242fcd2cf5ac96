import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audienceSupportRequests, offerAudiencePartners } from '../db/schema.js';
import { replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { cardText, startTeamsTestBot, type TeamsTestBot } from './helpers/teams.js';
import { unchanged } from './helpers/tables.js';

const isvTeam = 'T0ISV00001';
const isvTenant = '0b0b0b0b-0000-4000-8000-00000000000b';
const people = {
  owner: { slack: 'UISVOWNER', aad: 'b0000000-0000-4000-8000-000000000001' },
  manager: { slack: 'UISVMANAG', aad: 'b0000000-0000-4000-8000-000000000002' },
  developer: { slack: 'UISVDEVEL', aad: 'b0000000-0000-4000-8000-000000000003' },
};
const partner = {
  seoul: 'c1000000-0000-4000-8000-000000000001',
  taipei: 'c2000000-0000-4000-8000-000000000002',
  tokyo: 'c3000000-0000-4000-8000-000000000003',
};

const saas = (id: string, name: string, audience: unknown) => ({
  id, name, type: 'saas', publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-isv.example' }, countries: ['KR', 'TW', 'JP'],
  salesMaterialsUrl: 'https://hanbit-isv.example/csp-kit', channelContact: 'csp@hanbit-isv.example',
  plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }] }],
  audience,
});

export const publisherOrganization = {
  organization: { name: '한빛 애널리틱스', kind: 'publisher', slackTeamId: isvTeam, teamsTenantId: isvTenant },
  staff: [
    { name: '이서연', email: 'seoyeon@hanbit-isv.example', role: 'owner', slackUserId: people.owner.slack, teamsAadObjectId: people.owner.aad },
    { name: '林志明', email: 'zhiming@hanbit-isv.example', role: 'manager', slackUserId: people.manager.slack, teamsAadObjectId: people.manager.aad },
    { name: 'Sam Lee', email: 'sam@hanbit-isv.example', role: 'developer', slackUserId: people.developer.slack, teamsAadObjectId: people.developer.aad },
  ],
  offers: [
    saas('hb-specific', '한빛 인사이트', { option: 'specific', published: true, partners: [{ tenantId: partner.seoul, regions: ['KR'], hasResold: true }, { tenantId: partner.taipei, regions: [] }] }),
    saas('hb-any', '한빛 리포트', { option: 'any', published: true }),
    saas('hb-draft', '한빛 베타', { option: 'none', published: false }),
  ],
  partnerDirectory: [
    { name: '서울 클라우드 파트너스', tenantId: partner.seoul, country: 'KR', competencies: ['Cloud Platform'], skills: ['Azure'] },
    { name: '台北雲端夥伴', tenantId: partner.taipei, country: 'TW', competencies: ['Data & AI'], skills: ['Analytics'] },
    { name: 'Tokyo Cloud Works', tenantId: partner.tokyo, country: 'JP', competencies: ['Cloud Platform'], skills: ['Security'] },
  ],
  customers: [],
};

type Person = keyof typeof people;
type Driver = { name: string; db: TestBot['db']; command(person: Person, text: string): Promise<string>; close(): Promise<void> };

const drivers: { name: string; start(): Promise<Driver> }[] = [
  {
    name: 'Slack',
    async start() {
      const bot = await startTestBot({ organizations: [publisherOrganization] });
      return { name: 'Slack', db: bot.db, command: async (person, text) => replyText((await bot.command(people[person].slack, text, { team: isvTeam })).reply), close: () => bot.close() };
    },
  },
  {
    name: 'Teams',
    async start() {
      const bot: TeamsTestBot = await startTeamsTestBot({ organizations: [publisherOrganization] });
      return { name: 'Teams', db: bot.db, command: async (person, text) => cardText((await bot.message(people[person].aad, text, { tenantId: isvTenant })).card), close: () => bot.close() };
    },
  },
];

describe.each(drivers)('$name: a publisher manages CSP audiences', ({ start }) => {
  let p: Driver;
  beforeAll(async () => {
    p = await start();
  });
  afterAll(() => p?.close());

  it('R-I2 R-I6 audience shows the option as published and drafted, the partners as a table, and who resold', async () => {
    const shown = await p.command('developer', 'audience 한빛 인사이트');
    expect(shown).toContain('CSP audience of 한빛 인사이트 (hb-specific)');
    expect(shown).toMatch(/Published \(what partners see\)\W+specific partners \(2\)/);
    expect(shown).toContain(`서울 클라우드 파트너스 — ${partner.seoul} — KR — authorized — has resold`);
    expect(shown).toContain(`台北雲端夥伴 — ${partner.taipei} — all regions — authorized`);
  });

  it('R-I3 partners searches the directory by name, country, competency and skill', async () => {
    expect(await p.command('developer', 'partners country:JP')).toMatch(/Partner directory: 1 partner[\s\S]*Tokyo Cloud Works/);
    expect(await p.command('developer', 'partners competency:cloud')).toContain('Partner directory: 2 partners');
    expect(await p.command('developer', 'partners 台北')).toContain(partner.taipei);
  });

  it('R-I3 R-I7 adding a partner is a draft until sync; removing one after publishing becomes a support request the owner decides', async () => {
    expect(await unchanged(p.db, () => p.command('developer', 'audience hb-specific add Tokyo Cloud Works'))).toContain('Changing CSP audiences needs');
    const drafted = await p.command('manager', 'audience hb-specific add Tokyo Cloud Works in JP');
    expect(drafted).toContain('Saved as a draft');
    expect(drafted).toContain(`Tokyo Cloud Works — ${partner.tokyo} — JP — added in the draft`);
    expect(await p.command('manager', 'audience hb-specific sync')).toContain('Synced: partners see this audience now.');

    expect(await unchanged(p.db, () => p.command('manager', 'audience hb-specific remove 서울 클라우드 파트너스'))).toContain('can never be removed');
    await p.command('manager', 'audience hb-specific remove 台北雲端夥伴');
    const synced = await p.command('manager', 'audience hb-specific sync');
    expect(synced).toContain('needs Microsoft support ("Deauthorize CSP")');
    const [request] = await p.db.select().from(audienceSupportRequests).where(eq(audienceSupportRequests.status, 'pending'));
    expect(synced).toContain(`Pending support request ${request!.id.slice(0, 8)}`);
    // Still authorized until support grants it.
    const [taipei] = await p.db.select().from(offerAudiencePartners).where(eq(offerAudiencePartners.tenantId, partner.taipei));
    expect(taipei!.published).toBe(true);

    expect(await unchanged(p.db, () => p.command('manager', `audience hb-specific grant ${request!.id.slice(0, 8)}`))).toContain('Marking support requests granted or refused needs');
    expect(await p.command('owner', `audience hb-specific grant ${request!.id.slice(0, 8)}`)).toContain('is granted: partners see the new audience now');
    const [after] = await p.db.select().from(offerAudiencePartners).where(eq(offerAudiencePartners.tenantId, partner.taipei));
    expect(after!.published).toBe(false);
  });

  it('R-I3 an unpublished offer takes its audience on publish; R-I1 a fixed option cannot change', async () => {
    await p.command('manager', 'audience hb-draft set any');
    expect(await p.command('manager', 'audience hb-draft sync')).toContain('is not published yet');
    expect(await p.command('manager', 'audience hb-draft publish')).toContain('Published: partners see this audience now.');
    expect(await unchanged(p.db, () => p.command('manager', 'audience hb-any set teleport'))).toContain('audience <offer> [set any|specific|none');
  });
});
