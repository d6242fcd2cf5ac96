import { listActivity, activityPageSize } from '../core/activity.js';
import { requireStaff } from '../core/access.js';
import { resolveCustomer, searchCustomers } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import { setChannel } from '../core/organizations.js';
import {
  allowReservations, checkAllowReservations, checkDisallowReservations, customerAccount, disallowReservations, isAzureSubscription,
  recordOwnerAssigned, requireOwnerRole, requireToggleRole, subscriptionById, type ActivityEntry, type AllowResult, type OwnerResult, type Subscription,
} from '../core/permissions.js';
import { formatTimestamp, type MessageKey } from '../i18n/index.js';
import type { ActionId, View } from '../views/model.js';
import { coreContext, type CommandEnv, type OrgEnv } from './context.js';
import { decideRequestView, fileRequestView, fileSubscriptionRequestView, rejectPromptView, requestsView } from './requests.js';
import { audienceCommandView, partnersView } from './audience.js';
import { billingView, boughtView, buyView, marketplaceView, offerView, subscriptionEditView, subscriptionsView, supportView } from './marketplace.js';
import { notifyFailuresView, notifyHereView, notifyListView, notifyOffView } from './notifications.js';
import { priceListView } from './price-list.js';
import { ordersView, reservationsView } from './reservations.js';
import { commandText, formatDay, type Command } from './grammar.js';

type Env = OrgEnv;

export function helpView(env: CommandEnv): View {
  const { t, prefix } = env;
  const keys: MessageKey[] = [
    'help.help', 'help.customers', 'help.customer', 'help.allow', 'help.disallow', 'help.reservations', 'help.orders',
    'help.request', 'help.requests', 'help.decide', 'help.activity', 'help.owner', 'help.channel', 'help.notify', 'help.notifyFailures', 'help.marketplace', 'help.offer', 'help.buy', 'help.subscriptions', 'help.subscription', 'help.billing', 'help.support', 'help.audience', 'help.partners', 'help.priceList', 'help.connector',
  ];
  const notice = !env.org
    ? [t(env.conversation.platform === 'teams' ? 'help.unknownTenant' : 'help.unknownWorkspace', { teamId: env.workspaceId ?? '?' })]
    : env.actor.kind === 'unknown'
      ? [t('help.unknownUser')]
      : [];
  return { title: t('help.title'), lines: [...notice, t('help.intro'), ...keys.map((k) => t(k, { prefix }))] };
}

async function customersView(env: Env, text: string, page: number): Promise<View> {
  const { t } = env;
  const { rows, total, pages } = await searchCustomers(env.db, env.org.id, text, page);
  const title = text ? t('customers.titleSearch', { text }) : t('customers.title');
  if (total === 0) return { title, lines: [text ? t('customers.noneMatch', { text }) : t('customers.none')] };
  if (page > pages) throw new DomainError('customers.pageOutOfRange', { page, pages });
  const lines = rows.map((c) => t('customers.row', { name: c.name, domain: c.domain, tenantId: c.tenantId, country: c.billingCountry }));
  lines.push(t('customers.page', { page, pages, total }));
  const next = commandText({ name: 'customers', text, page: page + 1 });
  return { title, lines, actions: page < pages ? [{ id: 'run', label: t('customers.next'), value: next }] : [] };
}

function subscriptionLine(env: Env, s: Subscription): string {
  const { t } = env;
  return t('customer.subscriptionRow', {
    name: s.friendlyName ?? t(`offer.${s.offer}`),
    offer: t(`offer.${s.offer}`),
    id: s.id,
    status: t(`status.${s.status}`),
    owner: t(!isAzureSubscription(s) ? 'customer.ownerNotApplicable' : s.ownerRoleAssigned ? 'customer.ownerKnown' : 'customer.ownerUnknown'),
  });
}

function activityLine(env: Env, row: ActivityEntry, customerName?: string | null): string {
  const { t } = env;
  return t('activity.row', {
    date: formatTimestamp(t, row.createdAt),
    actor: row.actorName,
    action: t(`action.${row.action}` as MessageKey, row.details),
    customer: customerName ? t('activity.rowCustomer', { customer: customerName }) : '',
  });
}

async function customerView(env: Env, customerId: string): Promise<View> {
  const { t } = env;
  const { customer, grant, subscriptions, recentActivity } = await customerAccount(env.db, env.org.id, customerId);
  return {
    title: t('customer.title', { name: customer.name }),
    facts: [
      { label: t('customer.domain'), value: customer.domain },
      { label: t('customer.tenant'), value: customer.tenantId },
      { label: t('customer.country'), value: customer.billingCountry },
      {
        label: t('customer.permission'),
        value: grant ? t('customer.permissionOn', { date: formatTimestamp(t, grant.grantedAt), name: grant.grantedBy }) : t('customer.permissionOff'),
      },
    ],
    lines: [
      t('customer.subscriptions'),
      ...(subscriptions.length ? subscriptions.map((s) => `• ${subscriptionLine(env, s)}`) : [t('customer.noSubscriptions')]),
      t('customer.recentActivity'),
      ...(recentActivity.length ? recentActivity.map((row) => `• ${activityLine(env, row)}`) : [t('customer.noActivity')]),
    ],
  };
}

