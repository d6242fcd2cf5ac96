import { translator, type MessageKey, type MessageParams } from '../i18n/index.js';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { Database } from '../../db/client.js';
import { partnerCenterEvents } from '../../db/schema.js';
import type { Config } from '../config.js';
import { forRequest, type Logger } from '../log.js';
import type { RequestContext } from '../request-context.js';

/**
 * POST /webhooks/partner-center: Partner Center's resource change events.
 *
 * An event is accepted only when its RSA-SHA256 signature (`Authorization:
 * Signature <base64>`, or `X-MS-Signature`) verifies over the exact bytes of
 * the body with the certificate at `X-MS-Certificate-Url`, and that certificate
 * is served from an allowed host, is within its validity dates, was issued by
 * an accepted issuer and, when a CA is configured, by that CA. Accepted events
 * are recorded once each (Partner Center delivers up to 10 times) with status
 * 'received'; nothing here fetches the resource or acts on the event.
 */

/** Where Partner Center documents its signing certificate (X-MS-Certificate-Url). */
export const defaultCertificateHosts = ['3psostorageacct.blob.core.windows.net'];
/** The issuer organization Microsoft's own signature validation sample requires ("O=Microsoft Corporation"). */
export const defaultIssuers = ['Microsoft Corporation'];

const certificateMaxBytes = 64 * 1024;
const certificateTimeoutMs = 10_000;
const certificateCacheSize = 16;

export interface WebhookSettings {
  /** Host names (with a port, to allow only that port) the certificate may be fetched from. */
  certificateHosts: string[];
  /** Accepted issuer organization (O) or common names (CN). */
  issuers: string[];
  /** When given, the certificate must have been issued by one of these. */
  authorities?: X509Certificate[];
  /** Lets the certificate URL be http:// (still only on an allowed host): tests only. */
  allowHttp?: boolean;
}

type WebhookConfig = Partial<
  Pick<Config, 'PARTNER_CENTER_WEBHOOK_CERT_HOSTS' | 'PARTNER_CENTER_WEBHOOK_ISSUERS' | 'PARTNER_CENTER_WEBHOOK_CA' | 'PARTNER_CENTER_WEBHOOK_ALLOW_HTTP'>
>;

/** The webhook settings from the environment's, reading the CA file when one is named. */
export function webhookSettings(config: WebhookConfig): WebhookSettings {
  let authorities: X509Certificate[] | undefined;
  if (config.PARTNER_CENTER_WEBHOOK_CA) {
    let pem: string;
    try {
      pem = readFileSync(config.PARTNER_CENTER_WEBHOOK_CA, 'utf8');
    } catch (cause) {
      throw new Error(`PARTNER_CENTER_WEBHOOK_CA: cannot read ${config.PARTNER_CENTER_WEBHOOK_CA} (${(cause as Error).message}).`);
    }
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (blocks.length === 0) throw new Error(`PARTNER_CENTER_WEBHOOK_CA: ${config.PARTNER_CENTER_WEBHOOK_CA} holds no PEM certificate.`);
    authorities = blocks.map((block) => new X509Certificate(block));
  }
  return {
    certificateHosts: config.PARTNER_CENTER_WEBHOOK_CERT_HOSTS ?? defaultCertificateHosts,
    issuers: config.PARTNER_CENTER_WEBHOOK_ISSUERS ?? defaultIssuers,
    authorities,
    allowHttp: config.PARTNER_CENTER_WEBHOOK_ALLOW_HTTP ?? false,
  };
}

export interface WebhookAnswer {
  status: number;
  body: unknown;
}

const t = translator('en');

/** A refusal, as a catalog sentence. */
class Refused extends Error {
  constructor(key: MessageKey, params: MessageParams = {}) {
    super(t(key, params));
  }
}

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The base64 signature from `Authorization: Signature …` or `X-MS-Signature: [Signature ]…`. */
function signatureOf(headers: IncomingHttpHeaders): Buffer {
  const authorization = header(headers, 'authorization');
  const msSignature = header(headers, 'x-ms-signature');
  let encoded: string | undefined;
  if (authorization !== undefined) {
    encoded = /^Signature\s+(\S+)\s*$/i.exec(authorization)?.[1];
    if (!encoded) throw new Refused('webhook.badAuthorization');
  } else if (msSignature !== undefined) {
    encoded = /^(?:Signature\s+)?(\S+)\s*$/i.exec(msSignature)?.[1];
    if (!encoded) throw new Refused('webhook.emptySignature');
  } else {
    throw new Refused('webhook.unsigned');
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw new Refused('webhook.notBase64');
  return Buffer.from(encoded, 'base64');
}

function issuerNames(certificate: X509Certificate): string[] {
  // Node writes the issuer one attribute a line, such as "O=Microsoft Corporation".
  return certificate.issuer
    .split('\n')
    .map((line) => /^(O|CN)=(.*)$/.exec(line.trim())?.[2])
    .filter((name): name is string => name !== undefined);
}

async function download(url: URL): Promise<X509Certificate> {
  const response = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(certificateTimeoutMs) });
  if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > certificateMaxBytes) throw new Error(`larger than ${certificateMaxBytes} bytes`);
    chunks.push(chunk);
  }
  return new X509Certificate(Buffer.concat(chunks));
}

/**
 * The handler for POST /webhooks/partner-center. `rawBody` is the request body
 * exactly as received: the signature covers those bytes.
 */
