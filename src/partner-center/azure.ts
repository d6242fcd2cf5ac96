import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { AzureReservationChange, AzureReservationOutcome, AzureReservationsGateway, RemoteReservation, ReservationCatalog } from '../core/context.js';
import { DomainError } from '../core/errors.js';
import type { RequestContext } from '../request-context.js';
import { isLoopback, loopbackNetwork, msalModule, type PartnerCenterSettings } from './client.js';

/*
 * The Azure Reservations REST API on Azure Resource Manager, api-version 2022-11-01
 * (github:Azure/azure-rest-api-specs specification/reservations/resource-manager/Microsoft.Capacity/
 * stable/2022-11-01/reservations.json and its examples). It is called in the customer's tenant with
 * the partner's delegated admin rights: the Partner Center app and refresh token, scope ARM.
 */
export const armScope = 'https://management.azure.com/.default';
const apiVersion = '2022-11-01';

export interface AzureSettings extends PartnerCenterSettings {
  armBaseUrl: string;
}

/** Azure's refusal as ARM answers it: `{ error: { code, message } }`, or a policy error of a quote. */
export class AzureError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
  ) {
    super(`Azure Resource Manager ${status} ${code}: ${description}`);
  }
}

interface Money {
  currencyCode?: string;
  amount?: number;
}
interface PolicyErrors {
  policyErrors?: { code?: string; message?: string }[] | null;
}

const orderPath = (orderId: string) => `/providers/Microsoft.Capacity/reservationOrders/${encodeURIComponent(orderId)}`;
const reservationPath = (orderId: string, reservationId: string) => `${orderPath(orderId)}/reservations/${encodeURIComponent(reservationId)}`;
/** The order and reservation a reservation's ARM ID names (`/providers/microsoft.capacity/reservationOrders/{o}/reservations/{r}`), lowercased as IDs are kept here. */
function reservationIds(id: string | undefined) {
  const found = /reservationOrders\/([^/]+)\/reservations\/([^/?]+)/i.exec(id ?? '');
  return found ? { reservationOrderId: found[1]!.toLowerCase(), reservationId: found[2]!.toLowerCase() } : undefined;
}
/** A string inside an OData $filter: single quotes doubled. */
const odataString = (text: string) => `'${text.replace(/'/g, "''")}'`;
/** Pages of a list followed at most: a runaway nextLink chain stops here. */
const maxPages = 50;

/** A quote's policy errors (refund limit, not allowed for this product…) refuse the change. */
function refuseOnPolicy(policy: PolicyErrors | undefined) {
  const first = policy?.policyErrors?.[0];
  if (first) throw new AzureError(200, first.code ?? 'PolicyError', first.message ?? '');
}

export type AzureGateway = AzureReservationsGateway & { settleMs: number; forRequest(request: RequestContext): AzureGateway };

