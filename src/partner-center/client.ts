import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfidentialClientApplication, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { RequestContext } from '../request-context.js';
import { memoryTokenStore, type RefreshTokenStore } from './tokens.js';

/** Partner Center's scope for app + user (secure application model) tokens. */
export const partnerCenterScope = 'https://api.partnercenter.microsoft.com/user_impersonation';
/** The Partner API's (api.partner.microsoft.com: the price sheets): a token of its own resource, also app + user (partner-api-authentication). */
export const partnerApiScope = 'https://api.partner.microsoft.com/user_impersonation';

export interface PartnerCenterSettings {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The first refresh token (PARTNER_CENTER_REFRESH_TOKEN); the newest one is kept by `refreshTokens`. */
  refreshToken: string;
  /** Where each token request's new refresh token is kept (default: in memory, for this process only). */
  refreshTokens?: RefreshTokenStore;
  baseUrl: string;
  authorityUrl: string;
  /** How long one request may take before it is retried (default 15 s). */
  timeoutMs?: number;
  /** Retries after a 5xx, a timeout or a network failure (default 2). */
  retries?: number;
  /** Pause before such a retry (default 500 ms, doubled each time). */
  retryDelayMs?: number;
  /** Longest Retry-After honoured on a 429 (default 60 s); longer counts as a failure. */
  maxRetryAfterMs?: number;
  /** Longest pause between two polls of an Azure long-running operation, whatever Retry-After says (default 60 s). */
  maxPollDelayMs?: number;
  /** Told of every HTTP exchange with Partner Center or Azure, for the logs and metrics (src/observability.ts). */
  onCall?: (call: OutgoingCall) => void;
}

/** One HTTP exchange (a retry is another): `status` is the HTTP status, or why none came. */
export interface OutgoingCall {
  service: 'partner-center' | 'azure';
  method: string;
  /** As called, IDs and query included: whoever records it makes it an endpoint template. */
  url: string;
  status: number | 'timeout' | 'unreachable';
  durationMs: number;
  attempt: number;
  correlationId?: string;
  /** The command, click, API call or job the call was made for. */
  request?: RequestContext;
}

/** Partner Center's answer to a refused request, from its error body `{ code, description, errorName }`. */
export class PartnerCenterError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly correlationId: string,
  ) {
    super(`Partner Center ${status} ${code}: ${description} (MS-CorrelationId ${correlationId})`);
  }
}

export interface PartnerCenterResponse {
  status: number;
  body: unknown;
}

export interface RequestOptions {
  correlationId?: string;
  /** The request the call is part of: its ID is the call's MS-CorrelationId (unless correlationId says otherwise). */
  request?: RequestContext;
  headers?: Record<string, string>;
  /** Retries after a timeout or a 5xx; 0 for a call that must not be sent twice unseen (a cart checkout). */
  retries?: number;
  /** The token's scope (default Partner Center's): a call to another API (the price sheets) needs its own resource's token. */
  scope?: string;
  /** Aborted when the process stops: the call ends at once with PartnerCenterStopped, and is not retried. */
  signal?: AbortSignal;
}

/** A call given up because csp-ops is stopping; what it was part of resumes after the restart. */
export class PartnerCenterStopped extends Error {
  constructor() {
    super('csp-ops is stopping');
  }
}

/**
 * The client for background jobs (sync, polls, repair): their reads end at once when `signal`
 * aborts. Writes are left to finish, so a change Partner Center is making is not cut off unseen.
 */
export function stoppableClient(client: PartnerCenterClient, signal: AbortSignal): PartnerCenterClient {
  return {
    tenantId: client.tenantId,
    settleMs: client.settleMs,
    token: (fresh, scope) => client.token(fresh, scope),
    request: (method, path, body, options) => client.request(method, path, body, method === 'GET' ? { ...options, signal } : options),
  };
}

/** The client for one request (a command, click or job): Partner Center is given the request's ID with each call. */
export function requestClient(client: PartnerCenterClient, request: RequestContext): PartnerCenterClient {
  return {
    tenantId: client.tenantId,
    settleMs: client.settleMs,
    token: (fresh, scope) => client.token(fresh, scope),
    request: (method, path, body, options) => client.request(method, path, body, { request, ...options }),
  };
}