export function partnerCenterWebhooks(
  db: Database,
  settings: WebhookSettings,
  options: { log: Logger; now?: () => Date; fetchCertificate?: (url: URL) => Promise<X509Certificate>; onEvent?: () => void },
) {
  const now = options.now ?? (() => new Date());
  const fetchCertificate = options.fetchCertificate ?? download;
  const hosts = new Set(settings.certificateHosts.map((h) => h.toLowerCase()));
  const issuers = new Set(settings.issuers);
  const cache = new Map<string, X509Certificate>();

  const certificateAt = async (location: string | undefined, log: Logger): Promise<{ url: URL; certificate: X509Certificate }> => {
    if (!location) throw new Refused('webhook.noCertificateUrl');
    let url: URL;
    try {
      url = new URL(location);
    } catch {
      throw new Refused('webhook.badCertificateUrl');
    }
    const schemeAllowed = url.protocol === 'https:' || (url.protocol === 'http:' && settings.allowHttp);
    if (!schemeAllowed) throw new Refused('webhook.notHttps', { scheme: url.protocol.slice(0, -1) });
    if (url.username || url.password) throw new Refused('webhook.credentialsInUrl');
    if (!hosts.has(url.host.toLowerCase()) && !hosts.has(url.hostname.toLowerCase())) {
      throw new Refused('webhook.hostNotAllowed', { host: url.host });
    }
    const cached = cache.get(url.href);
    if (cached) return { url, certificate: cached };
    let certificate: X509Certificate;
    try {
      certificate = await fetchCertificate(url);
    } catch (cause) {
      log.warn(`partner center webhook: cannot fetch the certificate ${url.href}`, (cause as Error).message);
      throw new Refused('webhook.certificateUnreadable', { url: url.href });
    }
    if (cache.size >= certificateCacheSize) cache.delete(cache.keys().next().value!);
    cache.set(url.href, certificate);
    return { url, certificate };
  };

  const checkCertificate = (certificate: X509Certificate) => {
    const at = now();
    if (at < new Date(certificate.validFrom) || at > new Date(certificate.validTo)) {
      throw new Refused('webhook.certificateExpired', { from: certificate.validFrom, to: certificate.validTo });
    }
    if (!issuerNames(certificate).some((name) => issuers.has(name))) {
      throw new Refused('webhook.wrongIssuer');
    }
    if (settings.authorities) {
      const issuedByCa = settings.authorities.some(
        (ca) => at >= new Date(ca.validFrom) && at <= new Date(ca.validTo) && certificate.checkIssued(ca) && certificate.verify(ca.publicKey),
      );
      if (!issuedByCa) throw new Refused('webhook.wrongAuthority');
    }
    if (certificate.publicKey.asymmetricKeyType !== 'rsa') throw new Refused('webhook.notRsa');
  };

  return async (request: { headers: IncomingHttpHeaders; rawBody: Buffer; context: RequestContext }): Promise<WebhookAnswer> => {
    const log = forRequest(options.log, request.context);
    let certificateUrl: URL;
    try {
      const signature = signatureOf(request.headers);
      const algorithm = header(request.headers, 'x-ms-signature-algorithm');
      if (algorithm?.trim().toLowerCase() !== 'rsa-sha256') {
        throw algorithm ? new Refused('webhook.badAlgorithm', { algorithm }) : new Refused('webhook.noAlgorithm');
      }
      const { url, certificate } = await certificateAt(header(request.headers, 'x-ms-certificate-url'), log);
      checkCertificate(certificate);
      if (!verify('sha256', request.rawBody, certificate.publicKey, signature)) {
        throw new Refused('webhook.badSignature');
      }
      certificateUrl = url;
    } catch (cause) {
      if (!(cause instanceof Refused)) throw cause;
      log.warn(`partner center webhook refused: ${cause.message}`);
      return { status: 401, body: { error: cause.message } };
    }

    let event: unknown;
    try {
      event = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      return { status: 400, body: { error: t('webhook.notJson') } };
    }
    const e = event as Record<string, unknown> | null;
    const text = (v: unknown) => typeof v === 'string' && v.length > 0;
    if (!e || typeof e !== 'object' || Array.isArray(e) || !text(e.EventName) || !text(e.ResourceUri) || !text(e.ResourceChangeUtcDate)) {
      return { status: 400, body: { error: t('webhook.notEvent') } };
    }
    const eventName = e.EventName as string;
    const resourceUri = e.ResourceUri as string;
    const changedAt = e.ResourceChangeUtcDate as string;
    const eventKey = createHash('sha256').update(`${eventName}\n${resourceUri}\n${changedAt}`).digest('hex');
    const inserted = await db
      .insert(partnerCenterEvents)
      .values({
        eventKey,
        eventName,
        resourceUri,
        resourceChangeUtcDate: changedAt,
        auditUri: typeof e.AuditUri === 'string' ? e.AuditUri : null,
        body: e,
        certificateUrl: certificateUrl.href,
      })
      .onConflictDoNothing()
      .returning({ eventKey: partnerCenterEvents.eventKey });
    const repeat = inserted.length === 0;
    log.info(`partner center webhook: ${eventName} ${resourceUri}${repeat ? ' (a repeat; already recorded)' : ' recorded'}`);
    if (!repeat) options.onEvent?.();
    return { status: 200, body: { status: 'received', repeat, eventKey } };
  };
}
