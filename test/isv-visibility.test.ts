import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offerAudiencePartners, offerAudiences, offers, organizations, partnerDirectory, staff, subscriptions } from '../db/schema.js';
import { seedDemoIfEmpty } from '../db/seed/demo.js';
import { runCli } from '../src/adapters/cli/run.js';
import { translator } from '../src/i18n/index.js';
import { writeAudience } from '../src/core/audience.js';
import { ImportError, importOrganization, parseImportFile } from '../src/core/import.js';
import type { ImportFileInput } from '../src/core/import-schema.js';
import { openTestDatabase } from './helpers/database.js';
import { testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { snapshot, unchanged } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

/** The test partner's CSP tenant ID: how the publisher's audiences name it. */
const partnerTenant = 'c5c5c5c5-0000-4000-8000-0000000000c5';
const taipeiPartner = 'd7d7d7d7-0000-4000-8000-0000000000d7';
const tokyoPartner = 'e8e8e8e8-0000-4000-8000-0000000000e8';

const partnerOrganization = {
  ...testOrganization,
  organization: { ...testOrganization.organization, cspTenantId: partnerTenant },
} satisfies ImportFileInput;

const publisher = { name: '누리소프트', supportContact: 'support@nurisoft.example' };
const forPartners = { salesMaterialsUrl: 'https://partners.nurisoft.example/csp', channelContact: 'channel@nurisoft.example' };
type OfferInput = NonNullable<ImportFileInput['offers']>[number];
const saas = (id: string, name: string) => ({
  id, name, publisher, type: 'saas', categories: ['HR'], countries: ['KR', 'US', 'TW'],
  plans: [{ id: 'standard', name: 'Standard', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 15000 }, { term: 'monthly', market: 'US', currency: 'USD', price: 12 }] }],
}) satisfies OfferInput;

/** A publisher with an offer in each audience option, an unpublished draft, a container and a BYOL VM. */
const publisherOrganization = {
  organization: { name: '누리소프트 주식회사', kind: 'publisher', slackTeamId: 'T0ISVTEST1' },
  staff: [
    { name: '이서연', email: 'seoyeon.lee@nurisoft.example', role: 'owner', slackUserId: 'UISVOWNER' },
    { name: '김도현', email: 'dohyun.kim@nurisoft.example', role: 'manager', slackUserId: 'UISVMANAG' },
    { name: '林家豪', email: 'chiahao.lin@nurisoft.example', role: 'developer', slackUserId: 'UISVDEVEL' },
  ],
  offers: [
    { ...saas('isv-any', '누리사인 Any'), ...forPartners, audience: { option: 'any', published: true } },
    {
      ...saas('isv-specific', '누리 HR Specific'), ...forPartners,
      audience: { option: 'specific', published: true, partners: [{ tenantId: partnerTenant, regions: ['KR'] }, { tenantId: taipeiPartner, regions: ['TW'], hasResold: true }] },
    },
    { ...saas('isv-others', '누리 Ledger Others'), ...forPartners, audience: { option: 'specific', published: true, partners: [{ tenantId: tokyoPartner, regions: [] }] } },
    { ...saas('isv-none', '누리 Vault None'), audience: { option: 'none', published: true } },
    { ...saas('isv-draft', '누리 AI Draft'), ...forPartners, audience: { option: 'specific', published: false, partners: [{ tenantId: partnerTenant, regions: ['KR', 'US'] }] } },
    {
      id: 'isv-container', name: '누리 Edge Container', publisher, type: 'container', categories: ['IoT'], countries: ['KR', 'US'],
      plans: [{ id: 'byol', name: 'BYOL', prices: [{ term: 'monthly', market: 'US', currency: 'USD', price: 0 }] }],
    },
    {
      id: 'isv-byol-vm', name: '누리 Gateway VM', publisher, type: 'vm', categories: ['Networking'], countries: ['KR', 'US'],
      plans: [{ id: 'byol', name: 'BYOL', byol: true, prices: [{ term: 'monthly', market: 'US', currency: 'USD', price: 0 }] }],
    },
  ],
  partnerDirectory: [
    { name: '한빛 클라우드 파트너스', tenantId: partnerTenant, country: 'KR', competencies: ['Solutions Partner for Modern Work'], skills: ['Teams Meetings and Meeting Rooms'] },
    { name: '台北雲端夥伴', tenantId: taipeiPartner, country: 'TW', competencies: ['Solutions Partner for Infrastructure (Azure)'], skills: [] },
    { name: 'Tokyo Modern Workplace KK', tenantId: tokyoPartner, country: 'JP' },
  ],
} satisfies ImportFileInput;

