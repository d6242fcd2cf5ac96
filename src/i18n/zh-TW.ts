import { en, type MessageKey } from './en.js';

/** Placeholder until the translation lands. */
export const zhTW: Record<MessageKey, string> = { ...en };
