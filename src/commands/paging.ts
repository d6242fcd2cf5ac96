import type { Page } from '../core/paging.js';
import type { ViewAction } from '../views/model.js';
import type { CommandEnv } from './context.js';
import { commandText, type Command } from './grammar.js';

/**
 * What ends a page of a list: "page X of Y", and while more follow a "next page"
 * button that runs the same command one page further.
 */
export function pageFooter(env: Pick<CommandEnv, 't'>, list: Page<unknown>, command: Extract<Command, { page: number }>): { line: string; actions: ViewAction[] } {
  const { t } = env;
  return {
    line: t('list.page', { page: list.page, pages: list.pages, total: list.total }),
    actions: list.page < list.pages ? [{ id: 'run', label: t('list.next'), value: commandText({ ...command, page: list.page + 1 }) }] : [],
  };
}
