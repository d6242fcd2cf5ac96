import { truncate, type View, type ViewAction } from './model.js';

/*
 * The part of Adaptive Card 1.5 that csp-ops emits. These are our own types, not
 * @microsoft/teams.cards' IAdaptiveCard: that one covers every version up to 1.6 plus Teams
 * extensions (version may be '1.6', actions may have menuActions…), so it cannot say "1.5 only".
 * Ours can be assigned to it (test/adaptive-card.test.ts checks that), so the SDK accepts the card.
 */
export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  size?: 'Medium';
  weight?: 'Bolder';
  color?: 'Good' | 'Warning' | 'Attention';
}
export interface FactSet { type: 'FactSet'; facts: { title: string; value: string }[] }
export interface TextInput {
  type: 'Input.Text';
  id: string;
  label: string;
  placeholder?: string;
  isMultiline: true;
  isRequired: true;
  errorMessage: string;
  maxLength: number;
}
export interface ExecuteAction {
  type: 'Action.Execute';
  verb: string;
  title: string;
  data: { value: string };
  style?: 'positive' | 'destructive';
}
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.5';
  body: (TextBlock | FactSet | TextInput)[];
  actions?: ExecuteAction[];
}

const colors = { error: 'Attention', warning: 'Warning', success: 'Good' } as const;
const styles = { primary: 'positive', danger: 'destructive' } as const;
const maxButtonTitle = 75; // the same as Slack's button text limit

function button(action: ViewAction): ExecuteAction {
  const style = action.style && styles[action.style];
  return {
    type: 'Action.Execute', // a Universal Action: Teams sends adaptiveCard/action and shows the card we answer with
    verb: action.id,
    title: truncate(action.label, maxButtonTitle),
    data: { value: action.value },
    ...(style ? { style } : {}),
  };
}

/**
 * The one Adaptive Card renderer: title, facts, lines, buttons. The tone colors the title, or the
 * first line when there is none (error views have no title).
 *
 * Text goes in unescaped. Teams reads TextBlock and Fact text as a Markdown subset, never as HTML,
 * so the `&<>` escaping Slack needs would show literally (`&amp;`). Markdown in user data can
 * restyle that text (`*a*` in italics, a `- ` list) or make `[text](url)` a link. Teams documents
 * no backslash escapes, so escaping could leave stray backslashes in customer names.
 */
export function renderAdaptiveCard(view: View): AdaptiveCard {
  const body: AdaptiveCard['body'] = [];
  if (view.title) body.push({ type: 'TextBlock', text: view.title, wrap: true, size: 'Medium', weight: 'Bolder' });
  if (view.facts?.length) body.push({ type: 'FactSet', facts: view.facts.map((f) => ({ title: f.label, value: f.value })) });
  for (const text of view.lines ?? []) if (text) body.push({ type: 'TextBlock', text, wrap: true }); // blocks are spaced already
  // Teams adds what was typed to the clicked action's data, beside its value.
  if (view.input) {
    const { id, label, placeholder } = view.input;
    body.push({ type: 'Input.Text', id, label, ...(placeholder ? { placeholder } : {}), isMultiline: true, isRequired: true, errorMessage: label, maxLength: 500 });
  }
  const first = body.find((b): b is TextBlock => b.type === 'TextBlock');
  if (first && view.tone && view.tone !== 'info') first.color = colors[view.tone];
  const actions = (view.actions ?? []).map(button);
  return {
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    ...(actions.length ? { actions } : {}),
  };
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * A button click from the `value` of an `adaptiveCard/action` invoke: untrusted, so anything
 * else than an Action.Execute with a string verb and data.value is undefined. Which verbs exist is
 * checked by runAction, as for Slack.
 */
export function actionFromInvoke(value: unknown): { id: string; value: string; inputs: Record<string, string> } | undefined {
  const action = isRecord(value) ? value.action : undefined;
  if (!isRecord(action) || action.type !== 'Action.Execute') return undefined;
  const { verb, data } = action;
  if (typeof verb !== 'string' || !verb || !isRecord(data) || typeof data.value !== 'string') return undefined;
  const inputs = Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => e[0] !== 'value' && typeof e[1] === 'string'));
  return { id: verb, value: data.value, inputs };
}
