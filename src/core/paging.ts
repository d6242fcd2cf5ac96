import { DomainError } from './errors.js';

/**
 * Rows per page of a list. Ten long rows (Korean and Chinese names, a reservation's
 * terms) stay well inside one Slack section's 3,000 characters times a few, Slack's
 * 50 blocks and a Teams card's size.
 */
export const listPageSize = 10;

export interface Page<T> {
  rows: T[];
  /** Rows in the whole list. */
  total: number;
  page: number;
  /** At least 1: an empty list is one empty page. */
  pages: number;
}

/**
 * One page of a list: counts the rows, refuses a page past the last before
 * reading any, then reads only that page's rows.
 */
export async function readPage<T>(
  page: number,
  countRows: () => Promise<number>,
  readRows: (limit: number, offset: number) => Promise<T[]>,
  size = listPageSize,
): Promise<Page<T>> {
  const total = await countRows();
  const pages = Math.max(1, Math.ceil(total / size));
  if (page > pages) throw new DomainError('list.pageOutOfRange', { page, pages });
  const rows = total ? await readRows(size, (page - 1) * size) : [];
  return { rows, total, page, pages };
}
