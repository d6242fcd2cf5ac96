import { ConverterFactory } from 'opencc-js/core';
import simplifiedToTraditional from 'opencc-js/dict/STCharacters';
import traditionalToSimplified from 'opencc-js/dict/TSCharacters';

// Quotes people wrap a name in: ASCII, typographic (phones and chat clients turn " into “ ”), CJK corner brackets, Slack's backticks.
const quoted = /^["'`“”‘’«»「」『』〝〞]+(.+?)["'`“”‘’«»「」『』〝〞]+$/su;

/** Text as typed, without the width, outer quotes and outer spaces that do not change what was meant: how IDs are looked up. */
export function plainText(text: string): string {
  const trimmed = text.normalize('NFKC').trim();
  return trimmed.replace(quoted, '$1').trim();
}

/**
 * Width-folded (NFKC), accents dropped, case-folded, spaces collapsed, outer quotes removed:
 * how text stored as it was written (publisher names, categories, skills) is compared.
 * Hangul survives because its syllables recompose after the marks are removed.
 */
export function normalizeText(text: string): string {
  return plainText(text)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

// Korean names are spaced loosely (한빛소프트 주식회사, 한빛소프트주식회사, LG 전자) and Chinese ones not at all.
const spaceBesideHangulOrHan = /(?<=[\p{Script=Hangul}\p{Script=Han}]) | (?=[\p{Script=Hangul}\p{Script=Han}])/gu;
const han = /\p{Script=Han}/u;

let foldHan: ((text: string) => string) | undefined;
/**
 * Simplified and Traditional characters as one: through Simplified and back, so variants fold
 * together too (臺/台, 髮/發, 裡/裏) and the key reads as Traditional. Character tables only
 * (about 60 KB, 2 MB of heap, built once on first use), not opencc-js's 1 MB phrase dictionaries:
 * matching needs each character folded, not fluent conversion.
 */
function foldChinese(text: string): string {
  foldHan ??= (() => {
    const toSimplified = ConverterFactory([traditionalToSimplified]);
    const toTraditional = ConverterFactory([simplifiedToTraditional]);
    return (t: string) => toTraditional(toSimplified(t));
  })();
  return han.test(text) ? foldHan(text) : text;
}

/**
 * The one key text users type is matched by, applied to stored names (their name_key) and to
 * input alike: normalizeText, then no space beside Hangul or Han characters, and Chinese
 * characters folded to one form. Latin words keep their single spaces ("contoso ltd").
 * Changing it leaves stored keys old: src/core/name-keys.ts recomputes them at start-up.
 */
export function normalizeKey(text: string): string {
  return foldChinese(normalizeText(text).replace(spaceBesideHangulOrHan, ''));
}

/** The forms text stored as written may contain a typed word in: as folded (what was stored) and as keyed (Traditional for Simplified input). */
export function searchForms(word: string): string[] {
  const forms = [normalizeText(word), normalizeKey(word)];
  return forms[0] === forms[1] ? [forms[0]!] : forms;
}

/** The words of a search as the user spaced them: each must match somewhere. */
export function searchWords(text: string): string[] {
  return normalizeText(text).split(' ').filter(Boolean);
}

/** Escapes LIKE wildcards so user text matches literally. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

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

/** The shortest start of an ID accepted, so one to three characters never pick a reservation or request by chance. */
export const minIdPrefix = 4;

/** How many IDs an ambiguous start lists. */
export const idsListed = 10;

/** What a typed ID or start of one picks among the rows whose IDs start with it (read with a limit above idsListed). */
export type IdPrefixMatch<T> = { state: 'found'; row: T } | { state: 'none' } | { state: 'tooShort' } | { state: 'ambiguous'; ids: string };

export function matchIdPrefix<T extends { id: string }>(rows: T[], ref: string): IdPrefixMatch<T> {
  const exact = rows.find((r) => r.id.toLowerCase() === ref.toLowerCase());
  if (exact) return { state: 'found', row: exact };
  if (ref.length < minIdPrefix) return { state: 'tooShort' };
  if (rows.length === 1) return { state: 'found', row: rows[0]! };
  if (!rows.length) return { state: 'none' };
  const ids = rows.slice(0, idsListed).map((r) => r.id);
  return { state: 'ambiguous', ids: rows.length > idsListed ? `${ids.join(', ')}, …` : ids.join(', ') };
}
