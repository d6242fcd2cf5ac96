import { describe, expect, it } from 'vitest';
import { parse, TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser';
import { catalogs, locales, type MessageKey } from '../src/i18n/index.js';

/** The arguments a sentence takes, each with how it is used: `name` (plain), `name:plural`, `name:select`. */
function argumentsOf(message: string): string[] {
  const found = new Set<string>();
  const walk = (elements: MessageFormatElement[]) => {
    for (const e of elements) {
      if (e.type === TYPE.argument || e.type === TYPE.number || e.type === TYPE.date || e.type === TYPE.time) found.add(e.value);
      if (e.type === TYPE.plural || e.type === TYPE.select) {
        found.add(`${e.value}:${e.type === TYPE.plural ? 'plural' : 'select'}`);
        for (const option of Object.values(e.options)) walk(option.value);
      }
    }
  };
  walk(parse(message, { ignoreTag: true }));
  return [...found].sort();
}

/** The words around the arguments: what a reader sees of the sentence itself. */
function literalText(message: string): string {
  const parts: string[] = [];
  const walk = (elements: MessageFormatElement[]) => {
    for (const e of elements) {
      if (e.type === TYPE.literal) parts.push(e.value);
      if (e.type === TYPE.plural || e.type === TYPE.select) for (const option of Object.values(e.options)) walk(option.value);
    }
  };
  walk(parse(message, { ignoreTag: true }));
  return parts.join(' ');
}

// English words that only a sentence left untranslated would contain. Command syntax (help, usage)
// stays English because commands are typed that way, so words that are command names are not listed.
const englishWords = /\b(the|is|are|was|were|and|nothing|changed|this|that|with|from|your|you|has|have|not|can|will|been|which|there|when|before|after|only|must|please|again)\b/i;
// Literal text csp-ops must keep as it is: HTTP headers, what people type or paste exactly, and addresses (documentation links).
const keptVerbatim = [/Authorization: (Bearer|Signature) <[^>]*>/g, /Content-Type: application\/json/g, /"CSV UTF-8"/g, /X-MS-[\w-]+/g, /https:\/\/\S+/g];

const english = catalogs.en;
const keys = Object.keys(english) as MessageKey[];

describe('message catalogs', () => {
  it('every English sentence parses as ICU MessageFormat', () => {
    for (const key of keys) expect(() => argumentsOf(english[key]), key).not.toThrow();
  });

  for (const locale of locales.filter((l) => l !== 'en')) {
    describe(locale, () => {
      const catalog = catalogs[locale];

      it('has exactly the English keys', () => {
        expect(Object.keys(catalog).sort()).toEqual([...keys].sort());
      });

      it('takes the same arguments as English, plural and select ones used the same way', () => {
        const differing = keys.filter((key) => JSON.stringify(argumentsOf(catalog[key])) !== JSON.stringify(argumentsOf(english[key])));
        expect(differing.map((key) => `${key}: ${argumentsOf(catalog[key]).join(',')} ≠ ${argumentsOf(english[key]).join(',')}`)).toEqual([]);
      });

      it('is translated: no sentence is left in English', () => {
        const untranslated = keys.filter((key) => {
          let text = literalText(catalog[key]);
          for (const verbatim of keptVerbatim) text = text.replace(verbatim, '');
          return englishWords.test(text);
        });
        expect(untranslated.map((key) => `${key}: ${catalog[key]}`)).toEqual([]);
      });
    });
  }
});
