import type { MessageKey, MessageParams } from '../i18n/index.js';

export interface DomainErrorOptions {
  /** Parameters that are themselves catalog words (a role, an action), translated when shown. */
  terms?: Record<string, MessageKey>;
  /** Customers the user may have meant, offered as choices (ambiguous input). */
  candidates?: { id: string; name: string; domain: string; tenantId: string }[];
  /** Parameters that are commands to type, shown after the prefix of where the user is (`/csp `, `npm run csp -- `). */
  commands?: string[];
  /** A sentence of advice, taking no parameters, shown after the error's own. */
  advice?: MessageKey;
}

/** Something the user can fix: the views turn `code` and `params` into a sentence. */
export class DomainError extends Error {
  readonly terms: Record<string, MessageKey>;
  readonly candidates: NonNullable<DomainErrorOptions['candidates']>;
  readonly commands: string[];
  readonly advice: MessageKey | undefined;

  constructor(
    readonly code: MessageKey,
    readonly params: MessageParams = {},
    options: DomainErrorOptions = {},
  ) {
    super(code);
    this.terms = options.terms ?? {};
    this.candidates = options.candidates ?? [];
    this.commands = options.commands ?? [];
    this.advice = options.advice;
  }
}
