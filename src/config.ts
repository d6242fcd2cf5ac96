import { existsSync } from 'node:fs';
import { z } from 'zod';

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** Whole seconds within a range, with a default when unset or empty. */
const seconds = (fallback: number, min: number, max: number) =>
  z.preprocess(
    (v) => (v === '' || v === undefined ? fallback : v),
    z.coerce.number().int().min(min, `expected whole seconds, ${min}–${max}`).max(max, `expected whole seconds, ${min}–${max}`),
  );

/** An http(s) base URL with a default when unset or empty, kept without a trailing slash. */
const baseUrl = (fallback: string, what: string) =>
  z.preprocess(
    (v) => (v === '' || v === undefined ? fallback : v),
    z.url({ protocol: /^https?$/, error: `expected ${what}, such as ${fallback}` }).transform((u) => u.replace(/\/+$/, '')),
  );

/** 32 random bytes as base64 or hex: an AES-256-GCM key sealing tokens in the database (src/partner-center/tokens.ts). */
const tokenKey = () =>
  optional(z.string().refine((v) => /^[0-9a-f]{64}$/i.test(v) || Buffer.from(v, 'base64').length === 32, 'expected 32 random bytes as base64 or hex, such as the output of openssl rand -base64 32'));

const fields = z.object({
  PORT: z.preprocess((v) => (v === '' || v === undefined ? 3000 : v), z.coerce.number({ error: 'expected a port number 0–65535' }).int('expected a port number 0–65535').min(0, 'expected a port number 0–65535').max(65535, 'expected a port number 0–65535')),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// URL, or leave it unset for the embedded database')),
  DATA_DIR: z.preprocess((v) => (v === '' || v === undefined ? '.data' : v), z.string()),
  SLACK_SIGNING_SECRET: optional(z.string().min(8, 'expected the signing secret from the Slack app\'s Basic Information page')),
  SLACK_BOT_TOKEN: optional(z.string().regex(/^xoxb-\S+$/, 'expected a bot token starting with xoxb-')),
  SLACK_APP_TOKEN: optional(z.string().regex(/^xapp-\S+$/, 'expected an app-level token starting with xapp-')),
  // Slack OAuth install for many workspaces (src/adapters/slack/install.ts): all four or none, never with SLACK_BOT_TOKEN.
  SLACK_CLIENT_ID: optional(z.string().regex(/^\d+\.\d+$/, 'expected the Client ID from the Slack app\'s Basic Information page, such as 2141029472.691202649728')),
  SLACK_CLIENT_SECRET: optional(z.string().min(8, 'expected the Client Secret from the Slack app\'s Basic Information page')),
  SLACK_STATE_SECRET: optional(z.string().min(16, 'expected at least 16 random characters, such as the output of openssl rand -base64 32')),
  SLACK_TOKEN_KEY: tokenKey(),
  SLACK_API_URL: z.preprocess(
    (v) => (v === '' || v === undefined ? 'https://slack.com/api/' : v),
    z.url({ error: 'expected the base URL of the Slack Web API, such as https://slack.com/api/' }).transform((u) => (u.endsWith('/') ? u : `${u}/`)),
  ),
  MICROSOFT_APP_ID: optional(z.uuid({ error: 'expected the bot\'s Microsoft app ID (a GUID)' })),
  MICROSOFT_APP_PASSWORD: optional(z.string().min(1)),
  MICROSOFT_APP_TENANT_ID: optional(z.uuid({ error: 'expected the Microsoft Entra tenant ID (a GUID) the bot is registered in' })),
  MICROSOFT_APP_TYPE: z.preprocess(
    (v) => (v === '' || v === undefined ? 'SingleTenant' : v),
    z.enum(['SingleTenant', 'MultiTenant', 'UserAssignedMSI'], { error: 'expected SingleTenant, MultiTenant or UserAssignedMSI' }),
  ),
  TEAMS_ALLOW_UNAUTHENTICATED: z.preprocess(
    (v) => (v === '' || v === undefined ? 'false' : v),
    z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true'),
  ),
  TEAMS_OPENID_METADATA_URL: z.preprocess(
    (v) => (v === '' || v === undefined ? 'https://login.botframework.com/v1/.well-known/openidconfiguration' : v),
    z.url({ error: 'expected the Bot Framework OpenID metadata URL' }),
  ),
  DELIVERY_TIMEOUT_SECONDS: seconds(10, 1, 120),
  // Partner Center API connector (src/partner-center/client.ts): all four credentials or none.
  PARTNER_CENTER_TENANT_ID: optional(z.uuid({ error: 'expected the partner\'s Microsoft Entra tenant ID (a GUID)' })),
  PARTNER_CENTER_CLIENT_ID: optional(z.uuid({ error: 'expected the Partner Center app\'s client (application) ID (a GUID)' })),
  PARTNER_CENTER_CLIENT_SECRET: optional(z.string().min(1)),
  PARTNER_CENTER_REFRESH_TOKEN: optional(z.string().min(1)),
  // AES-256-GCM key sealing the connector's newest refresh token in the database (src/partner-center/tokens.ts).
  PARTNER_CENTER_TOKEN_KEY: tokenKey(),
  PARTNER_CENTER_BASE_URL: baseUrl('https://api.partnercenter.microsoft.com', 'the Partner Center API base URL'),
  PARTNER_CENTER_AUTHORITY_URL: baseUrl('https://login.microsoftonline.com', 'the Microsoft Entra sign-in URL'),
  // The marketplace price sheets the daily catalog refresh reads (src/partner-center/catalog.ts).
  PARTNER_CENTER_PRICING_URL: baseUrl('https://api.partner.microsoft.com', 'the Partner Center pricing API URL'),
  // Azure Resource Manager, where approved reservation requests are carried out with the connector's credentials.
  AZURE_RESOURCE_MANAGER_URL: baseUrl('https://management.azure.com', 'the Azure Resource Manager URL'),
  // How long one Partner Center request may take before it is retried, and the longest Retry-After honoured on a 429.
  PARTNER_CENTER_TIMEOUT_SECONDS: seconds(15, 1, 120),
  PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS: seconds(60, 0, 300),
  // R-P8: how often Partner Center's audit records are read for customer purchases (only with the connector's credentials).
  PARTNER_CENTER_POLL_SECONDS: seconds(300, 30, 86400),
  // How often customers, subscriptions, orders and self-serve policies are synced from Partner Center (with the connector only).
  PARTNER_CENTER_SYNC_SECONDS: seconds(3600, 60, 604800),
  // Partner Center webhooks (src/partner-center/webhooks.ts); unset lists take the defaults documented there and in README.
  PARTNER_CENTER_WEBHOOKS: optional(z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true')),
  PARTNER_CENTER_WEBHOOK_CERT_HOSTS: optional(
    z.string().transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
      .refine((hosts) => hosts.length > 0 && hosts.every((h) => /^[a-z0-9.-]+(:\d{1,5})?$/.test(h)), 'expected host names separated by commas, such as 3psostorageacct.blob.core.windows.net'),
  ),
  PARTNER_CENTER_WEBHOOK_ISSUERS: optional(
    z.string().transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)).refine((names) => names.length > 0, 'expected issuer organization or common names separated by commas'),
  ),
  PARTNER_CENTER_WEBHOOK_CA: optional(z.string().min(1).refine((path) => existsSync(path), 'expected the path of a PEM file of CA certificates')),
  PARTNER_CENTER_WEBHOOK_ALLOW_HTTP: optional(z.enum(['true', 'false'], { error: 'expected true or false' }).transform((v) => v === 'true')),
  // Hosts `audience … import <url>` may read a partner list from although they resolve to private or local addresses.
  AUDIENCE_IMPORT_ALLOWED_HOSTS: optional(
    z.string().transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
      .refine((hosts) => hosts.length > 0 && hosts.every((h) => /^[a-z0-9.-]+$/.test(h)), 'expected host names separated by commas, such as intranet.example,files.corp'),
  ),
  // GET /metrics asks for this bearer token when it is set.
  METRICS_TOKEN: optional(z.string().min(16, 'expected a random token of at least 16 characters, such as the output of openssl rand -hex 24')),
  LOG_LEVEL: z.preprocess((v) => (v === '' || v === undefined ? 'info' : v), z.enum(['debug', 'info', 'warn', 'error'], { error: 'expected one of debug, info, warn, error' })),
  PUBLIC_URL: optional(
    z.url({ protocol: /^https?$/, error: 'expected the URL where users reach this bot, such as https://csp-ops.example.com' }).transform((u) => u.replace(/\/+$/, '')),
  ),
});
const settings = fields.transform((c) => ({ ...c, PUBLIC_URL: c.PUBLIC_URL ?? `http://localhost:${c.PORT}` }));

