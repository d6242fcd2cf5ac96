import { translator, type Translate } from '../i18n/index.js';
import { fitting, textPieces, truncate, type Form, type FormField, type View, type ViewAction } from './model.js';

/*
 * The part of Adaptive Card 1.5 that csp-ops emits. These are our own types, not
 * @microsoft/teams.cards' IAdaptiveCard: that one covers every version up to 1.6 plus Teams
 * extensions (version may be '1.6', actions may have menuActions…), so it cannot say "1.5 only".
 * Ours can be assigned to it (test/adaptive-card.test.ts checks that), so the SDK accepts the card.
 */
export interface OpenUrlAction { type: 'Action.OpenUrl'; url: string }
export interface TextRun {
  type: 'TextRun';
  text: string;
  size?: 'Small' | 'Medium';
  weight?: 'Bolder';
  isSubtle?: true;
  color?: 'Good' | 'Warning' | 'Attention';
  /** An address in the text, opened when clicked; the run's text is the address itself. */
  selectAction?: OpenUrlAction;
}
export interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  /** A line above it: where a section of the view starts. */
  separator?: true;
}
export interface TextInput {
  type: 'Input.Text';
  id: string;
  label: string;
  placeholder?: string;
  isMultiline?: true;
  isRequired?: true;
  errorMessage?: string;
  maxLength?: number;
  value?: string;
}
export interface ChoiceSetInput {
  type: 'Input.ChoiceSet';
  id: string;
  label: string;
  choices: { title: string; value: string }[];
  /** Shown in a drop-down while nothing is chosen. */
  placeholder?: string;
  /** Absent: a drop-down; `expanded`: check boxes; `filtered` (1.5): a drop-down the user types in to narrow a long list. */
  style?: 'expanded' | 'filtered';
  isMultiSelect?: true;
  /** The choices made, separated by commas. */
  value?: string;
  isRequired?: true;
  errorMessage?: string;
}
export interface NumberInput {
  type: 'Input.Number';
  id: string;
  label: string;
  min?: number;
  max?: number;
  value?: number;
  isRequired?: true;
  errorMessage?: string;
}
type CardInput = TextInput | ChoiceSetInput | NumberInput;
export interface ExecuteAction {
  type: 'Action.Execute';
  verb: string;
  title: string;
  data: { value: string };
  style?: 'positive' | 'destructive';
}
/** A section's buttons, below its text. */
export interface ActionSet { type: 'ActionSet'; actions: ExecuteAction[] }
export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.5';
  body: (RichTextBlock | CardInput | ActionSet)[];
  actions?: ExecuteAction[];
}

const colors = { error: 'Attention', warning: 'Warning', success: 'Good' } as const;
const styles = { primary: 'positive', danger: 'destructive' } as const;
const maxButtonTitle = 75; // the same as Slack's button text limit
const maxButtons = 25; // the same as Slack's
/**
 * Teams shows six buttons in a row; later ones are dropped or put in an overflow ("…") menu, which some
 * clients do not open. A part with more offers them all as one list to choose from (an Input.ChoiceSet,
 * which every Teams client shows) and a Choose button, read back by actionFromInvoke.
 */
const maxShownButtons = 6;
const chooseVerb = 'choose';
const maxText = 3000; // one title, fact or line, the same as Slack's
/** Teams refuses a bot message over about 28 KB; the card stays under this, leaving room for the activity around it. */
export const maxCardBytes = 25_000;

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
 * A part's buttons, or, when Teams would not show them all, a list of them (each choice carries its action
 * ID and value) with a Choose button that names the list: its click runs the chosen action as its button would.
 */
function choosable(actions: ViewAction[], listId: string, t: Translate): { list?: ChoiceSetInput; buttons: ExecuteAction[] } {
  if (actions.length <= maxShownButtons) return { buttons: actions.map(button) };
  const chooseOne = t('view.chooseOne');
  return {
    list: {
      type: 'Input.ChoiceSet',
      id: listId,
      label: t('view.choices', { count: actions.length }),
      placeholder: chooseOne,
      style: 'filtered',
      choices: actions.map((a) => ({ title: truncate(a.label, maxText), value: `${a.id} ${a.value}` })),
      isRequired: true,
      errorMessage: chooseOne,
    },
    buttons: [{ type: 'Action.Execute', verb: chooseVerb, title: t('view.choose'), data: { value: listId } }],
  };
}

