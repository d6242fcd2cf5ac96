import type { Organization } from '../core/context.js';
import { DomainError } from '../core/errors.js';
import type { Command } from './grammar.js';

export type OrganizationKind = NonNullable<Organization['kind']>;

/** A publisher manages which CSP partners may resell its offers; a CSP partner runs everything else. */
const publisherCommands = new Set<Command['name']>(['audience', 'partners']);
/** Commands every organization has: help, its home, its own log, settings and language. */
const commandsOfBoth = new Set<Command['name']>(['help', 'home', 'activity', 'language', 'settings']);

/** Which kind of organization a command is for, or both. */
export function commandOrganizationKind(name: Command['name']): OrganizationKind | 'both' {
  return commandsOfBoth.has(name) ? 'both' : publisherCommands.has(name) ? 'publisher' : 'partner';
}

/** The command's words as typed, without what follows them (names, reasons). */
export function typedName(command: Command): string {
  if (command.name === 'channel-here') return `channel ${command.purpose} here`;
  return command.name.replace(/^(notify|connector|channel)-/, '$1 ');
}

/**
 * A command of the other kind of organization is refused by saying whose command it is and what it is
 * for, rather than by a role or an empty list that would suggest something is missing here.
 */
export function requireOrganizationKind(org: Organization, command: Command): void {
  const kind = org.kind ?? 'partner';
  const wanted = commandOrganizationKind(command.name);
  if (wanted === 'both' || wanted === kind) return;
  if (command.name === 'audience') throw new DomainError('error.publisherCommandAudience');
  if (command.name === 'partners') throw new DomainError('error.publisherCommandPartners');
  throw new DomainError('error.partnerCommand', { command: typedName(command) });
}
