import type { Database } from '../../db/client.js';
import type { OutboxMessage } from '../core/announcements.js';
import { purchasesByIds, type Purchase, type PurchaseWithCustomer } from '../core/purchases.js';
import type { Renderer } from '../delivery/worker.js';
import { channelTranslator } from '../core/languages.js';
import { formatMoney, formatTimestamp, type Translate } from '../i18n/index.js';
import { fitting, type View } from '../views/model.js';
import { renderAzureTodo, renderDecisionNotice, renderRequestCard } from './requests.js';

/** A digest shows this many purchases itself; its count and totals cover all of them, and its thread lists every one. */
export const digestListed = 5;
/**
 * A reply in a digest's thread lists at most this many purchases, in at most this much text:
 * what one Slack message and one Teams card hold with room to spare, in any script.
 */
const threadReply = { purchases: 50, characters: 6000 };

/** What was bought, in one phrase (R-N2): a reservation's product, region, quantity, term and scope; a SaaS offer's plan and seats. */
export function purchaseItem(t: Translate, p: Pick<Purchase, 'kind' | 'details'>): string {
  const d = Object.fromEntries(Object.entries(p.details).map(([k, v]) => [k, String(v)]));
  if (p.kind === 'saas') {
    return t('purchase.itemSaas', { offer: d.offerId!, plan: d.planId!, seats: d.seats!, term: d.term ? t(`saasTerm.${d.term as 'monthly' | 'annual'}`) : '' });
  }
  return t('purchase.itemReservation', {
    quantity: d.quantity!,
    product: d.product!,
    region: d.region!,
    term: t(`term.${d.term as 'P1Y' | 'P3Y'}`),
    scope: d.scope === 'single' ? t('scope.single', { subscription: d.subscriptionId! }) : t('scope.shared'),
  });
}

/**
 * R-P11, R-P12: said once under reservation prices and scopes: whose price it is, and what each
 * scope shown covers. Nothing when no reservation is shown.
 */
export function reservationNotes(t: Translate, scopes: readonly string[]): string[] {
  if (!scopes.length) return [];
  return [t('reservation.priceNote'), ...(['shared', 'single'] as const).filter((s) => scopes.includes(s)).map((s) => t(`reservation.scopeNote.${s}`))];
}

/** The scopes of the reservations among purchases. */
export const reservationScopes = (purchases: Pick<Purchase, 'kind' | 'details'>[]) => purchases.flatMap((p) => (p.kind === 'reservation' ? [String(p.details.scope)] : []));

/** R-N2: one customer purchase, as announced. */
export function purchaseView(t: Translate, p: PurchaseWithCustomer): View {
  return {
    title: t('purchase.title', { customer: p.customerName }),
    facts: [
      { label: t('purchase.what'), value: purchaseItem(t, p) },
      { label: t('purchase.price'), value: formatMoney(t, Number(p.price), p.currency) },
      { label: t('purchase.buyer'), value: t('purchase.buyerValue', { name: p.buyerName, email: p.buyerEmail }) },
      { label: t('purchase.when'), value: formatTimestamp(t, p.purchasedAt) },
      { label: t('purchase.order'), value: p.sourceId },
    ],
    lines: reservationNotes(t, reservationScopes([p])),
  };
}

const digestRow = (t: Translate, p: PurchaseWithCustomer) =>
  t('digest.row', { date: formatTimestamp(t, p.purchasedAt), customer: p.customerName, item: purchaseItem(t, p), price: formatMoney(t, Number(p.price), p.currency), buyer: p.buyerName });

/** Many purchases in one message: how many, their totals per currency, the first of them, and where the rest are (its thread). */
export function digestView(t: Translate, purchases: PurchaseWithCustomer[]): View {
  const totals = new Map<string, number>();
  for (const p of purchases) totals.set(p.currency, (totals.get(p.currency) ?? 0) + Number(p.price));
  const lines = purchases.slice(0, digestListed).map((p) => digestRow(t, p));
  lines.push(t('digest.more', { count: Math.max(0, purchases.length - digestListed) }));
  return {
    title: t('digest.title', { count: purchases.length }),
    facts: [
      { label: t('digest.total'), value: [...totals].map(([currency, amount]) => formatMoney(t, amount, currency)).join(' + ') },
      { label: t('digest.customers'), value: String(new Set(purchases.map((p) => p.customerId)).size) },
    ],
    lines: [...lines.map((line) => `• ${line}`), ...reservationNotes(t, reservationScopes(purchases))],
  };
}

/**
 * A reply in a digest's thread: the purchases given, numbered as in the digest, as many as fit
 * (at least one, so the thread always moves on); `count` says how many it holds.
 */
export function threadReplyView(t: Translate, purchases: (PurchaseWithCustomer & { number: number })[], total: number): { view: View; count: number } {
  const lines = purchases.slice(0, threadReply.purchases).map((p) => t('digest.threadRow', { number: p.number, row: digestRow(t, p), order: p.sourceId }));
  const count = Math.max(1, fitting(lines, (line) => line.length + 1, threadReply.characters).length);
  const notes = reservationNotes(t, reservationScopes(purchases.slice(0, count)));
  return { view: { title: t('digest.threadPart', { from: purchases[0]!.number, to: purchases[count - 1]!.number, count: total }), lines: [...lines.slice(0, count), ...notes] }, count };
}

/** Renders what the delivery worker posts, as things stand when it is sent. */
export function outboxRenderer(db: Database): Renderer {
  return {
    translator: (orgId, platform, channelId) => channelTranslator(db, orgId, platform, channelId),
    async message(orgId, message: OutboxMessage, t) {
      if ('key' in message) return { lines: [message.key, ...(message.then ?? [])].map((key) => t(key, message.params)) };
      if ('requestCard' in message) return renderRequestCard({ db, t }, orgId, message.requestCard, message.reminder ?? false);
      if ('refreshRequestCard' in message) return renderRequestCard({ db, t }, orgId, message.refreshRequestCard);
      if ('decisionNotice' in message) return renderDecisionNotice({ db, t }, orgId, message.decisionNotice);
      if ('azureTodo' in message) return renderAzureTodo({ db, t }, orgId, message.azureTodo);
      if ('digest' in message) throw new Error('a digest is rendered with its purchases (digest)');
      const [purchase] = await purchasesByIds(db, [message.purchase]);
      return purchaseView(t, purchase!);
    },
    async digest(_orgId, purchaseIds, t) {
      return digestView(t, await purchasesByIds(db, purchaseIds));
    },
    async threadReply(_orgId, purchases, t, total) {
      const found = new Map((await purchasesByIds(db, purchases.slice(0, threadReply.purchases).map((p) => p.id))).map((p) => [p.id, p]));
      return threadReplyView(t, purchases.slice(0, threadReply.purchases).map((p) => ({ ...found.get(p.id)!, number: p.number })), total);
    },
  };
}
