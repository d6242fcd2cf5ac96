import { z } from 'zod';

// No maintained Block Kit validator exists; these are Slack's documented limits for the blocks csp-ops emits.
const plainText = (max: number) => z.object({ type: z.literal('plain_text'), text: z.string().min(1).max(max), emoji: z.boolean().optional() }).strict();
const mrkdwn = (max: number) => z.object({ type: z.literal('mrkdwn'), text: z.string().min(1).max(max) }).strict();

const button = z.object({
  type: z.literal('button'),
  action_id: z.string().min(1).max(255),
  text: plainText(75),
  value: z.string().max(2000),
  style: z.enum(['primary', 'danger']).optional(),
}).strict();

const richTextStyle = z.object({ bold: z.literal(true) }).strict().optional();
const richTextElement = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text'), text: z.string().min(1), style: richTextStyle }).strict(),
  z.object({ type: z.literal('link'), url: z.string().regex(/^https?:\/\//), text: z.string().optional(), style: richTextStyle }).strict(),
]);

/** The characters a block shows, for the budget Slack puts on a message's blocks together. */
function shownText(block: unknown): number {
  if (Array.isArray(block)) return block.reduce((n: number, b) => n + shownText(b), 0);
  if (typeof block !== 'object' || block === null) return 0;
  return Object.entries(block).reduce((n, [key, value]) => n + (key === 'text' && typeof value === 'string' ? value.length : shownText(value)), 0);
}

const block = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), text: plainText(150) }).strict(),
  z.object({ type: z.literal('divider') }).strict(),
  z.object({ type: z.literal('section'), text: mrkdwn(3000).optional(), fields: z.array(mrkdwn(2000)).min(1).max(10).optional() })
    .strict()
    .refine((s) => s.text || s.fields, 'a section needs text or fields'),
  z.object({
    type: z.literal('rich_text'),
    elements: z.array(z.object({ type: z.literal('rich_text_section'), elements: z.array(richTextElement).min(1) }).strict()).min(1),
  })
    .strict()
    .refine((b) => shownText(b) <= 3000, 'a rich_text block holds at most 3,000 characters here'),
  z.object({ type: z.literal('actions'), elements: z.array(button).min(1).max(25) })
    .strict()
    .refine((a) => new Set(a.elements.map((e) => e.action_id)).size === a.elements.length, 'action_ids must be unique within a block'),
]);

export const slackMessageSchema = z.object({
  text: z.string().min(1).max(40_000),
  blocks: z.array(block).max(50)
    // Slack refuses more than about 12,000 characters across a message's blocks (msg_blocks_too_long).
    .refine((blocks) => shownText(blocks) <= 12_000, 'a message\'s blocks hold at most 12,000 characters'),
}).passthrough();

/** A Home tab view as views.publish takes it: up to 100 blocks (Slack's home tab limit). */
export const slackHomeSchema = z.object({
  type: z.literal('home'),
  blocks: z.array(block).max(100),
}).strict();

/** The blocks of a file upload's comment: rich text only. */
export const slackRichTextSchema = z.array(block).max(50).refine((blocks) => blocks.every((b) => b.type === 'rich_text'), 'only rich_text blocks');

// A form's modal (views.open, a view_submission's response_action "update"): Slack's documented limits for the elements csp-ops emits.
const option = z.object({ text: plainText(75), value: z.string().min(1).max(150) }).strict();
const placeholder = plainText(150).optional();
const sameOption = (a: z.infer<typeof option>, b: z.infer<typeof option>) => a.value === b.value && a.text.text === b.text.text;
const inputElement = z.discriminatedUnion('type', [
  z.object({ type: z.literal('static_select'), action_id: z.string().min(1).max(255), options: z.array(option).min(1).max(100), initial_option: option.optional(), placeholder })
    .strict()
    .refine((e) => !e.initial_option || e.options.some((o) => sameOption(o, e.initial_option!)), 'an initial option must be one of the options'),
  z.object({ type: z.literal('multi_static_select'), action_id: z.string().min(1).max(255), options: z.array(option).min(1).max(100), initial_options: z.array(option).optional(), placeholder })
    .strict()
    .refine((e) => (e.initial_options ?? []).every((i) => e.options.some((o) => sameOption(o, i))), 'initial options must be among the options'),
  z.object({ type: z.literal('external_select'), action_id: z.string().min(1).max(255), min_query_length: z.number().int().min(0).optional(), initial_option: option.optional(), placeholder }).strict(),
  z.object({ type: z.literal('multi_external_select'), action_id: z.string().min(1).max(255), min_query_length: z.number().int().min(0).optional(), initial_options: z.array(option).optional(), placeholder }).strict(),
  z.object({ type: z.literal('plain_text_input'), action_id: z.string().min(1).max(255), max_length: z.number().int().min(1).max(3000).optional(), multiline: z.boolean().optional(), initial_value: z.string().optional(), placeholder })
    .strict()
    .refine((e) => !e.initial_value || !e.max_length || e.initial_value.length <= e.max_length, 'the initial value must fit max_length'),
  z.object({ type: z.literal('number_input'), action_id: z.string().min(1).max(255), is_decimal_allowed: z.boolean(), min_value: z.string().optional(), max_value: z.string().optional(), initial_value: z.string().optional(), placeholder }).strict(),
]);
const inputBlock = z.object({
  type: z.literal('input'),
  block_id: z.string().min(1).max(255),
  label: plainText(2000),
  hint: plainText(2000).optional(),
  optional: z.boolean().optional(),
  element: inputElement,
}).strict();

export const slackModalSchema = z.object({
  type: z.literal('modal'),
  callback_id: z.string().min(1).max(255),
  private_metadata: z.string().max(3000),
  title: plainText(24),
  submit: plainText(24),
  close: plainText(24),
  blocks: z.array(z.union([inputBlock, block])).min(1).max(100)
    .refine((blocks) => { const ids = blocks.flatMap((b) => (b.type === 'input' ? [b.block_id] : [])); return new Set(ids).size === ids.length; }, 'block_ids must be unique'),
}).strict();

/** The answer to a block_suggestion: at most 100 options. */
export const slackOptionsSchema = z.object({ options: z.array(option).max(100) }).strict();
