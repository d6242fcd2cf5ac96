import type { ActionsBlock, Button, InputBlock, InputBlockElement, KnownBlock, PlainTextOption, RichTextBlock, RichTextElement } from '@slack/types';
import { translator, type Translate } from '../i18n/index.js';
import { fitting, textPieces, truncate, type FormField, type FormOption, type View } from './model.js';

/*
 * Slack's mrkdwn has no escape for `*`, `_`, `~`, `` ` `` or `>`, so no text of a view goes into mrkdwn:
 * titles are plain_text headers, facts and lines rich_text blocks, whose text elements Slack never
 * parses. The renderer alone adds formatting (bold labels) as rich text styles. plain_text is sent
 * with `emoji: false`, so `:shortcode:` in a name stays text too.
 */
export const slackLimits = {
  messageBlocks: 50,
  modalBlocks: 100,
  homeBlocks: 100,
  header: 150,
  /** Slack documents no limit for one rich_text block; this is a section's, to stay on the safe side. */
  richTextBlock: 3000,
  /**
   * Slack refuses a message whose blocks hold more than about 12,000 characters in all (msg_blocks_too_long,
   * slackapi/bolt-js#2509 and #2867), below the documented 40,000 for the whole message: this leaves room.
   */
  blocksText: 11_000,
  fallbackText: 3000,
  button: 75,
  buttonsPerBlock: 25,
  buttonsPerMessage: 25,
} as const;

