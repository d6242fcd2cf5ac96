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

const block = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), text: plainText(150) }).strict(),
  z.object({ type: z.literal('section'), text: mrkdwn(3000).optional(), fields: z.array(mrkdwn(2000)).min(1).max(10).optional() })
    .strict()
    .refine((s) => s.text || s.fields, 'a section needs text or fields'),
  z.object({ type: z.literal('actions'), elements: z.array(button).min(1).max(25) })
    .strict()
    .refine((a) => new Set(a.elements.map((e) => e.action_id)).size === a.elements.length, 'action_ids must be unique within a block'),
]);

export const slackMessageSchema = z.object({
  text: z.string().min(1).max(40_000),
  blocks: z.array(block).max(50),
}).passthrough();
