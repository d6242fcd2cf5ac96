import { DomainError } from '../core/errors.js';
import { en } from '../i18n/en.js';
import { editDistance } from '../core/text.js';

/** The commands help tells people about: every `{prefix}name` in its lines, so a new command is suggested once it is documented. */
const commandNames = [...new Set(Object.entries(en).flatMap(([key, text]) => (key.startsWith('help.') ? [...text.matchAll(/\{prefix\}([a-z][a-z-]*)/g)].map((m) => m[1]!) : [])))];

/** The command a mistyped name most likely meant: at most two edits, and at most one per three letters typed, so short nonsense gets none. */
export function closestCommand(name: string): string | undefined {
  const allowed = Math.min(2, Math.max(1, Math.floor(name.length / 3)));
  let best: { command: string; distance: number } | undefined;
  for (const command of commandNames) {
    if (Math.abs(name.length - command.length) > allowed) continue;
    const distance = editDistance(name, command);
    if (distance <= allowed && (!best || distance < best.distance)) best = { command, distance };
  }
  return best?.command;
}

/** The error for a command that does not exist, with the command it most likely meant when one is close. */
export function unknownCommand(name: string): DomainError {
  const shown = name.slice(0, 60);
  const suggestion = closestCommand(name);
  return suggestion
    ? new DomainError('error.unknownCommandSuggest', { name: shown, suggestion }, { commands: ['suggestion'] })
    : new DomainError('error.unknownCommand', { name: shown });
}
