import { authorizedRegions } from '../core/audience.js';
import { billingPeriod, cancellationRefund, chargeFor, nextCharge } from '../core/billing.js';
import { confirmOnce, type Outcome } from '../core/confirmations.js';
import { requireStaff } from '../core/access.js';
import { resolveCustomer } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import {
  activationLink, buySubscription, customerSubscriptions, customerSubscriptionsPage, findOffer, findSaasSubscription, isMicrosoftOffer, quotePurchase, searchCatalog,
  cancellationWindowCloses, type CatalogFilter, type PurchaseDraft, type PurchaseQuote, type SubscriptionWithOffer,
} from '../core/marketplace.js';
import { buyInPartnerCenter } from '../core/partner-center-purchases.js';
import { changeValue, checkSubscriptionChange, editSubscription, type SubscriptionChange, type SubscriptionEdit } from '../core/subscription-edits.js';
import { formatDay, formatMoney, formatMonth, formatTimestamp, type Translate } from '../i18n/index.js';
import type { View } from '../views/model.js';
import { confirmationActions, outcomeText, usedView } from './confirmations.js';
import { coreContext, type OrgEnv } from './context.js';
import { pageFooter } from './paging.js';

/** R-M1, R-M2: the catalog, filtered and paged. */
export async function marketplaceView(env: OrgEnv, filter: CatalogFilter, page: number): Promise<View> {
  const { t } = env;
  const list = await searchCatalog(env.db, env.org, filter, page);
  const footer = pageFooter(env, list, { name: 'marketplace', filter, page });
  // R-I4: offers this partner may resell in some regions only say which.
  const regions = await authorizedRegions(env.db, list.rows, env.org.cspTenantId ?? null);
  const lines = list.rows.map((o) =>
    `• ${t('marketplace.row', {
      name: o.name,
      id: o.id,
      publisher: o.publisherName,
      type: t(`offerType.${o.type}`),
      trial: o.plans.some((p) => p.freeTrialDays) ? t('marketplace.hasTrial') : '',
      plans: o.plans.length,
    })}${regions.has(o.id) ? t('marketplace.regionsOnly', { regions: regions.get(o.id)!.join(', ') }) : ''}`,
  );
  return {
    title: t('marketplace.title', { count: list.total }),
    lines: list.total
      ? [...lines, ...(regions.size ? [t('marketplace.regionsNote')] : []), t('marketplace.page', { page, pages: list.pages, prefix: env.prefix })]
      : [t('marketplace.none'), t('marketplace.notListed')],
    actions: footer.actions,
  };
}

