import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { HTTPReceiver, Installation, InstallationStore } from '@slack/bolt';
import type { Database } from '../../../db/client.js';
import { DomainError } from '../../core/errors.js';
import {
  linkCodeHash, linkSlackWorkspace, organizationSlackInstallation, removeSlackInstallation, slackInstallation, slackLinkCodeUsable, slackWorkspaceOrganization,
} from '../../core/slack-workspaces.js';
import { preferredLocale, translator, type MessageKey, type MessageParams, type Translate } from '../../i18n/index.js';
import type { Logger } from '../../log.js';
import { tokenCipher, tokenKeyBytes } from '../../partner-center/tokens.js';

/**
 * The bot scopes, each for the Web API methods csp-ops calls with it; manifest/slack*.yaml ask for
 * exactly these (test/manifests.test.ts). views.open, auth.test and response_url need none.
 */
export const slackBotScopes = [
  // The /csp command.
  'commands',
  // chat.postMessage and chat.update: announcements and request cards.
  'chat:write',
  // files.getUploadURLExternal and files.completeUploadExternal (files.uploadV2): the price list's files.
  'files:write',
  // conversations.open: a decision told in a DM.
  'im:write',
  // users.info with include_locale: each user's Slack language.
  'users:read',
];

type Installer = NonNullable<HTTPReceiver['installer']>;
type CallbackOptions = NonNullable<Parameters<Installer['handleCallback']>[2]>;

export interface SlackInstallations extends InstallationStore {
  /** The bot token of the workspace the organization is linked to, if csp-ops is installed there. */
  botTokenFor(orgId: string): Promise<string | undefined>;
}

/**
 * Bolt's installation store in the database (slack_installations), each installation sealed with
 * SLACK_TOKEN_KEY. Storing an installation links its workspace to the organization of the link code
 * its state carries (the code's hash, in `metadata`), or refuses it: nothing is kept without a valid code.
 */
export function slackInstallationStore(db: Database, tokenKey: string, log: Logger): SlackInstallations {
  const cipher = tokenCipher(tokenKeyBytes(tokenKey)!);
  const open = (sealed: string) => JSON.parse(cipher.open(sealed)) as Installation;
  return {
    async storeInstallation(installation) {
      const team = installation.team;
      // An org-wide (Enterprise Grid) install links no one workspace; the manifest keeps it off.
      if (!team || !installation.bot) throw new Error('only workspace installs with a bot are supported');
      const { metadata, ...kept } = installation;
      const linked = await linkSlackWorkspace(db, {
        codeHash: metadata ?? '',
        teamId: team.id,
        teamName: team.name,
        scopes: installation.bot.scopes.join(','),
        installedBy: installation.user.id,
        sealedInstallation: cipher.seal(JSON.stringify(kept)),
      });
      const moved = linked.previousTeamId ? `; the tokens of its previous workspace ${linked.previousTeamId} were deleted` : '';
      log.info(`Slack: installed in workspace ${team.id} (${team.name ?? 'unnamed'}) by ${installation.user.id}, linked to the organization "${linked.orgName}"${moved}`);
    },
    async fetchInstallation(query) {
      const sealed = query.teamId ? await slackInstallation(db, query.teamId) : undefined;
      if (!sealed) throw new Error(`csp-ops is not installed in the Slack workspace ${query.teamId ?? query.enterpriseId}`);
      return open(sealed);
    },
    async deleteInstallation(query) {
      if (query.teamId) await removeSlackInstallation(db, query.teamId);
    },
    async botTokenFor(orgId) {
      const sealed = await organizationSlackInstallation(db, orgId);
      return sealed ? open(sealed).bot?.token : undefined;
    },
  };
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A small page in the browser's language; every value from outside is escaped. */
function page(res: ServerResponse, status: number, t: Translate, key: MessageKey, params: MessageParams = {}, form = '') {
  res
    .writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; form-action 'self'",
    })
    .end(
      `<!doctype html>\n<html lang="${t.locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
        `<title>${escapeHtml(t('slackInstall.title'))}</title></head>\n<body><h1>${escapeHtml(t('slackInstall.title'))}</h1>\n` +
        `<p>${escapeHtml(t(key, params))}</p>${form}</body></html>\n`,
    );
}

const browserTranslator = (req: IncomingMessage) => translator(preferredLocale(req.headers['accept-language']));

/**
 * GET /slack/install and GET /slack/oauth_redirect. The install page asks for a link code
 * (`npm run csp -- slack link-code`) and sends the browser to Slack only with a usable one; the
 * code's hash travels in Bolt's signed state, and the code is used when Slack sends the browser back.
 */
export function slackInstallListener(options: { db: Database; log: Logger; installer: Installer; publicUrl: () => string }): RequestListener {
  const { db, log, installer } = options;

  const callbacks: CallbackOptions = {
    // Before Slack is asked for a token: a code used or expired meanwhile stops here.
    async beforeInstallation(installOptions, req, res) {
      if (installOptions.metadata && (await slackLinkCodeUsable(db, installOptions.metadata))) return true;
      page(res, 403, browserTranslator(req), 'slackInstall.codeRefused');
      return false;
    },
    async successAsync(installation, _installOptions, req, res) {
      const team = installation.team?.id ?? '';
      const org = (await slackWorkspaceOrganization(db, team)) ?? '';
      page(res, 200, browserTranslator(req), 'slackInstall.done', { team: installation.team?.name ?? team, org });
    },
    async failureAsync(error, _installOptions, req, res) {
      const t = browserTranslator(req);
      if (error instanceof DomainError) return page(res, error.code === 'slackInstall.codeRefused' ? 403 : 409, t, error.code, error.params);
      // Slack sends error=access_denied when the installer cancels.
      if (error.code === 'slack_oauth_installer_authorization_error') return page(res, 400, t, 'slackInstall.cancelled');
      log.warn(`Slack: an install did not complete (${error.code}): ${error.message}`);
      page(res, 400, t, 'slackInstall.failed', { reason: error.code });
    },
  };

  async function installPage(req: IncomingMessage, res: ServerResponse) {
    const t = browserTranslator(req);
    const code = new URL(req.url ?? '/', 'http://localhost').searchParams.get('code');
    if (code === null) {
      // Submits to this same URL, so a PUBLIC_URL with a path keeps working.
      const form = `<form method="get"><label>${escapeHtml(t('slackInstall.codeLabel'))} <input name="code" required autocomplete="off" autofocus></label> <button>${escapeHtml(t('slackInstall.continue'))}</button></form>`;
      return page(res, 200, t, 'slackInstall.askCode', {}, form);
    }
    const codeHash = linkCodeHash(code);
    if (!(await slackLinkCodeUsable(db, codeHash))) return page(res, 403, t, 'slackInstall.codeRefused');
    // Redirects to Slack's authorize page with the state in a cookie (directInstall).
    await installer.handleInstallPath(req, res, undefined, { scopes: slackBotScopes, redirectUri: `${options.publicUrl()}/slack/oauth_redirect`, metadata: codeHash });
  }

  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const work = path === '/slack/oauth_redirect' ? installer.handleCallback(req, res, callbacks) : installPage(req, res);
    work.catch((error) => {
      log.error('slack install', error);
      if (!res.headersSent) page(res, 500, browserTranslator(req), 'slackInstall.failed', { reason: 'internal error' });
    });
  };
}
