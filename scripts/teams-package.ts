/**
 * Builds the Teams app package an admin uploads: `npm run teams:package [-- --out <file.zip>]`.
 *
 * It needs only MICROSOFT_APP_ID and PUBLIC_URL. The zip holds manifest.json
 * (manifest/teams/manifest.template.json with the bot's app ID, its public URL and package.json's
 * version filled in), the two icons and the localization files the template's
 * localizationInfo names (manifest/teams/ko-KR.json, zh-TW.json), all at the root as Teams requires.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { strFromU8, strToU8, zipSync } from 'fflate';
import { ConfigError, loadSettings } from '../src/config.js';

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

/**
 * The files localizationInfo.additionalLanguages names, read from manifest/teams/. Each must be a
 * JSON object whose $schema is the localization schema of the manifest's own version, as Teams
 * requires the two to match.
 */
function localizationFiles(template: unknown): Record<string, Uint8Array> {
  const { manifestVersion, localizationInfo } = template as {
    manifestVersion?: unknown;
    localizationInfo?: { additionalLanguages?: { languageTag?: unknown; file?: unknown }[] };
  };
  const schema = `https://developer.microsoft.com/json-schemas/teams/v${String(manifestVersion)}/MicrosoftTeams.Localization.schema.json`;
  const files: Record<string, Uint8Array> = {};
  for (const language of localizationInfo?.additionalLanguages ?? []) {
    const file = language.file;
    if (typeof file !== 'string' || !/^[\w.-]+\.json$/.test(file) || file === 'manifest.json') {
      fail(`manifest/teams/manifest.template.json names the localization file ${JSON.stringify(file)}: expected the name of a .json file in manifest/teams/ other than manifest.json.`);
    }
    let bytes: Uint8Array;
    let strings: unknown;
    try {
      bytes = readFileSync(join(teamsDir, file));
      strings = JSON.parse(strFromU8(bytes));
    } catch (error) {
      fail(`manifest/teams/${file} (for ${String(language.languageTag)}) cannot be read as JSON: ${(error as Error).message}`);
    }
    if (!strings || typeof strings !== 'object' || (strings as { $schema?: unknown }).$schema !== schema) {
      fail(`manifest/teams/${file} must be a JSON object whose $schema is ${schema}.`);
    }
    files[file] = bytes;
  }
  return files;
}

const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
const out = args.out ? resolve(args.out) : join(root, 'dist', 'csp-ops-teams.zip');

let settings: { MICROSOFT_APP_ID?: string; PUBLIC_URL?: string };
try {
  settings = loadSettings(['MICROSOFT_APP_ID', 'PUBLIC_URL']);
} catch (error) {
  if (error instanceof ConfigError) fail(error.message);
  throw error;
}
const { MICROSOFT_APP_ID: appId, PUBLIC_URL: publicUrl } = settings;
if (!appId) {
  fail('Missing setting MICROSOFT_APP_ID: expected the bot\'s Microsoft app ID (a GUID) to build the Teams app package.');
}
if (!publicUrl) {
  fail('Missing setting PUBLIC_URL: expected the public https URL where Teams reaches this bot, such as https://csp-ops.contoso.com, to build the Teams app package.');
}
// The package names the partner's own site: Teams shows it on the app's page, and a placeholder or local address would be wrong there.
const host = new URL(publicUrl).hostname.toLowerCase();
const placeholder = /(^|\.)(example\.(com|net|org)|example|test|invalid|localhost)$/.test(host) || ['127.0.0.1', '[::1]', '0.0.0.0'].includes(host);
if (!publicUrl.startsWith('https://') || placeholder) {
  fail(`PUBLIC_URL is ${publicUrl}: expected the public https URL where Teams reaches this bot, such as https://csp-ops.contoso.com, not a placeholder or local address.`);
}

const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version?: unknown };
if (typeof version !== 'string' || !/^\d+\.\d+\.\d+/.test(version)) {
  fail('package.json has no version of the form MAJOR.MINOR.PATCH, which Teams needs for the app version.');
}

const template: unknown = JSON.parse(readFileSync(join(teamsDir, 'manifest.template.json'), 'utf8'));
const manifest = fill(template, { MICROSOFT_APP_ID: appId, PUBLIC_URL: publicUrl, VERSION: version });
const localizations = localizationFiles(template);

const zip = zipSync({
  'manifest.json': strToU8(`${JSON.stringify(manifest, null, 2)}\n`),
  'color.png': readFileSync(join(teamsDir, 'color.png')),
  'outline.png': readFileSync(join(teamsDir, 'outline.png')),
  ...localizations,
}, { level: 9 });

mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, zip);

const shown = relative(process.cwd(), out);
console.log(`Wrote ${shown && !shown.startsWith('..') ? shown : out} for Microsoft app ID ${appId} (version ${version}).`);
