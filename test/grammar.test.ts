import { describe, expect, it } from 'vitest';
import { commandText, parseCommand } from '../src/commands/grammar.js';

describe('one grammar', () => {
  it.each([
    'help',
    'customers',
    'customers 서울상사 page 2',
    'customer 台灣雲端科技',
    'allow-reservations Contoso Ltd',
    'disallow-reservations contoso.com',
    'allow-savings-plans Contoso Ltd',
    'disallow-savings-plans contoso.com',
    'activity',
    'activity 한빛소프트 since 2026-01-31 page 3',
    'owner-assigned Café Lumière a1a1a1a1-0000-4000-8000-000000000001',
    'channel activity here',
    'notify here purchases 한빛소프트, 台灣雲端科技',
    'notify here purchases,requests',
    'notify off permissions contoso.com',
    'notify off',
    'notify list',
    'notify failures',
    'notify failures retry',
    'reservations 한빛소프트 page 2',
    'reservations page 3',
    'orders 台灣雲端科技 page 2',
    'subscriptions 高雄精密工業 page 4',
    'requests all 한빛소프트 page 2',
    'requests pending page 12',
    'marketplace 분석 type:saas page 2',
    'partners 台北 country:TW skill:資安 page 3',
    'audience 누리 전자서명 page 2',
    'audience hb-specific add 서울 클라우드, 台北雲端夥伴 in KR,TW',
    'price-list',
    'price-list 한빛 ERP type:saas category:재무 publisher:partner',
  ])('"%s" parses and writes back to the same command', (text) => {
    const command = parseCommand(text);
    expect(commandText(command)).toBe(text);
    expect(parseCommand(commandText(command))).toEqual(command);
  });

  it('R-N1 notify takes kinds as leading words or a comma list, all for every kind, and customers separated by commas', () => {
    expect(parseCommand('notify here purchases requests Contoso Ltd, 서울 상사')).toEqual({ name: 'notify-here', kinds: ['purchases', 'requests'], customers: ['Contoso Ltd', '서울 상사'] });
    expect(parseCommand('NOTIFY here all')).toEqual({ name: 'notify-here', kinds: ['purchases', 'permissions', 'requests', 'subscriptions', 'invoices'], customers: [] });
  });

  it('R-N1 invoices are heard for all customers: "all" with customers leaves them out, naming them with customers is refused', () => {
    expect(parseCommand('notify here all 한빛소프트')).toEqual({ name: 'notify-here', kinds: ['purchases', 'permissions', 'requests', 'subscriptions'], customers: ['한빛소프트'] });
    expect(() => parseCommand('notify here invoices 台灣雲端科技')).toThrow(expect.objectContaining({ code: 'notify.invoicesForAll' }));
  });

  it('R-M3 price-list takes the catalog filters anywhere among its words', () => {
    expect(parseCommand('price-list publisher:Microsoft 台灣 TYPE:vm')).toEqual({ name: 'price-list', filter: { words: '台灣', type: 'vm', publisher: 'microsoft' } });
    expect(() => parseCommand('price-list type:phone')).toThrow(expect.objectContaining({ code: 'marketplace.badType' }));
  });

  it('every list takes a trailing page N; the forms without one are page 1, and a change to an audience takes no page', () => {
    expect(parseCommand('reservations')).toEqual({ name: 'reservations', page: 1 });
    expect(parseCommand('orders contoso')).toEqual({ name: 'orders', customer: 'contoso', page: 1 });
    expect(parseCommand('requests')).toEqual({ name: 'requests', pendingOnly: true, page: 1 });
    expect(parseCommand('audience 누리 page 2')).toEqual({ name: 'audience', offer: '누리', page: 2 });
    expect(() => parseCommand('subscriptions 台灣 page 0')).toThrow(expect.objectContaining({ code: 'error.badPage' }));
    expect(() => parseCommand('audience 누리 sync page 2')).toThrow(expect.objectContaining({ code: 'audience.usage' }));
  });

  it('accepts full-width and upper-case command names, and extra spaces', () => {
    expect(parseCommand('  ＡＬＬＯＷ-RESERVATIONS   contoso ')).toEqual({ name: 'allow-reservations', customer: 'contoso' });
    expect(parseCommand('')).toEqual({ name: 'help' });
  });
});
