import { randomUUID } from 'node:crypto';
import { changedHere } from '../core/change-cache.js';
import { accountChangedHere } from '../core/permissions.js';
import { DomainError } from '../core/errors.js';
import type { RequestContext } from '../request-context.js';
import { actionIds, type ActionId, type View } from '../views/model.js';
import { errorText, type CommandEnv, type OrgEnv } from './context.js';
import { commandText, parseCommand, type Command } from './grammar.js';
import { formView, formWanted, readForm } from './forms.js';
import { runButton, runParsedCommand } from './handlers.js';
import { helpView } from './help.js';
import { homeView } from './home.js';

/** The command again with the customer replaced: what a "choose this customer" button runs. */
function withCustomer(command: Command, tenantId: string): string | undefined {
  return 'customer' in command ? commandText({ ...command, customer: tenantId }) : undefined;
}

function errorView(env: CommandEnv, error: unknown, command?: Command): View {
  const { t } = env;
  if (error instanceof DomainError) {
    const actions = error.candidates.flatMap((c) => {
      const value = command && withCustomer(command, c.tenantId);
      return value ? [{ id: 'run' as const, label: t('customers.choice', { name: c.name, domain: c.domain }), value }] : [];
    });
    return { tone: 'error', failed: true, lines: [errorText(env, error)], actions };
  }
  const errorId = randomUUID().slice(0, 8);
  const { observing } = env.request;
  if (observing) observing.errorId = errorId;
  env.logError(errorId, error);
  return { tone: 'error', failed: true, lines: [t('error.unexpected', { id: errorId })] };
}

/**
 * Runs a command or click as the env's request (whose ID Partner Center is given), then logs and counts it:
 * its name and outcome, never the text after the name, which holds customer names and reasons.
 */
async function observed(env: CommandEnv, kind: 'command' | 'click', name: string | undefined, run: () => Promise<View>): Promise<View> {
  const { request } = env;
  // A "run" button runs a command inside its click: one request, one line.
  if (request.observing) return run();
  const observing: NonNullable<RequestContext['observing']> = (request.observing = { name });
  const started = performance.now();
  let view: View | undefined;
  try {
    return (view = await run());
  } finally {
    // Another command of the same request after this one (a Home tab published after its click) is one of its own.
    request.observing = undefined;
    const outcome = observing.errorId || !view ? 'error' : view.failed ? 'refused' : 'ok';
    env.telemetry?.handled({
      request,
      kind,
      name: observing.name ?? 'unknown',
      platform: env.conversation.platform,
      org: env.org,
      outcome,
      durationMs: performance.now() - started,
      errorId: observing.errorId,
    });
  }
}

/** Commands that change nothing; a confirmation they offer acts only on its click, which checks the clicker again. */
const readingCommands = new Set<Command['name']>([
  'help', 'home', 'customers', 'customer', 'activity', 'activity-export', 'reservations', 'orders', 'requests', 'price-list', 'marketplace', 'offer',
  'subscriptions', 'billing', 'support', 'partners', 'notify-list', 'connector-status',
  'allow-reservations', 'disallow-reservations', 'allow-savings-plans', 'disallow-savings-plans', 'buy',
]);

/**
 * Whether the typed command only reads: it may then run for an identity kept in memory (cachedChatIdentity).
 * One that changes something is run for the identity read now, so a role just removed is not acted on.
 * Text that is no command only gets an error or a form, whose submission is checked again.
 */
export function commandOnlyReads(text: string): boolean {
  let command: Command;
  try {
    command = parseCommand(text);
  } catch {
    return true;
  }
  return onlyReads(command);
}

function onlyReads(command: Command): boolean {
  switch (command.name) {
    case 'language':
      return command.language === undefined;
    case 'settings':
      return !command.change;
    case 'notify-failures':
      return !command.retry;
    case 'audience':
      return !command.action || command.action.kind === 'steps';
    default:
      return readingCommands.has(command.name);
  }
}

export async function runCommand(env: CommandEnv, text: string): Promise<View> {
  return observed(env, 'command', undefined, () => dispatchCommand(env, text));
}

async function dispatchCommand(env: CommandEnv, text: string): Promise<View> {
  // PostgreSQL's text holds no NUL character: refused here rather than failing the first query that meets it.
  if (text.includes('\0')) return errorView(env, new DomainError('error.nulCharacter'));
  let command: Command | undefined;
  try {
    command = parseCommand(text);
    const { observing } = env.request;
    if (observing) observing.name ??= command.name;
    const { org } = env;
    // Home shows what the reader may see, and outside a linked organization or to an unknown user the notice help gives.
    if (command.name === 'home') return await homeView(env);
    // R-A1, R-A5: outside a linked organization, or as an unknown user, only help runs.
    if (!org || command.name === 'help') return helpView(env);
    if (env.actor.kind === 'unknown') throw new DomainError('error.unknownUser');
    return await runWriting({ ...env, org }, command);
  } catch (error) {
    // In chat, arguments left out open a form (the terminal has none): to people who may run the command.
    const wanted = env.org && env.actor.kind !== 'unknown' && env.conversation.platform !== 'cli' ? formWanted(text, error) : undefined;
    if (!wanted) return errorView(env, error, command);
    const { observing } = env.request;
    if (observing) observing.name = wanted.context.form;
    try {
      return await formView({ ...env, org: env.org! }, wanted, errorView(env, error).lines ?? []);
    } catch (refusal) {
      return errorView(env, refusal);
    }
  }
}

/**
 * Runs a parsed command. One that may write (settings, a language, an Owner) may have changed what this process
 * keeps in memory (identities, customers' accounts): all of it is forgotten once the command is done, so the
 * next answer here shows the change without waiting for its notification.
 */
async function runWriting(env: OrgEnv, command: Exclude<Command, { name: 'home' }>): Promise<View> {
  const view = await runParsedCommand(env, command);
  if (!onlyReads(command)) changedHere(env.db);
  return view;
}

/** A submitted form runs the Command it fills in, as typed; a refusal is shown on the form, next to its field. */
async function runForm(env: OrgEnv, value: string, inputs: Record<string, string>): Promise<View> {
  const submitted = await readForm(env, value, inputs);
  if ('view' in submitted) return submitted.view;
  try {
    return await runWriting(env, submitted.command);
  } catch (error) {
    return submitted.refused(errorView(env, error).lines?.[0] ?? '', error);
  }
}

/** A button click; `inputs` holds what the user typed into the view's input, if it had one. */
export async function runAction(env: CommandEnv, id: string, value: string, inputs: Record<string, string> = {}): Promise<View> {
  // Only a known action ID is a name: the ID comes from the request, so anything else is logged as "unknown".
  const action = actionIds.find((a) => a === id) as ActionId | undefined;
  return observed(env, 'click', action, async () => {
    try {
      const { org } = env;
      if (!org) return helpView(env);
      if (env.actor.kind === 'unknown') throw new DomainError('error.unknownUser');
      if (!action) throw new DomainError('error.unknownCommand', { name: id });
      if (value.includes('\0') || Object.values(inputs).some((input) => input.includes('\0'))) throw new DomainError('error.nulCharacter');
      if (action === 'run') return await runCommand(env, value);
      if (action === 'form') return await runForm({ ...env, org }, value, inputs);
      const view = await runButton({ ...env, org }, action, value, inputs);
      // A button may change a customer's account (a permission, an Owner, a subscription), never who someone is
      // (a form's typed command is runWriting's): the next card here shows it at once.
      accountChangedHere(env.db);
      return view;
    } catch (error) {
      return errorView(env, error);
    }
  });
}
