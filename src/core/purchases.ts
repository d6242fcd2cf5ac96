import { isDeepStrictEqual } from 'node:util';
import { and, asc, count, desc, eq, inArray, or, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { insertMany } from '../../db/bulk.js';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { activityLog, customers, purchaseKinds, partnerCenterOrders, purchases, reservations } from '../../db/schema.js';
import type { StoredParams } from '../i18n/index.js';
import { notifyEach, subscriptionsTo } from './announcements.js';
import type { Organization } from './context.js';
import { DomainError } from './errors.js';
import { readPage, type Page } from './paging.js';
import { currency, dateTime, email, name, price, reservationFields, singleScopeNeedsSubscription } from './import-schema.js';

/** A source's clock may run a little ahead of ours; further ahead is a mistake. */
const futureTolerance = 5 * 60 * 1000;

/** The purchase intake's body (README, "Purchase intake"); the CLI's `record-purchase` takes the same. */
export const purchaseInputSchema = z
  .object({
    id: z.string().trim().min(1).max(100),
    customer: z.string().trim().min(1, 'expected the customer\'s tenant ID or domain').max(254),
    kind: z.enum(purchaseKinds),
    reservation: singleScopeNeedsSubscription(reservationFields.omit({ id: true }).extend({ billingPlan: reservationFields.shape.billingPlan.default('upfront') })).optional(),
    saas: z
      .object({
        offerId: z.string().trim().min(1).max(200),
        planId: z.string().trim().min(1).max(200),
        seats: z.number().int().min(1).max(1_000_000),
        term: z.enum(['monthly', 'annual']).optional(),
        price,
        currency,
      })
      .optional(),
    buyer: z.object({ name, email }),
    purchasedAt: dateTime.refine((d) => d.getTime() <= Date.now() + futureTolerance, 'expected a time that is not in the future'),
  })
  .refine((p) => (p.kind === 'reservation') === Boolean(p.reservation), { path: ['reservation'], message: 'expected "reservation" exactly when kind is "reservation"' })
  .refine((p) => (p.kind === 'saas') === Boolean(p.saas), { path: ['saas'], message: 'expected "saas" exactly when kind is "saas"' });

export type PurchaseInput = z.infer<typeof purchaseInputSchema>;
export type Purchase = typeof purchases.$inferSelect;
type PurchaseCustomer = Pick<typeof customers.$inferSelect, 'id' | 'name' | 'tenantId' | 'domain'>;

export interface RecordedPurchase {
  state: 'recorded' | 'repeat';
  purchase: Purchase;
  customer: PurchaseCustomer;
}

/** A batch to the purchase intake holds at most this many purchases (README, "Customer purchases"). */
export const maxPurchasesPerBatch = 500;

/** What became of one purchase of several: recorded, a repeat, or refused for the reason given (and nothing stored for it). */
export type PurchaseOutcome = RecordedPurchase | { state: 'refused'; error: DomainError };

/** A machine sends a customer's tenant ID or domain exactly: only case and surrounding space are forgiven. */
const customerKey = (text: string) => text.trim().toLowerCase();

const customersByKeys = preparedOnce((db) =>
  db
    .select({ id: customers.id, name: customers.name, tenantId: customers.tenantId, domain: customers.domain })
    .from(customers)
    .where(
      and(
        eq(customers.orgId, sql.placeholder('orgId')),
        or(sql`${customers.tenantId} = any(${sql.placeholder('keys')})`, sql`${customers.domain} = any(${sql.placeholder('keys')})`),
      ),
    )
    .prepare('purchase_customers'),
);

/** The customers named by these tenant IDs or domains, by key, in one query. */
async function customersByKey(db: Database, orgId: string, texts: string[]): Promise<Map<string, PurchaseCustomer>> {
  const found = await customersByKeys(db).execute({ orgId, keys: [...new Set(texts.map(customerKey))] });
  const byKey = new Map<string, PurchaseCustomer>();
  for (const customer of found) byKey.set(customer.tenantId, customer).set(customer.domain, customer);
  return byKey;
}

/**
 * R-P8, R-P9, R-N2: records a customer's own purchase once per source ID. The
 * purchase, its reservation (which joins the customer's reservations and
 * order history), the activity row and the announcements commit together; a
 * repeat of the same purchase changes nothing, and the same ID with different
 * content is refused.
 */
export async function recordPurchase(db: Database, org: Organization, input: PurchaseInput): Promise<RecordedPurchase> {
  const [outcome] = await recordPurchases(db, org, [input]);
  if (outcome!.state === 'refused') throw outcome!.error;
  return outcome!;
}

/**
 * recordPurchase for several purchases at once, each with the outcome it would have had alone,
 * sent one after another in this order: one refused leaves the others alone. All that is stored
 * commits in one transaction, written by a few multi-row statements whatever the number.
 */
export async function recordPurchases(db: Database, org: Organization, inputs: PurchaseInput[]): Promise<PurchaseOutcome[]> {
  const outcomes: PurchaseOutcome[] = new Array(inputs.length);
  // Read before the transaction, both at once: it then holds its connection only to write.
  const [known, subscriptions] = await Promise.all([customersByKey(db, org.id, inputs.map((i) => i.customer)), subscriptionsTo(db, org.id, 'purchases')]);
  const toWrite: Candidate[] = [];
  inputs.forEach((input, index) => {
    const customer = known.get(customerKey(input.customer));
    if (customer) toWrite.push({ index, input, customer, received: JSON.parse(JSON.stringify(input)) as unknown });
    else outcomes[index] = { state: 'refused', error: new DomainError('purchase.unknownCustomer', { customer: input.customer }) };
  });
  if (!toWrite.length) return outcomes;
  await db.transaction(async (tx) => {
    const recorded: (Candidate & { purchase: Purchase })[] = [];
    // One round per occurrence of an ID: a second copy of a purchase in the batch meets the first as stored.
    for (let round = toWrite; round.length; ) {
      const seen = new Set<string>();
      const now = round.filter((c) => !seen.has(c.input.id) && seen.add(c.input.id));
      round = round.filter((c) => !now.includes(c));
      for (const { candidate, outcome } of await writeRound(tx, org, now)) {
        if (outcome.state === 'recorded') recorded.push({ ...candidate, purchase: outcome.purchase });
        outcomes[candidate.index] = outcome;
      }
    }
    if (!recorded.length) return;
    recorded.sort((a, b) => a.index - b.index);
    // Sent together: neither waits for the other's answer.
    await Promise.all([
      insertMany(
        tx,
        activityLog,
        recorded.map(({ input, customer, purchase }) => ({
          orgId: org.id,
          customerId: customer.id,
          actorName: input.buyer.name,
          action: `customer_purchase_${input.kind}`,
          details: activityDetails(purchase),
          createdAt: input.purchasedAt,
        })),
      ),
      notifyEach(tx, org, subscriptions, recorded.map(({ customer, purchase }) => ({ customerId: customer.id, message: { purchase: purchase.id } }))),
    ]);
  });
  return outcomes;
}

interface Candidate {
  index: number;
  input: PurchaseInput;
  customer: PurchaseCustomer;
  /** The input as stored in `received`, to tell a repeat from a different purchase under the same ID. */
  received: unknown;
}

type Written = { candidate: Candidate; outcome: PurchaseOutcome };

/**
 * Writes purchases with distinct IDs. Rows go in in ID order, so two transactions writing some of
 * the same IDs wait for each other rather than deadlock.
 */
async function writeRound(tx: Queryable, org: Organization, candidates: Candidate[]): Promise<Written[]> {
  const byId = [...candidates].sort((a, b) => (a.input.id < b.input.id ? -1 : a.input.id > b.input.id ? 1 : 0));
  const inserted = await insertMany(
    tx,
    purchases,
    byId.map(({ input, customer, received }) => {
      const item = input.reservation ?? input.saas!;
      return {
        orgId: org.id,
        sourceId: input.id,
        customerId: customer.id,
        kind: input.kind,
        details: purchaseDetails(input),
        price: item.price.toFixed(2),
        currency: item.currency,
        buyerName: input.buyer.name,
        buyerEmail: input.buyer.email,
        purchasedAt: input.purchasedAt,
        received,
      };
    }),
    { onConflictDoNothing: true, returning: true },
  );
  const fresh = new Map(inserted.map((p) => [p.sourceId, p]));
  const written: Written[] = [];
  const earlier = byId.filter((c) => !fresh.has(c.input.id));
  if (earlier.length) {
    const ids = earlier.map((c) => c.input.id);
    const stored = await tx.select().from(purchases).where(and(eq(purchases.orgId, org.id), sql`${purchases.sourceId} = any(${sql.param(ids)})`));
    const storedById = new Map(stored.map((p) => [p.sourceId, p]));
    for (const candidate of earlier) {
      const purchase = storedById.get(candidate.input.id)!;
      const outcome: PurchaseOutcome = isDeepStrictEqual(purchase.received, candidate.received)
        ? { state: 'repeat', purchase, customer: candidate.customer }
        : { state: 'refused', error: new DomainError('purchase.idReused', { id: candidate.input.id }) };
      written.push({ candidate, outcome });
    }
  }
  const reserving = byId.filter((c) => fresh.has(c.input.id) && c.input.reservation);
  const reserved = new Set<string>();
  if (reserving.length) {
    const rows = await insertMany(
      tx,
      reservations,
      reserving.map(({ input, customer }) => {
        const r = input.reservation!;
        return {
          orgId: org.id,
          id: input.id,
          reservationOrderId: r.reservationOrderId ?? null,
          customerId: customer.id,
          product: r.product,
          region: r.region,
          quantity: r.quantity,
          term: r.term,
          billingPlan: r.billingPlan,
          scope: r.scope,
          subscriptionId: r.subscriptionId ?? null,
          price: r.price.toFixed(2),
          currency: r.currency,
          purchasedBy: 'customer' as const,
          purchasedAt: input.purchasedAt,
        };
      }),
      { onConflictDoNothing: true, returning: true },
    );
    for (const row of rows) reserved.add(row.id);
    // The ID already names a reservation this purchase is not: its purchase row goes too, so nothing of it is stored.
    const refused = reserving.filter((c) => !reserved.has(c.input.id));
    if (refused.length) await tx.delete(purchases).where(sql`${purchases.id} = any(${sql.param(refused.map((c) => fresh.get(c.input.id)!.id))}::uuid[])`);
    for (const candidate of refused) {
      written.push({ candidate, outcome: { state: 'refused', error: new DomainError('purchase.reservationExists', { id: candidate.input.id }) } });
    }
  }
  for (const candidate of byId) {
    const purchase = fresh.get(candidate.input.id);
    if (!purchase || (candidate.input.reservation && !reserved.has(candidate.input.id))) continue;
    written.push({ candidate, outcome: { state: 'recorded', purchase, customer: candidate.customer } });
  }
  return written;
}

function purchaseDetails(input: PurchaseInput): Record<string, string | number> {
  if (input.reservation) {
    const { price: _p, currency: _c, ...terms } = input.reservation;
    return terms;
  }
  const { price: _p, currency: _c, ...plan } = input.saas!;
  return plan;
}

/** The parameters of the `action.customer_purchase_*` and purchase announcement sentences. */
export function activityDetails(p: Pick<Purchase, 'sourceId' | 'details' | 'price' | 'currency'>): StoredParams {
  const params = Object.fromEntries(Object.entries(p.details).map(([k, v]) => [k, String(v)]));
  return { ...params, order: p.sourceId, price: { amount: Number(p.price), currency: p.currency } };
}

/** The stored purchase as the intake answers it. */
export function purchaseJson({ purchase, customer }: Omit<RecordedPurchase, 'state'>) {
  const { received } = purchase as { received: PurchaseInput };
  return {
    id: purchase.sourceId,
    customer: { name: customer.name, tenantId: customer.tenantId, domain: customer.domain },
    kind: purchase.kind,
    ...(received.reservation ? { reservation: received.reservation } : { saas: received.saas }),
    buyer: { name: purchase.buyerName, email: purchase.buyerEmail },
    purchasedAt: purchase.purchasedAt.toISOString(),
    recordedAt: purchase.createdAt.toISOString(),
  };
}

export type PurchaseWithCustomer = Purchase & { customerName: string };

/** Purchases with their customer's name, in the order given. */
export async function purchasesByIds(db: Queryable, ids: string[]): Promise<PurchaseWithCustomer[]> {
  if (!ids.length) return [];
  const rows = await db
    .select({ purchase: purchases, customerName: customers.name })
    .from(purchases)
    .innerJoin(customers, eq(customers.id, purchases.customerId))
    .where(inArray(purchases.id, ids))
    .orderBy(asc(purchases.purchasedAt));
  const byId = new Map(rows.map((r) => [r.purchase.id, { ...r.purchase, customerName: r.customerName }]));
  return ids.map((id) => byId.get(id)).filter((p): p is PurchaseWithCustomer => Boolean(p));
}

/** The organization's newest customer purchases (R-P8), newest first. */
export async function latestPurchases(db: Queryable, orgId: string, limit: number): Promise<PurchaseWithCustomer[]> {
  const rows = await db
    .select({ purchase: purchases, customerName: customers.name })
    .from(purchases)
    .innerJoin(customers, eq(customers.id, purchases.customerId))
    .where(eq(purchases.orgId, orgId))
    .orderBy(desc(purchases.purchasedAt), desc(purchases.id))
    .limit(limit);
  return rows.map((r) => ({ ...r.purchase, customerName: r.customerName }));
}

export type Order =
  | { kind: 'reservation'; at: Date; reservation: typeof reservations.$inferSelect }
  | { kind: 'saas'; at: Date; purchase: Purchase }
  | { kind: 'partner-center'; at: Date; order: typeof partnerCenterOrders.$inferSelect };

/**
 * R-P9: one page of a customer's order history, newest first: its reservations (the
 * partner's and its own), its SaaS purchases and the orders a Partner Center sync read.
 * The three are merged and paged in SQL; only the page's rows are read whole.
 */
export async function customerOrders(db: Queryable, orgId: string, customerId: string, page: number): Promise<Page<Order>> {
  const ofReservations = and(eq(reservations.orgId, orgId), eq(reservations.customerId, customerId));
  const ofSaas = and(eq(purchases.orgId, orgId), eq(purchases.customerId, customerId), eq(purchases.kind, 'saas'));
  const ofSynced = and(eq(partnerCenterOrders.orgId, orgId), eq(partnerCenterOrders.customerId, customerId));
  const syncedAt = sql`coalesce(${partnerCenterOrders.orderedAt}, ${partnerCenterOrders.syncedAt})`;
  return readPage(
    page,
    async () => {
      const [[a], [b], [c]] = await Promise.all([
        db.select({ n: count() }).from(reservations).where(ofReservations),
        db.select({ n: count() }).from(purchases).where(ofSaas),
        db.select({ n: count() }).from(partnerCenterOrders).where(ofSynced),
      ]);
      return a!.n + b!.n + c!.n;
    },
    async (limit, offset) => {
      const keys = await unionAll(
        db.select({ kind: sql<Order['kind']>`'reservation'`.as('kind'), id: reservations.id, at: sql`${reservations.purchasedAt}`.as('at') }).from(reservations).where(ofReservations),
        db.select({ kind: sql<Order['kind']>`'saas'`.as('kind'), id: sql<string>`${purchases.id}::text`.as('id'), at: sql`${purchases.purchasedAt}`.as('at') }).from(purchases).where(ofSaas),
        db.select({ kind: sql<Order['kind']>`'partner-center'`.as('kind'), id: partnerCenterOrders.id, at: syncedAt.as('at') }).from(partnerCenterOrders).where(ofSynced),
      )
        .orderBy(desc(sql`at`), desc(sql`kind`), desc(sql`id`))
        .limit(limit)
        .offset(offset);
      const ids = (kind: Order['kind']) => keys.filter((k) => k.kind === kind).map((k) => k.id);
      const none = Promise.resolve([]);
      const [reserved, saas, synced] = await Promise.all([
        ids('reservation').length ? db.select().from(reservations).where(and(ofReservations, inArray(reservations.id, ids('reservation')))) : none,
        ids('saas').length ? db.select().from(purchases).where(and(ofSaas, inArray(purchases.id, ids('saas')))) : none,
        ids('partner-center').length ? db.select().from(partnerCenterOrders).where(and(ofSynced, inArray(partnerCenterOrders.id, ids('partner-center')))) : none,
      ]);
      const orders: Order[] = [
        ...reserved.map((reservation) => ({ kind: 'reservation' as const, at: reservation.purchasedAt, reservation })),
        ...saas.map((purchase) => ({ kind: 'saas' as const, at: purchase.purchasedAt, purchase })),
        ...synced.map((order) => ({ kind: 'partner-center' as const, at: order.orderedAt ?? order.syncedAt, order })),
      ];
      const key = (o: Order) => `${o.kind}:${o.kind === 'reservation' ? o.reservation.id : o.kind === 'saas' ? o.purchase.id : o.order.id}`;
      const position = new Map(keys.map((k, i) => [`${k.kind}:${k.id}`, i]));
      return orders.sort((a, b) => position.get(key(a))! - position.get(key(b))!);
    },
  );
}
