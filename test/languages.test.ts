import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { activityLog, organizations, slackUserLocales, staff } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { fieldChangesText, formatMoney, formatTimestamp, translator } from '../src/i18n/index.js';
import { openTestDatabase } from './helpers/database.js';
import { aadUsers, testOrganization, users } from './helpers/fixture.js';
import { customerOwn, everyone, organizationIn } from './helpers/languages.js';
import { platforms, usePlatform } from './helpers/platforms.js';
import { replyText, startTestBot } from './helpers/slack.js';
import { cardText, startTeamsTestBot } from './helpers/teams.js';
import { testOrgId, unchanged } from './helpers/tables.js';
import { waitFor } from './helpers/wait.js';

describe.each(platforms)('$name: which language', ({ name, start }) => {
  // The organization speaks Chinese; the admin agent's client Korean; the sales agent's a language csp-ops does not speak.
  const p = usePlatform(() => start([organizationIn('zh-TW')], undefined, { globalAdmin: 'zh-TW', adminAgent: 'ko-KR', salesAgent: 'ja-JP', contact: 'en-US' }));
  const [en, ko, zh] = [translator('en'), translator('ko-KR'), translator('zh-TW')];

  it('a person\'s own choice, then their platform\'s language, then the organization\'s', async () => {
    expect((await p.command('adminAgent', 'customers 한빛')).text).toContain(ko('customers.titleSearch', { text: '한빛' }));
    expect((await p.command('salesAgent', 'customers 한빛')).text).toContain(zh('customers.titleSearch', { text: '한빛' }));
    expect((await p.command('adminAgent', 'language')).text).toContain(ko('language.current', { language: ko('language.name.ko-KR'), source: ko('language.source.platform') }));

    const chose = await p.command('adminAgent', 'language en');
    expect(chose.text).toContain(en('language.set', { language: en('language.name.en') }));
    expect((await p.command('adminAgent', 'customers 한빛')).text).toContain(en('customers.titleSearch', { text: '한빛' }));
    const prefix = name === 'Slack' ? '/csp ' : '@csp-ops ';
    expect((await p.command('adminAgent', 'language')).text).toContain(en('language.current', { language: en('language.name.en'), source: en('language.source.user', { prefix }) }));
    const [row] = await p.db.select({ language: staff.language }).from(staff).where(eq(staff.name, '王小明'));
    expect(row!.language).toBe('en');

    expect((await p.command('adminAgent', 'language auto')).text).toContain(ko('language.auto', { language: ko('language.name.ko-KR') }));
    expect((await p.command('adminAgent', 'customers 한빛')).text).toContain(ko('customers.titleSearch', { text: '한빛' }));
    // A customer contact chooses too.
    expect((await p.command('contact', 'language zh-TW')).text).toContain(zh('language.set', { language: zh('language.name.zh-TW') }));
  });

  it('a language csp-ops does not speak is refused with the choices, and nothing changes', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'language fr'));
    expect(reply.text).toContain(ko('language.usage', { value: 'fr', prefix: name === 'Slack' ? '/csp ' : '@csp-ops ' }));
  });

  it('a channel\'s language is for what is posted there; a click is answered in the clicker\'s language', async () => {
    const refused = await unchanged(p.db, () => p.command('salesAgent', 'channel language ko-KR'));
    expect(refused.text).toContain(zh('error.roleNeeded', { role: zh('role.sales-agent'), what: zh('what.channelLanguage') }));
    expect((await unchanged(p.db, () => p.command('globalAdmin', 'channel language klingon'))).text).toContain(zh('channel.languageUsage', { value: 'klingon', prefix: name === 'Slack' ? '/csp ' : '@csp-ops ' }));

    await p.command('globalAdmin', 'channel activity here');
    await p.command('globalAdmin', 'channel approvals here');
    expect((await p.command('globalAdmin', 'channel language en')).text).toContain(zh('channel.languageSet', { language: zh('language.name.en') }));
    await p.command('adminAgent', 'language ko-KR');

    // An approval card in the channel's English; the Korean admin's click answered in Korean.
    await p.command('contact', `request cancel ${customerOwn}`);
    const card = await p.posted(en('request.cardTitle', { change: en('request.change.cancel', { reservation: customerOwn }) }));
    const approved = await p.click('adminAgent', card, en('request.approve'));
    expect(approved.text).toContain(`${ko('request.customer')}: Contoso Ltd`);
    // The announcement of the decision goes to the channel in English.
    await p.posted(en('request.approved', { name: '王小明', date: '' }).split(' at ')[0]!);
    expect(approved.text).not.toMatch(/\bApproved\b/);

    expect((await p.command('globalAdmin', 'channel language organization')).text).toContain(zh('channel.languageCleared', { language: zh('language.name.zh-TW') }));
    const reply = await p.command('adminAgent', 'allow-reservations 台灣雲端科技');
    await p.click('adminAgent', reply, ko('allow.turnOn'));
    await p.posted(zh('allow.announce', { actor: '王小明', customer: '台灣雲端科技股份有限公司' }));
  });
});

