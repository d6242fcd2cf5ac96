import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Database } from '../../../db/client.js';
import type { CommandEnv } from '../../commands/context.js';
import { runAction, runCommand } from '../../commands/dispatch.js';
import { staffByEmail } from '../../core/access.js';
import { DomainError } from '../../core/errors.js';
import { ImportError, importOrganization, parseImportFile } from '../../core/import.js';
import { translator } from '../../i18n/index.js';
import { renderText } from '../../views/model.js';

export interface CliResult {
  output: string;
  exitCode: number;
}

const usage = [
  'Usage:',
  '  npm run csp -- <command text> --as <staff email> [--org <organization name>] [--yes]',
  '  npm run csp -- import <file.json>',
  'Example: npm run csp -- customers --as admin@fabrikam.example',
  'Commands: npm run csp -- help --as <staff email>',
].join('\n');

/**
 * The terminal adapter: the same grammar and core as chat, acting as the staff
 * member named by --as. A confirmation's primary button is clicked by --yes.
 */
export async function runCli(db: Database, argv: string[]): Promise<CliResult> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { as: { type: 'string' }, org: { type: 'string' }, yes: { type: 'boolean', short: 'y' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    return { output: `${(error as Error).message}\n${usage}`, exitCode: 2 };
  }
  const { positionals, values } = parsed;
  if (values.help || positionals.length === 0) return { output: usage, exitCode: positionals.length === 0 && !values.help ? 2 : 0 };

  if (positionals[0] === 'import') {
    if (positionals.length !== 2) return { output: 'Usage: npm run csp -- import <file.json>', exitCode: 2 };
    return importFile(db, positionals[1]!);
  }
  if (!values.as) return { output: `Say who is acting with --as <staff email>.\n${usage}`, exitCode: 2 };

  const t = translator('en');
  let identity;
  try {
    identity = await staffByEmail(db, values.as, values.org);
  } catch (error) {
    if (error instanceof DomainError) return { output: t(error.code, error.params), exitCode: 1 };
    throw error;
  }
  let failed = false;
  const env: CommandEnv = {
    db,
    ...identity,
    conversation: { platform: 'cli', channelId: null },
    t,
    prefix: 'npm run csp -- ',
    now: () => new Date(),
    logError: (id, error) => console.error(`error ${id}`, error),
  };
  let view = await runCommand(env, positionals.join(' '));
  const primary = view.actions?.find((a) => a.style);
  const outputs = [renderText(view)];
  if (primary && values.yes) {
    view = await runAction(env, primary.id, primary.value);
    outputs.push(renderText(view));
  } else if (primary) {
    outputs.push(`To ${primary.label.toLowerCase()}, run the same command again with --yes.`);
  }
  failed = view.tone === 'error';
  return { output: outputs.join('\n\n'), exitCode: failed ? 1 : 0 };
}

async function importFile(db: Database, path: string): Promise<CliResult> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    return { output: `Could not read ${path}: ${reason}. Nothing was imported.`, exitCode: 1 };
  }
  try {
    const { counts } = await importOrganization(db, parseImportFile(json));
    return {
      output: `Imported ${counts.staff} staff, ${counts.customers} customers, ${counts.contacts} contacts and ${counts.subscriptions} subscriptions.`,
      exitCode: 0,
    };
  } catch (error) {
    if (error instanceof ImportError) return { output: `${error.message}\nNothing was imported.`, exitCode: 1 };
    throw error;
  }
}