/** The answer to `allow-reservations` and to each of its buttons, by the state the rules found. */
function allowView(env: Env, result: AllowResult, extraLines: string[] = []): View {
  const { t } = env;
  const { customer } = result;
  const name = customer.name;
  switch (result.state) {
    case 'already-on':
      return { tone: 'info', lines: [...extraLines, t('allow.alreadyOn', { customer: name, date: formatTimestamp(t, result.grant.grantedAt), name: result.grant.grantedBy })] };
    case 'turned-on':
      return { tone: 'success', lines: [...extraLines, t('allow.done', { customer: name })] };
    case 'owner-unknown':
      return {
        tone: 'warning',
        title: t('owner.unknownTitle', { customer: name }),
        lines: [
          ...extraLines,
          t('owner.unknown', { customer: name }),
          t('owner.howTo'),
          t('owner.confirmCommand', {
            command: env.prefix + commandText({ name: 'owner-assigned', customer: customer.tenantId, subscription: result.subscriptions[0]!.id }),
          }),
        ],
        actions: [
          ...result.subscriptions.map((s) => ({ id: 'owner-assigned' as const, label: t('owner.confirmButton', { subscription: s.friendlyName ?? s.id }), value: s.id })),
          { id: 'cancel', label: t('common.cancel'), value: customer.id },
        ],
      };
    case 'ready':
      return {
        tone: 'warning',
        title: t('allow.title', { customer: name }),
        facts: [{ label: t('allow.subscription'), value: `${result.subscription.friendlyName ?? t(`offer.${result.subscription.offer}`)} (${result.subscription.id})` }],
        lines: [...extraLines, t('allow.responsibility', { customer: name }), t('allow.noNotice')],
        actions: [
          { id: 'allow-reservations', label: t('allow.turnOn'), value: customer.id, style: 'primary' },
          { id: 'cancel', label: t('common.cancel'), value: customer.id },
        ],
      };
  }
}

async function disallowView(env: Env, customerId: string): Promise<View> {
  const { t } = env;
  const check = await checkDisallowReservations(coreContext(env), customerId);
  const { customer } = check;
  if (check.state !== 'on') return { tone: 'info', lines: [t('disallow.alreadyOff', { customer: customer.name })] };
  return {
    tone: 'warning',
    title: t('disallow.title', { customer: customer.name }),
    facts: [{ label: t('customer.permission'), value: t('customer.permissionOn', { date: formatTimestamp(t, check.grant.grantedAt), name: check.grant.grantedBy }) }],
    lines: [t('disallow.effect', { customer: customer.name })],
    actions: [
      { id: 'disallow-reservations', label: t('disallow.turnOff'), value: customer.id, style: 'danger' },
      { id: 'cancel', label: t('common.cancel'), value: customer.id },
    ],
  };
}

function ownerLine(env: Env, result: OwnerResult): string {
  const params = { customer: result.customer.name, subscription: result.subscription.id };
  return env.t(result.state === 'recorded' ? 'owner.recorded' : 'owner.alreadyKnown', params);
}

async function activityView(env: Env, command: Extract<Command, { name: 'activity' }>): Promise<View> {
  const { t } = env;
  const found = command.customer ? await resolveCustomer(env.db, env.org.id, command.customer) : undefined;
  const rows = await listActivity(env.db, env.org.id, { customerId: found?.id, since: command.since, page: command.page });
  const lines = rows.slice(0, activityPageSize).map((row) => activityLine(env, row, found ? null : row.customerName));
  const since = command.since ? t('activity.since', { date: formatDay(command.since) }) : '';
  const next = commandText({ ...command, customer: found?.tenantId, page: command.page + 1 });
  return {
    title: (found ? t('activity.titleCustomer', { customer: found.name }) : t('activity.title')) + since,
    lines: lines.length ? [...lines, t('activity.page', { page: command.page })] : [t('activity.none')],
    actions: rows.length > activityPageSize ? [{ id: 'run', label: t('activity.next'), value: next }] : [],
  };
}

/** `connector status`: honest about what it knows — settings, a token just now, the last error kept in memory. */
async function connectorStatusView(env: Env): Promise<View> {
  const { t } = env;
  if (!env.partnerCenter) return { title: t('connector.title'), tone: 'info', lines: [t('connector.off')] };
  const status = await env.partnerCenter.status();
  const e = status.lastError;
  const otherTenant = env.org.cspTenantId && env.org.cspTenantId.toLowerCase() !== status.tenantId.toLowerCase();
  return {
    title: t('connector.title'),
    tone: status.signIn.ok && !otherTenant ? 'success' : 'warning',
    facts: [
      { label: t('connector.tenant'), value: status.tenantId },
      { label: t('connector.api'), value: status.baseUrl },
      { label: t('connector.signIn'), value: status.signIn.ok ? t('connector.signInOk') : t('connector.signInFailed', { reason: status.signIn.reason }) },
      {
        label: t('connector.lastError'),
        value: e
          ? t('connector.lastErrorValue', { date: formatTimestamp(t, e.at), operation: e.operation, status: e.status, code: e.code, description: e.description, correlationId: e.correlationId })
          : t('connector.noError'),
      },
    ],
    lines: otherTenant ? [t('connector.otherTenant', { tenant: env.org.cspTenantId! })] : [],
  };
}

