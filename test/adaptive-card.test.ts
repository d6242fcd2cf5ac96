import type { IAdaptiveCard } from '@microsoft/teams.cards';
import { describe, expect, it } from 'vitest';
import type { View, ViewAction } from '../src/views/model.js';
import { translator } from '../src/i18n/index.js';
import { actionFromInvoke, renderAdaptiveCard, type AdaptiveCard, type ChoiceSetInput, type RichTextBlock, type TextRun } from '../src/views/teams.js';
import { validateAdaptiveCard } from './helpers/adaptive-card.js';

const customerId = '6f1c2a1e-8d0b-4a53-9c1e-2b7f0c9d4e11';

const confirmation: View = {
  tone: 'warning',
  title: '주식회사 한빛 (hanbit.onmicrosoft.com) 고객이 Azure 예약을 구매하도록 허용할까요?',
  facts: [
    { label: '구독', value: 'Azure 计划 (2b0e6c2d-61b4-4d8e-9f6a-1c2d3e4f5a6b)' },
    { label: '客户', value: '北京示例科技有限公司 *不是粗体* & <b>不是 HTML</b>' },
  ],
  lines: ['켜면 고객이 Azure 포털에서 직접 예약을 구매할 수 있고, 모든 구매 대금은 파트너가 지불합니다.', '客户不会收到通知。'],
  actions: [
    { id: 'allow-reservations', label: 'Turn on', value: customerId, style: 'primary' },
    { id: 'cancel', label: 'Cancel', value: customerId },
  ],
};

