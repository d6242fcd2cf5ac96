import { requireStaff } from '../core/access.js';
import { customerById, customerMatches, resolveCustomer, type Customer } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import { customerOrders, type Order } from '../core/purchases.js';
import { customerReservations, termEnds, type Reservation } from '../core/reservations.js';
import { formatMoney, formatTimestamp } from '../i18n/index.js';
import type { View } from '../views/model.js';
import type { OrgEnv } from './context.js';
import { pageFooter } from './paging.js';
import { purchaseItem, reservationNotes } from './purchases.js';

/** Staff name any customer; a customer contact sees only their own customer (R-A1), whatever they type. */
async function customerFor(env: OrgEnv, text: string | undefined): Promise<Customer> {
  if (env.actor.kind === 'contact') {
    const own = await customerById(env.db, env.org.id, env.actor.customerId);
    if (text && !customerMatches(own, text)) throw new DomainError('reservations.ownOnly', { customer: own.name });
    return own;
  }
  requireStaff(env.actor, 'reservations');
  if (!text) throw new DomainError('error.missingArgument', { command: 'reservations', argument: '<customer>', example: 'reservations contoso' });
  return resolveCustomer(env.db, env.org.id, text);
}

function terms(env: OrgEnv, r: Reservation) {
  const { t } = env;
  return {
    product: r.product,
    region: r.region,
    quantity: r.quantity,
    term: t(`term.${r.term}`),
    billing: t(`billing.${r.billingPlan}`),
    scope: r.scope === 'single' ? t('scope.single', { subscription: r.subscriptionId ?? '' }) : t('scope.shared'),
    price: formatMoney(t, Number(r.price), r.currency),
    buyer: t(`buyer.${r.purchasedBy}`),
    date: formatTimestamp(t, r.purchasedAt),
    end: formatTimestamp(t, termEnds(r)),
    status: t(`reservation.${r.status}`),
    id: r.id,
  };
}

/** R-P9, R-P11, R-P12: every reservation, whoever bought it, with the partner's price and its scope, a page at a time. */
export async function reservationsView(env: OrgEnv, customerText: string | undefined, page: number): Promise<View> {
  const { t } = env;
  const customer = await customerFor(env, customerText);
  const list = await customerReservations(env.db, env.org.id, customer.id, page);
  const footer = pageFooter(env, list, { name: 'reservations', customer: customer.tenantId, page });
  return {
    title: t('reservations.title', { customer: customer.name }),
    lines: list.total
      ? [...list.rows.map((r) => `• ${t('reservations.row', terms(env, r))}`), ...reservationNotes(t, list.rows.map((r) => r.scope)), footer.line]
      : [t('reservations.none', { customer: customer.name })],
    actions: footer.actions,
  };
}

function orderLine(env: OrgEnv, o: Order): string {
  const { t } = env;
  switch (o.kind) {
    case 'reservation':
      return t('orders.row', terms(env, o.reservation));
    case 'saas': {
      const p = o.purchase;
      return t('orders.rowSaas', { date: formatTimestamp(t, p.purchasedAt), item: purchaseItem(t, p), price: formatMoney(t, Number(p.price), p.currency), buyer: p.buyerName, id: p.sourceId });
    }
    case 'partner-center':
      return t('orders.rowPartnerCenter', {
        date: o.order.orderedAt ? formatTimestamp(t, o.order.orderedAt) : '—',
        items: o.order.lineItems.map((i) => `${i.friendlyName ?? i.offerId ?? '?'} × ${i.quantity ?? 1}`).join(', ') || '—',
        status: o.order.status,
        id: o.order.id,
      });
  }
}

/** R-P9: the order history, the customer's own purchases (reservations and SaaS) beside the partner's, newest first, a page at a time. */
export async function ordersView(env: OrgEnv, customerId: string, page: number): Promise<View> {
  const { t } = env;
  const customer = await customerById(env.db, env.org.id, customerId);
  const list = await customerOrders(env.db, env.org.id, customer.id, page);
  const footer = pageFooter(env, list, { name: 'orders', customer: customer.tenantId, page });
  return {
    title: t('orders.title', { customer: customer.name }),
    lines: list.total
      ? [...list.rows.map((o) => `• ${orderLine(env, o)}`), ...reservationNotes(t, list.rows.flatMap((o) => (o.kind === 'reservation' ? [o.reservation.scope] : []))), footer.line]
      : [t('orders.none', { customer: customer.name })],
    actions: footer.actions,
  };
}
