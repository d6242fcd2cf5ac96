import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createApiToken } from '../src/core/api-tokens.js';
import { formatMoney, translator, type Locale } from '../src/i18n/index.js';
import { customerOwn, everyone, organizationIn, sentence } from './helpers/languages.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { testOrgId, unchanged } from './helpers/tables.js';

// Words a sentence left in English would hold; names (data) and documentation addresses never do.
const englishWords = /\b(the|is|are|was|were|and|nothing|changed|this|that|with|from|your|you|has|have|not|can|will|been|which|there|when|only|must|again)\b/i;
/** The reply reads as written in that language: Korean has Hangul, Chinese Han, and neither keeps an English sentence. */
function expectWrittenIn(locale: Locale, text: string) {
  if (locale === 'en') return;
  expect(text.replace(/https:\/\/\S+/g, '')).not.toMatch(englishWords);
  expect(text).toMatch(locale === 'ko-KR' ? /[\uac00-\ud7a3]/ : /[\u4e00-\u9fff]/);
}

const purchase = (customer: string, price: number) => ({
  id: `PO-${randomUUID()}`,
  customer,
  kind: 'reservation',
  reservation: { product: 'Virtual Machines D4s v5', region: 'koreacentral', quantity: 2, term: 'P1Y', scope: 'shared', price, currency: 'KRW' },
  buyer: { name: '김지수', email: 'jisu.kim@hanbitsoft.example' },
  purchasedAt: '2026-11-20T01:02:03Z',
});

// The shared scenario table, in each language: everyone's client and the organization speak it.
describe.each(platforms.flatMap((platform) => (['en', 'ko-KR', 'zh-TW'] as const).map((locale) => ({ ...platform, locale }))))('$name in $locale', ({ start, locale }) => {
  const p: PlatformDriver = usePlatform(() => start([organizationIn(locale)], undefined, everyone(locale)));
  const t = translator(locale);
  const expectSays = (text: string, sentence: string) => {
    expect(text).toContain(sentence);
    expectWrittenIn(locale, text);
  };

  it('R-P6 R-P3 allow-reservations: the confirmation, Turn on, and the announcement in the channel', async () => {
    await p.command('globalAdmin', 'channel activity here');
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-reservations 台灣雲端科技'));
    expectSays(reply.text, t('allow.title', { customer: '台灣雲端科技股份有限公司' }));
    expect(reply.text).toContain(t('allow.responsibility', { customer: '台灣雲端科技股份有限公司' }));
    expect(reply.buttons.map((b) => [b.label, b.style])).toEqual([[t('allow.turnOn'), 'primary'], [t('common.cancel'), undefined]]);
    const done = await p.click('adminAgent', reply, t('allow.turnOn'));
    expectSays(done.text, t('allow.done', { customer: '台灣雲端科技股份有限公司' }));
    const announced = await p.posted(t('allow.announce', { actor: '王小明', customer: '台灣雲端科技股份有限公司' }));
    expectWrittenIn(locale, announced.text);
    // The activity log names the action as Partner Center does in that language.
    expect((await p.command('helpdeskAgent', 'activity 台灣雲端科技')).text).toContain(t('action.create_customer_purchase_permission'));
  });

  it('R-A3 refusals name the role in the reader\'s language and change nothing', async () => {
    const refused = await unchanged(p.db, () => p.command('salesAgent', 'allow-reservations contoso.com'));
    expectSays(refused.text, t('error.roleNeeded', { role: t('role.sales-agent'), what: t('what.togglePermission') }));
    const missing = await unchanged(p.db, () => p.command('adminAgent', 'allow-reservations Contosso'));
    expectSays(missing.text, t('error.noMatchClosest', { text: 'Contosso', names: 'Contoso Ltd, Contoso Pharmaceuticals' }));
  });

  it('R-Q1 R-Q5 the approval card and its decision', async () => {
    await p.command('globalAdmin', 'channel approvals here');
    const asked = await p.command('contact', `request cancel ${customerOwn}`);
    expectWrittenIn(locale, asked.text);
    const change = t('request.change.cancel', { reservation: customerOwn });
    const card = await p.posted(t('request.cardTitle', { change }));
    expectWrittenIn(locale, card.text);
    expect(card.buttons.map((b) => b.label)).toEqual([t('request.approve'), t('request.reject')]);
    const approved = await p.click('adminAgent', card, t('request.approve'));
    // Without the connector the change is recorded here and made in the Azure portal (issue 15).
    expect(approved.text).toMatch(sentence(t, 'request.approvedPortal', { name: '王小明' }, ['date']));
    expectWrittenIn(locale, approved.text);
  });

  it('R-N2 R-N3 a purchase announcement, and a digest when many arrive at once', async () => {
    const token = (await createApiToken(p.db, await testOrgId(p.db), 'intake')).token;
    await p.command('globalAdmin', 'notify here purchases');
    const send = (body: unknown) =>
      fetch(`http://127.0.0.1:${p.port}/api/v1/purchases`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await send(purchase('hanbitsoft.example', 1_234_567))).status).toBe(201);
    const announced = await p.posted(t('purchase.title', { customer: '한빛소프트 주식회사' }));
    expect(announced.text).toContain(formatMoney(t, 1_234_567, 'KRW'));
    expectWrittenIn(locale, announced.text);
    const statuses = await Promise.all(Array.from({ length: 12 }, (_, i) => send(purchase('contoso.com', 1000 + i)).then((r) => r.status)));
    expect(statuses.every((s) => s === 201)).toBe(true);
    const digest = await p.posted(t('digest.total'), 15_000);
    expect(digest.text).toMatch(sentence(t, 'digest.title', {}, ['count']));
    expectWrittenIn(locale, digest.text);
  });
});
