import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FakePartnerCenter, PlannedAnswer, RecordedRequest } from './fake-partner-center.js';

/**
 * Azure Resource Manager's Azure Reservations API (Microsoft.Capacity, api-version 2022-11-01) on a
 * loopback server, answering in the shapes of github:Azure/azure-rest-api-specs
 * specification/reservations/resource-manager/Microsoft.Capacity/stable/2022-11-01/reservations.json
 * and its examples (Return.json, CalculateExchange.json, Exchange.json, UpdateReservation.json,
 * GetReservationDetails.json, GetCatalog.json, GetReservations.json). Tokens are the ones the fake
 * Entra of fake-partner-center.ts issued for the ARM scope, each good only in the customer tenant
 * it was issued for.
 */
export interface FakeReservation {
  tenant: string;
  orderId: string;
  id: string;
  sku: string;
  location: string;
  quantity: number;
  appliedScopeType: 'Shared' | 'Single';
  appliedScopes: string[] | null;
  renew: boolean;
  provisioningState: string;
  /** The exchange's link (ReservationSwapProperties), as full reservation IDs. */
  swapSource?: string;
  swapDestination?: string;
  /**
   * How an exchange of this reservation is linked: swapSource on the one bought (as GetReservationDetails.json
   * shows it, the default), also swapDestination on this one (`both`), or not at all (`none`).
   */
  exchangeLinks?: 'source' | 'both' | 'none';
}

/** SKU names GetCatalog answers for a region not given its own catalog. */
export const defaultCatalog = ['Standard_D1', 'Standard_D2s_v5', 'Standard_D4s_v3', 'Standard_D4s_v5', 'Standard_D8s_v5', 'Standard_DS5_v2', 'Standard_E4s_v5', 'Standard_E8s_v5', 'Standard_F2'];
/** GetCatalog's page size here, so its nextLink is followed. */
const catalogPage = 4;

const money = (amount: number, currencyCode = 'USD') => ({ currencyCode, amount });