const openToContacts = new Set<Command['name']>(['help', 'reservations', 'request', 'subscription']);

export async function runParsedCommand(env: Env, command: Command): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  // R-A1: only these are open to customer contacts; each limits them to their own customer.
  if (!openToContacts.has(command.name)) requireStaff(env.actor, command.name);
  const customerId = async (text: string) => (await resolveCustomer(env.db, env.org.id, text)).id;
  switch (command.name) {
    case 'help':
      return helpView(env);
    case 'customers':
      return customersView(env, command.text, command.page);
    case 'customer':
      return customerView(env, await customerId(command.customer));
    case 'allow-reservations':
      requireToggleRole(env.actor);
      return allowView(env, await checkAllowReservations(ctx, await customerId(command.customer)));
    case 'disallow-reservations':
      requireToggleRole(env.actor);
      return disallowView(env, await customerId(command.customer));
    case 'owner-assigned': {
      requireOwnerRole(env.actor);
      const result = await recordOwnerAssigned(ctx, await customerId(command.customer), command.subscription);
      return { tone: 'success', lines: [ownerLine(env, result)] };
    }
    case 'activity':
      return activityView(env, command);
    case 'reservations':
      return reservationsView(env, command.customer);
    case 'request': {
      const { name: _name, ...draft } = command;
      return fileRequestView(env, draft);
    }
    case 'requests':
      return requestsView(env, command.pendingOnly, command.customer);
    case 'approve':
    case 'reject':
      return decideRequestView(env, command.request, command.name, command.name === 'reject' ? command.reason : undefined);
    case 'orders':
      return ordersView(env, await customerId(command.customer));
    case 'price-list':
      return priceListView(env, command.filter);
    case 'marketplace':
      return marketplaceView(env, command.filter, command.page);
    case 'offer':
      return offerView(env, command.offer);
    case 'buy':
      return buyView(env, command);
    case 'subscriptions':
      return subscriptionsView(env, command.customer);
    case 'subscription':
      if (env.actor.kind === 'contact') {
        // R-Q1: a contact's cancel becomes a request for approval; every other edit is for staff.
        if (command.change.kind !== 'cancel') requireStaff(env.actor, command.name);
        return fileSubscriptionRequestView(env, { subscription: command.subscription, ...(command.reason ? { reason: command.reason } : {}) });
      }
      return subscriptionEditView(env, command.subscription, command.change);
    case 'billing':
      return billingView(env, command.customer, command.month);
    case 'support':
      return supportView(env, command.about);
    case 'partners':
      return partnersView(env, command.filter);
    case 'audience':
      return audienceCommandView(env, command.offer, command.action);
    case 'notify-here':
      return notifyHereView(env, command.kinds, command.customers);
    case 'notify-off':
      return notifyOffView(env, command.kinds, command.customers);
    case 'notify-list':
      return notifyListView(env);
    case 'connector-status':
      return connectorStatusView(env);
    case 'notify-failures':
      return notifyFailuresView(env, command.retry);
    case 'channel-here': {
      const outcome = await setChannel(ctx, command.purpose);
      const key = command.purpose === 'activity' ? (outcome === 'set' ? 'channel.set' : 'channel.already') : outcome === 'set' ? 'channel.approvalsSet' : 'channel.approvalsAlready';
      return { tone: 'success', lines: [t(key)] };
    }
  }
}

/** A button click: the value names what it applies to; the rules are checked again now. */
export async function runButton(env: Env, id: Exclude<ActionId, 'run'>, value: string, inputs: Record<string, string> = {}): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  requireStaff(env.actor, id);
  switch (id) {
    case 'cancel':
      return { tone: 'info', lines: [t('common.cancelled')] };
    case 'approve':
      return decideRequestView(env, value, 'approve');
    case 'reject':
      return rejectPromptView(env, value);
    case 'reject-confirm':
      return decideRequestView(env, value, 'reject', inputs.reason);
    case 'buy':
      return boughtView(env, value);
    case 'owner-assigned': {
      const subscription = await subscriptionById(env.db, env.org.id, value);
      if (!subscription) throw new DomainError('error.noMatch', { text: value });
      const result = await recordOwnerAssigned(ctx, subscription.customerId, subscription.id);
      return allowView(env, await checkAllowReservations(ctx, subscription.customerId), [ownerLine(env, result)]);
    }
    case 'allow-reservations':
      return allowView(env, await allowReservations(ctx, value));
    case 'disallow-reservations': {
      const { state, customer } = await disallowReservations(ctx, value);
      const turnedOff = state === 'turned-off';
      return { tone: turnedOff ? 'success' : 'info', lines: [t(turnedOff ? 'disallow.done' : 'disallow.alreadyOff', { customer: customer.name })] };
    }
  }
}
