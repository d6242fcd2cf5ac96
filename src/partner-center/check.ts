import type { Config } from '../config.js';
import type { MessageKey, MessageParams } from '../i18n/index.js';
import { msalModule, PartnerCenterError } from './client.js';
import type { PartnerCenterConnector } from './connector.js';

export type CheckSettings = Partial<Pick<Config, 'PARTNER_CENTER_AUTHORITY_URL' | 'PARTNER_CENTER_BASE_URL' | 'PARTNER_CENTER_TOKEN_KEY' | 'PARTNER_CENTER_WEBHOOK_CERT_HOSTS' | 'PARTNER_CENTER_WEBHOOK_ALLOW_HTTP'>>;

/** One line of `connector check`: a catalog sentence; `failed` lines count as things to fix. */
export interface CheckLine {
  key: MessageKey;
  params?: MessageParams;
  failed?: boolean;
}

/** Entra's answers that mean the app's own settings are wrong rather than the consent (AADSTS codes: unknown tenant, app or secret). */
const clientErrors = new Set(['invalid_client', 'unauthorized_client', 'invalid_request', 'invalid_tenant']);

/**
 * `connector check`: each configured endpoint tried once — the key setting, a fresh token from
 * Microsoft Entra, one Partner Center read, each webhook certificate host — each line saying
 * what works, or what failed and how to fix it.
 */
export async function checkConnector(connector: PartnerCenterConnector, settings: CheckSettings): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  lines.push(settings.PARTNER_CENTER_TOKEN_KEY ? { key: 'check.keyOk' } : { key: 'check.keyMissing', failed: true }, ...(settings.PARTNER_CENTER_TOKEN_KEY ? [] : [{ key: 'check.fixKey' as const }]));

  const authority = settings.PARTNER_CENTER_AUTHORITY_URL ?? 'https://login.microsoftonline.com';
  let signedIn = false;
  try {
    await connector.client.token(true);
    signedIn = true;
    lines.push({ key: 'check.signInOk', params: { url: authority } });
  } catch (error) {
    const e = error as { errorCode?: string; errorMessage?: string; message?: string };
    const reason = [e.errorCode, (e.errorMessage || e.message || String(error)).split('\n')[0]].filter(Boolean).join(': ');
    const { AuthError } = await msalModule();
    const fix: MessageKey =
      error instanceof AuthError && e.errorCode === 'invalid_grant' ? 'check.fixConsent' : error instanceof AuthError && clientErrors.has(e.errorCode ?? '') ? 'check.fixClient' : 'check.fixAuthority';
    lines.push({ key: 'check.signInFailed', params: { url: authority, reason }, failed: true }, { key: fix });
  }

  const baseUrl = settings.PARTNER_CENTER_BASE_URL ?? 'https://api.partnercenter.microsoft.com';
  if (!signedIn) {
    lines.push({ key: 'check.apiSkipped', params: { url: baseUrl } });
  } else {
    try {
      // "Get a list of customers" with one item: the cheapest read every partner may make.
      await connector.client.request('GET', '/v1/customers?size=1');
      lines.push({ key: 'check.apiOk', params: { url: baseUrl } });
    } catch (error) {
      if (!(error instanceof PartnerCenterError)) throw error;
      lines.push(
        { key: 'check.apiFailed', params: { url: baseUrl, status: error.status, code: error.code, description: error.description }, failed: true },
        { key: error.status === 401 || error.status === 403 ? 'check.fixAccess' : 'check.fixApiUrl' },
      );
    }
  }

  for (const host of settings.PARTNER_CENTER_WEBHOOK_CERT_HOSTS ?? []) {
    try {
      // Any HTTP answer shows the host is reached; the certificate URLs themselves come with each event.
      await fetch(`${settings.PARTNER_CENTER_WEBHOOK_ALLOW_HTTP ? 'http' : 'https'}://${host}/`, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
      lines.push({ key: 'check.webhookOk', params: { host } });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      lines.push({ key: 'check.webhookFailed', params: { host, reason: cause?.code ?? cause?.message ?? (error as Error).message }, failed: true }, { key: 'check.fixWebhookHost', params: { host } });
    }
  }
  return lines;
}