/** `&`, `<` and `>` in text Slack parses for mentions and links (a message's `text`); entities are all it decodes. */
function escapeSlackEntities(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface SlackMessage {
  /** The notification and screen-reader text, escaped and sent with `mrkdwn: false` so nothing in it is formatted. */
  text: string;
  blocks: KnownBlock[];
  mrkdwn: false;
}

/** One paragraph of rich text: a fact (bold label, value) or a line. */
interface Paragraph {
  elements: RichTextElement[];
  length: number;
}

function paragraph(runs: { text: string; bold?: boolean }[]): Paragraph {
  const elements: RichTextElement[] = [];
  for (const run of runs) {
    for (const piece of textPieces(run.text)) {
      if ('url' in piece) elements.push({ type: 'link', url: piece.url, ...(run.bold ? { style: { bold: true } } : {}) });
      else elements.push({ type: 'text', text: piece.text, ...(run.bold ? { style: { bold: true } } : {}) });
    }
  }
  return { elements, length: runs.reduce((n, r) => n + r.text.length, 0) };
}

/** Paragraphs into rich_text blocks of at most `richTextBlock` characters, one paragraph a line. */
function richTextBlocks(paragraphs: Paragraph[]): RichTextBlock[] {
  const blocks: { elements: RichTextElement[]; length: number }[] = [];
  for (const p of paragraphs) {
    const last = blocks.at(-1);
    if (last && last.length + 1 + p.length <= slackLimits.richTextBlock) {
      last.elements.push({ type: 'text', text: '\n' }, ...p.elements);
      last.length += 1 + p.length;
    } else if (p.elements.length) {
      blocks.push({ elements: [...p.elements], length: p.length });
    }
  }
  return blocks.map((b) => ({ type: 'rich_text', elements: [{ type: 'rich_text_section', elements: mergeTexts(b.elements) }] }));
}

/** Neighbouring text elements of the same style (paragraph's: bold or none) become one, keeping blocks small. */
function mergeTexts(elements: RichTextElement[]): RichTextElement[] {
  const merged: RichTextElement[] = [];
  for (const element of elements) {
    const last = merged.at(-1);
    if (last?.type === 'text' && element.type === 'text' && Boolean(last.style?.bold) === Boolean(element.style?.bold)) {
      merged[merged.length - 1] = { ...last, text: last.text + element.text };
    } else merged.push(element);
  }
  return merged;
}

/**
 * The view's buttons, at most `max`. A section's are numbered on their own, so a request's buttons
 * have the same action IDs wherever they are shown (action IDs need only be unique within a block).
 */
function buttonBlocks(view: View, max: number = slackLimits.buttonsPerMessage): ActionsBlock[] {
  const elements: Button[] = (view.actions ?? []).slice(0, max).map((a, i) => ({
    type: 'button',
    action_id: `csp:${a.id}:${i}`,
    text: { type: 'plain_text', text: truncate(a.label, slackLimits.button), emoji: false },
    value: a.value,
    ...(a.style ? { style: a.style } : {}),
  }));
  const blocks: ActionsBlock[] = [];
  for (let i = 0; i < elements.length; i += slackLimits.buttonsPerBlock) {
    blocks.push({ type: 'actions', elements: elements.slice(i, i + slackLimits.buttonsPerBlock) });
  }
  return blocks;
}

/** The characters blocks show (every `text`), which Slack counts against a message's budget. */
function shownCharacters(node: unknown): number {
  if (Array.isArray(node)) return node.reduce((n: number, item) => n + shownCharacters(item), 0);
  if (typeof node !== 'object' || node === null) return 0;
  return Object.entries(node).reduce((n, [key, value]) => n + (key === 'text' && typeof value === 'string' ? value.length : shownCharacters(value)), 0);
}

/**
 * The view's title, facts and lines as blocks within `maxBlocks` and the text budget, beside `reserved`
 * blocks and characters the caller adds. A title too long for a header is a bold paragraph, so none of
 * it is lost. What does not fit is cut from the end, and a catalog line says so.
 */
function bodyBlocks(view: View, t: Translate, options: { maxBlocks: number; reserved: { blocks: number; characters: number }; header: boolean }): KnownBlock[] {
  const title = view.title ? truncate(view.title, slackLimits.richTextBlock) : '';
  const asHeader = options.header && title.length > 0 && title.length <= slackLimits.header;
  const titleBlocks: KnownBlock[] = asHeader
    ? [{ type: 'header', text: { type: 'plain_text', text: title, emoji: false } }]
    : richTextBlocks(title ? [paragraph([{ text: title, bold: true }])] : []);
  const facts = (view.facts ?? []).map((f) => paragraph([{ text: truncate(f.label, 200), bold: true }, { text: `\n${truncate(f.value, 2000)}` }]));
  const lines = (view.lines ?? []).map((line) => paragraph([{ text: truncate(line, slackLimits.richTextBlock) }]));
  // Facts and lines in blocks of their own, so that facts read as one group.
  const render = (factCount: number, lineCount: number) => [...titleBlocks, ...richTextBlocks(facts.slice(0, factCount)), ...richTextBlocks(lines.slice(0, lineCount))];
  const characters = (factCount: number, lineCount: number) =>
    [title, ...facts.slice(0, factCount), ...lines.slice(0, lineCount)].reduce((n, p) => n + (typeof p === 'string' ? p.length : p.length + 1), 0);
  const fits = (factCount: number, lineCount: number, extra: { blocks: number; characters: number }) =>
    render(factCount, lineCount).length + options.reserved.blocks + extra.blocks <= options.maxBlocks &&
    characters(factCount, lineCount) + options.reserved.characters + extra.characters <= slackLimits.blocksText;
  if (fits(facts.length, lines.length, { blocks: 0, characters: 0 })) return render(facts.length, lines.length);

  const notice = paragraph([{ text: t('view.cut') }]);
  const withNotice = { blocks: 1, characters: notice.length };
  // The longest prefix of facts, then lines, that fits beside the notice; the character budget bounds it first.
  const budget = slackLimits.blocksText - options.reserved.characters - notice.length - characters(0, 0);
  let kept = fitting([...facts, ...lines], (p) => p.length + 1, budget).length;
  while (kept > 0 && !fits(Math.min(kept, facts.length), Math.max(kept - facts.length, 0), withNotice)) kept--;
  return [...render(Math.min(kept, facts.length), Math.max(kept - facts.length, 0)), ...richTextBlocks([notice])];
}

/** A view and its sections, each part on its own. */
const partsOf = (view: View): View[] => [{ ...view, sections: undefined }, ...(view.sections ?? [])];

/** The notification text: the view as plain words, entities escaped. */
function fallbackText(view: View): string {
  const lines = partsOf(view)
    .flatMap((part) => [part.title, ...(part.facts ?? []).map((f) => `${f.label}: ${f.value}`), ...(part.lines ?? [])])
    .filter((l): l is string => Boolean(l));
  // Whole lines only, so a cut never leaves half a row behind; a single overlong line is cut itself.
  const kept = fitting(lines, (l) => l.length + 1, slackLimits.fallbackText);
  const words = kept.length ? [...kept, ...(kept.length < lines.length ? ['…'] : [])].join('\n') : truncate(lines[0] ?? '', slackLimits.fallbackText);
  return escapeSlackEntities(words) || ' ';
}

/**
 * Header, facts and lines as rich text, then buttons, for the view and then each section (after a
 * divider), within `maxBlocks` and the text budget. A section that no longer fits is left out with
 * those after it, and a catalog line says so.
 */
function viewBlocks(view: View, t: Translate, maxBlocks: number): KnownBlock[] {
  const blocks: KnownBlock[] = [];
  let buttons = 0;
  for (const part of partsOf(view)) {
    const divider: KnownBlock[] = blocks.length ? [{ type: 'divider' }] : [];
    const actions = buttonBlocks(part, slackLimits.buttonsPerMessage - buttons);
    const room = maxBlocks - blocks.length - divider.length;
    if (room < actions.length + 2) {
      if (blocks.length < maxBlocks) blocks.push(...richTextBlocks([paragraph([{ text: t('view.cut') }])]));
      break;
    }
    const reserved = { blocks: actions.length, characters: shownCharacters([...blocks, ...actions]) };
    const body = bodyBlocks(part, t, { maxBlocks: room, reserved, header: true });
    if (!body.length && !actions.length) continue;
    blocks.push(...divider, ...body, ...actions);
    buttons += actions.reduce((n, a) => n + a.elements.length, 0);
  }
  return blocks;
}

/** The one Block Kit renderer: header, facts and lines as rich text, buttons; within Slack's limits for a message. */
/** Messages of frozen views (help's, made once per reader): rendered once, then shared. */
const rendered = new WeakMap<View, { t: Translate; message: SlackMessage }>();

export function renderSlack(view: View, t: Translate = translator()): SlackMessage {
  const kept = rendered.get(view);
  if (kept?.t === t) return kept.message;
  const message: SlackMessage = { text: fallbackText(view), blocks: viewBlocks(view, t, slackLimits.messageBlocks), mrkdwn: false };
  if (Object.isFrozen(view)) rendered.set(view, { t, message: deepFreeze(message) });
  return message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A view as a person's Home tab (views.publish): the same blocks, within a home view's limit. */
export function renderSlackHome(view: View, t: Translate = translator()) {
  return { type: 'home' as const, blocks: viewBlocks(view, t, slackLimits.homeBlocks) };
}

/** A view as rich text alone (no header, no buttons): the comment that goes with uploaded files. */
export function renderSlackRichText(view: View, t: Translate = translator()): KnownBlock[] {
  return bodyBlocks({ ...view, actions: [] }, t, { maxBlocks: slackLimits.messageBlocks, reserved: { blocks: 0, characters: 0 }, header: false });
}

const maxModalTitle = 24;

/**
 * A view that asks for typed input becomes a modal: Slack messages cannot take
 * text. Its submit button is the view's first action; `privateMetadata` carries
 * what the adapter needs to run that action when the modal is submitted.
 */
export function renderSlackModal(view: View, privateMetadata: string, t: Translate = translator()) {
  const input = view.input!;
  const submit = view.actions![0]!;
  // A title longer than a modal's is shown whole in the body too.
  const titleFits = (view.title ?? '').length <= maxModalTitle;
  const blocks = bodyBlocks({ ...view, title: titleFits ? undefined : view.title, actions: [] }, t, {
    maxBlocks: slackLimits.modalBlocks,
    reserved: { blocks: 1, characters: input.label.length },
    header: false,
  });
  return {
    type: 'modal' as const,
    callback_id: 'csp:input',
    private_metadata: privateMetadata,
    title: { type: 'plain_text' as const, text: truncate(view.title ?? 'csp-ops', maxModalTitle), emoji: false },
    submit: { type: 'plain_text' as const, text: truncate(submit.label, maxModalTitle) },
    blocks: [
      ...blocks,
      {
        type: 'input' as const,
        block_id: input.id,
        label: { type: 'plain_text' as const, text: truncate(input.label, 2000) },
        element: {
          type: 'plain_text_input' as const,
          action_id: input.id,
          multiline: true,
          max_length: 500,
          ...(input.placeholder ? { placeholder: { type: 'plain_text' as const, text: truncate(input.placeholder, 150) } } : {}),
        },
      },
    ],
  };
}

const plainText = (text: string, max: number) => ({ type: 'plain_text' as const, text: truncate(text, max), emoji: false });
const selectOption = (o: FormOption): PlainTextOption => ({ text: plainText(o.label, 75), value: o.value });

/**
 * A form field's input element. A select lists its options (Slack allows 100); one with more searches as
 * the user types (external_select, answered by the adapter's block_suggestion listener); one with no
 * choice at all takes text, so the modal still opens and the field's error says why.
 */
function formElement(field: FormField): InputBlockElement {
  const selected = (field.selected ?? []).map(selectOption);
  const placeholder = field.placeholder ? { placeholder: plainText(field.placeholder, 150) } : {};
  const select = field.kind === 'select' || field.kind === 'multi-select';
  if (select && field.more) {
    return field.kind === 'multi-select'
      ? { type: 'multi_external_select', action_id: field.id, min_query_length: 0, ...placeholder, ...(selected.length ? { initial_options: selected } : {}) }
      : { type: 'external_select', action_id: field.id, min_query_length: 0, ...placeholder, ...(selected[0] ? { initial_option: selected[0] } : {}) };
  }
  if (select && field.options?.length) {
    const options = field.options.map(selectOption);
    return field.kind === 'multi-select'
      ? { type: 'multi_static_select', action_id: field.id, options, ...(selected.length ? { initial_options: selected } : {}) }
      : { type: 'static_select', action_id: field.id, options, ...(selected[0] ? { initial_option: selected[0] } : {}) };
  }
  if (field.kind === 'number') {
    return {
      type: 'number_input',
      action_id: field.id,
      is_decimal_allowed: false,
      ...(field.min !== undefined ? { min_value: String(field.min) } : {}),
      ...(field.max !== undefined ? { max_value: String(field.max) } : {}),
      ...(field.initial ? { initial_value: field.initial } : {}),
    };
  }
  const maxLength = Math.min(field.maxLength ?? 3000, 3000);
  return {
    type: 'plain_text_input',
    action_id: field.id,
    max_length: maxLength,
    ...(field.multiline ? { multiline: true } : {}),
    ...(!select && field.initial ? { initial_value: truncate(field.initial, maxLength) } : {}),
    ...(select ? placeholder : {}),
  };
}

/**
 * A form as a modal: each field an input block (its block_id and action_id are the field's ID, which the
 * submission's state and a response_action "errors" name), a field's error in a line right below it, and
 * an error about no one field above them all. `privateMetadata` carries what the submission needs.
 */
export function renderSlackForm(view: View, privateMetadata: string, t: Translate = translator()) {
  const form = view.form!;
  const note = (text: string) => richTextBlocks([paragraph([{ text: truncate(text, slackLimits.richTextBlock), bold: true }])]);
  const blocks: KnownBlock[] = [...(form.error ? note(form.error) : [])];
  for (const field of form.fields) {
    const input: InputBlock = {
      type: 'input',
      block_id: field.id,
      label: plainText(field.label, 2000),
      element: formElement(field),
      ...(field.optional ? { optional: true } : {}),
      ...(field.hint ? { hint: plainText(field.hint, 2000) } : {}),
    };
    blocks.push(input, ...(field.error ? note(field.error) : []));
  }
  return {
    type: 'modal' as const,
    callback_id: 'csp:form',
    private_metadata: privateMetadata,
    title: plainText(form.title, maxModalTitle),
    submit: plainText(form.submit, maxModalTitle),
    close: plainText(t('form.cancel'), maxModalTitle),
    blocks: blocks.slice(0, slackLimits.modalBlocks),
  };
}
