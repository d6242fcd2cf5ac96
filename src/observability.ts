import { sql } from 'drizzle-orm';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { databasePool, type Database } from '../db/client.js';
import type { Platform } from './core/context.js';
import type { Logger } from './log.js';
import type { OutgoingCall } from './partner-center/client.js';
import { requestField, type RequestContext } from './request-context.js';

export type Outcome = 'ok' | 'refused' | 'error';

export interface HandledRequest {
  request: RequestContext;
  kind: 'command' | 'click';
  /** The command's name or the button's action ID, never what was typed after it (customer names, reasons). */
  name: string;
  platform: Platform;
  org?: { id: string; name: string };
  outcome: Outcome;
  durationMs: number;
  /** The ID an unexpected error was given in the reply and in its own log line. */
  errorId?: string;
}

export interface DeliveryOutcome {
  platform: 'slack' | 'teams';
  outcome: 'sent' | 'retry' | 'failed';
  /** `none` when sent; else `rate_limited` (a 429), `rejected` (the platform said it cannot succeed) or `error`. */
  reason: 'none' | 'rate_limited' | 'rejected' | 'error';
  /** Outbox messages it covered: a digest is one post for many. */
  messages: number;
}

/** Logs and metrics of one bot: each command, click, API call and outgoing call becomes one log line and a count. */
export interface Telemetry {
  handled(request: HandledRequest): void;
  /** A call to the HTTP API (src/adapters/api): `endpoint` is its path template. */
  answered(call: { request: RequestContext; endpoint: string; method: string; status: number; durationMs: number }): void;
  called(call: OutgoingCall): void;
  delivered(delivery: DeliveryOutcome): void;
  /** GET /metrics: the counts so far, with the outbox and the database pool read now. */
  scrape(): Promise<string>;
  contentType: string;
}

const seconds = (ms: number) => ms / 1000;
const roundMs = (ms: number) => Math.round(ms * 10) / 10;

/**
 * The endpoint an outgoing call went to, as a template: a path segment that is none of the API's own
 * words (a customer, subscription, order or reservation ID) becomes `{id}`, and the query is dropped,
 * so no label or log field carries an ID and the series stay few.
 */
const endpointWords = new Set(
  [
    'v1', 'v1.0', 'customers', 'subscriptions', 'orders', 'carts', 'checkout', 'lineitems', 'activationlinks', 'selfservepolicy',
    'products', 'skus', 'availabilities', 'auditrecords', 'invoices', 'entitlements', 'sales', 'pricesheets', '$value',
    'providers', 'microsoft.capacity', 'reservationorders', 'reservations', 'calculaterefund', 'return', 'calculateexchange',
    'exchange', 'reservationoperationresults', 'operationresults', 'operationstatuses', 'operations',
  ],
);
export function endpointTemplate(url: string): string {
  // Never throws: it runs inside the Partner Center client's request.
  const path = URL.canParse(url, 'http://x') ? new URL(url, 'http://x').pathname : '/{unreadable}';
  return path
    .split('/')
    .map((segment) => {
      if (!segment) return segment;
      const word = segment.replace(/\(.*\)$/, '').toLowerCase();
      if (!endpointWords.has(word)) return '{id}';
      // Key arguments such as pricesheets(Market='KR',…) name a market, not a resource: kept as a shape.
      return segment.includes('(') ? `${segment.slice(0, segment.indexOf('('))}(…)` : segment;
    })
    .join('/');
}

