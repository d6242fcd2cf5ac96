import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { slackBotScopes } from '../src/adapters/slack/install.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** The languages the app ships in besides English, and a check that a string is written in that language. */
const LANGUAGES = {
  'ko-KR': { script: /\p{Script=Hangul}/u },
  'zh-TW': { script: /\p{Script=Han}/u },
} as const;
type Tag = keyof typeof LANGUAGES;
const TAGS = Object.keys(LANGUAGES) as Tag[];

/** Simplified characters whose Traditional forms (戶訂閱記錄務單們這為線門) Taiwan uses. */
const SIMPLIFIED = /[户订阅记录务单们这为线门]/u;

// ---------------------------------------------------------------------------------------------
// Teams: manifest/teams/manifest.template.json's localizationInfo and its localization files.

interface Command { title: string; description: string }
interface Template {
  $schema: string;
  manifestVersion: string;
  name: { short: string; full: string };
  description: { short: string; full: string };
  localizationInfo: { defaultLanguageTag: string; additionalLanguages: { languageTag: string; file: string }[] };
  bots: { commandLists: { scopes: string[]; commands: Command[] }[] }[];
}

const template = JSON.parse(read('manifest/teams/manifest.template.json')) as Template;

/** Maximum lengths of the localization schema (MicrosoftTeams.Localization.schema.json). */
const MAX_LENGTH: [RegExp, number][] = [
  [/^name\.short$/, 30],
  [/^name\.full$/, 100],
  [/^description\.short$/, 80],
  [/^description\.full$/, 4000],
  [/^bots\[0\]\.commandLists\[[0-2]\]\.commands\[[0-9]\]\.title$/, 32],
  [/^bots\[0\]\.commandLists\[[0-2]\]\.commands\[[0-9]\]\.description$/, 128],
];

/** Every key a localization file of this app must have: the app's name and description and each command's title and description. */
function expectedKeys(): Map<string, string> {
  const keys = new Map<string, string>([
    ['name.short', template.name.short],
    ['name.full', template.name.full],
    ['description.short', template.description.short],
    ['description.full', template.description.full],
  ]);
  template.bots.forEach((bot, b) => bot.commandLists.forEach((list, l) => list.commands.forEach((command, c) => {
    keys.set(`bots[${b}].commandLists[${l}].commands[${c}].title`, command.title);
    keys.set(`bots[${b}].commandLists[${l}].commands[${c}].description`, command.description);
  })));
  return keys;
}

