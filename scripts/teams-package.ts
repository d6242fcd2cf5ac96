/**
 * Builds the Teams app package an admin uploads: `npm run teams:package [-- --out <file.zip>]`.
 *
 * The zip holds manifest.json (manifest/teams/manifest.template.json with the bot's app ID
 * and package.json's version filled in) and the two icons, all at the root as Teams requires.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { strToU8, zipSync } from 'fflate';
import { ConfigError, loadConfig } from '../src/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const teamsDir = join(root, 'manifest', 'teams');

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

/** Replaces {{NAME}} in every string of the parsed template; any placeholder left is an error. */
function fill(value: unknown, values: Record<string, string>): unknown {
  if (typeof value === 'string') {
    return value.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
      const replacement = values[name];
      if (replacement === undefined) fail(`manifest/teams/manifest.template.json has an unknown placeholder ${whole}.`);
      return replacement;
    });
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, values));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, values)]));
  }
  return value;
}

const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const out = args.out ? resolve(args.out) : join(root, 'dist', 'csp-ops-teams.zip');

let appId: string | undefined;
try {
  appId = loadConfig().MICROSOFT_APP_ID;
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
if (!appId) {
  fail('Missing setting MICROSOFT_APP_ID: expected the bot\'s Microsoft app ID (a GUID) to build the Teams app package.');
}

const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
if (typeof version !== 'string' || !/^\d+\.\d+\.\d+/.test(version)) {
  fail('package.json has no version of the form MAJOR.MINOR.PATCH, which Teams needs for the app version.');
}

const template: unknown = JSON.parse(readFileSync(join(teamsDir, 'manifest.template.json'), 'utf8'));
const manifest = fill(template, { MICROSOFT_APP_ID: appId, VERSION: version });

const zip = zipSync({
  'manifest.json': strToU8(`${JSON.stringify(manifest, null, 2)}\n`),
  'color.png': readFileSync(join(teamsDir, 'color.png')),
  'outline.png': readFileSync(join(teamsDir, 'outline.png')),
}, { level: 9 });

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, zip);

const shown = relative(process.cwd(), out);
console.log(`Wrote ${shown && !shown.startsWith('..') ? shown : out} for Microsoft app ID ${appId} (version ${version}).`);
