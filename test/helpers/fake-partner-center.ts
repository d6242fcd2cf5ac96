import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Microsoft Entra sign-in (OpenID metadata and the token endpoint answering the refresh-token
 * grant) and Partner Center's SelfServePolicy endpoints, on one loopback server, answering in
 * the documented shapes.
 */
export const partnerTenant = 'fab0fab0-0000-4000-8000-00000000000f';
export const clientId = 'c1c1c1c1-0000-4000-8000-0000000000c1';
export const clientSecret = 'test-client-secret';
export const refreshToken = 'test-refresh-token';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  at: number;
}

/** An answer given instead of the normal one, to the next request matching method and path start. */
export interface PlannedAnswer {
  method: string;
  path: string;
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (past the client's timeout: the client gives up and retries). */
  delayMs?: number;
}

interface Policy {
  id: string;
  selfServeEntity: { selfServeEntityType: string; tenantID: string };
  grantor: { grantorType: string; tenantID: string };
  permissions: { action: string; resource: string }[];
  attributes: { etag: string; objectType: 'SelfServePolicy' };
}

export async function startFakePartnerCenter() {
  const requests: RecordedRequest[] = [];
  const tokenRequests: Record<string, string>[] = [];
  const planned: PlannedAnswer[] = [];
  const policies = new Map<string, Policy>();
  const issuedTokens = new Set<string>();
  let refuseSignIn = false;
  // R-P8: audit records served by GET /v1/auditrecords, a page at a time.
  const auditRecords: Record<string, unknown>[] = [];
  const auditPages = new Map<string, Record<string, unknown>[]>();
  let auditPageSize = 100;

  const server = createServer((req, res) => {
    handle(req, res).catch((error) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  // MSAL is given the authority as https; the client reaches it over http on loopback.
  const msalOrigin = `https://127.0.0.1:${port}`;

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), ...headers });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', origin);

    // Sign-in: OpenID metadata, then the token endpoint.
    if (req.method === 'GET' && url.pathname === `/${partnerTenant}/v2.0/.well-known/openid-configuration`) {
      return json(res, 200, {
        token_endpoint: `${msalOrigin}/${partnerTenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${msalOrigin}/${partnerTenant}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${msalOrigin}/${partnerTenant}/oauth2/v2.0/logout`,
        jwks_uri: `${msalOrigin}/${partnerTenant}/discovery/v2.0/keys`,
        issuer: `${msalOrigin}/${partnerTenant}/v2.0`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      });
    }
    if (req.method === 'POST' && url.pathname === `/${partnerTenant}/oauth2/v2.0/token`) {
      const form = Object.fromEntries(new URLSearchParams(text));
      tokenRequests.push(form);
      if (refuseSignIn || form.grant_type !== 'refresh_token' || form.refresh_token !== refreshToken || form.client_id !== clientId || form.client_secret !== clientSecret) {
        return json(res, 400, {
          error: 'invalid_grant',
          error_description: 'AADSTS70000: The provided value for the refresh token is not valid.',
          error_codes: [70000],
          trace_id: randomUUID(),
          correlation_id: randomUUID(),
        });
      }
      const accessToken = `pc-${randomUUID()}`;
      issuedTokens.add(accessToken);
      return json(res, 200, {
        token_type: 'Bearer',
        scope: 'https://api.partnercenter.microsoft.com/user_impersonation',
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: accessToken,
        refresh_token: refreshToken,
      });
    }

    // Partner Center.
    const body = text ? JSON.parse(text) : undefined;
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers, body, at: Date.now() });
    const correlationId = String(req.headers['ms-correlationid'] ?? randomUUID());
    const auth = String(req.headers.authorization ?? '');
    if (!issuedTokens.has(auth.replace(/^Bearer /, ''))) {
      return json(res, 401, { code: 401, description: 'Unauthorized', errorName: 'Unauthorized' }, { 'ms-correlationid': correlationId });
    }
    const index = planned.findIndex((p) => p.method === req.method && (url.pathname + url.search).startsWith(p.path));
    if (index >= 0) {
      const [answer] = planned.splice(index, 1);
      if (answer!.delayMs) await sleep(answer!.delayMs);
      if (res.destroyed || req.socket.destroyed) return;
      return json(res, answer!.status, answer!.body, { 'ms-correlationid': correlationId, ...answer!.headers });
    }
    if (req.method === 'POST' && url.pathname === '/v1/SelfServePolicy') {
      const customer = body?.SelfServeEntity?.TenantID as string;
      const id = `${partnerTenant}_${customer}`;
      if (policies.has(id)) {
        return json(res, 409, { code: 600041, description: 'Policy already exists.', errorName: 'PolicyAlreadyExists', isRetryable: false, errorMessageExtended: 'InternalErrorCode: 600041' }, { 'ms-correlationid': correlationId });
      }
      const policy: Policy = {
        id,
        selfServeEntity: { selfServeEntityType: body.SelfServeEntity.SelfServeEntityType, tenantID: customer },
        grantor: { grantorType: body.Grantor.GrantorType, tenantID: body.Grantor.TenantID },
        permissions: (body.Permissions as { Action: string; Resource: string }[]).map((p) => ({ action: p.Action, resource: p.Resource })),
        attributes: { etag: `"${randomUUID()}"`, objectType: 'SelfServePolicy' },
      };
      policies.set(id, policy);
      return json(res, 201, policy, { 'ms-correlationid': correlationId });
    }
    if (req.method === 'GET' && url.pathname === '/v1/SelfServePolicy') {
      const entity = url.searchParams.get('entity_id');
      const items = [...policies.values()].filter((p) => p.selfServeEntity.tenantID === entity);
      return json(res, 200, { totalCount: items.length, items, attributes: { objectType: 'Collection' } }, { 'ms-correlationid': correlationId });
    }
    const deleteMatch = /^\/v1\/SelfServePolicy\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'DELETE' && deleteMatch) {
      const id = decodeURIComponent(deleteMatch[1]!);
      if (!policies.delete(id)) {
        return json(res, 404, { code: 600039, description: 'Policy not found.', errorName: 'PolicyNotFound', isRetryable: false }, { 'ms-correlationid': correlationId });
      }
      return json(res, 204, undefined, { 'ms-correlationid': correlationId });
    }
    // Update a SelfServePolicy: the whole policy, its permissions replaced.
    const putMatch = /^\/v1\/SelfServePolicy\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'PUT' && putMatch) {
      const policy = policies.get(decodeURIComponent(putMatch[1]!));
      if (!policy) return json(res, 404, { code: 600039, description: 'Policy not found.', errorName: 'PolicyNotFound', isRetryable: false }, { 'ms-correlationid': correlationId });
      policy.permissions = (body.Permissions as { Action: string; Resource: string }[]).map((p) => ({ action: p.Action, resource: p.Resource }));
      policy.attributes.etag = `"${randomUUID()}"`;
      return json(res, 200, policy, { 'ms-correlationid': correlationId });
    }
    if (req.method === 'GET' && url.pathname === '/v1/auditrecords') {
      // The documented shape: { totalCount, items, links.next { uri, method, headers: [MS-ContinuationToken] }, continuationToken, attributes }.
      let items: Record<string, unknown>[];
      if (url.searchParams.get('seekOperation') === 'next') {
        const token = String(req.headers['ms-continuationtoken'] ?? '');
        const rest = auditPages.get(token);
        if (!rest) return json(res, 400, { code: 400, description: 'Invalid continuation token.', errorName: 'InvalidInput' }, { 'ms-correlationid': correlationId });
        auditPages.delete(token);
        items = rest;
      } else {
        const start = Date.parse(url.searchParams.get('startDate') ?? '');
        const end = url.searchParams.get('endDate') ? Date.parse(url.searchParams.get('endDate')!) : Date.now();
        if (Number.isNaN(start) || Number.isNaN(end)) return json(res, 400, { code: 400, description: 'Invalid date range.', errorName: 'InvalidInput' }, { 'ms-correlationid': correlationId });
        if (start < Date.now() - 90 * 24 * 60 * 60 * 1000) {
          return json(res, 400, { code: 400, description: 'Start date cannot be more than 90 days in the past.', errorName: 'InvalidInput' }, { 'ms-correlationid': correlationId });
        }
        items = auditRecords.filter((r) => {
          const at = Date.parse(String(r.operationDate));
          return at >= start && at < end;
        });
      }
      const page = items.slice(0, auditPageSize);
      const rest = items.slice(auditPageSize);
      let next: Record<string, unknown> = {};
      if (rest.length) {
        const token = randomUUID();
        auditPages.set(token, rest);
        next = {
          links: { self: { uri: '/auditrecords', method: 'GET', headers: [] }, next: { uri: '/auditrecords?seekOperation=next', method: 'GET', headers: [{ key: 'MS-ContinuationToken', value: token }] } },
          continuationToken: token,
        };
      }
      return json(res, 200, { totalCount: page.length, items: page, ...next, attributes: { objectType: 'Collection' } }, { 'ms-correlationid': correlationId });
    }
    return json(res, 404, { code: 404, description: 'Not found', errorName: 'NotFound' }, { 'ms-correlationid': correlationId });
  }

  return {
    origin,
    requests,
    tokenRequests,
    policies,
    /** Answers the next matching request this way instead. */
    plan(answer: PlannedAnswer) {
      planned.push(answer);
    },
    /** Audit records GET /v1/auditrecords serves (AuditRecord objects; resourceNewValue a JSON string). */
    auditRecords,
    /** Records per page before a continuation token (default 100). */
    setAuditPageSize(size: number) {
      auditPageSize = size;
    },
    refuseSignIn(on = true) {
      refuseSignIn = on;
    },
    /** The settings that point csp-ops here. */
    config: {
      PARTNER_CENTER_TENANT_ID: partnerTenant,
      PARTNER_CENTER_CLIENT_ID: clientId,
      PARTNER_CENTER_CLIENT_SECRET: clientSecret,
      PARTNER_CENTER_REFRESH_TOKEN: refreshToken,
      PARTNER_CENTER_BASE_URL: origin,
      PARTNER_CENTER_AUTHORITY_URL: origin,
    },
    /** The same settings as the client takes them, with test timings. */
    clientSettings(tuning: { timeoutMs?: number; retryDelayMs?: number } = {}) {
      return { tenantId: partnerTenant, clientId, clientSecret, refreshToken, baseUrl: origin, authorityUrl: origin, ...tuning };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

export type FakePartnerCenter = Awaited<ReturnType<typeof startFakePartnerCenter>>;
