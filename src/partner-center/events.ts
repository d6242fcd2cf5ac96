import { and, asc, eq, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { customers, partnerCenterEvents } from '../../db/schema.js';
import { notify } from '../core/announcements.js';
import type { Logger } from '../log.js';
import { connectedOrganizations } from './audit.js';
import { PartnerCenterError, PartnerCenterStopped, type PartnerCenterClient } from './client.js';
import { describeChanges, storeRemoteSubscription, type RemoteSubscription } from './subscriptions.js';

/** Attempts at an event whose resource cannot be fetched before it is given up as failed. */
export const maxEventAttempts = 5;
/** Pause before the next attempt, per attempt already made (at least as long as one fetch may take). */
const retryAfterMs = 60_000;

interface Invoice {
  id?: string;
  invoiceDate?: string;
  totalCharges?: number;
  currencyCode?: string;
}

export interface EventsResult {
  processed: number;
  ignored: number;
  failed: number;
  /** Failed this time, tried again later. */
  retrying: number;
}

type Outcome = { status: 'processed' | 'ignored'; outcome: string };
/** What an event comes to once its resource was fetched: an outcome, or writes that make one. */
type Plan = Outcome | { store: (tx: Queryable) => Promise<Outcome> };

const subscriptionPath = /^\/v1\/customers\/([^/]+)\/subscriptions\/([^/]+)$/i;
const invoicePath = /^\/v1\/invoices\/([^/]+)$/i;

/**
 * Partner Center's events name a resource; what it now is, is fetched from the API (the body is
 * not trusted): `subscription-updated` refreshes that subscription, `invoice-ready` is announced
 * to the channels that hear invoices. Only the URI's path is used, against the configured API,
 * so an event cannot make csp-ops call another host. Each event is claimed with SKIP LOCKED and
 * stamped as an attempt, which keeps other processes off it until its retry pause; the resource is
 * fetched with no transaction open, and what it changes is written in a transaction of its own.
 */
export async function processPartnerCenterEvents(db: Database, client: PartnerCenterClient, log: Logger, now = () => new Date()): Promise<EventsResult> {
  const result: EventsResult = { processed: 0, ignored: 0, failed: 0, retrying: 0 };
  // A claimed event is not claimed again while its fetch (with every retry) may still be running elsewhere.
  const pauseSeconds = Math.ceil(Math.max(retryAfterMs, client.settleMs) / 1000);
  for (;;) {
    const event = await db.transaction(async (tx) => {
      const [due] = await tx
        .select()
        .from(partnerCenterEvents)
        .where(
          and(
            eq(partnerCenterEvents.status, 'received'),
            or(isNull(partnerCenterEvents.processedAt), lt(partnerCenterEvents.processedAt, sql`now() - make_interval(secs => ${pauseSeconds} * ${partnerCenterEvents.attempts})`)),
          ),
        )
        .orderBy(asc(partnerCenterEvents.receivedAt))
        .limit(1)
        .for('update', { skipLocked: true });
      if (!due) return undefined;
      const [claimed] = await tx
        .update(partnerCenterEvents)
        .set({ attempts: due.attempts + 1, processedAt: now() })
        .where(eq(partnerCenterEvents.eventKey, due.eventKey))
        .returning();
      return { ...claimed!, claimedFrom: due.processedAt };
    });
    if (!event) return result;
    const save = (set: Partial<typeof partnerCenterEvents.$inferInsert>, tx: Queryable = db) =>
      tx.update(partnerCenterEvents).set({ ...set, processedAt: now() }).where(eq(partnerCenterEvents.eventKey, event.eventKey));
    try {
      const plan = await readEvent(db, client, event.eventName, event.resourceUri, now);
      const outcome = await db.transaction(async (tx) => {
        const done = 'store' in plan ? await plan.store(tx) : plan;
        await save(done, tx);
        return done;
      });
      result[outcome.status]++;
    } catch (error) {
      if (error instanceof PartnerCenterStopped) {
        // Stopped by a shutdown: the claim is given back, so the event is due again at once and this attempt does not count.
        await db.update(partnerCenterEvents).set({ attempts: event.attempts - 1, processedAt: event.claimedFrom }).where(eq(partnerCenterEvents.eventKey, event.eventKey));
        throw error;
      }
      // The outcome's transaction undid the event's own writes; the attempt was counted when the event was claimed.
      if (error instanceof PartnerCenterError && error.status === 404) {
        // Gone from Partner Center (or never there): nothing to fetch, now or later.
        await save({ status: 'ignored', outcome: `not found in Partner Center: ${error.message}` });
        result.ignored++;
      } else {
        const failed = event.attempts >= maxEventAttempts;
        const reason = error instanceof Error ? error.message : String(error);
        await save({ status: failed ? 'failed' : 'received', outcome: reason });
        result[failed ? 'failed' : 'retrying']++;
        log.warn(`Partner Center event ${event.eventName} ${event.resourceUri}: ${reason}${failed ? '; given up' : '; tried again later'}`);
      }
    }
  }
}

/** The event's resource, fetched with no transaction open, and what storing it will do. */
async function readEvent(db: Database, client: PartnerCenterClient, eventName: string, resourceUri: string, now: () => Date): Promise<Plan> {
  let path: string;
  try {
    path = new URL(resourceUri, 'https://api.partnercenter.microsoft.com').pathname;
  } catch {
    return { status: 'ignored', outcome: 'the resource URI cannot be read' };
  }
  const orgs = await connectedOrganizations(db, client.tenantId);
  if (!orgs.length) return { status: 'ignored', outcome: 'no organization here is connected to this partner tenant' };
  switch (eventName.toLowerCase()) {
    case 'subscription-updated': {
      const match = subscriptionPath.exec(path);
      if (!match) return { status: 'ignored', outcome: `not a subscription: ${path}` };
      const [, customerTenantId, subscriptionId] = match.map((part) => decodeURIComponent(part).toLowerCase());
      const [customer] = await db
        .select({ id: customers.id, name: customers.name, orgId: customers.orgId })
        .from(customers)
        .where(and(eq(customers.tenantId, customerTenantId!), inArray(customers.orgId, orgs.map((o) => o.id))));
      if (!customer) return { status: 'ignored', outcome: `customer ${customerTenantId} is not known here; the next sync brings it` };
      const { body } = await client.request('GET', `/v1/customers/${encodeURIComponent(customerTenantId!)}/subscriptions/${encodeURIComponent(subscriptionId!)}`);
      const remote = { ...(body as RemoteSubscription), id: subscriptionId! };
      const org = orgs.find((o) => o.id === customer.orgId)!;
      return {
        async store(tx) {
          const { state, changes } = await storeRemoteSubscription(tx, org, customer, remote, now());
          return { status: 'processed', outcome: state === 'changed' ? describeChanges(changes) : state };
        },
      };
    }
    case 'invoice-ready': {
      const match = invoicePath.exec(path);
      if (!match) return { status: 'ignored', outcome: `not an invoice: ${path}` };
      const { body } = await client.request('GET', `/v1/invoices/${encodeURIComponent(decodeURIComponent(match[1]!))}`);
      const invoice = (body ?? {}) as Invoice;
      const params = {
        invoice: invoice.id ?? decodeURIComponent(match[1]!),
        amount: typeof invoice.totalCharges === 'number' && invoice.currencyCode ? { amount: invoice.totalCharges, currency: invoice.currencyCode } : '—',
        date: invoice.invoiceDate ? { day: invoice.invoiceDate.slice(0, 10) } : '—',
      };
      return {
        async store(tx) {
          for (const org of orgs) await notify(tx, org, { kind: 'invoices', customerId: null, message: { key: 'partnerCenter.invoiceReady', params } });
          return { status: 'processed', outcome: `announced invoice ${params.invoice}` };
        },
      };
    }
    default:
      return { status: 'ignored', outcome: `csp-ops does not act on ${eventName}` };
  }
}