/** Text as TextRuns: addresses become runs that open them. */
function runs(text: string, style: Omit<TextRun, 'type' | 'text' | 'selectAction'> = {}): TextRun[] {
  return textPieces(truncate(text, maxText)).map((piece) =>
    'url' in piece
      ? { type: 'TextRun', text: piece.url, ...style, selectAction: { type: 'Action.OpenUrl', url: piece.url } }
      : { type: 'TextRun', text: piece.text, ...style });
}

const richText = (inlines: TextRun[]): RichTextBlock => ({ type: 'RichTextBlock', inlines });
const bytes = (json: unknown) => Buffer.byteLength(JSON.stringify(json));

/** A view's title (colored by its tone), facts and lines; the tone colors the first line when there is no title. */
function textBlocks(view: View): { title: RichTextBlock[]; rest: RichTextBlock[] } {
  const color = view.tone && view.tone !== 'info' ? { color: colors[view.tone] } : {};
  const title = view.title ? [richText(runs(view.title, { size: 'Medium', weight: 'Bolder', ...color }))] : [];
  const facts = (view.facts ?? []).map((f) => richText([...runs(f.label, { weight: 'Bolder' }), ...runs(`: ${f.value}`)]));
  // Blocks are spaced already, so empty lines are left out.
  const lines = (view.lines ?? []).filter(Boolean).map((text, i) => richText(runs(text, !title.length && i === 0 ? color : {})));
  return { title, rest: [...facts, ...lines] };
}

/**
 * The one Adaptive Card renderer: title, facts, lines, buttons, then each section below a separator
 * with its own buttons.
 *
 * Teams reads TextBlock and FactSet text as Markdown (`[Approve](https://evil.example)` becomes a link,
 * `*a*` italics) and documents no way to escape it; the TextRuns of a RichTextBlock are never parsed.
 * So every text of a view is a TextRun, and the renderer alone adds styles (a bold title and labels).
 * A card over `maxCardBytes` is cut from the end, and a catalog line says so.
 */
export function renderAdaptiveCard(view: View, t: Translate = translator()): AdaptiveCard {
  const { title, rest } = textBlocks(view);
  const form = view.form;
  const listed = form ? [] : (view.actions ?? []).slice(0, maxButtons);
  const top = form ? { buttons: [button({ id: 'form', label: form.submit, value: form.value, style: 'primary' })] } : choosable(listed, 'choice', t);
  const actions = top.buttons;
  // Teams adds what was typed or chosen to the clicked action's data, beside its value.
  const inputs: AdaptiveCard['body'] = top.list ? [top.list] : [];
  if (view.input) {
    const { id, label, placeholder } = view.input;
    inputs.push({ type: 'Input.Text', id, label, ...(placeholder ? { placeholder } : {}), isMultiline: true, isRequired: true, errorMessage: label, maxLength: 500 });
  }
  let buttonsLeft = maxButtons - (form ? 1 : listed.length);
  // Each section as runs of blocks a cut keeps or drops together: a list stays with its Choose button.
  const sections = (view.sections ?? []).flatMap((section, i): AdaptiveCard['body'][] => {
    const text = textBlocks(section);
    const [first, ...others] = [...text.title, ...text.rest];
    const shown = (section.actions ?? []).slice(0, buttonsLeft);
    buttonsLeft -= shown.length;
    const { list, buttons } = choosable(shown, `choice-${i + 1}`, t);
    return [
      ...(first ? [[{ ...first, separator: true as const }]] : []),
      ...others.map((block) => [block]),
      ...(buttons.length ? [[...(list ? [list] : []), { type: 'ActionSet' as const, actions: buttons }]] : []),
    ];
  });
  const card = (body: AdaptiveCard['body']): AdaptiveCard => ({
    type: 'AdaptiveCard',
    $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
    version: '1.5',
    body,
    ...(actions.length ? { actions } : {}),
  });
  if (form) inputs.push(...formBlocks(form, t, (blocks) => bytes(card([...title, ...rest, ...blocks]))));

  const whole = card([...title, ...rest, ...sections.flat(), ...inputs]);
  if (bytes(whole) <= maxCardBytes) return whole;
  const notice = richText(runs(t('view.cut')));
  const budget = maxCardBytes - bytes(card([...title, notice, ...inputs]));
  const kept = fitting([...rest.map((block) => [block]), ...sections], (blocks) => blocks.reduce((n, block) => n + bytes(block) + 1, 0), budget);
  return card([...title, ...kept.flat(), notice, ...inputs]);
}