export interface PartnerCenterClient {
  readonly tenantId: string;
  /** The longest one request can take with its retries and Retry-After waits: past it, no answer is coming. */
  readonly settleMs: number;
  /** An access token for `scope` (default Partner Center's); throws when none can be had. `fresh` asks Microsoft Entra even when one is held. */
  token(fresh?: boolean, scope?: string): Promise<string>;
  /** One call; resolves on 2xx, throws PartnerCenterError otherwise (after the retries). */
  request(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<PartnerCenterResponse>;
}

/** One limiter per partner tenant: a 429 holds every request to that tenant until Retry-After passes. */
const heldUntil = new Map<string, number>();

/** MSAL, loaded where a token is first asked for: about 4 MB of heap that a bot without a connector never needs. */
export const msalModule = () => import('@azure/msal-node');

export const isLoopback = (url: URL) => url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/**
 * MSAL only accepts https authorities. A plain-http loopback authority (a local stand-in for
 * sign-in, as in tests) is given to MSAL as https and reached over http by this network module.
 */
export function loopbackNetwork(origin: URL): INetworkModule {
  const secure = `https://${origin.host}`;
  const send = async <T>(method: string, url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> => {
    const target = url.startsWith(secure) ? `http://${origin.host}${url.slice(secure.length)}` : url;
    const response = await fetch(target, {
      method,
      headers: options?.headers,
      body: options?.body,
      signal: timeout ? AbortSignal.timeout(timeout) : undefined,
    });
    const text = await response.text();
    return { status: response.status, headers: Object.fromEntries(response.headers), body: (text ? JSON.parse(text) : {}) as T };
  };
  return {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

export function createPartnerCenterClient(settings: PartnerCenterSettings): PartnerCenterClient {
  const authority = new URL(settings.authorityUrl);
  const loopback = isLoopback(authority);
  const authorityHost = authority.host;
  let signIn: Promise<ConfidentialClientApplication> | undefined;
  const msalApp = () => (signIn ??= msalModule().then(({ ConfidentialClientApplication }) => new ConfidentialClientApplication({
    auth: {
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      authority: `https://${authorityHost}${authority.pathname.replace(/\/+$/, '')}/${settings.tenantId}`,
      // Another sign-in host than Microsoft's public cloud is trusted as configured, without instance discovery.
      ...(authorityHost === 'login.microsoftonline.com' ? {} : { knownAuthorities: [authorityHost] }),
    },
    ...(loopback ? { system: { networkClient: loopbackNetwork(authority) } } : {}),
  })));
  const timeoutMs = settings.timeoutMs ?? 15_000;
  const retries = settings.retries ?? 2;
  const retryDelayMs = settings.retryDelayMs ?? 500;
  const maxRetryAfterMs = settings.maxRetryAfterMs ?? 60_000;

  const refreshTokens = settings.refreshTokens ?? memoryTokenStore();
  // acquireTokenByRefreshToken always asks Microsoft Entra: each scope's access token is kept until five minutes before it expires.
  const cached = new Map<string, { accessToken: string; expiresAt: number }>();
  async function token(fresh = false, scope = partnerCenterScope): Promise<string> {
    const held = cached.get(scope);
    if (!fresh && held && held.expiresAt - 5 * 60_000 > Date.now()) return held.accessToken;
    const refreshToken = await refreshTokens.newest(settings.refreshToken);
    const msal = await msalApp();
    const before = newestRefreshToken(msal.getTokenCache().serialize(), settings.clientId);
    let result;
    try {
      result = await msal.acquireTokenByRefreshToken({ refreshToken, scopes: [scope] });
    } catch (error) {
      // Revoked, lapsed, or the consenting user's password or MFA was reset: only a new consent helps.
      if (error instanceof (await msalModule()).AuthError && error.errorCode === 'invalid_grant') await refreshTokens.refused(error.errorCode, error.errorMessage);
      throw error;
    }
    if (!result?.accessToken) throw new Error('Microsoft Entra returned no access token');
    // Entra answers with a new refresh token each time; MSAL keeps it in its token cache (the documented serialized form).
    const rotated = newestRefreshToken(msal.getTokenCache().serialize(), settings.clientId);
    if (rotated && rotated !== before && rotated !== refreshToken) await refreshTokens.rotated(rotated);
    cached.set(scope, { accessToken: result.accessToken, expiresAt: result.expiresOn?.getTime() ?? Date.now() });
    return result.accessToken;
  }

  async function request(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<PartnerCenterResponse> {
    const { retries: allowed = retries, signal: stopping } = options;
    const requestId = randomUUID();
    // Inside a command, Partner Center sees the command's request ID, so its records and ours can be matched.
    const correlationId = options.correlationId ?? options.request?.requestId ?? randomUUID();
    const pause = (ms: number) => sleep(ms, undefined, { signal: stopping }).catch(() => Promise.reject(new PartnerCenterStopped()));
    let failures = 0;
    let throttled = 0;
    for (let attempt = 1; ; attempt++) {
      if (stopping?.aborted) throw new PartnerCenterStopped();
      const wait = (heldUntil.get(settings.tenantId) ?? 0) - Date.now();
      if (wait > 0) await pause(wait);
      let accessToken: string;
      try {
        accessToken = await token(false, options.scope);
      } catch (error) {
        const e = error as { errorCode?: string; errorMessage?: string; message?: string };
        throw new PartnerCenterError(0, e.errorCode || 'sign-in failed', (e.errorMessage || e.message || String(error)).split('\n')[0]!, correlationId);
      }
      let response: Response;
      const url = /^https?:\/\//.test(path) ? path : `${settings.baseUrl}${path}`;
      const started = performance.now();
      const report = (status: OutgoingCall['status']) =>
        settings.onCall?.({ service: 'partner-center', method, url, status, durationMs: performance.now() - started, attempt, correlationId, request: options.request });
      try {
        // An absolute URL is another host (the price sheets' Partner API, with options.scope).
        response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${accessToken}`,
            accept: 'application/json',
            'ms-requestid': requestId,
            'ms-correlationid': correlationId,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            // Paging headers such as MS-ContinuationToken (audit records).
            ...options.headers,
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: stopping ? AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping]) : AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        if (stopping?.aborted) throw new PartnerCenterStopped();
        report(error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : 'unreachable');
        // A timeout or a dropped connection: retried with the same MS-RequestId, so Partner Center can tell it is the same call.
        if (failures++ < allowed) {
          await pause(retryDelayMs * 2 ** (failures - 1));
          continue;
        }
        const reason = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : String((error as Error).message ?? error);
        throw new PartnerCenterError(0, 'unreachable', reason, correlationId);
      }
      const text = await response.text().catch((error: unknown) => Promise.reject(stopping?.aborted ? new PartnerCenterStopped() : error));
      report(response.status);
      const parsed = parseJson(text);
      if (response.ok) return { status: response.status, body: parsed };
      if (response.status === 429) {
        const retryAfterMs = retryAfter(response.headers.get('retry-after'));
        if (throttled++ < 3 && retryAfterMs <= maxRetryAfterMs) {
          heldUntil.set(settings.tenantId, Math.max(heldUntil.get(settings.tenantId) ?? 0, Date.now() + retryAfterMs));
          continue;
        }
      } else if (response.status >= 500 && failures++ < allowed) {
        await pause(retryDelayMs * 2 ** (failures - 1));
        continue;
      }
      const error = (parsed && typeof parsed === 'object' ? parsed : {}) as { code?: unknown; description?: unknown; errorName?: unknown };
      throw new PartnerCenterError(
        response.status,
        error.code === undefined ? String(response.status) : String(error.code),
        typeof error.description === 'string' ? error.description : typeof error.errorName === 'string' ? error.errorName : response.statusText || text.slice(0, 200),
        response.headers.get('ms-correlationid') ?? correlationId,
      );
    }
  }

  const settleMs = (retries + 1) * timeoutMs + retryDelayMs * (2 ** retries - 1) + 3 * maxRetryAfterMs;
  return { tenantId: settings.tenantId, settleMs, token, request };
}

/** The refresh token MSAL's serialized cache holds for this app (its RefreshToken entries: { client_id, secret }). */
function newestRefreshToken(serialized: string, clientId: string): string | undefined {
  const cache = JSON.parse(serialized) as { RefreshToken?: Record<string, { client_id?: string; secret?: string }> };
  return Object.values(cache.RefreshToken ?? {}).find((entry) => entry.client_id === clientId)?.secret;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Retry-After in seconds or as an HTTP date; absent or unreadable: one second. */
function retryAfter(header: string | null): number {
  if (!header) return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - Date.now());
}

/** A collection as Partner Center answers it: a page of items and, when more follow, links.next (and a continuation token). */
interface CollectionPage<T> {
  items?: T[];
  continuationToken?: string;
  links?: { next?: { uri?: string; headers?: { key?: string; value?: string }[] } };
}

/** Where a collection's next page is: its path (under /v1) and the headers to send with it (MS-ContinuationToken). */
export interface NextPage {
  path: string;
  headers: Record<string, string>;
}

/** A collection page's items and the next page, if any (documented links are relative to /v1, as "/customers?seekOperation=Next"). */
export async function readPage<T>(client: PartnerCenterClient, page: NextPage): Promise<{ items: T[]; next?: NextPage }> {
  const { body } = await client.request('GET', page.path, undefined, Object.keys(page.headers).length ? { headers: page.headers } : {});
  const answer = (body && typeof body === 'object' ? body : {}) as CollectionPage<T>;
  const items = Array.isArray(body) ? (body as T[]) : (answer.items ?? []);
  const link = answer.links?.next;
  const token = link?.headers?.find((h) => h.key?.toLowerCase() === 'ms-continuationtoken')?.value ?? answer.continuationToken;
  if (!link?.uri && !token) return { items };
  const uri = link?.uri ?? `${page.path.replace(/^\/v1/, '').split('?')[0]}?seekOperation=next`;
  const headers = Object.fromEntries((link?.headers ?? []).filter((h) => h.key && h.value !== undefined).map((h) => [h.key!, h.value!]));
  if (token && !Object.keys(headers).some((k) => k.toLowerCase() === 'ms-continuationtoken')) headers['MS-ContinuationToken'] = token;
  return { items, next: { path: uri.startsWith('/v1/') ? uri : `/v1${uri.startsWith('/') ? '' : '/'}${uri}`, headers } };
}

/** Pages followed in one collection at most (a guard against a next link that never ends). */
const maxPages = 500;

/** Every item of a collection, following links.next. */
export async function* allItems<T>(client: PartnerCenterClient, path: string): AsyncGenerator<T> {
  let page: NextPage | undefined = { path, headers: {} };
  for (let n = 0; page; n++) {
    if (n === maxPages) throw new Error(`Partner Center ${path}: more than ${maxPages} pages`);
    const { items, next }: { items: T[]; next?: NextPage } = await readPage<T>(client, page);
    yield* items;
    page = next;
  }
}
