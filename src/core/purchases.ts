import { isDeepStrictEqual } from 'node:util';
import { and, asc, count, desc, eq, inArray, or, sql } from 'drizzle-orm';
import { unionAll } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import { rowsOf } from '../../db/rows.js';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { activityLog, customers, outbox, purchaseKinds, partnerCenterOrders, purchases, reservations } from '../../db/schema.js';
import type { StoredParams } from '../i18n/index.js';
import { announcementTargets, subscriptionsTo, type Subscription } from './announcements.js';
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
  .refine((p) => (p.kind === 'saas') === Boolean(p.saas), { path: ['saas'], message: 'expected "saas" exactly when kind is "saas"' })
  .superRefine((p, ctx) => {
    // PostgreSQL's text holds no NUL character: it is refused by name rather than failing the write.
    for (const path of pathsHoldingNul(p)) ctx.addIssue({ code: 'custom', path, message: 'expected text without NUL characters (\\u0000)' });
  });

/** Where strings inside `value` hold a NUL character. */
function pathsHoldingNul(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'string') return value.includes('\0') ? [path] : [];
  if (!value || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => pathsHoldingNul(inner, [...path, key]));
}

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
 * sent one after another in this order: one refused leaves the others alone. Whatever their
 * number, they are written by one statement (two reads before it, one after for repeats).
 */
export async function recordPurchases(db: Database, org: Organization, inputs: PurchaseInput[]): Promise<PurchaseOutcome[]> {
  const outcomes: PurchaseOutcome[] = new Array(inputs.length);
  const [known, subscriptions] = await Promise.all([customersByKey(db, org.id, inputs.map((i) => i.customer)), subscriptionsTo(db, org.id, 'purchases')]);
  const toWrite: Candidate[] = [];
  inputs.forEach((input, index) => {
    const customer = known.get(customerKey(input.customer));
    if (customer) toWrite.push({ index, input, customer, received: JSON.parse(JSON.stringify(input)) as unknown });
    else outcomes[index] = { state: 'refused', error: new DomainError('purchase.unknownCustomer', { customer: input.customer }) };
  });
  // The n-th copy of an ID is written in round n, so a second copy of a purchase meets the first as stored.
  const rounds: Candidate[][] = [];
  const copies = new Map<string, number>();
  for (const candidate of toWrite) {
    const copy = copies.get(candidate.input.id) ?? 0;
    copies.set(candidate.input.id, copy + 1);
    (rounds[copy] ??= []).push(candidate);
  }
  const writeAll = async (q: Queryable) => {
    for (const round of rounds) for (const { candidate, outcome } of await writeRound(q, org, subscriptions, round)) outcomes[candidate.index] = outcome;
  };
  // Rarely more than one round (an ID twice in a batch): then they commit together.
  for (let attempt = 1; ; attempt++) {
    try {
      await (rounds.length > 1 ? db.transaction(writeAll) : writeAll(db));
      return outcomes;
    } catch (error) {
      // Nothing was stored: a reservation ID another writer took meanwhile, or a deadlock with it, is met by trying again.
      if (attempt === 3 || !['23505', '40P01'].includes(sqlState(error) ?? '')) throw error;
    }
  }
}

/** The SQLSTATE of a database error, which Drizzle wraps as its cause. */
function sqlState(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) if (typeof e.code === 'string') return e.code;
  return undefined;
}

interface Candidate {
  index: number;
  input: PurchaseInput;
  customer: PurchaseCustomer;
  /** The input as stored in `received`, to tell a repeat from a different purchase under the same ID. */
  received: unknown;
}

/** Records purchases with distinct IDs; those it did not record are a repeat, an ID reused, or an ID that names another reservation. */
async function writeRound(q: Queryable, org: Organization, subscriptions: Subscription[], candidates: Candidate[]) {
  const recorded = new Map((await insertPurchases(q, org, subscriptions, candidates)).map((p) => [p.sourceId, p]));
  const others = candidates.filter((c) => !recorded.has(c.input.id)).map((c) => c.input.id);
  const stored = others.length ? await q.select().from(purchases).where(and(eq(purchases.orgId, org.id), sql`${purchases.sourceId} = any(${sql.param(others)})`)) : [];
  const storedById = new Map(stored.map((p) => [p.sourceId, p]));
  return candidates.map((candidate): { candidate: Candidate; outcome: PurchaseOutcome } => {
    const { input, customer, received } = candidate;
    const purchase = recorded.get(input.id);
    if (purchase) return { candidate, outcome: { state: 'recorded', purchase, customer } };
    const earlier = storedById.get(input.id);
    if (!earlier) return { candidate, outcome: { state: 'refused', error: new DomainError('purchase.reservationExists', { id: input.id }) } };
    if (!isDeepStrictEqual(earlier.received, received)) return { candidate, outcome: { state: 'refused', error: new DomainError('purchase.idReused', { id: input.id }) } };
    return { candidate, outcome: { state: 'repeat', purchase: earlier, customer } };
  });
}

