/**
 * The one normalisation of text users type, applied to stored names and to input
 * alike: width-folded (NFKC), accents dropped, case-folded, spaces collapsed.
 * Hangul survives because its syllables recompose after the marks are removed.
 */
export function normalizeKey(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim();
}

/** Escapes LIKE wildcards so user text matches literally. */
export function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