describe('Slack: the user\'s Slack language is asked once a day', () => {
  it('one users.info per user per day; a stale one answers at once and is read again; a chosen language asks nothing', async () => {
    const bot = await startTestBot({ fakeSlack: { locales: { [users.adminAgent]: 'ko-KR' } } });
    try {
      const lookups = (user: string) => bot.slack.calls.filter((c) => c.method === 'users.info' && c.body.user === user);
      for (let i = 0; i < 3; i++) expect(replyText((await bot.command(users.adminAgent, 'customers 한빛')).reply)).toContain('고객');
      expect(lookups(users.adminAgent)).toHaveLength(1);
      expect(lookups(users.adminAgent)[0]!.body.include_locale).toBeTruthy();

      // A day later: the cached language answers, and Slack is asked again once.
      await bot.db.update(slackUserLocales).set({ fetchedAt: new Date(Date.now() - 25 * 3600_000) }).where(eq(slackUserLocales.userId, users.adminAgent));
      bot.slack.setLocale(users.adminAgent, 'zh-TW');
      expect(replyText((await bot.command(users.adminAgent, 'customers 한빛')).reply)).toContain(translator('ko-KR')('customers.titleSearch', { text: '한빛' }));
      await waitFor('the second lookup', () => lookups(users.adminAgent).length === 2);
      const refreshed = await waitFor('the refreshed locale', async () => {
        const [row] = await bot.db.select().from(slackUserLocales).where(eq(slackUserLocales.userId, users.adminAgent));
        return row?.locale === 'zh-TW' && row;
      });
      expect(refreshed.fetchedAt.getTime()).toBeGreaterThan(Date.now() - 60_000);
      expect(replyText((await bot.command(users.adminAgent, 'customers 한빛')).reply)).toContain(translator('zh-TW')('customers.titleSearch', { text: '한빛' }));
      expect(lookups(users.adminAgent)).toHaveLength(2);

      // Someone who chose a language is never looked up.
      await bot.db.update(staff).set({ language: 'en' }).where(eq(staff.name, '최수아'));
      await bot.command(users.helpdeskAgent, 'customers');
      expect(lookups(users.helpdeskAgent)).toHaveLength(0);
    } finally {
      await bot.close();
    }
  });
});

describe('Teams: activity.locale', () => {
  it('the same user is answered in the language each message carries', async () => {
    const bot = await startTeamsTestBot();
    try {
      const title = async (locale: string) => cardText((await bot.message(aadUsers.adminAgent, 'customers 한빛', { locale })).card);
      expect((await title('ko-KR'))).toContain(translator('ko-KR')('customers.titleSearch', { text: '한빛' }));
      expect((await title('zh-TW'))).toContain(translator('zh-TW')('customers.titleSearch', { text: '한빛' }));
      expect((await title('fr-FR'))).toContain(translator('en')('customers.titleSearch', { text: '한빛' }));
    } finally {
      await bot.close();
    }
  });
});

