import type { ActionsBlock, Block, Button, KnownBlock } from '@slack/types';
import { truncate, type View } from './model.js';

const maxSectionText = 3000;
const maxFieldsPerSection = 10;

/** User data in mrkdwn: `&`, `<` and `>` must be escaped or Slack reads them as markup. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export interface SlackMessage {
  text: string;
  blocks: (KnownBlock | Block)[];
}

/** The one Block Kit renderer: header, facts as fields, lines, buttons. */
export function renderSlack(view: View): SlackMessage {
  const blocks: KnownBlock[] = [];
  if (view.title) blocks.push({ type: 'header', text: { type: 'plain_text', text: truncate(view.title, 150), emoji: true } });
  const facts = view.facts ?? [];
  for (let i = 0; i < facts.length; i += maxFieldsPerSection) {
    blocks.push({
      type: 'section',
      fields: facts.slice(i, i + maxFieldsPerSection).map((f) => ({
        type: 'mrkdwn' as const,
        text: truncate(`*${escapeMrkdwn(f.label)}*\n${escapeMrkdwn(f.value)}`, 2000),
      })),
    });
  }
  const lines = (view.lines ?? []).map(escapeMrkdwn);
  let chunk = '';
  for (const line of lines) {
    if (chunk && chunk.length + line.length + 1 > maxSectionText) {
      blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
      chunk = '';
    }
    chunk = chunk ? `${chunk}\n${line}` : truncate(line, maxSectionText);
  }
  if (chunk) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: chunk } });
  const actions = view.actions ?? [];
  if (actions.length) {
    const elements: Button[] = actions.slice(0, 25).map((a, i) => ({
      type: 'button',
      action_id: `csp:${a.id}:${i}`,
      text: { type: 'plain_text', text: truncate(a.label, 75), emoji: true },
      value: a.value,
      ...(a.style ? { style: a.style } : {}),
    }));
    blocks.push({ type: 'actions', elements } satisfies ActionsBlock);
  }
  const text = truncate([view.title, ...(view.lines ?? [])].filter(Boolean).join('\n'), maxSectionText);
  return { text: text || ' ', blocks };
}

/**
 * A view that asks for typed input becomes a modal: Slack messages cannot take
 * text. Its submit button is the view's first action; `privateMetadata` carries
 * what the adapter needs to run that action when the modal is submitted.
 */
export function renderSlackModal(view: View, privateMetadata: string) {
  const input = view.input!;
  const submit = view.actions![0]!;
  const { blocks } = renderSlack({ ...view, title: undefined, input: undefined, actions: [] });
  return {
    type: 'modal' as const,
    callback_id: 'csp:input',
    private_metadata: privateMetadata,
    title: { type: 'plain_text' as const, text: truncate(view.title ?? 'csp-ops', 24) },
    submit: { type: 'plain_text' as const, text: truncate(submit.label, 24) },
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