export async function startFakeAzure(entra: FakePartnerCenter) {
  const requests: RecordedRequest[] = [];
  const planned: PlannedAnswer[] = [];
  const reservations = new Map<string, FakeReservation>();
  const sessions = new Map<string, { kind: 'refund' | 'exchange'; reservation: FakeReservation; product?: string }>();
  const operations = new Map<string, { done: boolean; body?: Record<string, unknown>; polls: number }>();
  /** GetCatalog's SKU names by location (else defaultCatalog). */
  const catalogs = new Map<string, string[]>();
  let holdOperations = false;
  /** Policy errors the next quote (calculateRefund or calculateExchange) answers with. */
  let policyErrors: { code: string; message: string }[] | null = null;

  const server = createServer((req, res) => void handle(req, res).catch((error) => res.writeHead(500).end(String(error))));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json' } : {}), 'x-ms-request-id': randomUUID(), ...headers });
    res.end(text);
  }
  const armError = (res: ServerResponse, status: number, code: string, message: string) => json(res, status, { error: { code, message } });
  const fullId = (r: FakeReservation) => `/providers/microsoft.capacity/reservationOrders/${r.orderId}/reservations/${r.id}`;
  const details = (r: FakeReservation) => ({
    sku: { name: r.sku },
    id: fullId(r),
    type: 'Microsoft.Capacity/reservationOrders/reservations',
    name: `${r.orderId}/${r.id}`,
    etag: 1,
    location: r.location,
    properties: {
      appliedScopeType: r.appliedScopeType,
      appliedScopes: r.appliedScopes,
      renew: r.renew,
      billingScopeId: `/subscriptions/ed3a1871-612d-abcd-a849-c2542a68be83`,
      quantity: r.quantity,
      provisioningState: r.provisioningState,
      reservedResourceType: 'VirtualMachines',
      displayName: r.sku,
      billingPlan: 'Upfront',
      ...(r.swapSource || r.swapDestination ? { swapProperties: { ...(r.swapSource ? { swapSource: r.swapSource } : {}), ...(r.swapDestination ? { swapDestination: r.swapDestination } : {}) } } : {}),
    },
  });
  const byId = (id: string | undefined) => [...reservations.values()].find((r) => id && fullId(r).toLowerCase() === id.toLowerCase());

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', origin);
    const body = text ? (JSON.parse(text) as Record<string, any>) : undefined;
    requests.push({ method: req.method!, path: `${url.pathname}${url.search}`, headers: req.headers, body, at: Date.now() });

    const tenant = entra.armTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!tenant) return armError(res, 401, 'InvalidAuthenticationToken', 'The access token is invalid.');
    if (url.searchParams.get('api-version') !== '2022-11-01') return armError(res, 400, 'InvalidApiVersionParameter', `The api-version '${url.searchParams.get('api-version')}' is invalid.`);
    const plan = planned.findIndex((p) => p.method === req.method && url.pathname.startsWith(p.path));
    if (plan >= 0) {
      const [answer] = planned.splice(plan, 1);
      return json(res, answer!.status, answer!.body, answer!.headers);
    }
    const inTenant = (r: FakeReservation | undefined) => (r && r.tenant === tenant ? r : undefined);

    const catalog = /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.Capacity\/catalogs$/i.exec(url.pathname);
    if (req.method === 'GET' && catalog) {
      const location = url.searchParams.get('location') ?? '';
      const type = url.searchParams.get('reservedResourceType') ?? '';
      const skip = Number(url.searchParams.get('$skip') ?? 0);
      const names = catalogs.get(location) ?? defaultCatalog;
      const page = names.slice(skip, skip + catalogPage).map((name) => ({
        resourceType: type,
        name,
        terms: ['P1Y', 'P3Y'],
        billingPlans: { P1Y: ['Upfront', 'Monthly'], P3Y: ['Upfront', 'Monthly'] },
        locations: [location],
        skuProperties: [{ name: 'SKUName', value: name.replace(/^Standard_/, '').replace(/_/g, ' ') }],
        restrictions: [],
      }));
      const next = new URL(url);
      next.searchParams.set('$skip', String(skip + catalogPage));
      return json(res, 200, { value: page, ...(skip + catalogPage < names.length ? { nextLink: next.href } : {}), totalItems: names.length });
    }

    if (req.method === 'GET' && url.pathname === '/providers/Microsoft.Capacity/reservations') {
      // $filter: `eq` terms joined by `and`, on the documented sku/name and properties/reservedResourceType.
      const terms = (url.searchParams.get('$filter') ?? '').split(/\s+and\s+/i).filter(Boolean).map((term) => /^(sku\/name|properties\/reservedResourceType) eq '((?:[^']|'')*)'$/i.exec(term.trim()));
      if (terms.some((t) => !t)) return armError(res, 400, 'BadRequest', `Unsupported $filter: ${url.searchParams.get('$filter')}`);
      const field = (r: FakeReservation, name: string) => (name.toLowerCase() === 'sku/name' ? r.sku : 'VirtualMachines');
      const listed = [...reservations.values()].filter((r) => r.tenant === tenant && terms.every((t) => field(r, t![1]!).toLowerCase() === t![2]!.replace(/''/g, "'").toLowerCase()));
      const count = (state: string) => listed.filter((r) => r.provisioningState === state).length;
      return json(res, 200, {
        value: listed.map(details),
        summary: { succeededCount: count('Succeeded'), failedCount: count('Failed'), expiringCount: 0, expiredCount: 0, pendingCount: 0, cancelledCount: count('Cancelled') },
        nextLink: null,
      });
    }

    const operation = /^\/providers\/Microsoft\.Capacity\/operationResults\/([^/]+)$/i.exec(url.pathname);
    if (req.method === 'GET' && operation) {
      const op = operations.get(operation[1]!);
      if (!op) return armError(res, 404, 'OperationNotFound', 'No such operation.');
      op.polls++;
      if (!op.done) return json(res, 200, { id: url.pathname, name: operation[1], status: 'InProgress' }, { 'Retry-After': '5' });
      return json(res, 200, op.body);
    }

    const order = /^\/providers\/Microsoft\.Capacity\/reservationOrders\/([^/]+)(?:\/(calculateRefund|return)|\/reservations\/([^/]+))$/i.exec(url.pathname);
    if (order && order[2]?.toLowerCase() === 'calculaterefund' && req.method === 'POST') {
      const r = inTenant(byId(body?.properties?.reservationToReturn?.reservationId));
      if (!r || r.orderId !== order[1]) return armError(res, 404, 'ReservationOrderNotFound', 'Reservation order not found.');
      const sessionId = randomUUID();
      sessions.set(sessionId, { kind: 'refund', reservation: r });
      const errors = policyErrors;
      policyErrors = null;
      return json(res, 200, {
        id: `/providers/microsoft.capacity/reservationOrders/${r.orderId}`,
        properties: {
          sessionId,
          quantity: r.quantity,
          billingRefundAmount: money(1234.56),
          pricingRefundAmount: money(1234.56),
          policyResult: { properties: { consumedRefundsTotal: money(83.69), maxRefundLimit: money(50000), policyErrors: errors ?? [] } },
          billingInformation: { billingPlan: 'Upfront', completedTransactions: 1, totalTransactions: 1, billingCurrencyTotalPaidAmount: money(3120.5), billingCurrencyProratedAmount: money(1885.94), billingCurrencyRemainingCommitmentAmount: money(0) },
        },
      });
    }
    if (order && order[2]?.toLowerCase() === 'return' && req.method === 'POST') {
      const session = sessions.get(body?.properties?.sessionId);
      if (!session || session.kind !== 'refund' || session.reservation.tenant !== tenant) return armError(res, 400, 'InvalidSessionId', 'The session ID is not valid.');
      sessions.delete(body!.properties.sessionId);
      session.reservation.provisioningState = 'Cancelled';
      return json(res, 202, {
        id: fullId(session.reservation),
        properties: { sessionId: body!.properties.sessionId, quantity: session.reservation.quantity, billingRefundAmount: money(1234.56), pricingRefundAmount: money(1234.56) },
      });
    }
    if (order?.[3]) {
      const r = inTenant(reservations.get(order[3]));
      if (!r || r.orderId !== order[1]) return armError(res, 404, 'ReservationNotFound', 'Reservation not found.');
      if (req.method === 'GET') return json(res, 200, details(r));
      if (req.method === 'PATCH') {
        const p = body?.properties ?? {};
        if (p.appliedScopeType) {
          r.appliedScopeType = p.appliedScopeType;
          r.appliedScopes = p.appliedScopeType === 'Single' ? p.appliedScopes : null;
        }
        if (typeof p.renew === 'boolean') r.renew = p.renew;
        await held('PATCH');
        return json(res, 200, details(r));
      }
    }

    if (req.method === 'POST' && url.pathname === '/providers/Microsoft.Capacity/calculateExchange') {
      const exchanged = inTenant(byId(body?.properties?.reservationsToExchange?.[0]?.reservationId));
      const purchase = body?.properties?.reservationsToPurchase?.[0];
      if (!exchanged || !purchase?.sku?.name || !purchase?.properties?.reservedResourceType) return armError(res, 400, 'BadRequest', 'reservationsToPurchase and reservationsToExchange are required.');
      const sessionId = randomUUID();
      sessions.set(sessionId, { kind: 'exchange', reservation: exchanged, product: purchase.sku.name });
      const errors = policyErrors;
      policyErrors = null;
      return json(res, 200, {
        id: `/providers/microsoft.capacity/operationResults/${randomUUID()}`,
        status: 'Succeeded',
        properties: {
          sessionId,
          netPayable: money(15840),
          refundsTotal: money(3960),
          purchasesTotal: money(19800),
          policyResult: { policyErrors: errors },
          reservationsToPurchase: [{ properties: purchase, billingCurrencyTotal: money(19800) }],
          reservationsToExchange: [{ reservationId: fullId(exchanged), quantity: exchanged.quantity, billingRefundAmount: money(3960) }],
        },
      });
    }
    if (req.method === 'POST' && url.pathname === '/providers/Microsoft.Capacity/exchange') {
      const session = sessions.get(body?.properties?.sessionId);
      if (!session || session.kind !== 'exchange' || session.reservation.tenant !== tenant) return armError(res, 400, 'InvalidSessionId', 'The session ID is not valid.');
      sessions.delete(body!.properties.sessionId);
      const operationId = randomUUID();
      const old = session.reservation;
      const links = old.exchangeLinks ?? 'source';
      const bought: FakeReservation = { ...old, orderId: randomUUID(), id: randomUUID(), sku: session.product!, provisioningState: 'Succeeded', swapDestination: undefined, exchangeLinks: undefined };
      bought.swapSource = links === 'none' ? undefined : fullId(old);
      const finish = () => {
        old.provisioningState = 'Cancelled';
        if (links === 'both') old.swapDestination = fullId(bought);
        reservations.set(bought.id, bought);
        const op = operations.get(operationId)!;
        op.done = true;
        op.body = {
          id: `/providers/microsoft.capacity/operationResults/${operationId}`,
          name: operationId,
          status: 'Succeeded',
          properties: {
            sessionId: body!.properties.sessionId,
            netPayable: money(15840),
            refundsTotal: money(3960),
            purchasesTotal: money(19800),
            policyResult: { policyErrors: null },
            reservationsToPurchase: [
              {
                reservationOrderId: `/providers/microsoft.capacity/reservationOrders/${bought.orderId}`,
                reservationId: fullId(bought),
                properties: { sku: { name: bought.sku }, location: bought.location, properties: { reservedResourceType: 'VirtualMachines', quantity: bought.quantity } },
                billingCurrencyTotal: money(19800),
                status: 'Succeeded',
              },
            ],
            reservationsToExchange: [{ reservationId: fullId(old), quantity: old.quantity, billingRefundAmount: money(3960), status: 'Succeeded' }],
          },
        };
      };
      operations.set(operationId, { done: false, polls: 0 });
      const answerHeld = holds.some((h) => h.what === 'POST /exchange');
      if (!holdOperations || answerHeld) finish();
      else pendingFinishes.push(finish);
      await held('POST /exchange');
      const status = `${origin}/providers/Microsoft.Capacity/operationResults/${operationId}?api-version=2022-11-01`;
      return json(res, 202, undefined, { 'Azure-AsyncOperation': status, Location: status, 'Retry-After': '5' });
    }
    return armError(res, 404, 'NotFound', `No route ${req.method} ${url.pathname}`);
  }
  const pendingFinishes: (() => void)[] = [];
  type Held = 'PATCH' | 'POST /exchange';
  const holds: { what: Held; arrived: () => void; released: Promise<void> }[] = [];
  /** Held: the change is made and its answer waits (a crash test kills the caller meanwhile). */
  async function held(what: Held) {
    const index = holds.findIndex((h) => h.what === what);
    if (index < 0) return;
    const [hold] = holds.splice(index, 1);
    hold!.arrived();
    await hold!.released;
  }

  return {
    origin,
    requests,
    reservations,
    operations,
    addReservation(tenant: string, orderId: string, id: string, fields: Partial<FakeReservation> = {}) {
      const r: FakeReservation = { tenant, orderId, id, sku: 'Standard_D2s_v5', location: 'koreacentral', quantity: 4, appliedScopeType: 'Shared', appliedScopes: null, renew: false, provisioningState: 'Succeeded', ...fields };
      reservations.set(id, r);
      return r;
    },
    /** The next quote answers with these policy errors (documented policyResult.policyErrors). */
    refuseNextQuote(errors: { code: string; message: string }[]) {
      policyErrors = errors;
    },
    plan(answer: PlannedAnswer) {
      planned.push(answer);
    },
    /** GetCatalog's SKU names in this location. */
    catalog(location: string, names: string[]) {
      catalogs.set(location, names);
    },
    /** The next such request is carried out (an exchange to its end), and its answer held until released. */
    hold(what: Held) {
      let arrived!: () => void;
      let release!: () => void;
      const arrival = new Promise<void>((done) => (arrived = done));
      const released = new Promise<void>((done) => (release = done));
      holds.push({ what, arrived, released });
      return { arrived: arrival, release };
    },
    /** Exchanges stay InProgress until released. */
    holdOperations(on = true) {
      holdOperations = on;
      if (!on) for (const finish of pendingFinishes.splice(0)) finish();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

export type FakeAzure = Awaited<ReturnType<typeof startFakeAzure>>;
