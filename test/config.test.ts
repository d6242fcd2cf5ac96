import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';

/** A complete Slack OAuth install. */
const slackOAuth = {
  SLACK_CLIENT_ID: '2141029472.691202649728',
  SLACK_CLIENT_SECRET: 'client-secret-from-slack',
  SLACK_STATE_SECRET: 'random-state-secret-0123456789',
  SLACK_TOKEN_KEY: 'a'.repeat(64),
  SLACK_SIGNING_SECRET: 'signing-secret-from-slack',
  PUBLIC_URL: 'https://csp-ops.example.com',
};

describe('settings from the environment', () => {
  it('has defaults that need no credentials', () => {
    expect(loadConfig({})).toEqual({
      PORT: 3000,
      AZURE_RESOURCE_MANAGER_URL: 'https://management.azure.com',
      DATA_DIR: '.data',
      SLACK_API_URL: 'https://slack.com/api/',
      MICROSOFT_APP_TYPE: 'SingleTenant',
      TEAMS_ALLOW_UNAUTHENTICATED: false,
      TEAMS_OPENID_METADATA_URL: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
      DELIVERY_TIMEOUT_SECONDS: 10,
      PARTNER_CENTER_BASE_URL: 'https://api.partnercenter.microsoft.com',
      PARTNER_CENTER_AUTHORITY_URL: 'https://login.microsoftonline.com',
      PARTNER_CENTER_PRICING_URL: 'https://api.partner.microsoft.com',
      PARTNER_CENTER_POLL_SECONDS: 300,
      PARTNER_CENTER_SYNC_SECONDS: 3600,
      PARTNER_CENTER_TIMEOUT_SECONDS: 15,
      PARTNER_CENTER_MAX_RETRY_AFTER_SECONDS: 60,
      LOG_LEVEL: 'info',
      PUBLIC_URL: 'http://localhost:3000',
    });
  });

  it('PUBLIC_URL defaults to this host and port, and loses a trailing slash', () => {
    expect(loadConfig({ PORT: '8080' }).PUBLIC_URL).toBe('http://localhost:8080');
    expect(loadConfig({ PUBLIC_URL: 'https://csp-ops.example.com/bot/' }).PUBLIC_URL).toBe('https://csp-ops.example.com/bot');
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid setting PORT: expected a port number 0–65535.'],
    [{ PORT: '70000' }, 'Invalid setting PORT: expected a port number 0–65535.'],
    [{ DATABASE_URL: 'mysql://x' }, 'Invalid setting DATABASE_URL: expected a postgres:// URL, or leave it unset for the embedded database.'],
    [{ SLACK_BOT_TOKEN: 'xoxp-user' }, 'Invalid setting SLACK_BOT_TOKEN: expected a bot token starting with xoxb-.'],
    [{ SLACK_APP_TOKEN: 'abc' }, 'Invalid setting SLACK_APP_TOKEN: expected an app-level token starting with xapp-.'],
    [{ DELIVERY_TIMEOUT_SECONDS: '0' }, 'Invalid setting DELIVERY_TIMEOUT_SECONDS: expected whole seconds, 1–120.'],
    [{ SLACK_API_URL: 'not a url' }, 'Invalid setting SLACK_API_URL: expected the base URL of the Slack Web API, such as https://slack.com/api/.'],
    [{ LOG_LEVEL: 'loud' }, 'Invalid setting LOG_LEVEL: expected one of debug, info, warn, error.'],
    [{ PUBLIC_URL: 'csp-ops.example.com' }, 'Invalid setting PUBLIC_URL: expected the URL where users reach this bot, such as https://csp-ops.example.com.'],
    [{ PUBLIC_URL: 'ftp://csp-ops.example.com' }, 'Invalid setting PUBLIC_URL: expected the URL where users reach this bot, such as https://csp-ops.example.com.'],
    [{ SLACK_BOT_TOKEN: 'xoxb-1' }, 'Missing setting SLACK_SIGNING_SECRET: expected it with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode).'],
    [{ SLACK_SIGNING_SECRET: 'abcdefgh12' }, 'Missing setting SLACK_BOT_TOKEN: expected a bot token starting with xoxb- to use Slack in one workspace, or set SLACK_CLIENT_ID for the OAuth install.'],
    [{ MICROSOFT_APP_ID: 'my-bot' }, "Invalid setting MICROSOFT_APP_ID: expected the bot's Microsoft app ID (a GUID)."],
    [{ MICROSOFT_APP_TYPE: 'Single' }, 'Invalid setting MICROSOFT_APP_TYPE: expected SingleTenant, MultiTenant or UserAssignedMSI.'],
    [{ TEAMS_ALLOW_UNAUTHENTICATED: 'yes' }, 'Invalid setting TEAMS_ALLOW_UNAUTHENTICATED: expected true or false.'],
    [{ MICROSOFT_APP_ID: '5e5e5e5e-0000-4000-8000-0000000000b0' }, "Missing setting MICROSOFT_APP_PASSWORD: expected the bot's client secret with MICROSOFT_APP_ID (SingleTenant)."],
    [{ MICROSOFT_APP_ID: '5e5e5e5e-0000-4000-8000-0000000000b0', MICROSOFT_APP_PASSWORD: 'x' }, 'Missing setting MICROSOFT_APP_TENANT_ID: expected it with MICROSOFT_APP_TYPE=SingleTenant.'],
    [{ MICROSOFT_APP_PASSWORD: 'x' }, "Missing setting MICROSOFT_APP_ID: expected the bot's Microsoft app ID with its password or tenant."],
    [{ PARTNER_CENTER_CLIENT_ID: 'app' }, "Invalid setting PARTNER_CENTER_CLIENT_ID: expected the Partner Center app's client (application) ID (a GUID)."],
    [{ PARTNER_CENTER_BASE_URL: 'api.partnercenter.microsoft.com' }, 'Invalid setting PARTNER_CENTER_BASE_URL: expected the Partner Center API base URL, such as https://api.partnercenter.microsoft.com.'],
    [{ PARTNER_CENTER_AUTHORITY_URL: 'login' }, 'Invalid setting PARTNER_CENTER_AUTHORITY_URL: expected the Microsoft Entra sign-in URL, such as https://login.microsoftonline.com.'],
    [{ PARTNER_CENTER_REFRESH_TOKEN: 'x' }, 'Missing setting PARTNER_CENTER_TENANT_ID: the Partner Center connector needs all of PARTNER_CENTER_TENANT_ID, PARTNER_CENTER_CLIENT_ID, PARTNER_CENTER_CLIENT_SECRET, PARTNER_CENTER_REFRESH_TOKEN, or none of them.'],
    [
      { PARTNER_CENTER_TENANT_ID: '6b5e2a3c-0000-4000-8000-0000000000aa', PARTNER_CENTER_CLIENT_ID: '6b5e2a3c-0000-4000-8000-0000000000bb', PARTNER_CENTER_CLIENT_SECRET: 's', PARTNER_CENTER_REFRESH_TOKEN: 'r' },
      'Missing setting PARTNER_CENTER_TOKEN_KEY: the Partner Center connector keeps the newest refresh token sealed with it so it stays connected after a restart; set it to 32 random bytes (openssl rand -base64 32).',
    ],
    [{ SLACK_CLIENT_ID: 'abc' }, "Invalid setting SLACK_CLIENT_ID: expected the Client ID from the Slack app's Basic Information page, such as 2141029472.691202649728."],
    [{ SLACK_TOKEN_KEY: 'short' }, 'Invalid setting SLACK_TOKEN_KEY: expected 32 random bytes as base64 or hex, such as the output of openssl rand -base64 32.'],
    [{ ...slackOAuth, SLACK_STATE_SECRET: undefined }, 'Missing setting SLACK_STATE_SECRET: the Slack OAuth install needs all of SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET, SLACK_TOKEN_KEY, or none of them.'],
    [{ ...slackOAuth, SLACK_BOT_TOKEN: 'xoxb-1' }, "Conflicting settings SLACK_BOT_TOKEN and SLACK_CLIENT_ID: use one workspace's bot token or the OAuth install for many workspaces, not both."],
    [{ ...slackOAuth, SLACK_APP_TOKEN: 'xapp-1' }, "Conflicting settings SLACK_APP_TOKEN and SLACK_CLIENT_ID: use one workspace's bot token or the OAuth install for many workspaces, not both."],
    [{ ...slackOAuth, SLACK_SIGNING_SECRET: undefined }, 'Missing setting SLACK_SIGNING_SECRET: expected it with SLACK_CLIENT_ID, to check that requests come from Slack.'],
    [{ ...slackOAuth, PUBLIC_URL: undefined }, 'Missing setting PUBLIC_URL: expected it with SLACK_CLIENT_ID; Slack sends installers back to PUBLIC_URL/slack/oauth_redirect.'],
  ])('refuses %o with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('takes the Slack OAuth install for many workspaces instead of a bot token', () => {
    expect(loadConfig(slackOAuth)).toMatchObject(slackOAuth);
  });

  it('stops start-up with that one line and a non-zero exit', async () => {
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { ...process.env, PORT: 'eighty' },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(result).toMatchObject({ code: 1, stderr: 'Invalid setting PORT: expected a port number 0–65535.\n' });
  });
});