/** R-M1, R-M12: one offer: publisher and support contact, plans with terms and prices, free trial, countries. */
export async function offerView(env: OrgEnv, text: string): Promise<View> {
  const { t } = env;
  const offer = await findOffer(env.db, env.org, text);
  const regions = (await authorizedRegions(env.db, [offer], env.org.cspTenantId ?? null)).get(offer.id);
  const plans = offer.plans.map((p) =>
    `• ${t('offer.planRow', {
      name: p.name,
      id: p.id,
      trial: p.freeTrialDays ? t('offer.trial', { days: p.freeTrialDays }) : t('offer.noTrial'),
      prices: p.prices.map((x) => t('offer.price', { market: x.market, term: t(`saasTermName.${x.term}`), price: formatMoney(t, x.price, x.currency) })).join('; '),
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
      // R-I4: the publisher authorized this partner in some regions only.
      ...(regions ? [{ label: t('offer.regions'), value: regions.join(', ') }] : []),
      // R-I8: the publisher's material for partners; staff only see this view, customers never do.
      ...(offer.salesMaterialsUrl ? [{ label: t('offer.salesMaterials'), value: offer.salesMaterialsUrl }] : []),
      ...(offer.channelContact ? [{ label: t('offer.channelContact'), value: offer.channelContact }] : []),
      // Prices change often: an offer read from Partner Center says when.
      ...(offer.partnerCenterRefreshedAt ? [{ label: t('offer.refreshed'), value: formatTimestamp(t, offer.partnerCenterRefreshedAt) }] : []),
    ],
    lines: [t('offer.plans'), ...plans, ...(offer.type === 'saas' ? [] : [t('offer.azurePortal')]), ...(regions ? [t('offer.regionsNote', { regions: regions.join(', ') })] : [])],
  };
}

/**
 * R-M8, R-M9 (seed 004, "License activation for Marketplace products"): what comes between the
 * purchase and billing, its first step being the activation link or code.
 */
function activationSteps(env: OrgEnv, first: string): string[] {
  const { t } = env;
  return [t('buy.activationNote'), first, t('buy.step.submit'), t('buy.step.setup'), t('buy.step.billing')];
}

function quoteFacts(env: OrgEnv, q: PurchaseQuote) {
  const { t } = env;
  return [
    { label: t('buy.customer'), value: `${q.customer.name} (${q.customer.billingCountry})` },
    { label: t('buy.plan'), value: `${q.offer.name} — ${q.plan.name}` },
    { label: t('buy.seats'), value: String(q.seats) },
    { label: t('buy.term'), value: t(`saasTermName.${q.term}`) },
    { label: t('buy.price'), value: t('buy.priceValue', { unit: formatMoney(t, q.unitPrice, q.currency), total: formatMoney(t, q.unitPrice * q.seats, q.currency), term: t(`saasTermName.${q.term}`) }) },
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
    lines: [
      t('buy.window', { term: t(`saasTermName.${q.term}`), window: t(`buy.windowLength.${q.term}`), closes: q.windowCloses }),
      ...activationSteps(env, t('buy.step.link', { prefix: env.prefix })),
      t('billing.invoiceWhere'),
    ],
    actions: await confirmationActions(env, [
      { id: 'buy', kind: 'buy', params: { offerId: q.offer.id, planId: q.plan.id, customerId: customer.id, seats: q.seats, term: q.term }, label: t('buy.confirm'), style: 'primary' },
    ]),
  };
}

/**
 * The Buy click: bought once, however often it is clicked (the purchase and the confirmation's
 * claim commit together), with the activation link (R-M8) and when the cancellation window closes (R-M10).
 */
export async function boughtView(env: OrgEnv, value: string): Promise<View> {
  const { t } = env;
  // With the connector the Buy is made in Partner Center: the click is claimed first, so no row stays locked during the call.
  const confirmed = await confirmOnce(
    coreContext(env),
    value,
    'buy',
    (ctx, draft) => (ctx.partnerCenter ? buyInPartnerCenter(ctx, draft as unknown as PurchaseDraft, value) : buySubscription(ctx, draft as unknown as PurchaseDraft)),
    {
      remote: Boolean(env.partnerCenter),
      outcome: (bought): Outcome =>
        'pendingOrder' in bought
          ? { key: 'buy.orderPending', params: { order: bought.pendingOrder } }
          : { key: 'buy.bought', params: { offer: bought.quote.offer.name, customer: bought.quote.customer.name, subscription: bought.subscription.id } },
    },
  );
  if (confirmed.state === 'used') return usedView(env, confirmed);
  const bought = confirmed.result;
  if ('pendingOrder' in bought) {
    // Placed in Partner Center, its subscription not provisioned yet: the repair links it later (the intent stays pending).
    return {
      tone: 'success',
      title: t('buy.done', { offer: bought.quote.offer.name, customer: bought.quote.customer.name }),
      facts: quoteFacts(env, bought.quote),
      lines: [t('buy.orderPending', { order: bought.pendingOrder }), t('billing.invoiceWhere')],
      committed: true,
    };
  }
  const { subscription, quote } = bought;
  const link = subscription.activationLink ?? activationLink(quote.offer, subscription.activationCode ?? '');
  return {
    tone: 'success',
    title: t('buy.done', { offer: quote.offer.name, customer: quote.customer.name }),
    facts: [
      ...quoteFacts(env, quote),
      { label: t('subscriptions.status'), value: t(`status.${subscription.status}`) },
      { label: t('subscriptions.id'), value: subscription.id },
      { label: t('buy.windowCloses'), value: formatTimestamp(t, cancellationWindowCloses({ term: subscription.term!, purchasedAt: subscription.purchasedAt!, cancellationAllowedUntil: subscription.cancellationAllowedUntil })) },
    ],
    lines: [
      ...activationSteps(env, link ? t('buy.activate', { link }) : t('buy.activateCode', { code: subscription.activationCode ?? '—', publisher: quote.offer.publisherName })),
      ...(subscription.etag ? [t('buy.inPartnerCenter')] : []),
      t('billing.invoiceWhere'),
    ],
    committed: true,
  };
}

function subscriptionLine(env: OrgEnv, { subscription: s, offer }: SubscriptionWithOffer): string {
  const { t } = env;
  if (s.etag && !offer) {
    return t('subscriptions.partnerCenterRow', {
      name: s.friendlyName ?? s.id,
      offer: s.offerName ?? t(`offer.${s.offer}`),
      status: t(`status.${s.status}`),
      seats: s.seats ?? 0,
      term: s.term ? t(`saasTermName.${s.term}`) : '—',
      autoRenew: t(s.autoRenew ? 'subscriptions.autoRenewOn' : 'subscriptions.autoRenewOff'),
      ends: s.commitmentEndsAt ? formatDay(t, s.commitmentEndsAt) : '—',
      cancellable: s.cancellationAllowedUntil ? formatTimestamp(t, s.cancellationAllowedUntil) : '—',
      refundable: s.refundableQuantity ?? 0,
      commerce: t(s.commerceModel === 'new-commerce' ? 'subscriptions.newCommerce' : 'subscriptions.legacy'),
      id: s.id,
    });
  }
  if (!offer || !s.term || !s.purchasedAt) return t('subscriptions.otherRow', { name: s.friendlyName ?? s.id, offer: t(`offer.${s.offer}`), status: t(`status.${s.status}`), id: s.id });
  // R-M8: a SaaS subscription awaiting setup shows its link: Partner Center's, or the publisher's page with this purchase's code.
  const awaiting = s.status === 'action-needed' || (s.status === 'pending' && Boolean(s.activationLink));
  const link = awaiting ? (s.activationLink ?? activationLink(offer, s.activationCode!)) : undefined;
  return t('subscriptions.row', {
    name: s.friendlyName ?? s.id,
    offer: offer.name,
    plan: s.planId!,
    status: t(`status.${s.status}`),
    seats: s.seats!,
    term: t(`saasTermName.${s.term}`),
    autoRenew: t(s.autoRenew ? 'subscriptions.autoRenewOn' : 'subscriptions.autoRenewOff'),
    bought: formatTimestamp(t, s.purchasedAt),
    billing: s.billingStartedAt ? t('subscriptions.billingSince', { date: formatDay(t, s.billingStartedAt) }) : t('subscriptions.notBilled'),
    id: s.id,
    link: awaiting ? (link ? t('subscriptions.activateLink', { link }) : t('subscriptions.activateCode', { code: s.activationCode! })) : '',
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

/**
 * R-M7: what an admin's edit will change, with a confirm button; nothing changes yet. The role
 * (R-A4), the value and the cancellation window (R-M10) are checked now, and again at the click.
 */
export async function subscriptionEditView(env: OrgEnv, text: string, change: SubscriptionChange): Promise<View> {
  const { t } = env;
  const found = await findSaasSubscription(env.db, coreContext(env), text);
  const check = checkSubscriptionChange(coreContext(env), found.subscription, change);
  const s = found.subscription;
  const name = s.friendlyName ?? s.id;
  if (check === 'unchanged') return { tone: 'info', lines: [t('subscription.unchanged', { name, change: change.kind, value: changeValue(change) })] };
  const cancel = change.kind === 'cancel';
  return {
    tone: 'warning',
    title: t(cancel ? 'subscription.confirmCancelTitle' : 'subscription.confirmTitle', { name, customer: found.customer.name }),
    facts: [
      { label: t('subscriptions.id'), value: s.id },
      ...changeFacts(env, found, change),
    ],
    lines: [...publisherSteps(env, found, change), ...(cancel ? [t('subscription.cannotUndo')] : []), ...(s.etag ? [t('subscription.inPartnerCenter')] : [])],
    actions: await confirmationActions(env, [
      {
        id: 'subscription-edit',
        kind: 'subscription-edit',
        params: { subscriptionId: s.id, change },
        label: t(cancel ? 'subscription.confirmCancel' : 'subscription.confirm'),
        style: cancel ? 'danger' : 'primary',
      },
    ]),
  };
}

/** R-M7 (seed 002): what the offer's publisher asks partners to do before a cancel or a seat change, if it says. */
function publisherSteps(env: OrgEnv, { offer }: SubscriptionWithOffer, change: SubscriptionChange): string[] {
  const steps = (change.kind === 'cancel' || change.kind === 'seats') && offer?.publisherSteps?.[change.kind];
  return steps ? [env.t('subscription.publisherSteps', { publisher: offer.publisherName, steps })] : [];
}

/** Current → new for the edit; for seats what it does to the price and the next charge; for cancel the refund. */
function changeFacts(env: OrgEnv, { subscription: s }: SubscriptionWithOffer, change: SubscriptionChange) {
  const { t } = env;
  const none = '—';
  const money = (amount: number) => formatMoney(t, amount, s.currency!);
  const priced = Boolean(s.price && s.currency && s.term);
  switch (change.kind) {
    case 'rename':
      return [{ label: t('subscription.name'), value: t('subscription.fromTo', { from: s.friendlyName ?? none, to: change.name }) }];
    case 'auto-renew':
      return [{ label: t('subscription.autoRenew'), value: t('subscription.fromTo', { from: t(s.autoRenew ? 'subscription.on' : 'subscription.off'), to: t(change.on ? 'subscription.on' : 'subscription.off') }) }];
    case 'reseller':
      return [{ label: t('subscription.reseller'), value: t('subscription.fromTo', { from: s.resellerMpnId ?? none, to: change.mpnId }) }];
    case 'seats': {
      const seats = { label: t('buy.seats'), value: t('subscription.fromTo', { from: s.seats ?? none, to: change.seats }) };
      if (!priced) return [seats, { label: t('buy.price'), value: t('subscription.priceElsewhere') }];
      const unit = Number(s.price);
      const term = t(`saasTermName.${s.term!}`);
      const before = unit * (s.seats ?? 0);
      const after = unit * change.seats;
      const next = nextCharge(s, env.now());
      const nextAfter = next && chargeFor({ ...s, seats: change.seats }, next.period);
      return [
        seats,
        { label: t('subscription.pricePerTerm', { term }), value: t('subscription.priceChange', { from: money(before), to: money(after), difference: signedMoney(t, after - before, s.currency!) }) },
        {
          label: t('subscription.nextCharge'),
          value: next
            ? t('subscription.nextChargeValue', { month: formatMonth(t, next.period.start), from: money(next.charge.amount), to: money(nextAfter?.amount ?? 0) })
            : t('subscription.notBilledYet', { price: money(after), term }),
        },
      ];
    }
    case 'cancel': {
      const refund = cancellationRefund(s, env.now());
      const value = s.etag
        ? t('subscription.refundPartnerCenter', { refundable: s.refundableQuantity ?? 0, seats: s.seats ?? none })
        : refund
          ? t('subscription.refundValue', { amount: formatMoney(t, refund.amount, refund.currency) })
          : t('subscription.noRefund');
      return [{ label: t('request.refundEstimate'), value }];
    }
  }
}

const signedMoney = (t: Translate, amount: number, currency: string) => (amount < 0 ? `−${formatMoney(t, -amount, currency)}` : `+${formatMoney(t, amount, currency)}`);

/** What an edit's click did, as a catalog sentence: told to the clicker and to later clicks. */
function editOutcome(edit: SubscriptionEdit, change: SubscriptionChange): Outcome {
  const s = edit.subscription;
  const name = s.friendlyName ?? s.id;
  switch (edit.state) {
    case 'conflict':
      return { key: edit.changes.length ? 'partnerCenter.editConflict' : 'partnerCenter.editConflictNoFields', params: { subscription: s.id, changes: { fieldChanges: edit.changes } } };
    case 'unchanged':
      return { key: 'subscription.unchanged', params: { name, change: change.kind, value: changeValue(change) } };
    case 'changed':
      return { key: `subscription.done.${change.kind}`, params: { name, subscription: s.id, value: changeValue(change) } };
  }
}

/**
 * The click on an edit's confirm button: the edit is made once, by the core edit, which checks the
 * role and the rules again. An edit made in Partner Center is claimed before the call; a refusal
 * or a conflict there fails the confirmation, so the edit is confirmed again on fresh figures.
 */
export async function subscriptionChangedView(env: OrgEnv, value: string): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  const changeOf = (params: Record<string, unknown>) => params.change as SubscriptionChange;
  const confirmed = await confirmOnce(ctx, value, 'subscription-edit', (c, p) => editSubscription(c, String(p.subscriptionId), changeOf(p)), {
    // With the connector any edit may go to Partner Center (a sync may give the subscription its ETag meanwhile): never inside the claim's transaction.
    remote: Boolean(env.partnerCenter),
    outcome: (edit, p) => editOutcome(edit, changeOf(p)),
    failed: (edit) => edit.state === 'conflict',
  });
  if (confirmed.state === 'used') return usedView(env, confirmed);
  const { result: edit, params } = confirmed;
  const line = outcomeText(env, editOutcome(edit, changeOf(params)));
  if (edit.state === 'conflict') return { tone: 'warning', lines: [line, t('confirmation.runAgain')] };
  if (edit.state === 'unchanged') return { tone: 'info', lines: [line] };
  return { tone: 'success', lines: [line], committed: true };
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
    title: t('billing.title', { customer: customer.name, month: formatMonth(t, period.start) }),
    facts: [
      { label: t('billing.period'), value: t('billing.periodValue', { start: formatDay(t, period.start), end: formatDay(t, period.end) }) },
      { label: t('billing.invoice'), value: formatDay(t, period.invoiceDate) },
      { label: t('billing.total'), value: [...totals].map(([c, a]) => formatMoney(t, a, c)).join(' + ') || formatMoney(t, 0, 'USD') },
    ],
    lines: [
      ...(charges.length
        ? charges.map(({ charge: c, offer }) =>
            `• ${t('billing.row', {
              name: c.subscription.friendlyName ?? c.subscription.id,
              offer: offer?.name ?? '',
              seats: c.subscription.seats!,
              amount: formatMoney(t, c.amount, c.currency),
              days: c.days === c.periodDays ? t('billing.fullMonth') : t('billing.prorated', { days: c.days, periodDays: c.periodDays }),
            })}`,
          )
        : [t('billing.none')]),
      t('billing.invoiceWhere'),
    ],
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
  return {
    title: t('support.title', { offer: offer.name }),
    lines: [t('support.publisher', { publisher: offer.publisherName, contact: offer.publisherSupportContact }), t('support.partner'), t('support.marketplace')],
  };
}
