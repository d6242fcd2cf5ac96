import { randomUUID } from 'node:crypto';
import { DomainError } from '../core/errors.js';
import { actionIds, type ActionId, type View } from '../views/model.js';
import type { CommandEnv } from './context.js';
import { commandText, parseCommand, type Command } from './grammar.js';
import { helpView, runButton, runParsedCommand } from './handlers.js';

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
    const terms = Object.fromEntries(Object.entries(error.terms).map(([name, key]) => [name, t(key)]));
    const commands = Object.fromEntries(error.commands.map((name) => [name, `${env.prefix}${error.params[name]}`]));
    return { tone: 'error', lines: [t(error.code, { prefix: env.prefix, ...error.params, ...terms, ...commands })], actions };
  }
  const errorId = randomUUID().slice(0, 8);
  env.logError(errorId, error);
  return { tone: 'error', lines: [t('error.unexpected', { id: errorId })] };
}

export async function runCommand(env: CommandEnv, text: string): Promise<View> {
  let command: Command | undefined;
  try {
    command = parseCommand(text);
    const { org } = env;
    // R-A1, R-A5: outside a linked organization, or as an unknown user, only help runs.
    if (!org || command.name === 'help') return helpView(env);
    if (env.actor.kind === 'unknown') throw new DomainError('error.unknownUser');
    return await runParsedCommand({ ...env, org }, command);
  } catch (error) {
    return errorView(env, error, command);
  }
}

/** A button click; `inputs` holds what the user typed into the view's input, if it had one. */
export async function runAction(env: CommandEnv, id: string, value: string, inputs: Record<string, string> = {}): Promise<View> {
  try {
    const { org } = env;
    if (!org) return helpView(env);
    if (env.actor.kind === 'unknown') throw new DomainError('error.unknownUser');
    const action = actionIds.find((a) => a === id) as ActionId | undefined;
    if (!action) throw new DomainError('error.unknownCommand', { name: id });
    if (action === 'run') return await runCommand(env, value);
    return await runButton({ ...env, org }, action, value, inputs);
  } catch (error) {
    return errorView(env, error);
  }
}
