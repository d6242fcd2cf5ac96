import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { normalizeKey } from '../src/core/text.js';
import { translator } from '../src/i18n/index.js';
import { otherOrganization, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';
import { testOrgId, unchanged } from './helpers/tables.js';

// Customers enough that words are shared by many names, as in a large organization: Latin names of three
// words, Korean ones spaced loosely, Chinese ones unspaced. Exactly ten names contain 클라우드.
const latin = ['Northwind', 'Fabrikam', 'Tailspin', 'Wingtip', 'Litware', 'Proseware', 'Adatum', 'Relecloud'].flatMap((brand) =>
  ['Cloud', 'Data', 'Systems', 'Networks', 'Logistics'].flatMap((trade) => ['Ltd', 'GmbH', 'Inc.'].map((form) => `${brand} ${trade} ${form}`)),
);
const korean = ['새롬', '푸른', '누리', '가람', '다온'].flatMap((brand) =>
  ['소프트', '클라우드', '데이터', '시스템'].flatMap((trade) => ['주식회사', '코리아'].map((form) => `${brand}${trade} ${form}`)),
);
const chinese = ['台灣', '宏達', '遠東', '大同'].flatMap((brand) =>
  ['雲端', '科技', '資訊', '電子'].flatMap((trade) => ['', '臺北'].map((place) => `${place}${brand}${trade}股份有限公司`)),
);
const generated = [...latin, ...korean, ...chinese].map((name, i) => ({
  name,
  domain: `c${i}.example`,
  tenantId: `e2e2e2e2-0000-4000-8000-${String(i).padStart(12, '0')}`,
  billingCountry: 'KR',
  subscriptions: [],
}));

let bot: TestBot;
let orgId: string;
beforeAll(async () => {
  bot = await startTestBot({ organizations: [{ ...testOrganization, customers: [...testOrganization.customers, ...generated] }, otherOrganization] });
  orgId = await testOrgId(bot.db);
});
afterAll(() => bot?.close());

const rows = <T>(result: unknown): T[] => (result as { rows?: T[] }).rows ?? (result as T[]);

/** What the helpdesk agent is told, changing nothing. */
async function say(text: string, user: string = users.helpdeskAgent) {
  return unchanged(bot.db, () => bot.command(user, text));
}

/** The organization's names containing the key, in the database's name order. */
async function namesContaining(key: string) {
  return rows<{ name: string; domain: string }>(
    await bot.db.execute(sql`select name, domain from customers where org_id = ${orgId} and strpos(name_key, ${key}) > 0 order by name_key`),
  );
}

/** The closest names as similarity() ranks every customer of the organization, with their similarity. */
async function ranked(text: string) {
  return rows<{ name: string; similarity: number }>(
    await bot.db.execute(sql`
      select name, similarity(name_key, ${normalizeKey(text)}) as similarity from customers
      where org_id = ${orgId} and similarity(name_key, ${normalizeKey(text)}) > 0.1
      order by similarity(name_key, ${normalizeKey(text)}) desc, name_key limit 3`),
  );
}

describe('customer lookups among many customers', () => {
  it('more than ten matching names: "10+ customers match", the first ten by name offered; exactly ten: "10 customers match"', async () => {
    const { reply } = await say('customer cloud');
    const many = await namesContaining('cloud');
    expect(many.length).toBeGreaterThan(10);
    expect(replyText(reply)).toContain('10+ customers match "cloud". Choose one:');
    expect(buttons(reply).map((b) => b.text.text)).toEqual(many.slice(0, 10).map((c) => `${c.name} (${c.domain})`));

    const ten = await namesContaining('클라우드');
    expect(ten).toHaveLength(10);
    const exactly = await say('customer 클라우드');
    expect(replyText(exactly.reply)).toContain('10 customers match "클라우드". Choose one:');
    expect(buttons(exactly.reply).map((b) => b.text.text)).toEqual(ten.map((c) => `${c.name} (${c.domain})`));
  });

  it('a name typed as two characters finds the names containing them, in Hangul, Han and Latin', async () => {
    for (const text of ['새롬', '부산', '高雄', '台湾', 'lu']) {
      const found = await namesContaining(normalizeKey(text));
      expect(found.length, text).toBeGreaterThan(0);
      const { reply } = await say(`customer ${text}`);
      if (found.length === 1) expect(reply?.blocks?.find((b) => b.type === 'header')?.text?.text, text).toBe(found[0]!.name);
      else expect(buttons(reply).map((b) => b.text.text), text).toEqual(found.slice(0, 10).map((c) => `${c.name} (${c.domain})`));
    }
  });

  it('in Korean and Traditional Chinese too', async () => {
    await bot.command(users.adminAgent, 'language ko-KR');
    await bot.command(users.salesAgent, 'language zh-TW');
    const ko = translator('ko-KR');
    const zh = translator('zh-TW');
    expect(replyText((await say('customer cloud', users.adminAgent)).reply)).toContain(ko('error.ambiguous', { count: 10, more: 'yes', text: 'cloud' }));
    expect(ko('error.ambiguous', { count: 10, more: 'yes', text: 'cloud' })).toContain('10명 이상');
    expect(replyText((await say('customer cloud', users.salesAgent)).reply)).toContain(zh('error.ambiguous', { count: 10, more: 'yes', text: 'cloud' }));
    expect(zh('error.ambiguous', { count: 10, more: 'yes', text: 'cloud' })).toContain('10 位以上客戶');
    expect(replyText((await say('customer 클라우드', users.adminAgent)).reply)).toContain(ko('error.ambiguous', { count: 10, more: 'no', text: '클라우드' }));
  });

  it('a name no customer contains names the three that similarity() ranks closest, whether three are close or fewer', async () => {
    // Three names at least 0.3 similar, or fewer (then less similar ones complete the three), in each script.
    const typed = ['Northwnd Cloud Ltd', 'Fabrikm Data', 'Contosso', '새롬클라우디 주식회사', '누리소프투', '遠東雲瑞股份有限公司', '宏達資迅'];
    const counts: { close: number; offered: number }[] = [];
    for (const text of typed) {
      const closest = await ranked(text);
      expect(closest.length, text).toBeGreaterThan(0);
      counts.push({ close: closest.filter((c) => c.similarity >= 0.3).length, offered: closest.length });
      const said = replyText((await say(`customer ${text}`)).reply);
      expect(said).toContain(`No customer matches "${text}". Closest names: `);
      expect(/Closest names: (.+)\.$/m.exec(said)?.[1], text).toBe(closest.map((c) => c.name).join(', '));
    }
    expect(counts.some((c) => c.close === 3)).toBe(true);
    expect(counts.some((c) => c.close > 0 && c.close < c.offered)).toBe(true);
    // Nothing alike: no names offered.
    expect(replyText((await say('customer zzzzqqqq')).reply)).toContain('No customer matches "zzzzqqqq".');
    expect(replyText((await say('customer zzzzqqqq')).reply)).not.toContain('Closest names');
  });

  it('customers <text> pages through every match in name order, found in names, domains and tenant IDs', async () => {
    const matches = rows<{ name: string }>(
      await bot.db.execute(sql`
        select name from customers where org_id = ${orgId}
        and (strpos(name_key, 'data') > 0 or strpos(domain, 'data') > 0 or strpos(tenant_id, 'data') > 0) order by name_key`),
    );
    expect(matches.length).toBeGreaterThan(20);
    const pages = Math.ceil(matches.length / 10);
    const listed: string[] = [];
    for (let page = 1; page <= pages; page++) {
      const text = replyText((await say(`customers data page ${page}`)).reply);
      expect(text).toContain(`Page ${page} of ${pages} (${matches.length} customers).`);
      // The reply's text and its blocks both hold the rows.
      listed.push(...new Set([...text.matchAll(/^(.+?) — \S+\.example — tenant/gm)].map((m) => m[1]!)));
    }
    expect(listed).toEqual(matches.map((m) => m.name));
    expect(replyText((await say('customers c12.example')).reply)).toContain(`${generated[12]!.name} — c12.example`);
    expect(replyText((await say(`customers ${generated[7]!.tenantId.slice(-12)}`)).reply)).toContain(`${generated[7]!.name} — c7.example`);
  });
});