/**
 * A field as a card input: a select as a choice set (typed to narrow when long), or as text where its
 * choices are more than listed (what is typed is looked up when submitted, as in the typed command).
 */
function formInput(field: FormField, t: Translate, asText: boolean): CardInput {
  const { id, label } = field;
  const required = field.optional ? {} : { isRequired: true as const, errorMessage: t('form.required', { field: label }) };
  const chosen = (field.selected ?? []).map((o) => o.value);
  const select = field.kind === 'select' || field.kind === 'multi-select';
  if (select && !asText && field.options?.length) {
    const multi = field.kind === 'multi-select';
    const count = field.options.length;
    const style = multi ? (count <= 6 ? 'expanded' : undefined) : count > 5 ? 'filtered' : undefined;
    return {
      type: 'Input.ChoiceSet',
      id,
      label,
      choices: field.options.map((o) => ({ title: truncate(o.label, maxText), value: o.value })),
      ...(style ? { style } : {}),
      ...(multi ? { isMultiSelect: true as const } : {}),
      ...(chosen.length ? { value: chosen.join(',') } : {}),
      ...required,
    };
  }
  if (field.kind === 'number') {
    return { type: 'Input.Number', id, label, ...(field.min !== undefined ? { min: field.min } : {}), ...(field.max !== undefined ? { max: field.max } : {}), ...(field.initial ? { value: Number(field.initial) } : {}), ...required };
  }
  const value = select ? chosen.join(', ') : field.initial;
  return {
    type: 'Input.Text',
    id,
    label,
    ...(select && field.placeholder ? { placeholder: field.placeholder } : {}),
    ...(field.multiline ? { isMultiline: true as const } : {}),
    ...(field.maxLength ? { maxLength: field.maxLength } : {}),
    ...(value ? { value } : {}),
    ...required,
  };
}

/**
 * A form's fields as inputs, each with its hint and its error right below it; an error about no one field
 * comes first. Long choice lists turn to text inputs, the longest first, until the card fits (`size`).
 */
function formBlocks(form: Form, t: Translate, size: (blocks: AdaptiveCard['body']) => number): AdaptiveCard['body'] {
  const asText = new Set<string>(form.fields.filter((f) => f.more).map((f) => f.id));
  const render = () => [
    ...(form.error ? [richText(runs(form.error, { color: 'Attention' }))] : []),
    ...form.fields.flatMap((field) => [
      formInput(field, t, asText.has(field.id)),
      ...(field.hint ? [richText(runs(field.hint, { size: 'Small', isSubtle: true }))] : []),
      ...(field.error ? [richText(runs(field.error, { color: 'Attention' }))] : []),
    ]),
  ];
  let blocks = render();
  while (size(blocks) > maxCardBytes) {
    const longest = form.fields.filter((f) => !asText.has(f.id) && f.options?.length).sort((a, b) => b.options!.length - a.options!.length)[0];
    if (!longest) break;
    asText.add(longest.id);
    blocks = render();
  }
  return blocks;
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/**
 * A button click from the `value` of an `adaptiveCard/action` invoke: untrusted, so anything
 * else than an Action.Execute with a string verb and data.value is undefined. Which verbs exist is
 * checked by runAction, as for Slack. A Choose click is the click of the action chosen in its list.
 */
export function actionFromInvoke(value: unknown): { id: string; value: string; inputs: Record<string, string> } | undefined {
  const action = isRecord(value) ? value.action : undefined;
  if (!isRecord(action) || action.type !== 'Action.Execute') return undefined;
  const { verb, data } = action;
  if (typeof verb !== 'string' || !verb || !isRecord(data) || typeof data.value !== 'string') return undefined;
  const inputs = Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => e[0] !== 'value' && typeof e[1] === 'string'));
  if (verb !== chooseVerb) return { id: verb, value: data.value, inputs };
  const { [data.value]: chosen = '', ...others } = inputs;
  const space = chosen.indexOf(' ');
  return space > 0 ? { id: chosen.slice(0, space), value: chosen.slice(space + 1), inputs: others } : undefined;
}
