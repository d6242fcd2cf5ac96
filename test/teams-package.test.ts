import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { strFromU8, unzipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = mkdtempSync(join(tmpdir(), 'csp-ops-teams-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const APP_ID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const TENANT_ID = '9c8d2b1a-6e7f-4a3b-8c2d-1e0f9a8b7c6d';
const PUBLIC_URL = 'https://csp-ops.hanbit-partners.co.kr';

interface Run { code: number; stdout: string; stderr: string }

/** Runs scripts/teams-package.ts with only the given settings (nothing from this shell's environment). */
function runPackage(settings: Record<string, string>, out: string): Promise<Run> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...settings };
  return new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'scripts/teams-package.ts', '--out', out], { cwd: root, env, timeout: 30_000 },
      (error, stdout, stderr) => done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }));
  });
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(bytes: Uint8Array): { width: number; height: number } {
  expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(strFromU8(bytes.subarray(12, 16))).toBe('IHDR');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

describe('npm run teams:package', () => {
  it('writes a zip with manifest.json (app ID, version, public URL, bot scopes, commands), both icons and the ko-KR and zh-TW localization files at the root, from the app ID and public URL alone', async () => {
    const out = join(outDir, 'csp-ops-teams.zip');
    const run = await runPackage({ MICROSOFT_APP_ID: APP_ID, PUBLIC_URL: `${PUBLIC_URL}/` }, out);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(out);
    expect(run.stdout).toContain(APP_ID);

    const files = unzipSync(readFileSync(out));
    expect(Object.keys(files).sort()).toEqual(['color.png', 'ko-KR.json', 'manifest.json', 'outline.png', 'zh-TW.json']);

    const manifest = JSON.parse(strFromU8(files['manifest.json']!));
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(manifest.id).toBe(APP_ID);
    expect(manifest.version).toBe(version);
    expect(manifest.manifestVersion).toMatch(/^1\.\d+$/);
    expect(manifest.$schema).toBe(`https://developer.microsoft.com/json-schemas/teams/v${manifest.manifestVersion}/MicrosoftTeams.schema.json`);
    expect(manifest.icons).toEqual({ color: 'color.png', outline: 'outline.png' });
    expect(manifest.developer).toEqual({ name: 'csp-ops', websiteUrl: PUBLIC_URL, privacyUrl: PUBLIC_URL, termsOfUseUrl: PUBLIC_URL });
    expect(JSON.stringify(manifest)).not.toContain('{{');

    expect(manifest.bots).toHaveLength(1);
    const bot = manifest.bots[0];
    expect(bot.botId).toBe(APP_ID);
    expect([...bot.scopes].sort()).toEqual(['groupChat', 'personal', 'team']);
    expect(bot.supportsFiles).toBe(false);

    const lists = bot.commandLists as { scopes: string[]; commands: { title: string; description: string }[] }[];
    expect(lists.flatMap((list) => list.scopes).sort()).toEqual(['groupChat', 'personal', 'team']);
    // The commands people use most, up to Teams' limit of 10 a list, each with a description (at most 128 characters).
    expect(lists.map((list) => list.commands.map((command) => command.title))).toEqual([
      ['help', 'customers', 'customer', 'allow-reservations', 'disallow-reservations', 'reservations', 'request', 'requests', 'subscriptions', 'notify here'],
      ['help', 'customers', 'customer', 'allow-reservations', 'disallow-reservations', 'reservations', 'requests', 'subscriptions', 'buy', 'activity'],
    ]);
    for (const command of lists.flatMap((list) => list.commands)) {
      expect(command.description.length, command.title).toBeGreaterThan(0);
      expect(command.description.length, command.title).toBeLessThanOrEqual(128);
    }

    // Localization: English by default, ko-KR and zh-TW from files in the package, each the file in
    // manifest/teams/ and translating every command of every command list (titles stay English).
    expect(manifest.localizationInfo.defaultLanguageTag).toBe('en');
    const languages = manifest.localizationInfo.additionalLanguages as { languageTag: string; file: string }[];
    expect(languages.map((language) => language.languageTag)).toEqual(['ko-KR', 'zh-TW']);
    for (const { languageTag, file } of languages) {
      expect(files[file], file).toBeDefined();
      expect(Buffer.from(files[file]!).equals(readFileSync(join(root, 'manifest', 'teams', file))), file).toBe(true);
      const strings = JSON.parse(strFromU8(files[file]!)) as Record<string, string>;
      expect(strings.$schema).toBe(`https://developer.microsoft.com/json-schemas/teams/v${manifest.manifestVersion}/MicrosoftTeams.Localization.schema.json`);
      for (const key of ['name.short', 'name.full', 'description.short', 'description.full']) {
        expect(strings[key], `${languageTag} ${key}`).toBeTypeOf('string');
      }
      expect(strings['description.full']).not.toBe(manifest.description.full);
      lists.forEach((list, l) => list.commands.forEach((command, c) => {
        const key = `bots[0].commandLists[${l}].commands[${c}]`;
        expect(strings[`${key}.title`], `${languageTag} ${key}.title`).toBe(command.title);
        expect(strings[`${key}.description`], `${languageTag} ${key}.description`).toBeTypeOf('string');
        expect(strings[`${key}.description`], `${languageTag} ${key}.description`).not.toBe(command.description);
      }));
    }

    expect(pngSize(files['color.png']!)).toEqual({ width: 192, height: 192 });
    expect(pngSize(files['outline.png']!)).toEqual({ width: 32, height: 32 });
  });

  it('without MICROSOFT_APP_ID, exits 1 with one line and writes nothing', async () => {
    const out = join(outDir, 'no-app-id.zip');
    const run = await runPackage({}, out);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('Missing setting MICROSOFT_APP_ID: expected the bot\'s Microsoft app ID (a GUID) to build the Teams app package.\n');
    expect(existsSync(out)).toBe(false);
  });

  it.each([
    [{ MICROSOFT_APP_ID: APP_ID }, 'Missing setting PUBLIC_URL: expected the public https URL where Teams reaches this bot, such as https://csp-ops.contoso.com, to build the Teams app package.'],
    [{ MICROSOFT_APP_ID: APP_ID, PUBLIC_URL: 'https://csp-ops.example.com' }, 'PUBLIC_URL is https://csp-ops.example.com: expected the public https URL where Teams reaches this bot, such as https://csp-ops.contoso.com, not a placeholder or local address.'],
    [{ MICROSOFT_APP_ID: APP_ID, PUBLIC_URL: 'http://localhost:3000' }, 'PUBLIC_URL is http://localhost:3000: expected the public https URL where Teams reaches this bot, such as https://csp-ops.contoso.com, not a placeholder or local address.'],
    [{ MICROSOFT_APP_ID: APP_ID, PUBLIC_URL: 'http://csp-ops.hanbit-partners.co.kr' }, 'PUBLIC_URL is http://csp-ops.hanbit-partners.co.kr: expected the public https URL where Teams reaches this bot, such as https://csp-ops.contoso.com, not a placeholder or local address.'],
    [{ MICROSOFT_APP_ID: APP_ID, PUBLIC_URL: 'csp-ops' }, 'Invalid setting PUBLIC_URL: expected the URL where users reach this bot, such as https://csp-ops.example.com.'],
  ])('with %o, exits 1 with one line and writes nothing', async (settings, message) => {
    const out = join(outDir, 'refused.zip');
    const run = await runPackage(settings, out);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`${message}\n`);
    expect(existsSync(out)).toBe(false);
  });

  it('with an app ID that is not a GUID, exits 1 with the settings check\'s one line', async () => {
    const settings = { MICROSOFT_APP_ID: 'csp-ops-bot', MICROSOFT_APP_PASSWORD: 'x', MICROSOFT_APP_TENANT_ID: TENANT_ID };
    let expected = '';
    try {
      loadConfig(settings);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expected = (error as ConfigError).message;
    }
    expect(expected).toMatch(/^Invalid setting MICROSOFT_APP_ID: /);

    const out = join(outDir, 'bad-app-id.zip');
    const run = await runPackage(settings, out);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`${expected}\n`);
    expect(existsSync(out)).toBe(false);
  });
});
