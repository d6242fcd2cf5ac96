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
