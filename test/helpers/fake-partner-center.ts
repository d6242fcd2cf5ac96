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
  /** The resource the request's bearer token was issued for here; undefined: not a token issued here. */
  token?: TokenResource;
}

/** The resources tokens are issued for: Partner Center (api.partnercenter.microsoft.com) and the Partner API (api.partner.microsoft.com, the price sheets). */
export type TokenResource = 'partner-center' | 'partner-api';
const scopeOf: Record<TokenResource, string> = {
  'partner-center': 'https://api.partnercenter.microsoft.com/user_impersonation',
  'partner-api': 'https://api.partner.microsoft.com/user_impersonation',
};

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
  // Refresh-token grants in the partner's tenant, by the resource asked for.
  const tokenRequests: Record<string, string>[] = [];
  const partnerApiTokenRequests: Record<string, string>[] = [];
  const planned: PlannedAnswer[] = [];
  const policies = new Map<string, Policy>();
  const issuedTokens = new Map<string, TokenResource>();
  // Azure Resource Manager tokens and the customer tenant each was issued for.
  const armTokens = new Map<string, string>();
  const armTokenRequests: Record<string, string>[] = [];
  let refuseSignIn = false;
  const rotation = refreshTokenRotation();
  // R-P8: audit records served by GET /v1/auditrecords, a page at a time.
  const auditRecords: Record<string, unknown>[] = [];
  const continuations = new Map<string, unknown[]>();
  let auditPageSize = 100;
  // Customers, their subscriptions and orders, and invoices, in the documented shapes.
  const customers = new Map<string, FakeCustomer>();
  const subscriptions = new Map<string, Map<string, FakeSubscription>>();
  const orders = new Map<string, Record<string, unknown>[]>();
  const invoices = new Map<string, Record<string, unknown>>();
  // Azure reservations as entitlements (get-a-collection-of-entitlements): each artifact's link reads the order's reservations.
  const entitlements = new Map<string, Record<string, unknown>[]>();
  const artifacts = new Map<string, Record<string, unknown>>();
  let customerPageSize = 100;
  const holds: { method: string; path: string; arrived: () => void; released: Promise<void> }[] = [];
  const commerce = fakeCommerce({ customers, orders, addSubscription: (tenant, fields) => api.addSubscription(tenant, fields) });

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
      const scopes = form.scope?.split(' ') ?? [];
      const armScope = scopes.includes('https://management.azure.com/.default');
      const resource: TokenResource = scopes.includes(scopeOf['partner-api']) ? 'partner-api' : 'partner-center';
      // Partner Center and Partner API tokens come from the partner's tenant; Azure Resource Manager tokens from a customer's.
      if (armScope) armTokenRequests.push({ ...form, tenant: tokenPath[1]! });
      else if (tokenPath[1] === partnerTenant) (resource === 'partner-api' ? partnerApiTokenRequests : tokenRequests).push(form);
      else return json(res, 400, { error: 'invalid_request', error_description: `AADSTS90002: Tenant '${tokenPath[1]}' is not the partner's.` });
      const refusal = rotation.refusal(form.refresh_token);
      if (refusal) return json(res, 400, refusal);
      if (refuseSignIn || form.grant_type !== 'refresh_token' || !rotation.valid(form.refresh_token) || form.client_id !== clientId || form.client_secret !== clientSecret) {
        return json(res, 400, {
          error: 'invalid_grant',
          error_description: 'AADSTS70000: The provided value for the refresh token is not valid.',
          error_codes: [70000],
          trace_id: randomUUID(),
          correlation_id: randomUUID(),
        });
      }
      const accessToken = `${armScope ? 'arm' : resource === 'partner-api' ? 'papi' : 'pc'}-${randomUUID()}`;
      if (armScope) armTokens.set(accessToken, tokenPath[1]!);
      else issuedTokens.set(accessToken, resource);
      return json(res, 200, {
        token_type: 'Bearer',
        scope: armScope ? 'https://management.azure.com/user_impersonation' : scopeOf[resource],
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: accessToken,
        refresh_token: rotation.issue(),
      });
    }

    // Partner Center, and the Partner API's price sheets (another host in Microsoft's cloud, served here under /v1.0/).
    const body = text ? JSON.parse(text) : undefined;
    const token = issuedTokens.get(String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
    requests.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers, body, at: Date.now(), token });
    const correlationId = String(req.headers['ms-correlationid'] ?? randomUUID());
    // Each API takes only a token issued for its own resource.
    if (token !== (url.pathname.startsWith('/v1.0/') ? 'partner-api' : 'partner-center')) {
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
    // Catalog, price sheets, carts, checkout and activation links (commerce below).
    const csv = (status: number, value: string) => {
      res.writeHead(status, { 'content-type': 'text/csv; charset=utf-8', 'ms-correlationid': correlationId });
      res.end(value);
    };
    if (commerce.handle(req.method ?? '', url, body, ok, csv)) return;
    const entitlementsMatch = /^\/v1\/customers\/([^/]+)\/entitlements$/.exec(url.pathname);
    if (entitlementsMatch && req.method === 'GET') {
      const type = url.searchParams.get('entitlementType')?.toLowerCase();
      return collection((entitlements.get(decodeURIComponent(entitlementsMatch[1]!)) ?? []).filter((e) => !type || String(e.entitlementType).toLowerCase() === type));
    }
    if (req.method === 'GET' && /^\/v1\/customers\/[^/]+\/artifacts\//.test(url.pathname)) {
      const details = artifacts.get(url.pathname.slice('/v1'.length));
      return details ? ok(200, details) : ok(404, { code: 404, description: 'Artifact not found.', errorName: 'NotFound' });
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
        // The documented form: startDate and endDate in yyyy-mm-dd, the end date's whole day included.
        const dateForm = /^\d{4}-\d{2}-\d{2}$/;
        const startDate = url.searchParams.get('startDate') ?? '';
        const endDate = url.searchParams.get('endDate');
        if (!dateForm.test(startDate) || (endDate !== null && !dateForm.test(endDate))) return ok(400, { code: 400, description: 'Invalid date format: expected yyyy-mm-dd.', errorName: 'InvalidInput' });
        const start = Date.parse(startDate);
        const end = endDate ? Date.parse(endDate) + 24 * 60 * 60 * 1000 : Date.now();
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

  const api = {
    origin,
    requests,
    /** The product catalog, price sheets, carts and orders (fakeCommerce). */
    commerce,
    /** Refresh-token grants for Partner Center's scope, and for the Partner API's. */
    tokenRequests,
    partnerApiTokenRequests,
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
    /**
     * An Azure reservation order as the customer's `reservedinstance` entitlement shows it (the documented
     * response), bought by `order` line item 0; its reservations are what the artifact's link answers.
     */
    addReservationOrder(customerTenantId: string, reservationOrderId: string, order: string, reservations: Record<string, unknown>[]) {
      const uri = `/customers/${customerTenantId}/artifacts/reservedinstance/groups/${randomUUID().replace(/-/g, '')}/lineitems/${randomUUID()}/resource/${reservationOrderId}`;
      const entitlement = {
        includedEntitlements: [],
        referenceOrder: { id: order, lineItemId: '0' },
        productId: 'DZH318Z0BQ3W',
        quantity: 1,
        entitledArtifacts: [{ link: { uri, method: 'GET', headers: [] }, resourceId: reservationOrderId, artifactType: 'reservedinstance' }],
        skuId: '007J',
        entitlementType: 'reservedinstance',
        dynamicAttributes: { reservationType: 'virtualmachines' },
      };
      entitlements.set(customerTenantId, [...(entitlements.get(customerTenantId) ?? []), entitlement]);
      artifacts.set(uri, { type: 'reservedinstance', reservations });
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
    /** Refresh tokens: each grant answers a new one (Entra's rotation); revoke() makes Entra refuse them with invalid_grant. */
    refreshTokens: rotation.api,
    /** The settings that point csp-ops here. */
    config: {
      PARTNER_CENTER_PRICING_URL: origin,
      PARTNER_CENTER_TENANT_ID: partnerTenant,
      PARTNER_CENTER_CLIENT_ID: clientId,
      PARTNER_CENTER_CLIENT_SECRET: clientSecret,
      PARTNER_CENTER_REFRESH_TOKEN: refreshToken,
      PARTNER_CENTER_BASE_URL: origin,
      PARTNER_CENTER_AUTHORITY_URL: origin,
      PARTNER_CENTER_TOKEN_KEY: tokenKey,
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
  return api;
}

export type FakePartnerCenter = Awaited<ReturnType<typeof startFakePartnerCenter>>;

/** A SaaS product as the fake catalog serves it: per SKU, its terms and prices by market. */
export interface FakeProduct {
  id: string;
  title: string;
  publisherName: string;
  skus: { id: string; title: string; isTrial?: boolean; markets: Record<string, { currency: string; terms: { duration: 'P1M' | 'P1Y'; billingCycle: string; price: number }[] }> }[];
}

/**
 * Commercial marketplace purchases in Partner Center's documented shapes: products / SKUs /
 * availabilities (get-a-list-of-products, -skus-for-a-product, -availabilities-for-a-sku), the
 * marketplace price sheet (get-a-price-sheet, CSV), carts (create-a-cart, get a cart, checkout-a-cart
 * with CartCheckoutResult), orders by ID and activation links (get-activation-link-by-order-line-item).
 * A checkout that makes an order is counted in `checkouts`.
 */
function fakeCommerce(store: {
  customers: Map<string, unknown>;
  orders: Map<string, Record<string, unknown>[]>;
  addSubscription: (tenant: string, fields: Partial<FakeSubscription> & { id: string }) => FakeSubscription;
}) {
  const products = new Map<string, FakeProduct>();
  const carts = new Map<string, { tenant: string; cart: Record<string, unknown> & { status: string; lineItems: Record<string, unknown>[] } }>();
  const activationLinks = new Map<string, string>();
  const checkouts: { tenant: string; cartId: string; orderId: string }[] = [];
  // Customers whose next order Partner Center provisions later (status "pending", no subscription yet), and those orders.
  const provisionLater = new Set<string>();
  const unprovisioned = new Map<string, () => void>();
  const availabilityId = (sku: string, market: string, trial?: boolean) => `AV${trial ? 'T' : ''}${market}${sku}`.toUpperCase();
  const catalogItemId = (product: string, sku: string, market: string, trial?: boolean) => `${product}:${sku}:${availabilityId(sku, market, trial)}`;
  const item = (id: string) => {
    for (const p of products.values()) {
      for (const sku of p.skus) {
        for (const market of Object.keys(sku.markets)) if (catalogItemId(p.id, sku.id, market, sku.isTrial) === id) return { product: p, sku, market };
      }
    }
    return undefined;
  };
  const list = (items: unknown[], self: string) => ({ totalCount: items.length, items, links: { self: { uri: self, method: 'GET', headers: [] } }, attributes: { objectType: 'Collection' } });
  const quoteCsv = (v: string | number) => `"${String(v).replace(/"/g, '""')}"`;

  function handle(method: string, url: URL, body: any, ok: (status: number, value: unknown) => void, csv: (status: number, text: string) => void): boolean {
    const path = decodeURIComponent(url.pathname);
    const country = url.searchParams.get('country') ?? '';
    if (method === 'GET' && path === '/v1/products') {
      if (url.searchParams.get('targetView') !== 'MarketplaceSaaS') return ok(200, list([], url.pathname + url.search)), true;
      const items = [...products.values()]
        .filter((p) => p.skus.some((s) => s.markets[country]))
        .map((p) => ({
          id: p.id,
          title: p.title,
          description: p.title,
          productType: { id: 'Azure', displayName: 'Azure', subType: { id: 'SaaS', displayName: 'SaaS' } },
          isMicrosoftProduct: false,
          publisherName: p.publisherName,
          links: { skus: { uri: `/products/${p.id}/skus?country=${country}`, method: 'GET', headers: [] } },
        }));
      return ok(200, list(items, url.pathname + url.search)), true;
    }
    const skus = /^\/v1\/products\/([^/]+)\/skus(?:\/([^/]+)\/availabilities)?$/.exec(path);
    if (method === 'GET' && skus) {
      const product = products.get(skus[1]!);
      if (!product) return ok(404, { code: 400013, description: 'Product not found.', errorName: 'ProductNotFound' }), true;
      if (!skus[2]) {
        const items = product.skus.filter((s) => s.markets[country]).map((s) => ({
          id: s.id, productId: product.id, title: s.title, description: s.title, minimumQuantity: 1, maximumQuantity: 10000, isTrial: Boolean(s.isTrial),
          supportedBillingCycles: s.isTrial ? ['none'] : [...new Set(s.markets[country]!.terms.map((t) => t.billingCycle))],
          purchasePrerequisites: [], inventoryVariables: [], provisioningVariables: [], dynamicAttributes: {},
          links: { availabilities: { uri: `/products/${product.id}/skus/${s.id}/availabilities?country=${country}`, method: 'GET', headers: [] } },
        }));
        return ok(200, list(items, url.pathname + url.search)), true;
      }
      const sku = product.skus.find((s) => s.id === skus[2]);
      const market = sku?.markets[country];
      const items = market
        ? [{
            id: availabilityId(sku!.id, country, sku!.isTrial), productId: product.id, skuId: sku!.id, catalogItemId: catalogItemId(product.id, sku!.id, country, sku!.isTrial),
            defaultCurrency: { code: market.currency, symbol: market.currency }, segment: 'commercial', country, isPurchasable: true, isRenewable: !sku!.isTrial,
            terms: market.terms.map((t) => ({ duration: t.duration, description: t.duration === 'P1M' ? 'One-Month commitment' : 'One-Year commitment', billingCycle: t.billingCycle })),
            links: { self: { uri: `/products/${product.id}/skus/${sku!.id}/availabilities/${availabilityId(sku!.id, country)}?country=${country}`, method: 'GET', headers: [] } },
          }]
        : [];
      return ok(200, list(items, url.pathname + url.search)), true;
    }
    const sheet = /^\/v1\.0\/sales\/pricesheets\(Market='([^']+)',PricesheetView='marketplace'\)\/\$value$/.exec(path);
    if (method === 'GET' && sheet) {
      const market = sheet[1]!.toUpperCase();
      const header = ['ProductTitle', 'ProductId', 'SkuId', 'SkuTitle', 'Publisher', 'SkuDescription', 'UnitOfMeasure', 'TermDuration', 'BillingPlan', 'Market', 'Currency', 'UnitPrice', 'PricingTierRangeMin', 'PricingTierRangeMax', 'EffectiveStartDate', 'EffectiveEndDate', 'Tags', 'ERP Price'];
      const rows = [...products.values()].flatMap((p) =>
        p.skus.flatMap((s) => (s.isTrial ? [] : (s.markets[market]?.terms ?? []).map((t) =>
          [p.title, p.id, s.id, s.title, p.publisherName, s.title, '1 User', t.duration, t.billingCycle === 'monthly' ? 'Monthly' : 'Annual', market, s.markets[market]!.currency, t.price, '', '', '2026-01-01', '', 'SaaS', t.price].map(quoteCsv).join(','),
        ))),
      );
      return csv(200, [header.map(quoteCsv).join(','), ...rows].join('\r\n') + '\r\n'), true;
    }
    const cartMatch = /^\/v1\/customers\/([^/]+)\/carts(?:\/([^/]+)(\/checkout)?)?$/.exec(path);
    if (cartMatch) {
      const tenant = cartMatch[1]!;
      if (!store.customers.has(tenant)) return ok(404, { code: 600008, description: 'The requested customer was not found.', errorName: 'CustomerNotFound' }), true;
      if (method === 'POST' && !cartMatch[2]) {
        const id = randomUUID();
        const lineItems = (body?.lineItems ?? []) as Record<string, unknown>[];
        if (!lineItems.length || lineItems.some((l) => !item(String(l.catalogItemId)))) {
          return ok(400, { code: 800002, description: 'Invalid request input: unknown catalog item.', errorName: 'InvalidInput' }), true;
        }
        const cart = {
          id, creationTimestamp: new Date().toISOString(), lastModifiedTimestamp: new Date().toISOString(), expirationTimestamp: new Date(Date.now() + 15 * 60_000).toISOString(),
          lastModifiedUser: randomUUID(), status: 'Active',
          lineItems: lineItems.map((l, i) => ({ ...l, id: i, currencyCode: item(String(l.catalogItemId))!.sku.markets[item(String(l.catalogItemId))!.market]!.currency, orderGroup: '0' })),
          links: { self: { uri: `/customers/${tenant}/carts/${id}`, method: 'GET', headers: [] } },
          attributes: { objectType: 'Cart' },
        };
        carts.set(id, { tenant, cart });
        return ok(201, cart), true;
      }
      const entry = cartMatch[2] ? carts.get(cartMatch[2]) : undefined;
      if (!entry || entry.tenant !== tenant) return ok(404, { code: 800008, description: 'Cart not found.', errorName: 'CartIdNotFound' }), true;
      if (method === 'GET' && !cartMatch[3]) return ok(200, entry.cart), true;
      if (method === 'POST' && cartMatch[3]) {
        if (entry.cart.status === 'Ordered') {
          return ok(400, { code: 800065, description: `Cannot checkout an already submitted cart ${entry.cart.id}.`, errorName: 'CartCheckOutNotAllowedWhenStatusIsOrdered' }), true;
        }
        entry.cart.status = 'Ordered';
        const orderId = randomUUID();
        const now = new Date();
        const lineItems: Record<string, unknown>[] = entry.cart.lineItems.map((l, n) => ({
          lineItemNumber: n, offerId: l.catalogItemId, termDuration: l.termDuration, transactionType: 'New', friendlyName: item(String(l.catalogItemId))!.sku.title, quantity: l.quantity, links: {},
        }));
        const order = {
          id: orderId, alternateId: orderId.slice(0, 12), referenceCustomerId: tenant, billingCycle: entry.cart.lineItems[0]?.billingCycle, currencyCode: entry.cart.lineItems[0]?.currencyCode,
          lineItems, creationDate: now.toISOString(), status: 'pending', transactionType: 'UserPurchase', links: {}, attributes: { objectType: 'Order' },
        };
        // Provisioning: each line's subscription and activation link, and the order completed.
        const provision = () => {
          entry.cart.lineItems.forEach((l, n) => {
            const found = item(String(l.catalogItemId))!;
            const subscriptionId = randomUUID();
            const monthly = l.termDuration === 'P1M' && l.billingCycle !== 'none';
            store.addSubscription(tenant, {
              id: subscriptionId, offerId: String(l.catalogItemId), offerName: `${found.product.title} ${found.sku.title}`, friendlyName: `${found.product.title} ${found.sku.title}`,
              quantity: Number(l.quantity), status: 'pending', billingCycle: String(l.billingCycle), termDuration: String(l.termDuration), isMicrosoftProduct: false,
              creationDate: now.toISOString(), commitmentEndDate: new Date(now.getTime() + (monthly ? 30 : 365) * 86_400_000).toISOString(),
              cancellationAllowedUntilDate: new Date(now.getTime() + (monthly ? 1 : 14) * 86_400_000).toISOString(),
              refundableQuantity: { totalQuantity: Number(l.quantity), details: [] },
            });
            activationLinks.set(`${orderId}/${n}`, `https://publisher.example/activate?token=${randomUUID()}`);
            lineItems[n]!.subscriptionId = subscriptionId;
          });
          order.status = 'completed';
        };
        if (provisionLater.delete(tenant)) unprovisioned.set(orderId, provision);
        else provision();
        store.orders.set(tenant, [...(store.orders.get(tenant) ?? []), order]);
        checkouts.push({ tenant, cartId: String(entry.cart.id), orderId });
        return ok(201, { orders: [order], attributes: { objectType: 'CartCheckoutResult' } }), true;
      }
    }
    const orderMatch = /^\/v1\/customers\/([^/]+)\/orders\/([^/]+)(?:\/lineitems\/(\d+)\/activationlinks)?$/.exec(path);
    if (method === 'GET' && orderMatch) {
      const order = (store.orders.get(orderMatch[1]!) ?? []).find((o) => o.id === orderMatch[2]);
      if (!order) return ok(404, { code: 800008, description: 'Order not found.', errorName: 'NotFound' }), true;
      if (orderMatch[3] === undefined) return ok(200, order), true;
      const link = activationLinks.get(`${orderMatch[2]}/${orderMatch[3]}`);
      return ok(200, list(link ? [{ lineItemNumber: Number(orderMatch[3]), link: { uri: link, method: 'GET', headers: [] } }] : [], url.pathname)), true;
    }
    return false;
  }

  return {
    handle,
    products,
    carts,
    checkouts,
    activationLinks,
    /** The catalog item ID a market's availability of the SKU has. */
    catalogItemId,
    addProduct(product: FakeProduct) {
      products.set(product.id, product);
    },
    /** The customer's next order is provisioned asynchronously: it stays "pending", its lines naming no subscription, until provision(). */
    provisionLater(tenant: string) {
      provisionLater.add(tenant);
    },
    /** Partner Center provisions a pending order: its subscriptions and activation links exist, and the order is completed. */
    provision(orderId: string) {
      unprovisioned.get(orderId)!();
      unprovisioned.delete(orderId);
    },
    /** Partner Center cancels a pending order instead: no subscription is ever made. */
    cancelOrder(tenant: string, orderId: string) {
      unprovisioned.delete(orderId);
      store.orders.get(tenant)!.find((o) => o.id === orderId)!.status = 'cancelled';
    },
    /** Partner Center's price for a term changes (prices change often). */
    setPrice(productId: string, skuId: string, market: string, duration: 'P1M' | 'P1Y', price: number) {
      products.get(productId)!.skus.find((s) => s.id === skuId)!.markets[market]!.terms.find((t) => t.duration === duration)!.price = price;
      },
    };
}

/** A 32-byte PARTNER_CENTER_TOKEN_KEY (base64) for tests. */
export const tokenKey = Buffer.alloc(32, 7).toString('base64');

/**
 * Microsoft Entra's refresh-token rotation: each refresh_token grant answers a new refresh token
 * (older ones stay usable, as in Entra, until revoked). revoke() stands for the token revoked, the
 * consenting user's password or MFA reset: every grant is then refused with invalid_grant and the
 * documented AADSTS error body.
 */
function refreshTokenRotation() {
  const issued: string[] = [refreshToken];
  const presented: string[] = [];
  let revoked: { code: number; description: string } | undefined;
  let withheld = false;
  return {
    valid: (token: string | undefined) => Boolean(token && issued.includes(token)),
    issue() {
      if (withheld) return undefined;
      const token = `rt-${issued.length}-${randomUUID()}`;
      issued.push(token);
      return token;
    },
    refusal(token: string | undefined) {
      if (token) presented.push(token);
      if (!revoked) return undefined;
      return {
        error: 'invalid_grant',
        error_description: `AADSTS${revoked.code}: ${revoked.description}\r\nTrace ID: ${randomUUID()}\r\nCorrelation ID: ${randomUUID()}\r\nTimestamp: ${new Date().toISOString().replace('T', ' ').slice(0, 19)}Z`,
        error_codes: [revoked.code],
        timestamp: new Date().toISOString(),
        trace_id: randomUUID(),
        correlation_id: randomUUID(),
        suberror: 'bad_token',
      };
    },
    api: {
      /** Every refresh token issued so far, the settings' first one included; the last is the newest. */
      issued,
      /** The refresh tokens presented to the token endpoint, in order. */
      presented,
      /** Refuse every refresh token from now on (default: AADSTS50173, revoked after a password change). */
      revoke(code = 50173, description = 'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.') {
        revoked = { code, description };
      },
      restore() {
        revoked = undefined;
      },
      /** Answer grants without a new refresh token (the token held then ages). */
      withhold(on = true) {
        withheld = on;
      },
    },
  };
}

/**
 * `ms` before now, as an audit record's operationDate, but never before today's UTC day began: a poll reads
 * the day it stopped in again, so a record from just before midnight would not be read a second time.
 */
export function earlierToday(ms: number): string {
  const now = Date.now();
  return new Date(Math.max(now - ms, now - (now % (24 * 60 * 60 * 1000)))).toISOString();
}
