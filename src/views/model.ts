/**
 * The platform-neutral message every command and button returns; one renderer per
 * platform turns it into Block Kit (views/slack.ts), Adaptive Cards or text.
 */
export interface View {
  title?: string;
  facts?: { label: string; value: string }[];
  lines?: string[];
  actions?: ViewAction[];
  tone?: 'info' | 'success' | 'warning' | 'error';
  /** A text the user must type before the action that asks for it (a rejection's reason). */
  input?: { id: string; label: string; placeholder?: string };
  /** Fields to fill in instead of typing a command's arguments: a Slack modal, a Teams card with inputs. */
  form?: Form;
  /** Files that go with the message (a price list): Slack uploads them, Teams links to them, the CLI writes them. */
  files?: ViewFile[];
  /**
   * Set on the answer to a click whose change committed (a decision, a confirmed change). Only such an
   * answer replaces a card others see; a refusal, a repeat click or an error is told to the clicker alone.
   */
  committed?: true;
  /**
   * The command or click did not do what was asked: a refusal, an error, or a decision the rules refused.
   * The tone only colours the message (a rejected request's card is red though rejecting it succeeded);
   * this is what the terminal's exit status and the command log go by.
   */
  failed?: true;
  /** Parts shown after the view's own text, in order, each with its own title, facts, lines and buttons (the home view). */
  sections?: View[];
}

/**
 * A form: its submission (the `form` action with `value`, and each field's value by its ID) runs the
 * command the fields fill in. Field IDs are never `value`, `view`, `home` or `choice…`, which Teams' action data holds.
 */
export interface Form {
  title: string;
  submit: string;
  /** What the submission carries back: which form it is and what it was opened for. */
  value: string;
  fields: FormField[];
  /** A refusal not about one field. */
  error?: string;
}

export interface FormOption {
  value: string;
  label: string;
}

export interface FormField {
  id: string;
  label: string;
  kind: 'select' | 'multi-select' | 'text' | 'number';
  /** A select's choices; with `more`, only the first of them: Slack then searches as the user types, Teams takes typed text. */
  options?: FormOption[];
  more?: boolean;
  /** A select's choices made when it is shown. */
  selected?: FormOption[];
  /** A text or number field's value when it is shown. */
  initial?: string;
  optional?: boolean;
  hint?: string;
  /** What to type where a select takes text. */
  placeholder?: string;
  multiline?: boolean;
  maxLength?: number;
  min?: number;
  max?: number;
  /** What is wrong with what was given, shown next to the field. */
  error?: string;
}

/** How many choices a select lists at once: Slack's limit for a static select. */
export const maxFormOptions = 100;

/**
 * A file that goes with a view: its bytes, or (an export too large to hold in memory) a temporary
 * file of `size` bytes at `path`, which whoever delivers it removes once it is delivered.
 */
export type ViewFile = { name: string; contentType: string } & ({ data: Buffer } | { path: string; size: number });

/**
 * A button carries only what to do and the ID it applies to; whoever clicks is
 * identified from the platform's signed request and checked again then.
 * `run` re-runs a command text (a choice between customers, the next page); `form` submits a form.
 */
export type ActionId = 'allow-reservations' | 'disallow-reservations' | 'allow-savings-plans' | 'disallow-savings-plans' | 'owner-assigned' | 'cancel' | 'approve' | 'reject' | 'reject-confirm' | 'buy' | 'subscription-edit' | 'done-in-azure' | 'run' | 'form';
export const actionIds: readonly ActionId[] = ['allow-reservations', 'disallow-reservations', 'allow-savings-plans', 'disallow-savings-plans', 'owner-assigned', 'cancel', 'approve', 'reject', 'reject-confirm', 'buy', 'subscription-edit', 'done-in-azure', 'run', 'form'];

export interface ViewAction {
  id: ActionId;
  label: string;
  value: string;
  style?: 'primary' | 'danger';
}

/** Cuts text to a platform's limit, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A run of a view's text: plain text, or an http(s) address that renderers make a link showing the address itself. */
type TextPiece = { text: string } | { url: string };

// Stops at characters that cannot be in an address unencoded, so `<https://x|y>` or `[y](https://x)` yields just https://x.
const addressPattern = /https?:\/\/[^\s<>"'`|\\^{}[\]()]+/g;
const trailingPunctuation = /[.,;:!?]+$/;

/**
 * Splits text into plain runs and addresses. Views hold catalog sentences with their parameters
 * filled in, so nothing in them is markup: renderers show every run as text and only turn
 * addresses into links, labelled with the address itself, so a link cannot pretend to go elsewhere.
 */
export function textPieces(text: string): TextPiece[] {
  const pieces: TextPiece[] = [];
  let rest = 0;
  for (const match of text.matchAll(addressPattern)) {
    const url = match[0].replace(trailingPunctuation, '');
    if (!URL.canParse(url)) continue;
    if (match.index > rest) pieces.push({ text: text.slice(rest, match.index) });
    pieces.push({ url });
    rest = match.index + url.length;
  }
  if (rest < text.length) pieces.push({ text: text.slice(rest) });
  return pieces;
}

/** The longest prefix of `items` whose sizes add up to at most `budget`: what fits in a message, in order. */
export function fitting<T>(items: readonly T[], sizeOf: (item: T) => number, budget: number): T[] {
  let used = 0;
  for (const [i, item] of items.entries()) {
    used += sizeOf(item);
    if (used > budget) return items.slice(0, i);
  }
  return [...items];
}

// C0 controls but tab and newline, DEL and C1 controls: a terminal would act on them (ESC starts colour and cursor codes).
const terminalControls = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** Shows control characters as visible symbols (ESC as ␛), so text from outside cannot move the cursor or recolour a terminal. */
export function visibleControls(text: string): string {
  return text.replace(terminalControls, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x20 ? String.fromCharCode(0x2400 + code) : code === 0x7f ? '\u2421' : '\ufffd';
  });
}

/** Plain text, for the terminal: shown as it is, except for control characters; sections after a blank line each. */
export function renderText(view: View): string {
  const parts: string[] = [];
  if (view.title) parts.push(view.title);
  for (const fact of view.facts ?? []) parts.push(`${fact.label}: ${fact.value}`);
  parts.push(...(view.lines ?? []));
  for (const section of view.sections ?? []) parts.push('', renderText(section));
  return visibleControls(parts.join('\n'));
}
