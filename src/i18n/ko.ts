import { en, type MessageKey } from './en.js';

/** Placeholder until the translation lands. */
export const ko: Record<MessageKey, string> = { ...en };