/**
 * R-P8, R-P9, R-N2 in one statement: each purchase not recorded yet, its reservation, its activity
 * row and its announcements (in the order given), all from one JSON parameter. A purchase already
 * recorded is left out (ON CONFLICT DO NOTHING), and so is one whose ID names a reservation already:
 * neither writes anything. Should another writer take the reservation ID meanwhile, its unique key
 * fails the statement and nothing is written. Purchases go in by ID, so two writers wait for each
 * other rather than deadlock. Answers the purchases recorded.
 */
async function insertPurchases(q: Queryable, org: Organization, subscriptions: Subscription[], candidates: Candidate[]): Promise<Purchase[]> {
  const items = candidates.map(({ input, customer, received }) => {
    const item = input.reservation ?? input.saas!;
    const details = purchaseDetails(input);
    const price = item.price.toFixed(2);
    const r = input.reservation;
    return {
      purchase: {
        org_id: org.id,
        source_id: input.id,
        customer_id: customer.id,
        kind: input.kind,
        details,
        price,
        currency: item.currency,
        buyer_name: input.buyer.name,
        buyer_email: input.buyer.email,
        purchased_at: input.purchasedAt,
        received,
      },
      reservation: r && {
        org_id: org.id,
        id: input.id,
        reservation_order_id: r.reservationOrderId ?? null,
        customer_id: customer.id,
        product: r.product,
        region: r.region,
        quantity: r.quantity,
        term: r.term,
        billing_plan: r.billingPlan,
        scope: r.scope,
        subscription_id: r.subscriptionId ?? null,
        price,
        currency: r.currency,
        purchased_by: 'customer',
        purchased_at: input.purchasedAt,
      },
      activity: {
        org_id: org.id,
        customer_id: customer.id,
        actor_name: input.buyer.name,
        action: `customer_purchase_${input.kind}`,
        details: activityDetails({ sourceId: input.id, details, price, currency: item.currency }),
        created_at: input.purchasedAt,
      },
      targets: announcementTargets(org, subscriptions, customer.id).map((t) => ({ org_id: org.id, platform: t.platform, channel_id: t.channelId })),
    };
  });
  const result = await q.execute(sql`
    with input as (
      select i.n, i.item from jsonb_array_elements(${JSON.stringify(items)}::jsonb) with ordinality as i(item, n)
    ), recorded as (
      insert into ${purchases} (org_id, source_id, customer_id, kind, details, price, currency, buyer_name, buyer_email, purchased_at, received)
      select p.org_id, p.source_id, p.customer_id, p.kind, p.details, p.price, p.currency, p.buyer_name, p.buyer_email, p.purchased_at, p.received
      from input, jsonb_populate_record(null::${purchases}, input.item->'purchase') p
      where not exists (select 1 from ${reservations} r where input.item->'reservation' <> 'null' and r.org_id = p.org_id and r.id = p.source_id)
      order by p.source_id
      on conflict do nothing
      returning *
    ), written as (
      select input.n, input.item, recorded.id as purchase_id from input join recorded on recorded.source_id = input.item->'purchase'->>'source_id'
    ), reserved as (
      insert into ${reservations} (org_id, id, reservation_order_id, customer_id, product, region, quantity, term, billing_plan, scope, subscription_id, price, currency, purchased_by, purchased_at)
      select r.org_id, r.id, r.reservation_order_id, r.customer_id, r.product, r.region, r.quantity, r.term, r.billing_plan, r.scope, r.subscription_id, r.price, r.currency, r.purchased_by, r.purchased_at
      from written, jsonb_populate_record(null::${reservations}, written.item->'reservation') r
      where written.item->'reservation' <> 'null'
    ), logged as (
      insert into ${activityLog} (org_id, customer_id, actor_name, action, details, created_at)
      select a.org_id, a.customer_id, a.actor_name, a.action, a.details, a.created_at
      from written, jsonb_populate_record(null::${activityLog}, written.item->'activity') a
      order by written.n
    ), queued as (
      insert into ${outbox} (org_id, platform, channel_id, message)
      select t.org_id, t.platform, t.channel_id, jsonb_build_object('purchase', written.purchase_id)
      from written, jsonb_populate_recordset(null::${outbox}, written.item->'targets') with ordinality t
      order by written.n, t.ordinality
    )
    select * from recorded`);
  return rowsOf(purchases, result);
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