const visibleNames = ['누리사인 Any', '누리 HR Specific', '누리 Edge Container', '누리 Gateway VM'];
const hiddenNames = ['누리 Ledger Others', '누리 Vault None', '누리 AI Draft'];

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot({ organizations: [partnerOrganization, publisherOrganization] });
});
afterAll(() => bot?.close());

const say = async (user: string, text: string) => replyText((await bot.command(user, text)).reply);

describe('R-I2 R-I3 importing a publisher', () => {
  it('R-I3 a published audience is written as the published list and the draft; an unpublished one as the draft only; importing again changes nothing', async () => {
    const state = async () => ({
      offers: await bot.db.select().from(offers).orderBy(asc(offers.id)),
      audiences: await bot.db.select().from(offerAudiences).orderBy(asc(offerAudiences.offerId)),
      partners: await bot.db.select().from(offerAudiencePartners).orderBy(asc(offerAudiencePartners.offerId), asc(offerAudiencePartners.tenantId)),
      directory: await bot.db.select().from(partnerDirectory).orderBy(asc(partnerDirectory.tenantId)),
    });
    await importOrganization(bot.db, parseImportFile(publisherOrganization));
    const before = await state();
    const [publisherOrg] = await bot.db.select().from(organizations).where(eq(organizations.slackTeamId, 'T0ISVTEST1'));
    expect(publisherOrg).toMatchObject({ kind: 'publisher', cspTenantId: null });
    const [partnerOrg] = await bot.db.select().from(organizations).where(eq(organizations.cspTenantId, partnerTenant));
    expect(partnerOrg!.kind).toBe('partner');
    const row = (id: string) => before.offers.find((o) => o.id === id)!;
    expect(row('isv-specific')).toMatchObject({ publisherOrgId: publisherOrg!.id, published: true, ...forPartners });
    expect(row('isv-draft')).toMatchObject({ publisherOrgId: publisherOrg!.id, published: false });
    const audience = (id: string) => before.audiences.find((a) => a.offerId === id);
    expect(audience('isv-specific')).toMatchObject({ publishedOption: 'specific', draftOption: 'specific' });
    expect(audience('isv-none')).toMatchObject({ publishedOption: 'none', draftOption: 'none' });
    expect(audience('isv-draft')).toMatchObject({ publishedOption: null, draftOption: 'specific' });
    expect(audience('isv-container')).toBeUndefined();
    const specific = before.partners.filter((p) => p.offerId === 'isv-specific');
    expect(specific.map((p) => [p.tenantId, p.regions, p.published, p.draft, p.hasResold])).toEqual([
      [partnerTenant, ['KR'], true, true, false],
      [taipeiPartner, ['TW'], true, true, true],
    ]);
    expect(before.partners.filter((p) => p.offerId === 'isv-draft').map((p) => [p.published, p.draft])).toEqual([[false, true]]);
    expect(before.directory.map((p) => p.name)).toEqual(['한빛 클라우드 파트너스', '台北雲端夥伴', 'Tokyo Modern Workplace KK']);
    expect(before.directory[0]).toMatchObject({ country: 'KR', competencies: ['Solutions Partner for Modern Work'], skills: ['Teams Meetings and Meeting Rooms'] });

    await importOrganization(bot.db, parseImportFile(publisherOrganization));
    const after = await state();
    expect(after.audiences.map(({ updatedAt: _u, ...a }) => a)).toEqual(before.audiences.map(({ updatedAt: _u, ...a }) => a));
    expect(after.partners).toEqual(before.partners);
    expect(after.directory).toEqual(before.directory);
    expect(after.offers.map(({ updatedAt: _u, ...o }) => o)).toEqual(before.offers.map(({ updatedAt: _u, ...o }) => o));
  });

  it('the terminal import names a publisher\'s offers and directory partners', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'csp-isv-'));
    try {
      const file = join(dir, 'publisher.json');
      await writeFile(file, JSON.stringify(publisherOrganization));
      expect(await runCli(bot.db, ['import', file])).toEqual({
        output: 'Imported publisher 누리소프트 주식회사: 3 staff members, 7 offers and 3 partners of the CSP partner directory.',
        exitCode: 0,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('R-M2 the partner sees what the published CSP audience allows', () => {
  it('R-M2 R-I1 marketplace lists any, specific with this partner, containers and BYOL VMs; not none, another partner\'s list, or an unpublished draft', async () => {
    const text = await say(users.salesAgent, 'marketplace');
    expect(text).toContain(`Marketplace: ${visibleNames.length} offers`);
    for (const name of visibleNames) expect(text).toContain(name);
    for (const name of hiddenNames) expect(text).not.toContain(name);
    expect(await say(users.salesAgent, 'marketplace 누리 type:saas')).toContain('Marketplace: 2 offers');
  });

  it('R-M2 an offer outside the audience is unknown to offer, buy and support, as an offer that does not exist', async () => {
    for (const id of ['isv-none', 'isv-others', 'isv-draft']) {
      expect(await say(users.salesAgent, `offer ${id}`)).toContain(`No marketplace offer matches "${id}"`);
      const buy = await unchanged(bot.db, () => say(users.adminAgent, `buy ${id} standard for 한빛소프트 seats 2`));
      expect(buy).toContain(`No marketplace offer matches "${id}"`);
      expect(await say(users.helpdeskAgent, `support ${id}`)).toContain(`No marketplace offer matches "${id}"`);
    }
    // By name too: the hidden offer's name is not even ambiguous with the visible ones.
    expect(await say(users.salesAgent, 'offer 누리 Vault')).toContain('No marketplace offer matches "누리 Vault"');
    const shown = await say(users.salesAgent, 'offer 누리 HR');
    expect(shown).toContain('누리 HR Specific (isv-specific)');
    // R-I8: the sales materials and channel contact are shown to the partner's staff.
    expect(shown).toContain('https://partners.nurisoft.example/csp');
    expect(shown).toContain('channel@nurisoft.example');
  });

  it('R-M2 the price list holds only the offers this partner may resell', async () => {
    const before = bot.slack.files().length;
    const text = await say(users.salesAgent, 'price-list 누리');
    expect(text).toContain(`*Offers*\n${visibleNames.length}`);
    const [csv] = (await waitFor('the price list files', () => bot.slack.files().length >= before + 2 && bot.slack.files())).slice(before);
    const ids = new Set(csv!.data!.toString('utf8').split('\r\n').slice(1).filter(Boolean).map((line) => line.split(',')[0]));
    expect([...ids].sort()).toEqual(['isv-any', 'isv-byol-vm', 'isv-container', 'isv-specific']);
  });

  it('R-M2 R-I3 partners see the published audience, never the draft, until it is published', async () => {
    // The publisher drafts changes: none of them reaches partners.
    await writeAudience(bot.db, 'isv-any', 'draft', { option: 'none', partners: [] });
    await writeAudience(bot.db, 'isv-none', 'draft', { option: 'any', partners: [] });
    await writeAudience(bot.db, 'isv-others', 'draft', { option: 'specific', partners: [{ tenantId: partnerTenant, regions: [] }] });
    await writeAudience(bot.db, 'isv-specific', 'draft', { option: 'specific', partners: [{ tenantId: taipeiPartner, regions: ['TW'] }] });
    const drafted = await say(users.salesAgent, 'marketplace');
    expect(drafted).toContain(`Marketplace: ${visibleNames.length} offers`);
    for (const name of visibleNames) expect(drafted).toContain(name);
    for (const name of hiddenNames) expect(drafted).not.toContain(name);

    // Publishing makes the drafts count: isv-none opens to every partner; the unpublished offer is published from the file.
    await writeAudience(bot.db, 'isv-none', 'published', { option: 'any', partners: [] });
    const file = structuredClone(publisherOrganization) as ImportFileInput;
    file.offers!.find((o) => o.id === 'isv-draft')!.audience!.published = true;
    file.offers = file.offers!.filter((o) => o.id === 'isv-draft');
    await importOrganization(bot.db, parseImportFile(file));
    const published = await say(users.salesAgent, 'marketplace');
    expect(published).toContain('누리 Vault None');
    expect(published).toContain('누리 AI Draft');
    expect(published).not.toContain('누리 Ledger Others');
    expect(published).toContain(`Marketplace: ${visibleNames.length + 2} offers`);

    // Put back what the other tests expect.
    await writeAudience(bot.db, 'isv-none', 'published', { option: 'none', partners: [] });
    await importOrganization(bot.db, parseImportFile(publisherOrganization));
    expect(await say(users.salesAgent, 'marketplace')).toContain(`Marketplace: ${visibleNames.length} offers`);
  });
});

describe('R-I4 a partner authorized in some regions sells only to customers billed there', () => {
  it('R-I4 an admin cannot buy for a US customer an offer the partner may resell only in KR; a KR customer can', async () => {
    const refused = await unchanged(bot.db, () => say(users.adminAgent, 'buy isv-specific standard for contoso.com seats 3'));
    expect(refused).toContain('누리 HR Specific: its publisher authorizes you to resell it only to customers billed in KR, so Contoso Ltd (billed in US) cannot buy it from you.');

    const quote = (await bot.command(users.adminAgent, 'buy isv-specific standard for 한빛소프트 seats 3')).reply;
    expect(replyText(quote)).toContain('Buy 누리 HR Specific for 한빛소프트 주식회사?');
    const buy = buttons(quote).find((b) => b.text.text === 'Buy')!;
    const bought = await bot.click(users.adminAgent, { action_id: buy.action_id, value: buy.value });
    expect(replyText(bought.reply)).toContain('Bought 누리 HR Specific for 한빛소프트 주식회사');
    expect(await bot.db.select().from(subscriptions).where(eq(subscriptions.offerId, 'isv-specific'))).toHaveLength(1);
  });

  it('R-I4 R-M2 the rules are checked again at the click: a partner taken off the published list cannot buy from an older quote', async () => {
    const quote = (await bot.command(users.adminAgent, 'buy isv-specific standard for 한빛소프트 seats 1')).reply;
    const buy = buttons(quote).find((b) => b.text.text === 'Buy')!;
    await writeAudience(bot.db, 'isv-specific', 'published', { option: 'specific', partners: [{ tenantId: taipeiPartner, regions: ['TW'] }] });
    try {
      const clicked = await unchanged(bot.db, () => bot.click(users.adminAgent, { action_id: buy.action_id, value: buy.value }));
      expect(replyText(clicked.reply)).toContain('No marketplace offer matches "isv-specific"');
    } finally {
      await importOrganization(bot.db, parseImportFile(publisherOrganization));
    }
  });

  it('R-I4 an authorization with no regions covers every country the offer is sold in; "any" has no region limit', async () => {
    const file = structuredClone(publisherOrganization) as ImportFileInput;
    file.offers!.find((o) => o.id === 'isv-specific')!.audience!.partners![0]!.regions = [];
    await importOrganization(bot.db, parseImportFile(file));
    try {
      expect(await unchanged(bot.db, () => say(users.adminAgent, 'buy isv-specific standard for contoso.com seats 1'))).toContain('Buy 누리 HR Specific for Contoso Ltd?');
      expect(await unchanged(bot.db, () => say(users.adminAgent, 'buy isv-any standard for contoso.com seats 1'))).toContain('Buy 누리사인 Any for Contoso Ltd?');
    } finally {
      await importOrganization(bot.db, parseImportFile(publisherOrganization));
    }
  });
});

describe('R-I1 containers and BYOL VM plans are opted in by default', () => {
  it('R-I1 a container stays visible whatever audience rows say, and is refused for purchase only as a non-SaaS offer (R-M4)', async () => {
    await writeAudience(bot.db, 'isv-container', 'published', { option: 'none', partners: [] });
    await writeAudience(bot.db, 'isv-byol-vm', 'published', { option: 'none', partners: [] });
    const text = await say(users.salesAgent, 'marketplace');
    expect(text).toContain('누리 Edge Container');
    expect(text).toContain('누리 Gateway VM');
    expect(await say(users.salesAgent, 'offer isv-container')).toContain('누리 Edge Container (isv-container)');
    expect(await unchanged(bot.db, () => say(users.adminAgent, 'buy isv-container byol for contoso.com seats 1'))).toContain(
      '누리 Edge Container is a container offer: only SaaS offers can be bought here.',
    );
  });

  it('R-I1 a partner with no CSP tenant ID sees offers open to every partner, and no specific list', async () => {
    const [org] = await bot.db.select().from(organizations).where(eq(organizations.cspTenantId, partnerTenant));
    await bot.db.update(organizations).set({ cspTenantId: null }).where(eq(organizations.id, org!.id));
    try {
      const text = await say(users.salesAgent, 'marketplace');
      for (const name of ['누리사인 Any', '누리 Edge Container', '누리 Gateway VM']) expect(text).toContain(name);
      expect(text).not.toContain('누리 HR Specific');
    } finally {
      await bot.db.update(organizations).set({ cspTenantId: partnerTenant }).where(eq(organizations.id, org!.id));
    }
  });
});

describe('import validation of the publisher format', () => {
  const problems = (json: unknown): string[] => {
    try {
      parseImportFile(json);
    } catch (error) {
      if (error instanceof ImportError) return error.problems;
      throw error;
    }
    return [];
  };
  const edited = (edit: (file: Record<string, any>) => void) => {
    const file = structuredClone(publisherOrganization) as Record<string, any>;
    edit(file);
    return problems(file);
  };

  it('R-I2 names each bad audience field by its JSON path, all at once', () => {
    const found = edited((f) => {
      f.organization.kind = 'isv';
      f.offers[0].audience.option = 'some';
      f.offers[1].audience.partners[0].tenantId = 'not-a-guid';
      f.offers[1].audience.partners[1].regions = ['Korea'];
      f.offers[3].audience.published = 'yes';
      f.partnerDirectory[2].tenantId = '12345';
    });
    expect(found).toContain('organization.kind: expected partner or publisher');
    expect(found).toContain('offers[0].audience.option: expected any (every CSP partner), specific (the partners listed) or none');
    expect(found).toContain('offers[1].audience.partners[0].tenantId: expected a CSP tenant ID, a GUID such as 0a0a0a0a-0000-4000-8000-00000000000a');
    expect(found).toContain('offers[1].audience.partners[1].regions[0]: expected a two-letter country code such as KR');
    expect(found).toContain('offers[3].audience.published: expected true (partners see this audience) or false (a draft, not published yet)');
    expect(found).toContain('partnerDirectory[2].tenantId: expected a CSP tenant ID, a GUID such as 0a0a0a0a-0000-4000-8000-00000000000a');
  });

  it('R-I2 partners only with option specific; no tenant ID twice; regions where the offer is sold', () => {
    const found = edited((f) => {
      f.offers[0].audience.partners = [{ tenantId: partnerTenant, regions: ['KR'] }];
      f.offers[3].audience.partners = [];
      f.offers[1].audience.partners[1].tenantId = partnerTenant.toUpperCase();
      f.offers[1].audience.partners[1].regions = ['JP'];
      f.partnerDirectory[1].tenantId = partnerTenant;
    });
    expect(found).toContain('offers[0].audience.partners: partners are listed only with option specific, not any');
    expect(found).toContain('offers[3].audience.partners: partners are listed only with option specific, not none');
    // Tenant IDs are compared whatever their case.
    expect(found).toContain(`offers[1].audience.partners[1].tenantId: duplicate tenant ID ${partnerTenant}`);
    expect(found).toContain('offers[1].audience.partners[1].regions[0]: JP is not a country the offer is sold in (KR, US, TW)');
    expect(found).toContain(`partnerDirectory[1].tenantId: duplicate tenant ID ${partnerTenant}`);
  });

  it('R-I1 R-I8 containers and BYOL VMs are open to every partner; a published opted-in offer has sales materials and a channel contact', () => {
    const found = edited((f) => {
      f.offers[5].audience = { option: 'none', published: true };
      f.offers[6].audience = { option: 'specific', published: true, partners: [] };
      f.offers[0].plans[0].byol = true;
      delete f.offers[1].salesMaterialsUrl;
      delete f.offers[1].channelContact;
    });
    expect(found).toContain('offers[5].audience.option: a container offer is open to every CSP partner: expected any, or no audience');
    expect(found).toContain('offers[6].audience.option: a virtual machine offer whose plans are all bring-your-own-license is open to every CSP partner: expected any, or no audience');
    expect(found).toContain('offers[0].plans[0].byol: only virtual machine plans are bring-your-own-license');
    expect(found).toContain('offers[1].salesMaterialsUrl: expected salesMaterialsUrl for an offer published to CSP partners (option specific)');
    expect(found).toContain('offers[1].channelContact: expected channelContact for an offer published to CSP partners (option specific)');
    // A draft (not published) or option none needs neither.
    expect(edited((f) => {
      delete f.offers[4].salesMaterialsUrl;
      delete f.offers[4].channelContact;
    })).toEqual([]);
  });

  it('R-A2 a publisher\'s staff are owner, manager or developer; a partner\'s the four partner roles; never a mix', () => {
    expect(edited((f) => {
      f.staff[1].role = 'admin-agent';
    })).toEqual(['staff[1].role: admin-agent is a partner\'s role: a publisher organization\'s staff are owner, manager, developer']);
    const partner = structuredClone(partnerOrganization) as Record<string, any>;
    partner.staff[2].role = 'developer';
    expect(problems(partner)).toEqual([
      'staff[2].role: developer is a publisher\'s role: a partner organization\'s staff are global-admin, admin-agent, sales-agent, helpdesk-agent; a publisher\'s file says "kind": "publisher"',
    ]);
    expect(problems({ ...partnerOrganization, offers: [{ ...publisherOrganization.offers[0]! }] })).toEqual([
      'offers[0].audience: only a publisher organization\'s file ("kind": "publisher") sets an offer\'s CSP audience',
    ]);
    expect(problems({ ...partnerOrganization, organization: { ...partnerOrganization.organization, cspTenantId: 'c5c5' } })).toEqual([
      'organization.cspTenantId: expected a CSP tenant ID, a GUID such as 0a0a0a0a-0000-4000-8000-00000000000a',
    ]);
  });

  it('R-I3 an offer another publisher organization manages is refused as a conflict, and nothing is imported', async () => {
    const before = await snapshot(bot.db);
    const audiences = await bot.db.select().from(offerAudiences).orderBy(asc(offerAudiences.offerId));
    const rival = {
      organization: { name: 'Rival ISV', kind: 'publisher', slackTeamId: 'T0RIVAL001' },
      staff: [{ name: 'Rival Owner', email: 'owner@rival.example', role: 'owner' }],
      offers: [{ ...publisherOrganization.offers[3]!, name: 'Rival Vault', audience: { option: 'any', published: true }, ...forPartners }],
    } satisfies ImportFileInput;
    const error = await importOrganization(bot.db, parseImportFile(rival)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportError);
    expect((error as ImportError).kind).toBe('conflict');
    expect((error as ImportError).problems).toEqual(['offers[0].id: offer isv-none is managed by the publisher organization 누리소프트 주식회사']);
    // A partner's catalog file cannot overwrite it either.
    const partnerCopy = { ...partnerOrganization, offers: [{ ...publisherOrganization.offers[3]!, audience: undefined }] };
    expect(((await importOrganization(bot.db, parseImportFile(partnerCopy)).catch((e: unknown) => e)) as ImportError).kind).toBe('conflict');
    expect(await snapshot(bot.db)).toEqual(before);
    expect(await bot.db.select().from(offerAudiences).orderBy(asc(offerAudiences.offerId))).toEqual(audiences);
    const [vault] = await bot.db.select().from(offers).where(and(eq(offers.id, 'isv-none')));
    expect(vault!.name).toBe('누리 Vault None');
  });
});

describe('the demo data: a partner and a publisher with every audience option', () => {
  it('R-M2 R-I4 R-I1 the demo partner sees the publisher\'s "any" offer, the "specific" one it is on and the container, not the others', async () => {
    const database = await openTestDatabase();
    try {
      expect(await seedDemoIfEmpty(database.db)).toBe(true);
      const as = ['--as', 'helpdesk@fabrikam.example'];
      const catalog = (await runCli(database.db, ['marketplace', 'nuri', ...as])).output;
      expect(catalog).toContain('Marketplace: 3 offers');
      // The demo's Taiwanese and Korean staff read their own language.
      expect((await runCli(database.db, ['marketplace', 'nuri', '--as', 'yijun.chen@fabrikam.example'])).output).toContain('商業市集：3 個供應項目');
      for (const id of ['nuri-sign', 'nuri-hr', 'nuri-edge-gateway']) expect(catalog).toContain(`(${id})`);
      for (const id of ['nuri-vault', 'nuri-ledger', 'nuri-ai-studio']) expect(catalog).not.toContain(`(${id})`);
      expect((await runCli(database.db, ['marketplace', ...as])).output).toContain('Marketplace: 8 offers');
      const usCustomer = await runCli(database.db, ['buy', 'nuri-hr', 'standard', 'for', 'contoso.com', 'seats', '3', '--as', 'minjun.kim@fabrikam.example']);
      expect(usCustomer.output).toContain(translator('ko-KR')('buy.region', { offer: '누리 HR 클라우드', id: 'nuri-hr', regions: 'KR, TW', customer: 'Contoso Ltd', country: 'US', prefix: 'npm run csp -- ' }));
      const [publisherOrg] = await database.db.select().from(organizations).where(eq(organizations.kind, 'publisher'));
      expect((await database.db.select({ role: staff.role }).from(staff).where(eq(staff.orgId, publisherOrg!.id))).map((r) => r.role).sort()).toEqual(['developer', 'manager', 'owner']);
      const directory = await database.db.select().from(partnerDirectory);
      expect(directory.length).toBeGreaterThanOrEqual(50);
      for (const country of ['KR', 'TW', 'JP', 'US']) expect(directory.filter((p) => p.country === country).length).toBeGreaterThan(2);
      expect(directory.every((p) => p.competencies.length > 0 && p.skills.length > 0)).toBe(true);
      const audiences = await database.db.select().from(offerAudiences);
      expect(new Set(audiences.map((a) => a.draftOption))).toEqual(new Set(['any', 'specific', 'none']));
      expect(audiences.some((a) => a.publishedOption === null)).toBe(true);
      // The terminal's intake commands still mean the only partner organization.
      expect((await runCli(database.db, ['api-token', 'list'])).output).toContain('Fabrikam Cloud Partners (demo) has no API tokens');
    } finally {
      await database.close();
    }
  });
});
