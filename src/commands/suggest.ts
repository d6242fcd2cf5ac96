import { DomainError } from '../core/errors.js';
import { en } from '../i18n/en.js';

/** The commands help tells people about: every `{prefix}name` in its lines, so a new command is suggested once it is documented. */
const commandNames = [...new Set(Object.entries(en).flatMap(([key, text]) => (key.startsWith('help.') ? [...text.matchAll(/\{prefix\}([a-z][a-z-]*)/g)].map((m) => m[1]!) : [])))];

/**
 * Edits between two words, a swap of neighbours counting as one (optimal string alignment):
 * `hlep` is one slip from `help`. A dozen lines for names of a few letters, where a library's
 * speed buys nothing and plain Levenshtein would count the commonest typo twice.
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

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
