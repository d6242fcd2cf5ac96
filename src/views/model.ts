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
  /** Files that go with the message (a price list): Slack uploads them, Teams links to them, the CLI writes them. */
  files?: ViewFile[];
  /**
   * Set on the answer to a click whose change committed (a decision, a confirmed change). Only such an
   * answer replaces a card others see; a refusal, a repeat click or an error is told to the clicker alone.
   */
  committed?: true;
}

export interface ViewFile {
  name: string;
  contentType: string;
  data: Buffer;
}

/**
 * A button carries only what to do and the ID it applies to; whoever clicks is
 * identified from the platform's signed request and checked again then.
 * `run` re-runs a command text (a choice between customers, the next page).
 */
export type ActionId = 'allow-reservations' | 'disallow-reservations' | 'allow-savings-plans' | 'disallow-savings-plans' | 'owner-assigned' | 'cancel' | 'approve' | 'reject' | 'reject-confirm' | 'buy' | 'subscription-edit' | 'run';
export const actionIds: readonly ActionId[] = ['allow-reservations', 'disallow-reservations', 'allow-savings-plans', 'disallow-savings-plans', 'owner-assigned', 'cancel', 'approve', 'reject', 'reject-confirm', 'buy', 'subscription-edit', 'run'];

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

/** Plain text, for the terminal. */
export function renderText(view: View): string {
  const parts: string[] = [];
  if (view.title) parts.push(view.title);
  for (const fact of view.facts ?? []) parts.push(`${fact.label}: ${fact.value}`);
  parts.push(...(view.lines ?? []));
  return parts.join('\n');
}
