import type { MessageKey, MessageParams } from '../i18n/index.js';

/** Something the user can fix: the views turn `code` and `params` into a sentence. */
export class DomainError extends Error {
  constructor(
    readonly code: MessageKey,
    readonly params: MessageParams = {},
    /** Customers the user may have meant, offered as choices (ambiguous input). */
    readonly candidates: { id: string; name: string; domain: string; tenantId: string }[] = [],
  ) {
    super(code);
  }
}