// Process metrics (CPU, memory, event loop) are the process's, whatever number of bots it runs: registered once.
let processMetrics: Registry | undefined;
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export function createTelemetry(db: Database, log: Logger): Telemetry {
  const registry = new Registry();
  const on = { registers: [registry] };
  const commands = new Counter({ name: 'csp_commands_total', help: 'Commands and clicks handled, by kind, name, platform and outcome.', labelNames: ['kind', 'name', 'platform', 'outcome'] as const, ...on });
  const commandSeconds = new Histogram({ name: 'csp_command_duration_seconds', help: 'Time from a command or click reaching the dispatcher to its reply.', labelNames: ['kind', 'name', 'platform'] as const, ...on });
  const api = new Counter({ name: 'csp_api_requests_total', help: 'HTTP API calls, by endpoint template, method and status.', labelNames: ['endpoint', 'method', 'status'] as const, ...on });
  const apiSeconds = new Histogram({ name: 'csp_api_request_duration_seconds', help: 'HTTP API call duration.', labelNames: ['endpoint', 'method'] as const, ...on });
  const outgoing = {
    'partner-center': {
      count: new Counter({ name: 'csp_partner_center_requests_total', help: 'HTTP requests to Partner Center (each retry counts), by method, endpoint template and status.', labelNames: ['method', 'endpoint', 'status'] as const, ...on }),
      seconds: new Histogram({ name: 'csp_partner_center_request_duration_seconds', help: 'Partner Center request duration.', labelNames: ['method', 'endpoint'] as const, ...on }),
    },
    azure: {
      count: new Counter({ name: 'csp_azure_requests_total', help: 'HTTP requests to Azure Resource Manager, by method, endpoint template and status.', labelNames: ['method', 'endpoint', 'status'] as const, ...on }),
      seconds: new Histogram({ name: 'csp_azure_request_duration_seconds', help: 'Azure Resource Manager request duration.', labelNames: ['method', 'endpoint'] as const, ...on }),
    },
  };
  const deliveries = new Counter({ name: 'csp_deliveries_total', help: 'Outbox messages sent, to be retried or given up, by platform, outcome and reason.', labelNames: ['platform', 'outcome', 'reason'] as const, ...on });
  const outboxMessages = new Gauge({ name: 'csp_outbox_messages', help: 'Outbox messages waiting (pending) or given up (failed), by platform.', labelNames: ['platform', 'status'] as const, ...on });
  const outboxOldest = new Gauge({ name: 'csp_outbox_oldest_pending_age_seconds', help: 'Age of the oldest message still waiting to be delivered (0 when none), by platform.', labelNames: ['platform'] as const, ...on });
  const databaseUp = new Gauge({ name: 'csp_database_up', help: '1 when the database answered this scrape, else 0.', ...on });
  // Only what the driver in use can tell: connections on PostgreSQL, work waiting on PGlite.
  const pool = databasePool(db);
  const postgres = pool?.driver === 'postgres' && {
    connections: new Gauge({ name: 'csp_db_connections', help: 'PostgreSQL connections of this process: open, and in use (running a query or in a transaction).', labelNames: ['state'] as const, ...on }),
    max: new Gauge({ name: 'csp_db_connections_max', help: 'The PostgreSQL connection pool\'s size.', ...on }),
  };
  const pglite = pool?.driver === 'pglite' && {
    inFlight: new Gauge({ name: 'csp_db_queries_in_flight', help: 'Embedded database (PGlite): queries and transactions waiting or running; it runs one at a time.', ...on }),
  };

  async function readDatabase() {
    const rows = (await db.execute(sql`
      select platform, status, count(*)::int as n, extract(epoch from now() - min(created_at))::float8 as oldest
      from outbox where status in ('pending', 'failed') group by platform, status`)) as unknown;
    // postgres.js answers the rows, PGlite { rows }.
    const list = ((rows as { rows?: unknown[] }).rows ?? rows) as { platform: string; status: string; n: number; oldest: number }[];
    outboxMessages.reset();
    outboxOldest.reset();
    // Every series exists, at 0 when empty: an alert on the backlog needs a number, not an absent series.
    for (const platform of ['slack', 'teams']) {
      for (const status of ['pending', 'failed']) {
        const row = list.find((r) => r.platform === platform && r.status === status);
        outboxMessages.set({ platform, status }, row?.n ?? 0);
        if (status === 'pending') outboxOldest.set({ platform }, Math.max(0, row?.oldest ?? 0));
      }
    }
    const stats = await pool?.read();
    if (stats?.driver === 'postgres' && postgres) {
      postgres.connections.set({ state: 'open' }, stats.open);
      postgres.connections.set({ state: 'in_use' }, stats.inUse);
      postgres.max.set(stats.max);
    } else if (stats?.driver === 'pglite' && pglite) {
      pglite.inFlight.set(stats.inFlight);
    }
  }

  return {
    handled(handled) {
      const { request, kind, name, platform, outcome, durationMs } = handled;
      commands.inc({ kind, name, platform, outcome });
      commandSeconds.observe({ kind, name, platform }, seconds(durationMs));
      log.info(kind, {
        requestId: request.requestId, kind, platform, orgId: handled.org?.id, org: handled.org?.name, command: name, outcome, durationMs: roundMs(durationMs),
        ...(handled.errorId ? { errorId: handled.errorId } : {}),
      });
    },
    answered({ request, endpoint, method, status, durationMs }) {
      api.inc({ endpoint, method, status: String(status) });
      apiSeconds.observe({ endpoint, method }, seconds(durationMs));
      const { organization } = request;
      const outcome: Outcome = status < 400 ? 'ok' : status < 500 ? 'refused' : 'error';
      log.info('api', { requestId: request.requestId, kind: 'api', platform: 'api', orgId: organization?.id, org: organization?.name, command: `${method} ${endpoint}`, status, outcome, durationMs: roundMs(durationMs) });
    },
    called(call) {
      const endpoint = endpointTemplate(call.url);
      const status = String(call.status);
      outgoing[call.service].count.inc({ method: call.method, endpoint, status });
      outgoing[call.service].seconds.observe({ method: call.method, endpoint }, seconds(call.durationMs));
      const failed = typeof call.status !== 'number' || call.status >= 400;
      log[failed ? 'warn' : 'info'](`${call.service} call`, {
        ...requestField(call.request),
        service: call.service, method: call.method, endpoint, status: call.status, durationMs: roundMs(call.durationMs), attempt: call.attempt,
        ...(call.correlationId ? { correlationId: call.correlationId } : {}),
      });
    },
    delivered({ platform, outcome, reason, messages }) {
      deliveries.inc({ platform, outcome, reason }, messages);
    },
    async scrape() {
      try {
        await readDatabase();
        databaseUp.set(1);
      } catch (error) {
        // Stale backlog figures would mislead: they go, and csp_database_up says why.
        log.error('metrics: the database did not answer', error);
        for (const gauge of [outboxMessages, outboxOldest, ...Object.values(postgres || {}), ...Object.values(pglite || {})]) gauge.reset();
        databaseUp.set(0);
      }
      return Registry.merge([processRegistry(), registry]).metrics();
    },
    contentType: registry.contentType,
  };
}