describe('organization settings and time zone', () => {
  const offer = {
    id: 'seoul-analytics', name: '서울 분석', publisher: { name: '서울소프트', supportContact: 'support@seoulsoft.example' }, type: 'saas', countries: ['US'],
    plans: [{ id: 'pro', name: 'Pro', prices: [{ term: 'monthly', market: 'US', currency: 'USD', price: 10 }] }],
  };
  const p = usePlatform(() => platforms[0].start([{ ...testOrganization, offers: [offer] }], undefined, everyone('en-US')));
  const en = translator('en');

  it('only a global admin changes them; a wrong value is refused and changes nothing; the change is logged', async () => {
    const refused = await unchanged(p.db, () => p.command('adminAgent', 'settings time-zone Asia/Seoul'));
    expect(refused.text).toContain(en('error.globalAdminNeeded', { role: en('role.admin-agent'), what: en('what.settings') }));
    expect((await unchanged(p.db, () => p.command('globalAdmin', 'settings time-zone Mars/Olympus'))).text).toContain(en('settings.badTimeZone', { value: 'Mars/Olympus' }));
    expect((await unchanged(p.db, () => p.command('globalAdmin', 'settings locale fr'))).text).toContain(en('settings.badLocale', { value: 'fr' }));
    expect((await unchanged(p.db, () => p.command('globalAdmin', 'settings colour blue'))).text).toContain(en('settings.usage', { prefix: '/csp ' }));

    const shown = await p.command('salesAgent', 'settings');
    expect(shown.text).toContain(en('settings.title', { org: '한빛 클라우드 파트너스' }));
    expect(shown.text).toMatch(/UTC \(now \d{4}-\d\d-\d\d \d\d:\d\d UTC\)/);

    const changed = await p.command('globalAdmin', 'settings time-zone asia/seoul');
    expect(changed.text).toMatch(/^Times are now shown in Asia\/Seoul: \d{4}-\d\d-\d\d \d\d:\d\d KST now\./);
    expect((await p.command('globalAdmin', 'settings time-zone Asia/Seoul')).text).toContain(en('settings.unchanged'));
    const [org] = await p.db.select({ timeZone: organizations.timeZone, locale: organizations.locale }).from(organizations).where(eq(organizations.id, await testOrgId(p.db)));
    expect(org).toEqual({ timeZone: 'Asia/Seoul', locale: 'en' });
    const logged = await p.db.select({ actor: activityLog.actorName, details: activityLog.details }).from(activityLog).where(and(eq(activityLog.orgId, await testOrgId(p.db)), eq(activityLog.action, 'settings_changed')));
    expect(logged).toEqual([{ actor: '박지훈', details: { setting: 'time-zone', value: 'Asia/Seoul' } }]);
  });

  it('R-M10 a cancellation window is the same moment in any zone: only how it is written changes', async () => {
    // The organization is now in Asia/Seoul; the same purchase is quoted in UTC after switching back.
    const closes = async () => {
      const text = (await p.command('adminAgent', 'buy seoul-analytics pro for contoso.com seats 2')).text;
      expect(text).toContain(en('buy.title', { offer: '서울 분석', customer: 'Contoso Ltd' }));
      const [, day, zone] = /\((?:until )?(\d{4}-\d\d-\d\d \d\d:\d\d) (\w+)/.exec(text) ?? [];
      return { at: new Date(`${day!.replace(' ', 'T')}:00${zone === 'KST' ? '+09:00' : 'Z'}`), zone };
    };
    const seoul = await closes();
    await p.command('globalAdmin', 'settings time-zone UTC');
    const utc = await closes();
    expect([seoul.zone, utc.zone]).toEqual(['KST', 'UTC']);
    // The same instant, to the minute the two quotes were apart; only its writing moved by nine hours.
    expect(Math.abs(seoul.at.getTime() - utc.at.getTime())).toBeLessThanOrEqual(60_000);
  });
});

describe('dates, times and money as each reader writes them', () => {
  it('Seoul and Taipei across a day boundary; New York across its daylight-saving change', () => {
    const lateUtc = new Date('2026-12-16T15:30:00Z');
    expect(formatTimestamp(translator('ko-KR', 'Asia/Seoul'), lateUtc)).toBe('2026년 12월 17일 00:30 (KST)');
    expect(formatTimestamp(translator('zh-TW', 'Asia/Taipei'), lateUtc)).toBe('2026/12/16 下午 11:30 (GMT+8)');
    expect(formatTimestamp(translator('zh-TW', 'Asia/Taipei'), new Date('2026-12-16T16:10:00Z'))).toBe('2026/12/17 上午 12:10 (GMT+8)');
    expect(formatTimestamp(translator('en'), lateUtc)).toBe('2026-12-16 15:30 UTC');
    const newYork = translator('en', 'America/New_York');
    expect(formatTimestamp(newYork, new Date('2026-03-08T06:30:00Z'))).toBe('2026-03-08 01:30 EST');
    expect(formatTimestamp(newYork, new Date('2026-03-08T07:30:00Z'))).toBe('2026-03-08 03:30 EDT');
  });

  it('money in the reader\'s format; won and New Taiwan dollars without decimals', () => {
    expect(formatMoney(translator('ko-KR'), 1_234_567, 'KRW')).toBe('₩1,234,567');
    expect(formatMoney(translator('en'), 1000, 'TWD')).toBe('NT$1,000');
    expect(formatMoney(translator('zh-TW'), 1000, 'TWD')).toBe('$1,000');
    expect(formatMoney(translator('zh-TW'), 3120.5, 'USD')).toBe('US$3,120.50');
    expect(formatMoney(translator('en'), 3120.5, 'USD')).toBe('$3,120.50');
  });

  it('what Partner Center changed in a subscription, field by field, in the reader\'s words', () => {
    const changes = { fieldChanges: [{ field: 'seats' as const, from: '15', to: '20' }, { field: 'status' as const, from: 'cancelled', to: 'active' }, { field: 'auto-renew' as const, from: 'on', to: 'off' }] };
    expect(translator('en')('action.partner_center_subscription_changed', { subscription: 'a1', changes })).toBe('Subscription a1 changed in Partner Center: seats 15 → 20, status cancelled → active, auto-renew on → off');
    expect(translator('ko-KR')('partnerCenter.editConflictNoFields', { subscription: 'a1' })).not.toContain('{');
    expect(fieldChangesText(translator('ko-KR'), changes.fieldChanges)).toBe('라이선스 수 15 → 20, 상태 취소됨 → 활성, 자동 갱신 켜짐 → 꺼짐');
    expect(fieldChangesText(translator('zh-TW'), changes.fieldChanges)).toBe('授權數 15 → 20、狀態 已取消 → 使用中、自動續約 開啟 → 關閉');
  });

  it('plurals come from the catalog, not from concatenation', () => {
    const en = translator('en');
    expect(en('customers.page', { page: 1, pages: 1, total: 1 })).toBe('Page 1 of 1 (1 customer).');
    expect(en('customers.page', { page: 1, pages: 3, total: 1234 })).toBe('Page 1 of 3 (1,234 customers).');
  });
});

describe('import file: the organization\'s language and time zone, and each person\'s', () => {
  it('are stored; a wrong one is refused, naming the field, and nothing is imported', async () => {
    const database = await openTestDatabase();
    try {
      const dir = await mkdtemp(join(tmpdir(), 'csp-import-'));
      const write = async (name: string, body: unknown) => {
        const file = join(dir, name);
        await writeFile(file, JSON.stringify(body));
        return file;
      };
      const good = { ...organizationIn('ko-KR', 'Asia/Seoul'), staff: [{ ...testOrganization.staff[0]!, locale: 'zh-TW' }] };
      expect((await runCli(database.db, ['import', await write('good.json', good)])).exitCode).toBe(0);
      const [org] = await database.db.select({ locale: organizations.locale, timeZone: organizations.timeZone }).from(organizations);
      expect(org).toEqual({ locale: 'ko-KR', timeZone: 'Asia/Seoul' });
      const [member] = await database.db.select({ language: staff.language }).from(staff).where(eq(staff.email, testOrganization.staff[0]!.email));
      expect(member!.language).toBe('zh-TW');

      const bad = { ...good, organization: { ...good.organization, name: 'Another', slackTeamId: 'T0ANOTHER1', teamsTenantId: undefined, locale: 'fr-FR', timeZone: 'Asia/Nowhere' } };
      const refused = await unchanged(database.db, async () => runCli(database.db, ['import', await write('bad.json', bad)]));
      expect(refused.exitCode).toBe(1);
      expect(refused.output).toContain('organization.locale: expected a language csp-ops speaks: en, ko-KR or zh-TW');
      expect(refused.output).toContain('organization.timeZone: expected an IANA time zone such as Asia/Seoul, Asia/Taipei or UTC');
    } finally {
      await database.close();
    }
  });
});
