import type { PartnerCenterPurchase } from '../../db/schema.js';
import { DomainError } from '../core/errors.js';
import { PartnerCenterError, type PartnerCenterClient } from './client.js';
import type { RemoteSubscription } from './subscriptions.js';

/** Partner Center's order shapes (order-resources, cart-resources "CartCheckoutResult"). */
interface OrderLine {
  lineItemNumber: number;
  offerId?: string;
  subscriptionId?: string;
  quantity?: number;
}
interface Order {
  id: string;
  creationDate?: string;
  status?: string;
  lineItems?: OrderLine[];
}
interface CheckoutResult {
  orders?: Order[];
  orderErrors?: { orderGroupId?: string; code?: number | string; description?: string }[];
}

/** What Partner Center holds once the cart is checked out: the order, its subscription and the publisher's activation link. */
export interface PartnerCenterPurchaseAnswer {
  orderId: string;
  subscription: RemoteSubscription;
  activationLink?: string;
}

/** An order Partner Center took whose subscription could not be read yet (provisioned asynchronously): bought, to be linked later. */
export interface PendingOrder {
  orderId: string;
  pending: true;
}

/** Orders may reach the customer's list some minutes after the checkout; one placed this long before the intent is not ours. */
const clockSlackMs = 5 * 60_000;

const customerPath = (tenantId: string) => `/v1/customers/${encodeURIComponent(tenantId)}`;
const noAnswer = (error: unknown) => error instanceof PartnerCenterError && error.status === 0 && error.code === 'unreachable';
/** 800065: the cart was already checked out (by a call whose answer was lost). */
const alreadyOrdered = (error: unknown) => error instanceof PartnerCenterError && error.code === '800065';

/**
 * Buys the cart line: creates the cart once (its ID handed to onCart to be kept before anything
 * else), checks it out at most once, and reads the order's subscription and activation link.
 * The checkout is never resent blindly: after a lost answer the cart is read again, and only a
 * cart still "Active" is checked out again. Once the order is placed nothing fails the purchase:
 * an order whose subscription cannot be read yet is answered as pending.
 */
export async function buyInPartnerCenter(
  client: PartnerCenterClient,
  customerTenantId: string,
  purchase: PartnerCenterPurchase,
  since: Date,
  onCart: (cartId: string) => Promise<void>,
): Promise<PartnerCenterPurchaseAnswer | PendingOrder> {
  const base = customerPath(customerTenantId);
  let cartId = purchase.cartId;
  if (!cartId) {
    const { body } = await client.request('POST', `${base}/carts`, { lineItems: [{ id: 0, ...purchase.line }] });
    cartId = (body as { id: string }).id;
    await onCart(cartId);
  }
  const checkout = async () => orderOf((await client.request('POST', `${base}/carts/${encodeURIComponent(cartId)}/checkout`, undefined, { retries: 0 })).body as CheckoutResult);
  let order: Order;
  try {
    order = await checkout();
  } catch (error) {
    if (!noAnswer(error) && !alreadyOrdered(error)) throw error;
    const placed = await placedOrder(client, base, cartId, purchase, since);
    // Ordered, but the order is not listed yet: whether it is ours stays unknown (the repair looks again later).
    if (placed === null) throw new PartnerCenterError(0, 'unreachable', `cart ${cartId} was checked out; its order is not listed yet`, '');
    order = placed ?? (await checkout());
  }
  try {
    return await purchased(client, base, order);
  } catch {
    // Bought in Partner Center whatever failed after the checkout: the repair reads the order again and links its subscription.
    return { orderId: order.id, pending: true };
  }
}

/**
 * For the repair: what a purchase cut off by a crash, or answered pending, left in Partner Center.
 * Undefined when no cart was kept, the cart was never checked out, or Partner Center cancelled
 * the order (nothing was bought); throws while an order names no subscription yet.
 */
export async function findPurchase(client: PartnerCenterClient, customerTenantId: string, purchase: PartnerCenterPurchase, since: Date): Promise<PartnerCenterPurchaseAnswer | undefined> {
  const base = customerPath(customerTenantId);
  if (purchase.orderId) {
    const order = (await client.request('GET', `${base}/orders/${encodeURIComponent(purchase.orderId)}`)).body as Order;
    return order.status?.toLowerCase() === 'cancelled' ? undefined : purchased(client, base, order);
  }
  if (!purchase.cartId) return undefined;
  const order = await placedOrder(client, base, purchase.cartId, purchase, since);
  if (order === null) throw new Error(`cart ${purchase.cartId} is ordered but its order is not in the customer's orders yet`);
  return order && purchased(client, base, order);
}

/** The checkout's order, or its order error told with its code (nothing was bought). */
function orderOf(result: CheckoutResult): Order {
  const [refusal] = result.orderErrors ?? [];
  if (refusal) throw new DomainError('buy.orderError', { code: String(refusal.code ?? ''), description: refusal.description ?? '' });
  const [order] = result.orders ?? [];
  if (!order) throw new DomainError('buy.orderError', { code: '', description: 'Partner Center returned no order' });
  return order;
}

/**
 * Reads the cart again: undefined while it is "Active" (or gone: never checked out), the order when
 * it is "Ordered" and the order is in the customer's orders, null when it is ordered but its order
 * is not listed yet.
 */
async function placedOrder(client: PartnerCenterClient, base: string, cartId: string, purchase: PartnerCenterPurchase, since: Date): Promise<Order | undefined | null> {
  let status: string | undefined;
  try {
    status = ((await client.request('GET', `${base}/carts/${encodeURIComponent(cartId)}`)).body as { status?: string }).status;
  } catch (error) {
    if (error instanceof PartnerCenterError && error.status === 404) return undefined;
    throw error;
  }
  if (status?.toLowerCase() !== 'ordered') return undefined;
  const { body } = await client.request('GET', `${base}/orders`);
  const orders = ((body as { items?: Order[] })?.items ?? []).filter(
    (o) =>
      Date.parse(o.creationDate ?? '') >= since.getTime() - clockSlackMs &&
      (o.lineItems ?? []).some((l) => l.offerId?.toLowerCase() === purchase.line.catalogItemId.toLowerCase() && l.quantity === purchase.line.quantity),
  );
  return orders.sort((a, b) => Date.parse(b.creationDate!) - Date.parse(a.creationDate!))[0] ?? null;
}

/** The order's subscription (Partner Center's copy) and its activation link (R-M8). */
async function purchased(client: PartnerCenterClient, base: string, order: Order): Promise<PartnerCenterPurchaseAnswer> {
  let line = order.lineItems?.[0];
  if (!line?.subscriptionId) {
    // A pending order names its subscription once provisioned: read the order again.
    line = ((await client.request('GET', `${base}/orders/${encodeURIComponent(order.id)}`)).body as Order).lineItems?.[0];
  }
  if (!line?.subscriptionId) throw new Error(`order ${order.id} names no subscription yet`);
  const { body: links } = await client.request('GET', `${base}/orders/${encodeURIComponent(order.id)}/lineitems/${line.lineItemNumber}/activationlinks`);
  const activationLink = (links as { items?: { link?: { uri?: string } }[] })?.items?.find((i) => i.link?.uri)?.link?.uri;
  const { body } = await client.request('GET', `${base}/subscriptions/${encodeURIComponent(line.subscriptionId)}`);
  return { orderId: order.id, subscription: { ...(body as RemoteSubscription), id: line.subscriptionId }, ...(activationLink ? { activationLink } : {}) };
}