export function createAzureReservations(settings: AzureSettings): AzureGateway {
  const authority = new URL(settings.authorityUrl);
  const host = authority.host;
  const base = `https://${host}${authority.pathname.replace(/\/+$/, '')}`;
  let signIn: Promise<ConfidentialClientApplication> | undefined;
  const msalApp = () => (signIn ??= msalModule().then(({ ConfidentialClientApplication }) => new ConfidentialClientApplication({
    auth: {
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      authority: `${base}/${settings.tenantId}`,
      ...(host === 'login.microsoftonline.com' ? {} : { knownAuthorities: [host] }),
    },
    ...(isLoopback(authority) ? { system: { networkClient: loopbackNetwork(authority) } } : {}),
  })));
  const timeoutMs = settings.timeoutMs ?? 15_000;
  const maxPollDelayMs = settings.maxPollDelayMs ?? 60_000;
  const tokens = new Map<string, { accessToken: string; expiresAt: number }>();

  /** A token for ARM in the customer's tenant: the partner acts there through its delegated admin rights. */
  async function token(customerTenantId: string): Promise<string> {
    const cached = tokens.get(customerTenantId);
    if (cached && cached.expiresAt - 5 * 60_000 > Date.now()) return cached.accessToken;
    // The newest refresh token the Partner Center connector holds (they rotate), else the first one.
    const refreshToken = (await settings.refreshTokens?.newest(settings.refreshToken)) ?? settings.refreshToken;
    const result = await (await msalApp()).acquireTokenByRefreshToken({ refreshToken, scopes: [armScope], authority: `${base}/${customerTenantId}` });
    if (!result?.accessToken) throw new Error('Microsoft Entra returned no access token');
    tokens.set(customerTenantId, { accessToken: result.accessToken, expiresAt: result.expiresOn?.getTime() ?? Date.now() });
    return result.accessToken;
  }

  /** The gateway for one request (a click, a job): ARM is given its ID, so Azure's records of a change carry the ID of the click that approved it. */
  function gateway(request: RequestContext | undefined): AzureGateway {
    /** One ARM call: the answer's status, headers and body; throws AzureError on a refusal (status 0: no answer). */
    async function call(customerTenantId: string, method: string, pathOrUrl: string, body?: unknown) {
      let accessToken: string;
      try {
        accessToken = await token(customerTenantId);
      } catch (error) {
        const e = error as { errorCode?: string; errorMessage?: string; message?: string };
        throw new AzureError(-1, e.errorCode || 'sign-in failed', (e.errorMessage || e.message || String(error)).split('\n')[0]!);
      }
      const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${settings.armBaseUrl}${pathOrUrl}${pathOrUrl.includes('?') ? '&' : '?'}api-version=${apiVersion}`;
      let response: Response;
      // ARM's own tracing header: Azure's records of the change carry the request ID of the click that approved it.
      const correlationId = request?.requestId;
      const started = performance.now();
      const report = (status: number | 'timeout' | 'unreachable') =>
        settings.onCall?.({ service: 'azure', method, url, status, durationMs: performance.now() - started, attempt: 1, correlationId, request });
      try {
        response = await fetch(url, {
          method,
          headers: {
            authorization: `Bearer ${accessToken}`,
            accept: 'application/json',
            ...(correlationId ? { 'x-ms-correlation-request-id': correlationId } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        const timedOut = error instanceof Error && error.name === 'TimeoutError';
        report(timedOut ? 'timeout' : 'unreachable');
        throw new AzureError(0, 'unreachable', timedOut ? `no answer within ${timeoutMs / 1000} s` : String((error as Error).message ?? error));
      }
      const text = await response.text();
      report(response.status);
      const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (!response.ok) {
        const error = (parsed.error ?? {}) as { code?: string; message?: string };
        throw new AzureError(response.status, error.code ?? String(response.status), error.message ?? response.statusText);
      }
      return { status: response.status, headers: response.headers, body: parsed };
    }

    /** A long-running operation followed to its end: Azure-AsyncOperation (else Location), pausing as Retry-After says. */
    async function finish(customerTenantId: string, first: Awaited<ReturnType<typeof call>>, accepted: (operation: string) => Promise<void>) {
      const operation = first.headers.get('azure-asyncoperation') ?? first.headers.get('location');
      if (first.status !== 202 || !operation) return first.body;
      await accepted(operation);
      return followOperation(customerTenantId, operation, first.headers.get('retry-after'));
    }

    async function followOperation(customerTenantId: string, operation: string, retryAfter: string | null = null): Promise<Record<string, unknown>> {
      for (let polls = 0; polls < 10_000; polls++) {
        await sleep(Math.min(maxPollDelayMs, Math.max(0, Number(retryAfter ?? 1) * 1000)));
        const answer = await call(customerTenantId, 'GET', operation);
        const status = String(answer.body.status ?? '').toLowerCase();
        if (answer.status === 202 || ['inprogress', 'running', 'accepted', 'pending'].includes(status)) {
          retryAfter = answer.headers.get('retry-after');
          continue;
        }
        if (['failed', 'canceled', 'cancelled'].includes(status)) {
          const error = (answer.body.error ?? {}) as { code?: string; message?: string };
          throw new AzureError(answer.status, error.code ?? status, error.message ?? '');
        }
        return answer.body;
      }
      throw new AzureError(0, 'unreachable', `operation ${operation} did not end`);
    }

    /** Every page of an ARM list (`value`, `nextLink`). GetCatalog's own example answers a bare array, so that is read too. */
    async function list<T>(customerTenantId: string, path: string): Promise<T[]> {
      const items: T[] = [];
      let next: string | null | undefined = path;
      for (let page = 0; next && page < maxPages; page++) {
        const answer = (await call(customerTenantId, 'GET', next)).body as unknown as T[] | { value?: T[]; nextLink?: string | null };
        if (Array.isArray(answer)) return [...items, ...answer];
        items.push(...(answer.value ?? []));
        next = answer.nextLink;
      }
      return items;
    }

    /** GetCatalog where the reservation is: its reservedResourceType, its location, and the subscription of its billingScopeId. */
    async function catalog(customerTenantId: string, orderId: string, reservationId: string): Promise<ReservationCatalog> {
      const current = (await call(customerTenantId, 'GET', reservationPath(orderId, reservationId))).body as RemoteReservation;
      const reservedResourceType = current.properties?.reservedResourceType ?? '';
      const location = current.location ?? '';
      const subscription = /\/subscriptions\/([^/]+)/i.exec(current.properties?.billingScopeId ?? '')?.[1];
      if (!subscription) throw new AzureError(200, 'NoBillingScope', `reservation ${reservationId} names no billing subscription`);
      const query = new URLSearchParams({ reservedResourceType, location });
      const skus = await list<{ name?: string }>(customerTenantId, `/subscriptions/${encodeURIComponent(subscription)}/providers/Microsoft.Capacity/catalogs?${query}`);
      return { reservedResourceType, location, skus: [...new Set(skus.flatMap((sku) => (sku.name ? [sku.name] : [])))] };
    }

    /**
     * The exchange's swap link (ReservationSwapProperties): the old reservation's swapDestination, else a reservation
     * whose swapSource is the old one, among those Reservation_ListAll finds of its resource type and new SKU.
     */
    async function exchangedFor(customerTenantId: string, exchanged: RemoteReservation, sku: string | undefined) {
      const destination = reservationIds(exchanged.properties?.swapProperties?.swapDestination);
      if (destination) return destination;
      const source = reservationIds(exchanged.id);
      if (!source) return undefined;
      const type = exchanged.properties?.reservedResourceType;
      const filter = [type && `properties/reservedResourceType eq ${odataString(type)}`, sku && `sku/name eq ${odataString(sku)}`].filter(Boolean).join(' and ');
      const listed = await list<RemoteReservation>(customerTenantId, `/providers/Microsoft.Capacity/reservations${filter ? `?${new URLSearchParams({ $filter: filter })}` : ''}`);
      const bought = listed.find((r) => {
        const from = reservationIds(r.properties?.swapProperties?.swapSource);
        return from?.reservationOrderId === source.reservationOrderId && from.reservationId === source.reservationId;
      });
      return reservationIds(bought?.id);
    }

    /** The calculateRefund quote: its session and the refund in the billing currency. */
    async function calculateRefund(customerTenantId: string, orderId: string, reservationId: string, quantity: number) {
      const reservationToReturn = { reservationId: reservationPath(orderId, reservationId), quantity };
      const { body } = await call(customerTenantId, 'POST', `${orderPath(orderId)}/calculateRefund`, {
        id: orderPath(orderId),
        properties: { scope: 'Reservation', reservationToReturn },
      });
      const properties = (body.properties ?? {}) as { sessionId?: string; billingRefundAmount?: Money; policyResult?: { properties?: PolicyErrors } };
      refuseOnPolicy(properties.policyResult?.properties);
      return { sessionId: properties.sessionId!, refund: money(properties.billingRefundAmount), reservationToReturn };
    }

    async function carryOut(customerTenantId: string, change: AzureReservationChange, accepted: (operation: string) => Promise<void>): Promise<AzureReservationOutcome> {
      const { reservationOrderId: orderId, reservationId } = change;
      switch (change.kind) {
        case 'cancel': {
          const quote = await calculateRefund(customerTenantId, orderId, reservationId, change.quantity);
          const first = await call(customerTenantId, 'POST', `${orderPath(orderId)}/return`, {
            properties: { sessionId: quote.sessionId, scope: 'Reservation', reservationToReturn: quote.reservationToReturn, returnReason: change.reason ?? 'Requested by the customer' },
          });
          const body = await finish(customerTenantId, first, accepted);
          const properties = (body.properties ?? {}) as { billingRefundAmount?: Money };
          return { refund: money(properties.billingRefundAmount) ?? quote.refund };
        }
        case 'exchange': {
          const current = await reservation(customerTenantId, orderId, reservationId);
          const held = current?.properties ?? {};
          const quote = await call(customerTenantId, 'POST', '/providers/Microsoft.Capacity/calculateExchange', {
            properties: {
              reservationsToPurchase: [
                {
                  sku: { name: change.product },
                  location: current?.location,
                  properties: {
                    reservedResourceType: held.reservedResourceType,
                    billingScopeId: held.billingScopeId,
                    term: change.term,
                    billingPlan: change.billingPlan === 'monthly' ? 'Monthly' : 'Upfront',
                    quantity: change.quantity,
                    displayName: change.product,
                    appliedScopeType: held.appliedScopeType ?? 'Shared',
                    appliedScopes: held.appliedScopes ?? null,
                    renew: false,
                  },
                },
              ],
              reservationsToExchange: [{ reservationId: reservationPath(orderId, reservationId), quantity: change.quantity }],
            },
          });
          // calculateExchange may itself be long-running; its result holds the session.
          const calculated = await finish(customerTenantId, quote, async () => {});
          const quoted = (calculated.properties ?? {}) as { sessionId?: string; policyResult?: PolicyErrors };
          refuseOnPolicy(quoted.policyResult);
          const first = await call(customerTenantId, 'POST', '/providers/Microsoft.Capacity/exchange', { properties: { sessionId: quoted.sessionId } });
          return exchangeOutcome(await finish(customerTenantId, first, accepted));
        }
        case 'renew':
          await finish(customerTenantId, await call(customerTenantId, 'PATCH', reservationPath(orderId, reservationId), { properties: { renew: true } }), accepted);
          return {};
        case 'scope': {
          const properties =
            change.scope === 'single' ? { appliedScopeType: 'Single', appliedScopes: [`/subscriptions/${change.subscriptionId}`] } : { appliedScopeType: 'Shared' };
          await finish(customerTenantId, await call(customerTenantId, 'PATCH', reservationPath(orderId, reservationId), { properties }), accepted);
          return {};
        }
      }
    }

    async function reservation(customerTenantId: string, orderId: string, reservationId: string): Promise<RemoteReservation | undefined> {
      try {
        return (await call(customerTenantId, 'GET', reservationPath(orderId, reservationId))).body as RemoteReservation;
      } catch (error) {
        if (error instanceof AzureError && error.status === 404) return undefined;
        throw error;
      }
    }

    return {
      settleMs: 3 * timeoutMs + 5000,
      refundQuote: (customerTenantId, r) => guarded(async () => (await calculateRefund(customerTenantId, r.reservationOrderId, r.reservationId, r.quantity)).refund),
      carryOut: (customerTenantId, change, accepted) => guarded(() => carryOut(customerTenantId, change, accepted)),
      reservation: (customerTenantId, orderId, reservationId) => guarded(() => reservation(customerTenantId, orderId, reservationId)),
      operation: (customerTenantId, url) => guarded(async () => exchangeOutcome(await followOperation(customerTenantId, url, '0'))),
      catalog: (customerTenantId, orderId, reservationId) => guarded(() => catalog(customerTenantId, orderId, reservationId)),
      exchangedFor: (customerTenantId, exchanged, sku) => guarded(() => exchangedFor(customerTenantId, exchanged, sku)),
      forRequest: gateway,
    };
  }

  return gateway(undefined);
}

function money(amount: Money | undefined) {
  return amount?.currencyCode && typeof amount.amount === 'number' ? { amount: amount.amount, currency: amount.currencyCode } : undefined;
}

/** The exchange's result names the reservation bought in its place (documented Exchange example). */
function exchangeOutcome(body: Record<string, unknown>): AzureReservationOutcome {
  const bought = ((body.properties ?? {}) as { reservationsToPurchase?: { reservationId?: string }[] }).reservationsToPurchase?.[0];
  const successor = reservationIds(bought?.reservationId);
  return successor ? { successor } : {};
}

/** Azure's answers become DomainErrors the approver and the requester can read: refused (with Azure's code and message) or unreachable. */
async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!(error instanceof AzureError)) throw error;
    if (error.status === 0) throw new DomainError('azure.unreachable', { reason: error.description });
    if (error.status === -1) throw new DomainError('azure.signIn', { code: error.code, message: error.description });
    throw new DomainError('azure.refused', { code: error.code, message: error.description });
  }
}