export type Config = z.infer<typeof settings>;

export class ConfigError extends Error {}

/** Only the named settings, each checked as loadConfig checks it (a tool that needs a few, such as the Teams package). */
export function loadSettings<K extends keyof typeof fields.shape>(names: K[], env: NodeJS.ProcessEnv = process.env): Pick<z.infer<typeof fields>, K> {
  const picked: Record<string, unknown> = {};
  for (const name of names) {
    const parsed = fields.shape[name].safeParse(env[name]);
    if (!parsed.success) throw new ConfigError(`Invalid setting ${name}: ${parsed.error.issues[0]!.message}.`);
    picked[name] = parsed.data;
  }
  return picked as Pick<z.infer<typeof fields>, K>;
}

/** Reads every setting from the environment; the first bad one is named in a one-line error. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = settings.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Invalid setting ${String(issue.path[0])}: ${issue.message}.`);
  }
  const config = parsed.data;
  // One workspace's token, or the OAuth install for many: a bot token would answer for every workspace at once.
  const singleToken = config.SLACK_BOT_TOKEN ? 'SLACK_BOT_TOKEN' : config.SLACK_APP_TOKEN ? 'SLACK_APP_TOKEN' : undefined;
  if (singleToken && config.SLACK_CLIENT_ID) {
    throw new ConfigError(`Conflicting settings ${singleToken} and SLACK_CLIENT_ID: use one workspace's bot token or the OAuth install for many workspaces, not both.`);
  }
  const slackOAuth = ['SLACK_CLIENT_ID', 'SLACK_CLIENT_SECRET', 'SLACK_STATE_SECRET', 'SLACK_TOKEN_KEY'] as const;
  const oauthMissing = slackOAuth.filter((name) => !config[name]);
  if (oauthMissing.length > 0 && oauthMissing.length < slackOAuth.length) {
    throw new ConfigError(`Missing setting ${oauthMissing[0]}: the Slack OAuth install needs all of ${slackOAuth.join(', ')}, or none of them.`);
  }
  if (config.SLACK_CLIENT_ID && !config.SLACK_SIGNING_SECRET) {
    throw new ConfigError('Missing setting SLACK_SIGNING_SECRET: expected it with SLACK_CLIENT_ID, to check that requests come from Slack.');
  }
  // Slack sends the installer back to PUBLIC_URL/slack/oauth_redirect, which must be the app's Redirect URL.
  if (config.SLACK_CLIENT_ID && !env.PUBLIC_URL) {
    throw new ConfigError('Missing setting PUBLIC_URL: expected it with SLACK_CLIENT_ID; Slack sends installers back to PUBLIC_URL/slack/oauth_redirect.');
  }
  if (config.SLACK_BOT_TOKEN && !config.SLACK_SIGNING_SECRET && !config.SLACK_APP_TOKEN) {
    throw new ConfigError('Missing setting SLACK_SIGNING_SECRET: expected it with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode).');
  }
  if ((config.SLACK_SIGNING_SECRET || config.SLACK_APP_TOKEN) && !config.SLACK_BOT_TOKEN && !config.SLACK_CLIENT_ID) {
    throw new ConfigError('Missing setting SLACK_BOT_TOKEN: expected a bot token starting with xoxb- to use Slack in one workspace, or set SLACK_CLIENT_ID for the OAuth install.');
  }
  if (config.MICROSOFT_APP_ID && config.MICROSOFT_APP_TYPE !== 'UserAssignedMSI' && !config.MICROSOFT_APP_PASSWORD) {
    throw new ConfigError(`Missing setting MICROSOFT_APP_PASSWORD: expected the bot's client secret with MICROSOFT_APP_ID (${config.MICROSOFT_APP_TYPE}).`);
  }
  if (config.MICROSOFT_APP_ID && config.MICROSOFT_APP_TYPE !== 'MultiTenant' && !config.MICROSOFT_APP_TENANT_ID) {
    throw new ConfigError(`Missing setting MICROSOFT_APP_TENANT_ID: expected it with MICROSOFT_APP_TYPE=${config.MICROSOFT_APP_TYPE}.`);
  }
  if ((config.MICROSOFT_APP_PASSWORD || config.MICROSOFT_APP_TENANT_ID) && !config.MICROSOFT_APP_ID) {
    throw new ConfigError('Missing setting MICROSOFT_APP_ID: expected the bot\'s Microsoft app ID with its password or tenant.');
  }
  const partnerCenter = ['PARTNER_CENTER_TENANT_ID', 'PARTNER_CENTER_CLIENT_ID', 'PARTNER_CENTER_CLIENT_SECRET', 'PARTNER_CENTER_REFRESH_TOKEN'] as const;
  const missing = partnerCenter.filter((name) => !config[name]);
  if (missing.length > 0 && missing.length < partnerCenter.length) {
    throw new ConfigError(`Missing setting ${missing[0]}: the Partner Center connector needs all of ${partnerCenter.join(', ')}, or none of them.`);
  }
  // Each token request returns a new refresh token; only a sealed copy keeps the connector connected across restarts past 90 days.
  if (!missing.length && !config.PARTNER_CENTER_TOKEN_KEY) {
    throw new ConfigError('Missing setting PARTNER_CENTER_TOKEN_KEY: the Partner Center connector keeps the newest refresh token sealed with it so it stays connected after a restart; set it to 32 random bytes (openssl rand -base64 32).');
  }
  return config;
}

/** The settings that must never reach a log line, DATABASE_URL's password among them. */
export function secretSettings(config: Partial<Config>): string[] {
  const names = [
    'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'MICROSOFT_APP_PASSWORD', 'PARTNER_CENTER_CLIENT_SECRET',
    'PARTNER_CENTER_REFRESH_TOKEN', 'PARTNER_CENTER_TOKEN_KEY', 'METRICS_TOKEN',
  ] as const;
  const password = config.DATABASE_URL && URL.canParse(config.DATABASE_URL) ? new URL(config.DATABASE_URL).password : '';
  return [...names.map((name) => config[name]), password, password && decodeURIComponent(password)].filter((value): value is string => Boolean(value));
}