describe('Teams manifest localization', () => {
  it('names English as the default language and a file for ko-KR and zh-TW', () => {
    expect(template.localizationInfo).toEqual({
      defaultLanguageTag: 'en',
      additionalLanguages: [
        { languageTag: 'ko-KR', file: 'ko-KR.json' },
        { languageTag: 'zh-TW', file: 'zh-TW.json' },
      ],
    });
  });

  for (const tag of TAGS) {
    describe(`manifest/teams/${tag}.json`, () => {
      const text = read(`manifest/teams/${tag}.json`);

      it('is a JSON object of strings with the localization schema of the manifest\'s version', () => {
        const strings: unknown = JSON.parse(text);
        expect(strings).toBeTypeOf('object');
        expect(Array.isArray(strings)).toBe(false);
        for (const value of Object.values(strings as object)) expect(value).toBeTypeOf('string');
        expect((strings as Record<string, string>).$schema)
          .toBe(`https://developer.microsoft.com/json-schemas/teams/v${template.manifestVersion}/MicrosoftTeams.Localization.schema.json`);
        expect(template.$schema).toBe(`https://developer.microsoft.com/json-schemas/teams/v${template.manifestVersion}/MicrosoftTeams.schema.json`);
      });

      const strings = JSON.parse(text) as Record<string, string>;
      const expected = expectedKeys();

      it('has exactly the app\'s keys: name, description, and every command\'s title and description', () => {
        expect(Object.keys(strings).filter((key) => key !== '$schema').sort()).toEqual([...expected.keys()].sort());
      });

      it('keeps within the schema\'s lengths', () => {
        for (const [key, value] of Object.entries(strings)) {
          if (key === '$schema') continue;
          const limit = MAX_LENGTH.find(([pattern]) => pattern.test(key));
          expect(limit, `${key} is not a key of the localization schema`).toBeDefined();
          expect(value.length, key).toBeGreaterThan(0);
          expect(value.length, `${key}: ${value}`).toBeLessThanOrEqual(limit![1]);
        }
      });

      it('keeps the command names English (users type them) and translates their descriptions', () => {
        const { script } = LANGUAGES[tag];
        for (const [key, english] of expected) {
          const value = strings[key]!;
          if (key.endsWith('.title') || key === 'name.short') {
            expect(value, key).toBe(english);
            continue;
          }
          expect(value, key).not.toBe(english);
          expect(value, key).toMatch(script);
          if (tag === 'zh-TW') expect(value, key).not.toMatch(SIMPLIFIED);
          // The syntax after the colon keeps the command and its keywords as typed: `customers [文字] [page N]`.
          const syntax = /: (\S.*)$/.exec(english)?.[1];
          if (key.endsWith('.description') && syntax) {
            const title = strings[key.replace(/description$/, 'title')]!;
            expect(value, key).toContain(`${title} `);
            for (const keyword of syntax.match(/\b(?:page N|since YYYY-MM-DD)\b/g) ?? []) expect(value, key).toContain(keyword);
          }
        }
      });
    });
  }

  it('uses Partner Center\'s own terms', () => {
    const ko = JSON.parse(read('manifest/teams/ko-KR.json')) as Record<string, string>;
    const zh = JSON.parse(read('manifest/teams/zh-TW.json')) as Record<string, string>;
    expect(ko['description.full']).toContain('파트너 센터');
    expect(ko['description.full']).toContain('Azure 예약');
    expect(ko['description.full']).toContain('고객 권한');
    expect(zh['description.full']).toContain('合作夥伴中心');
    expect(zh['description.full']).toContain('Azure 保留');
    expect(zh['description.full']).toContain('客戶許可權');
  });
});

// ---------------------------------------------------------------------------------------------
// Slack: manifest/slack.yaml and its Korean and Traditional Chinese copies.

/**
 * The scalars of a block-style YAML file as [path, value] pairs in order, e.g.
 * ['features.slash_commands[0].usage_hint', '"allow-reservations <customer> | …"']. Enough for the
 * Slack manifests (mappings, lists, one-line scalars, whole-line comments); the project has no YAML library.
 */
function flatten(text: string): [string, string][] {
  const scalars: [string, string][] = [];
  const stack: { indent: number; path: string }[] = [];
  const items = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    let indent = raw.length - raw.trimStart().length;
    let rest = trimmed;
    while (stack.length > 0 && stack.at(-1)!.indent >= indent) stack.pop();
    let parent = stack.at(-1)?.path ?? '';
    if (rest.startsWith('- ')) {
      const index = (items.get(parent) ?? -1) + 1;
      items.set(parent, index);
      parent = `${parent}[${index}]`;
      stack.push({ indent, path: parent });
      rest = rest.slice(2);
      indent += 2;
    }
    const pair = /^([\w.-]+):(?:\s+(.*))?$/.exec(rest);
    if (!pair) {
      scalars.push([parent, rest]);
      continue;
    }
    const path = parent ? `${parent}.${pair[1]}` : pair[1]!;
    if (pair[2] === undefined) stack.push({ indent, path });
    else scalars.push([path, pair[2]]);
  }
  return scalars;
}

/** A YAML scalar's text: double quotes removed. */
const unquote = (value: string): string => (value.startsWith('"') && value.endsWith('"') ? JSON.parse(value) as string : value);

/** The fields a language's copy translates; every other line is the same as manifest/slack.yaml's. */
const TRANSLATED = [
  'display_information.description',
  'features.slash_commands[0].description',
  'features.slash_commands[0].usage_hint',
];

