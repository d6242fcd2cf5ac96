import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Microsoft Entra sign-in (OpenID metadata and the token endpoint answering the refresh-token
 * grant) and the Partner Center endpoints csp-ops uses (SelfServePolicy, audit records,
 * customers, subscriptions with ETags, orders, invoices), on one loopback server, answering in
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

interface FakeCustomer {
  id: string;
  companyProfile: { tenantId: string; domain: string; companyName: string };
  billingProfile: { companyName: string; defaultAddress: { country: string } };
  relationshipToPartner: string;
}

export interface FakeSubscription {
  id: string;
  offerId: string;
  offerName: string;
  friendlyName: string;
  quantity: number;
  unitType: string;
  creationDate: string;
  commitmentEndDate: string;
  status: string;
  autoRenewEnabled: boolean;
  billingType: string;
  billingCycle: string;
  termDuration: string;
  cancellationAllowedUntilDate: string | null;
  refundableQuantity: { totalQuantity: number; details: { quantity: number; allowedUntilDateTime: string }[] };
  isMicrosoftProduct: boolean;
  partnerId?: string;
  attributes: { etag: string; objectType: 'Subscription' };
}

export async function startFakePartnerCenter() {
  const requests: RecordedRequest[] = [];
  const tokenRequests: Record<string, string>[] = [];
  const planned: PlannedAnswer[] = [];
  const policies = new Map<string, Policy>();
  const issuedTokens = new Set<string>();
  // Azure Resource Manager tokens and the customer tenant each was issued for.
  const armTokens = new Map<string, string>();
  const armTokenRequests: Record<string, string>[] = [];
  let refuseSignIn = false;
  // R-P8: audit records served by GET /v1/auditrecords, a page at a time.
  const auditRecords: Record<string, unknown>[] = [];
  const continuations = new Map<string, unknown[]>();
  let auditPageSize = 100;
  // Customers, their subscriptions and orders, and invoices, in the documented shapes.
  const customers = new Map<string, FakeCustomer>();
  const subscriptions = new Map<string, Map<string, FakeSubscription>>();
  const orders = new Map<string, Record<string, unknown>[]>();
  const invoices = new Map<string, Record<string, unknown>>();
  let customerPageSize = 100;
  const holds: { method: string; path: string; arrived: () => void; released: Promise<void> }[] = [];

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
    // Any tenant: the partner's own, and (Azure Resource Manager with delegated admin rights) its customers'.
    const metadata = /^\/([0-9a-f-]{36})\/v2\.0\/\.well-known\/openid-configuration$/.exec(url.pathname);
    if (req.method === 'GET' && metadata) {
      const tenant = metadata[1];
      return json(res, 200, {
        token_endpoint: `${msalOrigin}/${tenant}/oauth2/v2.0/token`,
        authorization_endpoint: `${msalOrigin}/${tenant}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${msalOrigin}/${tenant}/oauth2/v2.0/logout`,
        jwks_uri: `${msalOrigin}/${tenant}/discovery/v2.0/keys`,
        issuer: `${msalOrigin}/${tenant}/v2.0`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      });
    }
    const tokenPath = /^\/([0-9a-f-]{36})\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (req.method === 'POST' && tokenPath) {
      const form = Object.fromEntries(new URLSearchParams(text));
      const armScope = form.scope?.split(' ').includes('https://management.azure.com/.default');
      // Partner Center tokens come from the partner's tenant; Azure Resource Manager tokens from a customer's.
      if (armScope) armTokenRequests.push({ ...form, tenant: tokenPath[1]! });
      else if (tokenPath[1] === partnerTenant) tokenRequests.push(form);
      else return json(res, 400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tokenPath[1]}' is not the partner's.` });
      if (refuseSignIn || form.grant_type !== 'refresh_token' || form.refresh_token !== refreshToken || form.client_id !== clientId || form.client_secret !== clientSecret) {
        return json(res, 400, {
          error: 'invalid_grant',
          error_description: 'AADSTS70000: The provided value for the refresh token is not valid.',
          error_codes: [70000],
          trace_id: randomUUID(),
          correlation_id: randomUUID(),
        });
      }
      const accessToken = `${armScope ? 'arm' : 'pc'}-${randomUUID()}`;
      if (armScope) armTokens.set(accessToken, tokenPath[1]!);
      else issuedTokens.add(accessToken);
      return json(res, 200, {
        token_type: 'Bearer',
        scope: armScope ? 'https://management.azure.com/user_impersonation' : 'https://api.partnercenter.microsoft.com/user_impersonation',
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
    const held = holds.findIndex((h) => h.method === req.method && (url.pathname + url.search).startsWith(h.path));
    if (held >= 0) {
      // Handled as usual (the change is made), but the answer waits until the test releases it.
      const [hold] = holds.splice(held, 1);
      const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
      res.end = ((...args: unknown[]) => {
        hold!.arrived();
        void hold!.released.then(() => !res.destroyed && end(...args));
        return res;
      }) as typeof res.end;
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
    const ok = (status: number, value: unknown) => json(res, status, value, { 'ms-correlationid': correlationId });
    const collection = (items: unknown[], extra: Record<string, unknown> = {}) => ok(200, { totalCount: items.length, items, ...extra, attributes: { objectType: 'Collection' } });
    /** The rest of a collection its continuation token names; undefined for an unknown token. */
    const continued = (request: IncomingMessage) => {
      const token = String(request.headers['ms-continuationtoken'] ?? '');
      const rest = continuations.get(token);
      continuations.delete(token);
      return rest;
    };
    /** A page of items and, when more follow, links.next with a new continuation token (the documented shape). */
    const paged = (items: unknown[], size: number, nextUri: string): [unknown[], Record<string, unknown>?] => {
      const rest = items.slice(size);
      if (!rest.length) return [items];
      const token = randomUUID();
      continuations.set(token, rest);
      return [items.slice(0, size), { links: { next: { uri: nextUri, method: 'GET', headers: [{ key: 'MS-ContinuationToken', value: token }] } }, continuationToken: token }];
    };
    if (req.method === 'GET' && url.pathname === '/v1/customers') {
      // The list: companyProfile only (the billing profile comes from get-by-id), paged with links.next.
      const listed = [...customers.values()].map(({ id, companyProfile, relationshipToPartner }) => ({ id, companyProfile, relationshipToPartner, attributes: { objectType: 'Customer' } }));
      const items = url.searchParams.get('seekOperation')?.toLowerCase() === 'next' ? continued(req) : listed;
      if (!items) return ok(400, { code: 400, description: 'Invalid continuation token.', errorName: 'InvalidInput' });
      return collection(...paged(items, customerPageSize, '/customers?size=100&seekOperation=Next'));
    }
    const customerMatch = /^\/v1\/customers\/([^/]+)(\/(subscriptions|orders)(\/([^/]+))?)?$/.exec(url.pathname);
    if (customerMatch) {
      const tenant = decodeURIComponent(customerMatch[1]!);
      const customer = customers.get(tenant);
      if (!customer) return ok(404, { code: 600008, description: 'The requested customer was not found.', errorName: 'CustomerNotFound' });
      const [, , , what, , id] = customerMatch;
      if (!what && req.method === 'GET') return ok(200, { ...customer, attributes: { objectType: 'Customer' } });
      if (what === 'orders' && !id && req.method === 'GET') return collection(orders.get(tenant) ?? []);
      const owned = subscriptions.get(tenant) ?? new Map<string, FakeSubscription>();
      if (what === 'subscriptions' && !id && req.method === 'GET') return collection([...owned.values()]);
      const subscription = id ? owned.get(decodeURIComponent(id)) : undefined;
      if (what === 'subscriptions' && id && !subscription) return ok(404, { code: 800002, description: 'Subscription not found.', errorName: 'SubscriptionNotFound' });
      if (what === 'subscriptions' && subscription && req.method === 'GET') return ok(200, subscription);
      if (what === 'subscriptions' && subscription && req.method === 'PATCH') {
        // Optimistic concurrency: the If-Match ETag must be the subscription's current one.
        if (req.headers['if-match'] !== subscription.attributes.etag) {
          return ok(412, { code: 412, description: 'The resource was modified since it was read (ETag mismatch).', errorName: 'PreconditionFailed' });
        }
        const { attributes: _ignored, id: _id, ...fields } = body as Record<string, unknown>;
        Object.assign(subscription, fields);
        subscription.attributes.etag = `"${randomUUID()}"`;
        return ok(200, subscription);
      }
    }
    const invoiceMatch = /^\/v1\/invoices\/([^/]+)$/.exec(url.pathname);
    if (invoiceMatch && req.method === 'GET') {
      const invoice = invoices.get(decodeURIComponent(invoiceMatch[1]!));
      return invoice ? ok(200, invoice) : ok(404, { code: 404, description: 'Invoice not found.', errorName: 'NotFound' });
    }
    if (req.method === 'GET' && url.pathname === '/v1/auditrecords') {
      // The documented shape: { totalCount, items, links.next { uri, method, headers: [MS-ContinuationToken] }, continuationToken, attributes }.
      let items: unknown[] | undefined;
      if (url.searchParams.get('seekOperation') === 'next') {
        items = continued(req);
        if (!items) return ok(400, { code: 400, description: 'Invalid continuation token.', errorName: 'InvalidInput' });
      } else {
        const start = Date.parse(url.searchParams.get('startDate') ?? '');
        const end = url.searchParams.get('endDate') ? Date.parse(url.searchParams.get('endDate')!) : Date.now();
        if (Number.isNaN(start) || Number.isNaN(end)) return ok(400, { code: 400, description: 'Invalid date range.', errorName: 'InvalidInput' });
        if (start < Date.now() - 90 * 24 * 60 * 60 * 1000) {
          return ok(400, { code: 400, description: 'Start date cannot be more than 90 days in the past.', errorName: 'InvalidInput' });
        }
        items = auditRecords.filter((r) => {
          const at = Date.parse(String(r.operationDate));
          return at >= start && at < end;
        });
      }
      return collection(...paged(items, auditPageSize, '/auditrecords?seekOperation=next'));
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
    /**
     * The next request matching method and path start is handled (its change made) but not answered
     * until release(); `arrived` resolves once it was handled.
     */
    hold(method: string, path: string) {
      let arrived!: () => void;
      let release!: () => void;
      const handled = new Promise<void>((done) => (arrived = done));
      holds.push({ method, path, arrived, released: new Promise<void>((done) => (release = done)) });
      return { arrived: handled, release };
    },
    /** Audit records GET /v1/auditrecords serves (AuditRecord objects; resourceNewValue a JSON string). */
    auditRecords,
    /** Records per page before a continuation token (default 100). */
    setAuditPageSize(size: number) {
      auditPageSize = size;
    },
    customers,
    subscriptions,
    orders,
    invoices,
    /** Customers per page of GET /v1/customers before a continuation token (default 100). */
    setCustomerPageSize(size: number) {
      customerPageSize = size;
    },
    addCustomer(tenantId: string, name: string, domain: string, country: string) {
      customers.set(tenantId, {
        id: tenantId,
        companyProfile: { tenantId, domain, companyName: name },
        billingProfile: { companyName: name, defaultAddress: { country } },
        relationshipToPartner: 'reseller',
      });
    },
    /** A subscription as Partner Center holds it; later changes made "outside csp-ops" go through change(). */
    addSubscription(customerTenantId: string, fields: Partial<FakeSubscription> & { id: string }): FakeSubscription {
      const subscription: FakeSubscription = {
        offerId: 'CFQ7TTC0LH18:0001',
        offerName: 'Microsoft 365 Business Basic',
        friendlyName: 'Microsoft 365 Business Basic',
        quantity: 10,
        unitType: 'Licenses',
        creationDate: '2026-11-01T00:00:00Z',
        commitmentEndDate: '2027-10-31T00:00:00Z',
        status: 'active',
        autoRenewEnabled: true,
        billingType: 'license',
        billingCycle: 'monthly',
        termDuration: 'P1Y',
        cancellationAllowedUntilDate: '2026-11-08T00:00:00Z',
        refundableQuantity: { totalQuantity: 10, details: [{ quantity: 10, allowedUntilDateTime: '2026-11-08T00:00:00Z' }] },
        isMicrosoftProduct: true,
        ...fields,
        attributes: { etag: `"${randomUUID()}"`, objectType: 'Subscription' },
      };
      if (!subscriptions.has(customerTenantId)) subscriptions.set(customerTenantId, new Map());
      subscriptions.get(customerTenantId)!.set(subscription.id, subscription);
      return subscription;
    },
    /** A change made in Partner Center itself: the subscription gets a new ETag. */
    changeSubscription(customerTenantId: string, id: string, fields: Partial<FakeSubscription>) {
      const subscription = subscriptions.get(customerTenantId)!.get(id)!;
      Object.assign(subscription, fields);
      subscription.attributes.etag = `"${randomUUID()}"`;
    },
    armTokens,
    armTokenRequests,
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
