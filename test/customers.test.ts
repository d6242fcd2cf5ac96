import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { normalizeKey } from '../src/core/text.js';
import { teamId, tenants, users } from './helpers/fixture.js';
import { buttons, replyText, startTestBot, type TestBot } from './helpers/slack.js';

let bot: TestBot;
beforeAll(async () => {
  bot = await startTestBot();
});
afterAll(() => bot?.close());

async function title(text: string) {
  const { reply } = await bot.command(users.salesAgent, text);
  return reply?.blocks?.find((b) => b.type === 'header')?.text?.text ?? replyText(reply);
}

describe('customer resolution', () => {
  it('normalises width, case and accents, keeps Hangul intact and folds Han to its Traditional form', () => {
    expect(normalizeKey('  ＣＯＮＴＯＳＯ   Ｌｔｄ ')).toBe('contoso ltd');
    expect(normalizeKey('CAFÉ Lumière')).toBe('cafe lumiere');
    expect(normalizeKey('한빛소프트')).toBe('한빛소프트');
    expect(normalizeKey('台灣雲端')).toBe('臺灣雲端');
  });

  it('finds a customer by exact tenant ID or domain before names', async () => {
    expect(await title(`customer ${tenants.contoso.toUpperCase()}`)).toBe('Contoso Ltd');
    expect(await title('customer CONTOSOPHARMA.COM')).toBe('Contoso Pharmaceuticals');
  });

  it('matches names case-, width- and accent-insensitively, in Hangul and Han', async () => {
    expect(await title('customer ＣＯＮＴＯＳＯ ｌｔｄ')).toBe('Contoso Ltd');
    expect(await title('customer cafe lumiere')).toBe('Café Lumière');
    expect(await title('customer 한빛')).toBe('한빛소프트 주식회사');
    expect(await title('customer 雲端科技')).toBe('台灣雲端科技股份有限公司');
  });

  it('an exact name wins over names that merely contain it', async () => {
    await importOrganization(bot.db, parseImportFile({
      organization: { name: '한빛 클라우드 파트너스', slackTeamId: teamId },
      customers: [{ name: 'Contoso', domain: 'contoso-root.example', tenantId: 'cccccccc-cccc-4ccc-8ccc-cccccccccccc', billingCountry: 'US' }],
    }));
    expect(await title('customer contoso')).toBe('Contoso');
  });
});

describe('customers, customer and activity commands', () => {
  it('customers lists by name, searches name, domain or tenant ID, and pages', async () => {
    const all = await bot.command(users.helpdeskAgent, 'customers');
    expect(replyText(all.reply)).toContain('Page 1 of 1 (8 customers).');
    expect(replyText(all.reply)).toContain('한빛소프트 주식회사 — hanbitsoft.example — tenant 55555555-5555-4555-8555-555555555555 — KR');
    expect(replyText((await bot.command(users.helpdeskAgent, 'customers pharma.com')).reply)).toContain('Contoso Pharmaceuticals');
    expect(replyText((await bot.command(users.helpdeskAgent, 'customers 88888888')).reply)).toContain('台灣雲端科技股份有限公司');
    expect(replyText((await bot.command(users.helpdeskAgent, 'customers nobody')).reply)).toContain('No customer matches "nobody".');

    await importOrganization(bot.db, parseImportFile({
      organization: { name: '한빛 클라우드 파트너스', slackTeamId: teamId },
      customers: Array.from({ length: 12 }, (_, i) => ({
        name: `서울상사 ${String(i + 1).padStart(2, '0')}`,
        domain: `seoul${i + 1}.example`,
        tenantId: `dddddddd-dddd-4ddd-8ddd-${String(i + 1).padStart(12, '0')}`,
        billingCountry: 'KR',
      })),
    }));
    const first = await bot.command(users.helpdeskAgent, 'customers 서울상사');
    expect(replyText(first.reply)).toContain('Page 1 of 2 (12 customers).');
    expect(replyText(first.reply)).toContain('서울상사 10');
    const next = buttons(first.reply).find((b) => b.text.text === 'Next page')!;
    const second = await bot.click(users.helpdeskAgent, next);
    expect(replyText(second.reply)).toContain('Page 2 of 2 (12 customers).');
    expect(replyText(second.reply)).toContain('서울상사 12');
    expect(replyText(second.reply)).not.toContain('서울상사 01');
    expect(buttons(second.reply)).toHaveLength(0);
  });

  it('customer shows permission state, subscriptions with Owner known or not, and recent activity', async () => {
    const { reply } = await bot.command(users.salesAgent, 'customer 한빛');
    const text = replyText(reply);
    expect(text).toContain('*Customer may buy Azure reservations*\nNo');
    expect(text).toContain('한빛 운영 (Azure plan, b2b2b2b2-0000-4000-8000-000000000005) — active — Owner not known');
    expect(text).toContain('No activity yet.');
    const kaohsiung = replyText((await bot.command(users.salesAgent, 'customer 高雄精密')).reply);
    expect(kaohsiung).toContain('CRM 雲端版 (Marketplace SaaS, saas-kp-crm) — active — Owner not applicable');
  });

  it('activity filters by customer and date, newest first', async () => {
    const { reply } = await bot.command(users.globalAdmin, 'allow-reservations Café Lumière');
    await bot.click(users.globalAdmin, buttons(reply).find((b) => b.text.text === 'Turn on')!);
    const today = new Date().toISOString().slice(0, 10);
    const since = await bot.command(users.salesAgent, `activity since ${today}`);
    expect(replyText(since.reply)).toContain(`Activity since ${today}`);
    expect(replyText(since.reply)).toContain('박지훈 — Create customer purchase permission — Café Lumière');
    const future = await bot.command(users.salesAgent, 'activity cafe lumiere since 2999-01-01');
    expect(replyText(future.reply)).toContain('No activity found.');
    const view = replyText((await bot.command(users.salesAgent, 'customer Café Lumière')).reply);
    expect(view).toMatch(/Yes — since \d{4}-\d\d-\d\d \d\d:\d\d UTC, by 박지훈/);
    expect(view).toContain('박지훈 — Create customer purchase permission');
  });
});