const names = ['Contoso', 'Contoso Ltd', 'Contoso (Japan)', 'Contoso 株式会社', 'Contoso 주식회사', 'Contoso_Labs', 'Contoso*', 'Contoso & Co', 'Contoso [EU]', 'Contoso GmbH'];
const ambiguous: View = {
  tone: 'error',
  lines: ['10+ customers match "contoso". Choose one:'],
  actions: names.map((name, i) => ({
    id: 'run',
    label: `${name} (contoso${i}.onmicrosoft.com)`,
    value: `allow-reservations 00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  })),
};

const longList: View = {
  title: 'Activity for Contoso, page 1',
  lines: Array.from({ length: 20 }, (_, i) => `• 2025-06-${String(i + 1).padStart(2, '0')} 09:${String(i).padStart(2, '0')} — Reservation permission turned on by 김민준 <minjun@contoso.com> (subscription ${i})`),
  actions: [{ id: 'run', label: 'Next page', value: 'activity contoso page 2' }],
};

const untitled: View = {
  tone: 'success',
  facts: [{ label: 'Domain', value: 'contoso.onmicrosoft.com' }, { label: 'Country', value: '' }],
  lines: ['Reservations are now allowed for Contoso.', '', '- not a list on purpose, [not a link](https://example.com)'],
};

describe('renderAdaptiveCard', () => {
  it.each<[string, View]>([
    ['a confirmation in Korean and Chinese', confirmation],
    ['an error with ten choices', ambiguous],
    ['a list of 20 lines', longList],
    ['a view with no title', untitled],
    ['an empty view', {}],
  ])('renders %s as a valid Adaptive Card 1.5', (_, view) => {
    const card = renderAdaptiveCard(view);
    validateAdaptiveCard(card);
    // The types are narrower than the Teams SDK's, and assignable to them.
    const forTheSdk: IAdaptiveCard = card;
    expect(forTheSdk.version).toBe('1.5');
  });

  it('renders a confirmation: bold colored title, a bold label per fact, one block per line, Turn on (positive) and Cancel', () => {
    const run = (text: string): TextRun => ({ type: 'TextRun', text });
    expect(renderAdaptiveCard(confirmation)).toEqual({
      type: 'AdaptiveCard',
      $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
      version: '1.5',
      body: [
        { type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: confirmation.title!, size: 'Medium', weight: 'Bolder', color: 'Warning' }] },
        ...confirmation.facts!.map((f): RichTextBlock => ({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: f.label, weight: 'Bolder' }, run(`: ${f.value}`)] })),
        { type: 'RichTextBlock', inlines: [run(confirmation.lines![0]!)] },
        { type: 'RichTextBlock', inlines: [run(confirmation.lines![1]!)] },
      ],
      actions: [
        { type: 'Action.Execute', verb: 'allow-reservations', title: 'Turn on', data: { value: customerId }, style: 'positive' },
        { type: 'Action.Execute', verb: 'cancel', title: 'Cancel', data: { value: customerId } },
      ],
    } satisfies AdaptiveCard);
  });

  it('passes user text through unescaped, in TextRuns Teams never reads as Markdown: & and < stay as they are', () => {
    const card = renderAdaptiveCard(confirmation);
    expect(card.body[2]).toMatchObject({ inlines: [{}, { text: ': 北京示例科技有限公司 *不是粗体* & <b>不是 HTML</b>' }] });
    expect(JSON.stringify(card)).not.toMatch(/"type":"(TextBlock|FactSet)"/);
  });

  it('colors the first line when there is no title, and drops empty lines', () => {
    const card = renderAdaptiveCard(ambiguous);
    expect(card.body[0]).toEqual({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: ambiguous.lines![0], color: 'Attention' }] });
    // Then the list of its ten choices (see "more choices than Teams shows").
    expect(card.body.map((b) => b.type)).toEqual(['RichTextBlock', 'Input.ChoiceSet']);
    const texts = (view: View) => renderAdaptiveCard(view).body.map((b) => (b.type === 'RichTextBlock' ? b.inlines.map((r) => r.text).join('') : b.type));
    expect(texts(untitled)).toEqual([
      'Domain: contoso.onmicrosoft.com', 'Country: ', 'Reservations are now allowed for Contoso.', '- not a list on purpose, [not a link](https://example.com)',
    ]);
    expect(renderAdaptiveCard(untitled).body[2]).toEqual({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: untitled.lines![0], color: 'Good' }] });
    expect(renderAdaptiveCard(longList).body).toHaveLength(21);
    expect(renderAdaptiveCard({ tone: 'info', title: 'Help' }).body[0]).toEqual({ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'Help', size: 'Medium', weight: 'Bolder' }] });
  });

  it('links an address only to itself: the address in Markdown link syntax is a link showing that address, the label stays text', () => {
    const card = renderAdaptiveCard(untitled);
    expect(card.body[3]).toEqual({
      type: 'RichTextBlock',
      inlines: [
        { type: 'TextRun', text: '- not a list on purpose, [not a link](' },
        { type: 'TextRun', text: 'https://example.com', selectAction: { type: 'Action.OpenUrl', url: 'https://example.com' } },
        { type: 'TextRun', text: ')' },
      ],
    });
    validateAdaptiveCard(card);
  });

  it('shortens button labels to 75 characters', () => {
    const card = renderAdaptiveCard({ actions: [{ id: 'run', label: 'x'.repeat(200), value: 'customers' }] });
    expect(card.actions![0]!.title).toHaveLength(75);
    validateAdaptiveCard(card);
  });
});

describe('actionFromInvoke', () => {
  /** The `value` of the adaptiveCard/action invoke Teams sends when a button is clicked. */
  const invokeValue = (action: unknown) => ({ action, trigger: 'manual' });

  it('reads a rendered button back', () => {
    for (const button of renderAdaptiveCard(confirmation).actions!) {
      expect(actionFromInvoke(invokeValue({ type: button.type, verb: button.verb, data: button.data }))).toEqual({ id: button.verb, value: customerId, inputs: {} });
    }
    // Ten choices are one list: Teams adds the chosen one to the Choose button's data.
    const card = renderAdaptiveCard(ambiguous);
    const [choose] = card.actions!;
    const list = card.body.find((b): b is ChoiceSetInput => b.type === 'Input.ChoiceSet')!;
    const data = { ...choose!.data, [list.id]: list.choices[3]!.value };
    expect(actionFromInvoke(invokeValue({ type: 'Action.Execute', id: 'x', verb: choose!.verb, data }))).toEqual({ id: 'run', value: ambiguous.actions![3]!.value, inputs: {} });
  });

  it.each([
    ['no value', undefined],
    ['null', null],
    ['a string', 'cancel'],
    ['an array', [{ type: 'Action.Execute', verb: 'cancel', data: { value: 'x' } }]],
    ['no action', { trigger: 'manual' }],
    ['a null action', invokeValue(null)],
    ['an Action.Submit', invokeValue({ type: 'Action.Submit', verb: 'cancel', data: { value: 'x' } })],
    ['no type', invokeValue({ verb: 'cancel', data: { value: 'x' } })],
    ['no verb', invokeValue({ type: 'Action.Execute', data: { value: 'x' } })],
    ['an empty verb', invokeValue({ type: 'Action.Execute', verb: '', data: { value: 'x' } })],
    ['a numeric verb', invokeValue({ type: 'Action.Execute', verb: 7, data: { value: 'x' } })],
    ['no data', invokeValue({ type: 'Action.Execute', verb: 'cancel' })],
    ['string data', invokeValue({ type: 'Action.Execute', verb: 'cancel', data: 'x' })],
    ['no data.value', invokeValue({ type: 'Action.Execute', verb: 'cancel', data: {} })],
    ['a numeric data.value', invokeValue({ type: 'Action.Execute', verb: 'cancel', data: { value: 42 } })],
    ['an object data.value', invokeValue({ type: 'Action.Execute', verb: 'cancel', data: { value: { id: 'x' } } })],
  ])('rejects %s', (_, value) => {
    expect(actionFromInvoke(value)).toBeUndefined();
  });

  it('lets any verb and a 5,000-character value through: runAction refuses unknown ids, the grammar over-long arguments', () => {
    expect(actionFromInvoke(invokeValue({ type: 'Action.Execute', verb: 'drop-tables', data: { value: '' } }))).toEqual({ id: 'drop-tables', value: '', inputs: {} });
    const long = 'a'.repeat(5000);
    expect(actionFromInvoke(invokeValue({ type: 'Action.Execute', verb: 'run', data: { value: long, extra: true } }))).toEqual({ id: 'run', value: long, inputs: {} });
  });
});

describe('validateAdaptiveCard', () => {
  const good = (): AdaptiveCard => renderAdaptiveCard(confirmation);

  it.each<[string, (card: AdaptiveCard) => unknown, RegExp]>([
    ['version 1.6', (c) => ({ ...c, version: '1.6' }), /version must be "1\.5", not "1\.6"/],
    ['no version', ({ version: _, ...c }) => c, /version must be "1\.5"/],
    ['an Action.Execute with no verb', (c) => ({ ...c, actions: [{ type: 'Action.Execute', title: 'Go', data: { value: 'x' } }] }), /Action\.Execute #0 needs a non-empty verb/],
    ['an unknown element type', (c) => ({ ...c, body: [...c.body, { type: 'Bogus', text: 'x' }] }), /UnknownElementType: Unknown element type "Bogus"/],
    ['a 1.6 element', (c) => ({ ...c, body: [{ type: 'Carousel', pages: [] }] }), /UnknownElementType.*Carousel/],
    ['an unknown action type', (c) => ({ ...c, actions: [{ type: 'Action.Http', title: 'Go' }] }), /UnknownActionType/],
    ['a 1.6 property', (c) => ({ ...c, actions: [{ ...c.actions![0], role: 'Button' }] }), /UnsupportedProperty: Property "role" is supported in version 1\.6/],
    ['an invalid value', (c) => ({ ...c, body: [{ type: 'TextBlock', text: 'x', size: 'Huge' }] }), /InvalidPropertyValue: Invalid value "Huge" for property "size"/],
    ['a misspelled property', (c) => ({ ...c, body: [{ type: 'TextBlock', text: 'x', wraps: true }] }), /dropped or changed by the 1\.5 parser: card\.body\[0\]\.wraps/],
    ['a misspelled TextRun property', (c) => ({ ...c, body: [{ type: 'RichTextBlock', inlines: [{ type: 'TextRun', text: 'x', bold: true }] }] }), /dropped or changed by the 1\.5 parser: card\.body\[0\]\.inlines\[0\]\.bold/],
    ['another card type', (c) => ({ ...c, type: 'HeroCard' }), /MissingCardType/],
    ['a button title over 75 characters', (c) => ({ ...c, actions: [{ ...c.actions![0], title: 'x'.repeat(76) }] }), /title of 1–75 characters, not 76/],
    ['a button value over 2,000 characters', (c) => ({ ...c, actions: [{ ...c.actions![0], data: { value: 'x'.repeat(2001) } }] }), /data\.value has 2001 characters, over 2000/],
    ['a button without data.value', (c) => ({ ...c, actions: [{ ...c.actions![0], data: 'x' }] }), /needs a string data\.value/],
    ['not an object', () => 'AdaptiveCard', /not an object/],
  ])('catches %s', (_, breakIt, message) => {
    expect(() => validateAdaptiveCard(breakIt(good()))).toThrow(message);
  });
});

describe('inputs', () => {
  it('renders a view\'s input as a required Input.Text and reads what was typed back from the click', () => {
    const card = renderAdaptiveCard({
      title: 'Reject request',
      input: { id: 'reason', label: 'Reason', placeholder: '왜 거절합니까?' },
      actions: [{ id: 'reject-confirm', label: 'Reject', value: 'req-1', style: 'danger' }],
    });
    validateAdaptiveCard(card);
    expect(card.body).toContainEqual(expect.objectContaining({ type: 'Input.Text', id: 'reason', isRequired: true }));
    const invoke = { action: { type: 'Action.Execute', verb: 'reject-confirm', data: { value: 'req-1', reason: '재고가 남아 있습니다' } } };
    expect(actionFromInvoke(invoke)).toEqual({ id: 'reject-confirm', value: 'req-1', inputs: { reason: '재고가 남아 있습니다' } });
  });
});


describe('more choices than Teams shows (issue 19)', () => {
  // Teams shows six buttons of a row (https://learn.microsoft.com/microsoftteams/platform/task-modules-and-cards/cards/cards-format#adaptive-cards-overflow-menu).
  const runs = (count: number): ViewAction[] => ambiguous.actions!.slice(0, count);
  const listOf = (card: AdaptiveCard) => card.body.filter((b): b is ChoiceSetInput => b.type === 'Input.ChoiceSet');
  const invokeValue = (verb: string, data: Record<string, string>) => ({ action: { type: 'Action.Execute', verb, data }, trigger: 'manual' });

  it('six actions stay buttons; seven or more are one list of them all, typed to narrow, and a Choose button', () => {
    const six = renderAdaptiveCard({ lines: ['x'], actions: runs(6) });
    validateAdaptiveCard(six);
    expect(six.actions!.map((a) => [a.verb, a.title, a.data.value])).toEqual(runs(6).map((a) => [a.id, a.label, a.value]));
    expect(listOf(six)).toEqual([]);

    for (const count of [7, 10]) {
      const card = renderAdaptiveCard({ lines: ['x'], actions: runs(count) });
      validateAdaptiveCard(card);
      expect(card.actions).toEqual([{ type: 'Action.Execute', verb: 'choose', title: 'Choose', data: { value: 'choice' } }]);
      expect(listOf(card)).toEqual([{
        type: 'Input.ChoiceSet', id: 'choice', label: `Choices (${count})`, placeholder: 'Choose one', style: 'filtered', isRequired: true, errorMessage: 'Choose one',
        choices: runs(count).map((a) => ({ title: a.label, value: `run ${a.value}` })),
      }]);
    }
  });

  it('labels the list and its button in Korean and Traditional Chinese', () => {
    const ko = renderAdaptiveCard(ambiguous, translator('ko-KR'));
    expect([listOf(ko)[0]!.label, listOf(ko)[0]!.placeholder, ko.actions![0]!.title]).toEqual(['선택 항목(10개)', '하나를 선택하세요', '선택']);
    const zh = renderAdaptiveCard(ambiguous, translator('zh-TW'));
    expect([listOf(zh)[0]!.label, listOf(zh)[0]!.placeholder, zh.actions![0]!.title]).toEqual(['選項（10 個）', '請選擇一項', '選擇']);
    validateAdaptiveCard(ko);
    validateAdaptiveCard(zh);
  });

  it('a Choose click is the chosen action\'s click, whatever its ID, with the other data (a view\'s ID) kept', () => {
    const confirmations: ViewAction[] = [
      ...Array.from({ length: 7 }, (_, i): ViewAction => ({ id: 'owner-assigned', label: `Owner is assigned on 구독 ${i}`, value: `token-${i}` })),
      { id: 'cancel', label: 'Cancel', value: 'token-0 token-1 token-2 token-3 token-4 token-5 token-6' },
    ];
    const list = listOf(renderAdaptiveCard({ actions: confirmations }))[0]!;
    expect(actionFromInvoke(invokeValue('choose', { value: 'choice', view: 'v1', choice: list.choices[6]!.value }))).toEqual({ id: 'owner-assigned', value: 'token-6', inputs: { view: 'v1' } });
    expect(actionFromInvoke(invokeValue('choose', { value: 'choice', choice: list.choices[7]!.value }))).toEqual({ id: 'cancel', value: confirmations[7]!.value, inputs: {} });
    // Nothing chosen, or a list the card does not have: no click.
    expect(actionFromInvoke(invokeValue('choose', { value: 'choice' }))).toBeUndefined();
    expect(actionFromInvoke(invokeValue('choose', { value: 'choice', choice: '' }))).toBeUndefined();
    expect(actionFromInvoke(invokeValue('choose', { value: 'choice-9', choice: list.choices[0]!.value }))).toBeUndefined();
  });

  it('a section with many actions has its own list, which a cut keeps or drops with its Choose button', () => {
    const view: View = {
      title: 'Home',
      sections: [{ title: 'Waiting', lines: ['a request'], actions: [{ id: 'approve', label: 'Approve', value: 'r1', style: 'primary' }] }, { title: '宏達', actions: runs(8) }],
    };
    const card = renderAdaptiveCard(view);
    validateAdaptiveCard(card);
    expect(card.actions).toBeUndefined();
    expect(card.body.map((b) => b.type)).toEqual(['RichTextBlock', 'RichTextBlock', 'RichTextBlock', 'ActionSet', 'RichTextBlock', 'Input.ChoiceSet', 'ActionSet']);
    expect(listOf(card).map((l) => [l.id, l.choices.length])).toEqual([['choice-2', 8]]);
    expect(card.body.at(-1)).toEqual({ type: 'ActionSet', actions: [{ type: 'Action.Execute', verb: 'choose', title: 'Choose', data: { value: 'choice-2' } }] });

    // Seven lines of 2,900 characters leave room for the list, eight do not: it goes with its button, after the section's title.
    const withLines = (count: number) => renderAdaptiveCard({ ...view, lines: Array.from({ length: count }, () => 'x'.repeat(2_900)) });
    expect(withLines(7).body.slice(-3).map((b) => b.type)).toEqual(['RichTextBlock', 'Input.ChoiceSet', 'ActionSet']);
    const cut = withLines(8);
    validateAdaptiveCard(cut);
    expect(cut.body.slice(-3).map((b) => b.type)).toEqual(['ActionSet', 'RichTextBlock', 'RichTextBlock']);
    expect(JSON.stringify(cut.body.at(-1))).toContain('The list was cut here');
  });
});
