import { and, eq, sql } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customers, offers, partnerCenterIntents, subscriptions, type PartnerCenterPurchase } from '../../db/schema.js';
import { subscriptionColumns } from '../partner-center/subscriptions.js';
import type { PartnerCenterPurchaseAnswer } from '../partner-center/purchase.js';
import { requireAdmin } from './access.js';
import { recordActivity } from './activity.js';
import { notify } from './announcements.js';
import { recordOutcome } from './confirmations.js';
import type { Actor, CoreContext } from './context.js';
import { DomainError } from './errors.js';
import { askPartnerCenter, recordIntent, settleIntent, type PartnerCenterIntent } from './intents.js';
import { invoiceGuidance, quotePurchase, type PurchaseDraft, type PurchaseQuote, type Subscription } from './marketplace.js';

type StaffContext = CoreContext & { actor: Extract<Actor, { kind: 'staff' }> };

/** One purchase of a plan for a customer waits for Partner Center at a time: a second Buy meanwhile is refused, never sent. */
export const purchaseTarget = (customerId: string, offerId: string, planId: string) => `purchase:${customerId}:${offerId}:${planId}`;

const termDuration = { monthly: 'P1M', annual: 'P1Y' } as const;

/**
 * The cart line for a quote (create-a-cart: catalogItemId, quantity, billingCycle, termDuration):
 * the catalog item of the customer's market and the term, as the catalog refresh read it from
 * Partner Center's availabilities; a plan with a free trial is bought in the trial's form (billing
 * cycle "none" for a month, renewing to the chosen term).
 */
function cartLine(q: PurchaseQuote): PartnerCenterPurchase['line'] {
  const market = q.customer.billingCountry;
  const trial = q.plan.freeTrialDays ? q.plan.trialCatalogItemIds?.[market] : undefined;
  if (trial) return { catalogItemId: trial, quantity: q.seats, billingCycle: 'none', termDuration: 'P1M', renewsTo: { termDuration: termDuration[q.term] } };
  const price = q.plan.prices.find((p) => p.market === market && p.term === q.term);
  if (!price?.catalogItemId) throw new DomainError('buy.notInPartnerCenter', { offer: q.offer.name, plan: q.plan.name, country: market });
  return { catalogItemId: price.catalogItemId, quantity: q.seats, billingCycle: q.term, termDuration: termDuration[q.term] };
}

/**
 * R-A4, R-M8 with the connector on: the Buy is made in Partner Center, in the three steps of
 * core/intents.ts. The rules are checked and the intent recorded; the cart is created (its ID
 * kept in the intent at once) and checked out with nothing locked; the subscription Partner
 * Center made, with its activation link, commits with its log row and announcement. An order
 * whose subscription Partner Center has not provisioned yet is kept in the intent, which stays
 * pending until the repair links it.
 */
export async function buyInPartnerCenter(
  ctx: CoreContext,
  draft: PurchaseDraft,
  confirmationId: string,
): Promise<{ quote: PurchaseQuote; subscription: Subscription } | { quote: PurchaseQuote; pendingOrder: string }> {
  const quote = await quotePurchase(ctx, draft);
  const at: StaffContext = { ...ctx, actor: requireAdmin(ctx.actor, 'what.marketplace') };
  const purchase: PartnerCenterPurchase = {
    confirmationId,
    offerId: quote.offer.id,
    planId: quote.plan.id,
    seats: quote.seats,
    term: quote.term,
    unitPrice: quote.unitPrice,
    currency: quote.currency,
    line: cartLine(quote),
  };
  const intent = await ctx.db.transaction((tx) =>
    recordIntent(tx, at, { kind: 'purchase', target: purchaseTarget(quote.customer.id, quote.offer.id, quote.plan.id), customerId: quote.customer.id, change: { kind: 'purchase', purchase } }),
  );
  const keep = async (kept: Pick<PartnerCenterPurchase, 'cartId'> | Pick<PartnerCenterPurchase, 'orderId'>) => {
    Object.assign(purchase, kept);
    await ctx.db.update(partnerCenterIntents).set({ change: { kind: 'purchase', purchase }, updatedAt: new Date() }).where(and(eq(partnerCenterIntents.orgId, ctx.org.id), eq(partnerCenterIntents.id, intent.id)));
  };
  const answer = await askPartnerCenter(ctx.db, intent, () => ctx.partnerCenter!.buy(ctx.org, quote.customer.tenantId, purchase, intent.createdAt, (cartId) => keep({ cartId })));
  if ('pending' in answer) {
    await keep({ orderId: answer.orderId });
    return { quote, pendingOrder: answer.orderId };
  }
  const subscription = await ctx.db.transaction((tx) => commitPurchase(tx, at, intent, purchase, answer));
  return { subscription, quote };
}

/**
 * Step 3 (also the repair's): the subscription as Partner Center holds it, tied to the offer and
 * plan bought, with the price shown and Partner Center's activation link. Settled once: when a
 * repair committed it first, the row it wrote is returned. The Buy's confirmation says it was
 * bought, also when the repair commits it after a crash or a pending order.
 */
export async function commitPurchase(tx: Queryable, ctx: StaffContext, intent: Pick<PartnerCenterIntent, 'id' | 'orgId' | 'customerId'>, purchase: PartnerCenterPurchase, answer: PartnerCenterPurchaseAnswer): Promise<Subscription> {
  const id = answer.subscription.id.toLowerCase();
  const mine = and(eq(subscriptions.orgId, ctx.org.id), eq(subscriptions.id, id));
  if (!(await settleIntent(tx, intent, 'done', { order: answer.orderId, subscription: id }))) {
    return (await tx.select().from(subscriptions).where(mine))[0]!;
  }
  const [offer] = await tx.select().from(offers).where(eq(offers.id, purchase.offerId));
  const [customer] = await tx.select({ name: customers.name }).from(customers).where(and(eq(customers.orgId, ctx.org.id), eq(customers.id, intent.customerId)));
  const plan = offer!.plans.find((p) => p.id === purchase.planId);
  const columns = subscriptionColumns(answer.subscription, ctx.now());
  const row = {
    ...columns,
    customerId: intent.customerId,
    offer: 'marketplace-saas' as const,
    offerId: purchase.offerId,
    planId: purchase.planId,
    seats: columns.seats ?? purchase.seats,
    term: columns.term ?? purchase.term,
    price: purchase.unitPrice.toFixed(2),
    currency: purchase.currency,
    purchasedAt: columns.purchasedAt ?? ctx.now(),
    activationLink: answer.activationLink ?? null,
  };
  // A sync may have stored Partner Center's copy first: this purchase's own fields complete it.
  const [subscription] = await tx
    .insert(subscriptions)
    .values({ orgId: ctx.org.id, id, ...row })
    .onConflictDoUpdate({ target: [subscriptions.orgId, subscriptions.id], set: { ...row, createdAt: sql`${subscriptions.createdAt}` } })
    .returning();
  const details = { offer: offer!.name, plan: plan?.name ?? purchase.planId, seats: String(row.seats), subscription: id };
  await recordActivity(tx, ctx, 'saas_purchased', intent.customerId, details);
  await recordOutcome(tx, ctx.org.id, purchase.confirmationId, { key: 'buy.bought', params: { offer: offer!.name, customer: customer!.name, subscription: id } });
  await notify(tx, ctx.org, { kind: 'subscriptions', customerId: intent.customerId, message: { key: 'buy.announce', params: { actor: ctx.actor.name, customer: customer!.name, ...details }, then: invoiceGuidance } });
  return subscription!;
}
