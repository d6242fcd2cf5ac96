import { billingPeriod, chargeFor } from '../core/billing.js';
import { requireStaff } from '../core/access.js';
import { resolveCustomer } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import {
  activationLink, buySubscription, customerSubscriptions, customerSubscriptionsPage, findOffer, findSaasSubscription, isMicrosoftOffer, quotePurchase, searchCatalog,
  utcTime, cancellationWindowCloses, type CatalogFilter, type PurchaseDraft, type PurchaseQuote, type SubscriptionWithOffer,
} from '../core/marketplace.js';
import { editSubscription, type SubscriptionChange } from '../core/subscription-edits.js';
import { formatMoney, formatTimestamp } from '../i18n/index.js';
import type { View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';
import { formatDay } from './grammar.js';
import { pageFooter } from './paging.js';

/** R-M1, R-M2: the catalog, filtered and paged. */
export async function marketplaceView(env: OrgEnv, filter: CatalogFilter, page: number): Promise<View> {
  const { t } = env;
  const list = await searchCatalog(env.db, env.org, filter, page);
  const footer = pageFooter(env, list, { name: 'marketplace', filter, page });
  const lines = list.rows.map((o) =>
    `• ${t('marketplace.row', {
      name: o.name,
      id: o.id,
      publisher: o.publisherName,
      type: t(`offerType.${o.type}`),
      trial: o.plans.some((p) => p.freeTrialDays) ? t('marketplace.hasTrial') : '',
      plans: o.plans.length,
    })}`,
  );
  return {
    title: t('marketplace.title', { count: list.total }),
    lines: list.total ? [...lines, t('marketplace.page', { page, pages: list.pages, prefix: env.prefix })] : [t('marketplace.none')],
    actions: footer.actions,
  };
}

/** R-M1, R-M12: one offer: publisher and support contact, plans with terms and prices, free trial, countries. */
export async function offerView(env: OrgEnv, text: string): Promise<View> {
  const { t } = env;
  const offer = await findOffer(env.db, env.org, text);
  const plans = offer.plans.map((p) =>
    `• ${t('offer.planRow', {
      name: p.name,
      id: p.id,
      trial: p.freeTrialDays ? t('offer.trial', { days: p.freeTrialDays }) : t('offer.noTrial'),
      prices: p.prices.map((x) => t('offer.price', { market: x.market, term: t(`saasTermName.${x.term}`), price: formatMoney(x.price, x.currency) })).join('; '),
    })}`,
  );
  return {
    title: t('offer.title', { name: offer.name, id: offer.id }),
    facts: [
      { label: t('offer.publisher'), value: `${offer.publisherName}${isMicrosoftOffer(offer) ? '' : t('offer.partnerPublisher')}` },
      { label: t('offer.support'), value: offer.publisherSupportContact },
      { label: t('offer.type'), value: t(`offerType.${offer.type}`) },
      { label: t('offer.categories'), value: offer.categories.join(', ') || '—' },
      { label: t('offer.countries'), value: offer.countries.join(', ') },
      // R-I8: the publisher's material for partners; staff only see this view, customers never do.
      ...(offer.salesMaterialsUrl ? [{ label: t('offer.salesMaterials'), value: offer.salesMaterialsUrl }] : []),
      ...(offer.channelContact ? [{ label: t('offer.channelContact'), value: offer.channelContact }] : []),
    ],
    lines: [t('offer.plans'), ...plans, ...(offer.type === 'saas' ? [] : [t('offer.azurePortal')])],
  };
}

const draftValue = (d: Required<PurchaseDraft>) => [d.offerId, d.planId, d.customerId, d.seats, d.term].join('|');

function draftFrom(value: string): PurchaseDraft {
  const [offerId, planId, customerId, seats, term] = value.split('|');
  if (!offerId || !planId || !customerId || !/^\d+$/.test(seats ?? '') || (term !== 'monthly' && term !== 'annual')) throw new DomainError('error.staleButton');
  return { offerId, planId, customerId, seats: Number(seats), term };
}

function quoteFacts(env: OrgEnv, q: PurchaseQuote) {
  const { t } = env;
  return [
    { label: t('buy.customer'), value: `${q.customer.name} (${q.customer.billingCountry})` },
    { label: t('buy.plan'), value: `${q.offer.name} — ${q.plan.name}` },
    { label: t('buy.seats'), value: String(q.seats) },
    { label: t('buy.term'), value: t(`saasTermName.${q.term}`) },
    { label: t('buy.price'), value: t('buy.priceValue', { unit: formatMoney(q.unitPrice, q.currency), total: formatMoney(q.unitPrice * q.seats, q.currency), term: t(`saasTermName.${q.term}`) }) },
    ...(q.plan.freeTrialDays ? [{ label: t('buy.trial'), value: t('offer.trial', { days: q.plan.freeTrialDays }) }] : []),
  ];
}

/** R-A4, R-M4, R-M5, R-M10: what buying means, with Buy and Cancel; nothing is bought yet. */
export async function buyView(env: OrgEnv, command: { offer: string; plan: string; customer: string; seats: number; term?: 'monthly' | 'annual' }): Promise<View> {
  const { t } = env;
  const offer = await findOffer(env.db, env.org, command.offer);
  const customer = await resolveCustomer(env.db, env.org.id, command.customer);
  const q = await quotePurchase(coreContext(env), { offerId: offer.id, planId: command.plan, customerId: customer.id, seats: command.seats, term: command.term });
  return {
    tone: 'warning',
    title: t('buy.title', { offer: q.offer.name, customer: customer.name }),
    facts: quoteFacts(env, q),
    lines: [t('buy.window', { term: t(`saasTermName.${q.term}`), window: t(`buy.windowLength.${q.term}`), closes: utcTime(q.windowCloses) }), t('buy.activationNote')],
    actions: [
      { id: 'buy', label: t('buy.confirm'), value: draftValue({ offerId: q.offer.id, planId: q.plan.id, customerId: customer.id, seats: q.seats, term: q.term }), style: 'primary' },
      { id: 'cancel', label: t('common.cancel'), value: customer.id },
    ],
  };
}

/** The Buy click: bought, with the activation link (R-M8) and when the cancellation window closes (R-M10). */
export async function boughtView(env: OrgEnv, value: string): Promise<View> {
  const { t } = env;
  const { subscription, quote } = await buySubscription(coreContext(env), draftFrom(value));
  const link = activationLink(quote.offer, subscription.activationCode!);
  return {
    tone: 'success',
    title: t('buy.done', { offer: quote.offer.name, customer: quote.customer.name }),
    facts: [
      ...quoteFacts(env, quote),
      { label: t('subscriptions.status'), value: t('status.action-needed') },
      { label: t('subscriptions.id'), value: subscription.id },
      { label: t('buy.windowCloses'), value: t('date.utc', { date: utcTime(cancellationWindowCloses({ term: subscription.term!, purchasedAt: subscription.purchasedAt! })) }) },
    ],
    lines: [link ? t('buy.activate', { link }) : t('buy.activateCode', { code: subscription.activationCode!, publisher: quote.offer.publisherName })],
  };
}

function subscriptionLine(env: OrgEnv, { subscription: s, offer }: SubscriptionWithOffer): string {
  const { t } = env;
  if (s.etag && !offer) {
    return t('subscriptions.partnerCenterRow', {
      name: s.friendlyName ?? s.id,
      offer: s.offerName ?? t(`offer.${s.offer}`),
      status: t(`status.${s.status}`),
      seats: s.seats ?? '—',
      term: s.term ? t(`saasTermName.${s.term}`) : '—',
      autoRenew: t(s.autoRenew ? 'subscriptions.autoRenewOn' : 'subscriptions.autoRenewOff'),
      ends: s.commitmentEndsAt ? formatDay(s.commitmentEndsAt) : '—',
      cancellable: s.cancellationAllowedUntil ? t('date.utc', { date: utcTime(s.cancellationAllowedUntil) }) : '—',
      refundable: s.refundableQuantity ?? 0,
      commerce: t(s.commerceModel === 'new-commerce' ? 'subscriptions.newCommerce' : 'subscriptions.legacy'),
      id: s.id,
    });
  }
  if (!offer || !s.term || !s.purchasedAt) return t('subscriptions.otherRow', { name: s.friendlyName ?? s.id, offer: t(`offer.${s.offer}`), status: t(`status.${s.status}`), id: s.id });
  const link = s.status === 'action-needed' ? activationLink(offer, s.activationCode!) : undefined;
  return t('subscriptions.row', {
    name: s.friendlyName ?? s.id,
    offer: offer.name,
    plan: s.planId!,
    status: t(`status.${s.status}`),
    seats: s.seats!,
    term: t(`saasTermName.${s.term}`),
    autoRenew: t(s.autoRenew ? 'subscriptions.autoRenewOn' : 'subscriptions.autoRenewOff'),
    bought: formatTimestamp(t, s.purchasedAt),
    billing: s.billingStartedAt ? t('subscriptions.billingSince', { date: formatDay(s.billingStartedAt) }) : t('subscriptions.notBilled'),
    id: s.id,
    link: s.status === 'action-needed' ? (link ? t('subscriptions.activateLink', { link }) : t('subscriptions.activateCode', { code: s.activationCode! })) : '',
  });
}

/** R-M6: each subscription with status, seats, term, auto-renew, and the activation link while action is needed. */
export async function subscriptionsView(env: OrgEnv, customerText: string, page: number): Promise<View> {
  const { t } = env;
  requireStaff(env.actor, 'subscriptions');
  const customer = await resolveCustomer(env.db, env.org.id, customerText);
  const list = await customerSubscriptionsPage(env.db, env.org.id, customer.id, page);
  const footer = pageFooter(env, list, { name: 'subscriptions', customer: customer.tenantId, page });
  return {
    title: t('subscriptions.title', { customer: customer.name }),
    lines: list.total ? [...list.rows.map((r) => `• ${subscriptionLine(env, r)}`), footer.line] : [t('customer.noSubscriptions')],
    actions: footer.actions,
  };
}

/** R-M7: one edit by an admin; cancel only inside the window (R-M10). */
export async function subscriptionEditView(env: OrgEnv, text: string, change: SubscriptionChange): Promise<View> {
  const { t } = env;
  const found = await findSaasSubscription(env.db, coreContext(env), text);
  const edit = await editSubscription(coreContext(env), found.subscription.id, change);
  const { state, subscription } = edit;
  const name = subscription.friendlyName ?? subscription.id;
  if (edit.state === 'conflict') {
    return { tone: 'warning', lines: [t(edit.changes ? 'partnerCenter.editConflict' : 'partnerCenter.editConflictNoFields', { subscription: subscription.id, changes: edit.changes })] };
  }
  if (state === 'unchanged') return { tone: 'info', lines: [t('subscription.unchanged', { name })] };
  return { tone: 'success', lines: [t(`subscription.done.${change.kind}`, { name, subscription: subscription.id, value: change.kind === 'seats' ? change.seats : change.kind === 'rename' ? change.name : change.kind === 'reseller' ? change.mpnId : '' })] };
}

/** R-M11: a customer's charges for one calendar month, and when the invoice comes. */
export async function billingView(env: OrgEnv, customerText: string, month: string | undefined): Promise<View> {
  const { t } = env;
  const customer = await resolveCustomer(env.db, env.org.id, customerText);
  const period = billingPeriod(month ? new Date(`${month}-01T00:00:00Z`) : env.now());
  const charges = (await customerSubscriptions(env.db, env.org.id, customer.id)).flatMap(({ subscription, offer }) => {
    const charge = chargeFor(subscription, period);
    return charge ? [{ charge, offer }] : [];
  });
  const totals = new Map<string, number>();
  for (const { charge } of charges) totals.set(charge.currency, (totals.get(charge.currency) ?? 0) + charge.amount);
  return {
    title: t('billing.title', { customer: customer.name, month: formatDay(period.start).slice(0, 7) }),
    facts: [
      { label: t('billing.period'), value: t('billing.periodValue', { start: formatDay(period.start), end: formatDay(period.end) }) },
      { label: t('billing.invoice'), value: formatDay(period.invoiceDate) },
      { label: t('billing.total'), value: [...totals].map(([c, a]) => formatMoney(a, c)).join(' + ') || formatMoney(0, 'USD') },
    ],
    lines: charges.length
      ? charges.map(({ charge: c, offer }) =>
          `• ${t('billing.row', {
            name: c.subscription.friendlyName ?? c.subscription.id,
            offer: offer?.name ?? '',
            seats: c.subscription.seats!,
            amount: formatMoney(c.amount, c.currency),
            days: c.days === c.periodDays ? t('billing.fullMonth') : t('billing.prorated', { days: c.days, periodDays: c.periodDays }),
          })}`,
        )
      : [t('billing.none')],
  };
}

/** R-M12: the partner answers billing and subscription questions; technical support is the publisher's. */
export async function supportView(env: OrgEnv, text: string): Promise<View> {
  const { t } = env;
  const offer = await findSaasSubscription(env.db, coreContext(env), text)
    .then((s) => s.offer!)
    .catch(async (error) => {
      if (error instanceof DomainError && error.code.startsWith('subscription.')) return findOffer(env.db, env.org, text);
      throw error;
    });
  return { title: t('support.title', { offer: offer.name }), lines: [t('support.publisher', { publisher: offer.publisherName, contact: offer.publisherSupportContact }), t('support.partner')] };
}