describe('Slack manifests', () => {
  const english = flatten(read('manifest/slack.yaml'));

  it('are read field by field', () => {
    const fields = new Map(english);
    expect(fields.get('display_information.name')).toBe('csp-ops');
    expect(fields.get('features.slash_commands[0].command')).toBe('/csp');
    expect(fields.get('features.slash_commands[0].url')).toBe('https://csp-ops.example.com/slack/events');
    expect(fields.get('oauth_config.scopes.bot[1]')).toBe('chat:write');
    expect(fields.get('settings.socket_mode_enabled')).toBe('false');
    // The Home tab views.publish fills; the Messages tab holds DMs csp-ops sends and reads nothing typed there.
    expect([fields.get('features.app_home.home_tab_enabled'), fields.get('features.app_home.messages_tab_enabled'), fields.get('features.app_home.messages_tab_read_only_enabled')])
      .toEqual(['true', 'true', 'true']);
    for (const path of TRANSLATED) expect(fields.has(path), path).toBe(true);
  });

  it('ask for exactly the scopes of the Web API methods csp-ops calls, and name the OAuth redirect URL, the Home tab\'s event and the uninstall events', () => {
    const list = (prefix: string) => english.filter(([path]) => path.startsWith(prefix)).map(([, value]) => value);
    const scopes = list('oauth_config.scopes.bot[');
    expect(scopes).toEqual(slackBotScopes);
    // Every Slack Web API method src/ calls, with the scope Slack's method reference names for a bot token (null: none).
    const methodScopes: Record<string, string | null> = {
      'chat.postMessage': 'chat:write',
      'chat.update': 'chat:write',
      'conversations.open': 'im:write',
      'users.info': 'users:read',
      'files.getUploadURLExternal': 'files:write',
      'files.completeUploadExternal': 'files:write',
      'views.open': null,
      'views.publish': null,
    };
    const sources = readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => read(join('src', f)));
    const slackCall = /\bclient\.((?:admin|apps|auth|bookmarks|chat|conversations|dnd|emoji|files|pins|reactions|reminders|search|team|usergroups|users|views)\.\w+|filesUploadV2)\(/g;
    const called = new Set(sources.flatMap((text) => [...text.matchAll(slackCall)].map((m) => m[1]!)));
    expect([...called].sort()).toEqual(Object.keys(methodScopes).sort());
    // commands: the /csp slash command itself.
    expect(new Set(scopes)).toEqual(new Set(['commands', ...Object.values(methodScopes).filter((s) => s !== null)]));
    expect(list('oauth_config.redirect_urls[')).toEqual(['https://csp-ops.example.com/slack/oauth_redirect']);
    expect(list('settings.event_subscriptions.bot_events[')).toEqual(['app_home_opened', 'app_uninstalled', 'tokens_revoked']);
    expect(new Map(english).get('settings.event_subscriptions.request_url')).toBe('https://csp-ops.example.com/slack/events');
  });

  for (const tag of TAGS) {
    describe(`manifest/slack.${tag}.yaml`, () => {
      const translated = flatten(read(`manifest/slack.${tag}.yaml`));

      it('is manifest/slack.yaml apart from the descriptions and the usage hint', () => {
        expect(translated.map(([path]) => path)).toEqual(english.map(([path]) => path));
        const same = (pairs: [string, string][]) => pairs.filter(([path]) => !TRANSLATED.includes(path));
        expect(same(translated)).toEqual(same(english));
      });

      it('translates the descriptions and the usage hint, keeping the command keywords English', () => {
        const fields = new Map(translated);
        const englishFields = new Map(english);
        for (const path of TRANSLATED) {
          const value = unquote(fields.get(path)!);
          expect(value, path).not.toBe(unquote(englishFields.get(path)!));
          expect(value, path).toMatch(LANGUAGES[tag].script);
          if (tag === 'zh-TW') expect(value, path).not.toMatch(SIMPLIFIED);
          expect(value.length, path).toBeLessThanOrEqual(140);
        }
        // Only the placeholders in <…> change: `allow-reservations <고객> | customer <고객> | help`.
        const keywords = (hint: string) => unquote(hint).replace(/<[^>]*>/g, '<>');
        expect(keywords(fields.get('features.slash_commands[0].usage_hint')!))
          .toBe(keywords(englishFields.get('features.slash_commands[0].usage_hint')!));
        expect(unquote(fields.get('features.slash_commands[0].description')!)).toContain('/csp help');
      });
    });
  }
});
