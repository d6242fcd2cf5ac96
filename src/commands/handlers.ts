import { listActivity, activityPageSize } from '../core/activity.js';
import { requireStaff } from '../core/access.js';
import { resolveCustomer, searchCustomers } from '../core/customers.js';
import { resolveCustomerId } from '../core/customer-names.js';
import { DomainError } from '../core/errors.js';
import { setChannel } from '../core/organizations.js';
import {
  checkAllowPermission, isAzureSubscription, recordOwnerAssigned, requireOwnerRole, requireToggleRole, shownCustomerAccount, type ActivityEntry,
  type CustomerAccount, type PermissionGrant, type Subscription,
} from '../core/permissions.js';
import { formatDay, formatTimestamp, type MessageKey } from '../i18n/index.js';
import type { ActionId, View } from '../views/model.js';
import { coreContext, type OrgEnv } from './context.js';
import { helpView } from './help.js';
import { decideRequestView, doneInAzureView, fileRequestView, fileSubscriptionRequestView, rejectPromptView, requestsView } from './requests.js';
import { audienceCommandView, partnersView } from './audience.js';
import { billingView, boughtView, buyView, marketplaceView, offerView, subscriptionChangedView, subscriptionEditView, subscriptionsView, supportView } from './marketplace.js';
import { cancelledView } from './confirmations.js';
import { allowView, disallowView, ownerConfirmedView, ownerLine, ownerUnknownLines, permissionConfirmedView } from './permissions.js';
import { notifyFailuresView, notifyHereView, notifyListView, notifyOffView } from './notifications.js';
import { priceListView } from './price-list.js';
import { activityExportView } from './activity-export.js';
import { ordersView, reservationsView } from './reservations.js';
import { commandText, type Command } from './grammar.js';
import { syncState } from '../partner-center/sync.js';
import { unreadableRecords } from '../partner-center/audit.js';
import { expiryWarningMs, refreshTokenState } from '../partner-center/tokens.js';
import { channelLanguageView, languageView, settingsView } from './languages.js';
import { requireOrganizationKind, typedName } from './organization-kinds.js';

type Env = OrgEnv;

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

/**
 * Each kept account's view per language, time zone and command prefix: made once and frozen, so its
 * Slack reply is rendered and serialized once too (renderSlack, answerCommand), until the account changes.
 */
const madeCustomerViews = new WeakMap<CustomerAccount, Map<string, View>>();

async function customerView(env: Env, customerId: string): Promise<View> {
  const account = await shownCustomerAccount(env.db, env.org.id, customerId);
  const key = `${env.t.locale}\u0000${env.t.timeZone}\u0000${env.prefix}`;
  let views = madeCustomerViews.get(account);
  if (!views) madeCustomerViews.set(account, (views = new Map()));
  let view = views.get(key);
  if (!view) views.set(key, (view = Object.freeze(makeCustomerView(env, account))));
  return view;
}

function makeCustomerView(env: Env, { customer, grants, subscriptions, recentActivity }: CustomerAccount): View {
  const { t } = env;
  const permission = (grant?: PermissionGrant) =>
    grant ? t('customer.permissionOn', { date: formatTimestamp(t, grant.grantedAt), name: grant.grantedBy }) : t('customer.permissionOff');
  // R-P5: with no known Owner on any active Azure subscription, how to assign it and record it.
  const azure = subscriptions.filter((s) => s.status === 'active' && isAzureSubscription(s));
  const ownerSteps = azure.length && !azure.some((s) => s.ownerRoleAssigned) ? ownerUnknownLines(env, customer, azure[0]!.id) : [];
  return {
    title: t('customer.title', { name: customer.name }),
    facts: [
      { label: t('customer.domain'), value: customer.domain },
      { label: t('customer.tenant'), value: customer.tenantId },
      { label: t('customer.country'), value: customer.billingCountry },
      { label: t('customer.permission'), value: permission(grants['azure-reservations']) },
      { label: t('customer.permissionSavingsPlans'), value: permission(grants['azure-savings-plans']) },
    ],
    lines: [
      t('customer.subscriptions'),
      ...(subscriptions.length ? subscriptions.map((s) => `• ${subscriptionLine(env, s)}`) : [t('customer.noSubscriptions')]),
      ...ownerSteps,
      t('customer.recentActivity'),
      ...(recentActivity.length ? recentActivity.map((row) => `• ${activityLine(env, row)}`) : [t('customer.noActivity')]),
    ],
  };
}

async function activityView(env: Env, command: Extract<Command, { name: 'activity' }>): Promise<View> {
  const { t } = env;
  const found = command.customer ? await resolveCustomer(env.db, env.org.id, command.customer) : undefined;
  const rows = await listActivity(env.db, env.org.id, { customerId: found?.id, since: command.since, page: command.page });
  const lines = rows.slice(0, activityPageSize).map((row) => activityLine(env, row, found ? null : row.customerName));
  const since = command.since ? t('activity.since', { date: formatDay(t, command.since) }) : '';
  const next = commandText({ ...command, customer: found?.tenantId, page: command.page + 1 });
  return {
    title: (found ? t('activity.titleCustomer', { customer: found.name }) : t('activity.title')) + since,
    lines: lines.length ? [...lines, t('activity.page', { page: command.page })] : [t('activity.none')],
    actions: rows.length > activityPageSize ? [{ id: 'run', label: t('activity.next'), value: next }] : [],
  };
}

/** `connector status`: honest about what it knows — settings, a token just now, the last error kept in memory, the last sync. */
export async function connectorStatusView(env: Env): Promise<View> {
  const { t } = env;
  if (!env.partnerCenter) return { title: t('connector.title'), tone: 'info', lines: [t('connector.off')] };
  const [status, sync] = await Promise.all([env.partnerCenter.status(), syncState(env.db, env.org.id)]);
  // Read after the sign-in just tried: a refusal it met is already recorded.
  const [token, unreadable] = await Promise.all([refreshTokenState(env.db, status.tenantId), unreadableRecords(env.db, env.org.id)]);
  const tokenExpiring = token && !token.refusedAt && token.expiresAt.getTime() - expiryWarningMs <= env.now().getTime();
  const e = status.lastError;
  const counts = sync?.lastCounts ?? {};
  // R-A5: the connector acts only for the organization naming its tenant.
  const notActedFor = !env.org.cspTenantId
    ? t('connector.noTenant', { tenant: status.tenantId })
    : env.org.cspTenantId.toLowerCase() !== status.tenantId.toLowerCase()
      ? t('connector.otherTenant', { tenant: env.org.cspTenantId })
      : undefined;
  return {
    title: t('connector.title'),
    tone: status.signIn.ok && !notActedFor && !token?.refusedAt && !tokenExpiring ? 'success' : 'warning',
    facts: [
      { label: t('connector.tenant'), value: status.tenantId },
      { label: t('connector.api'), value: status.baseUrl },
      { label: t('connector.signIn'), value: status.signIn.ok ? t('connector.signInOk') : t('connector.signInFailed', { reason: status.signIn.reason }) },
      {
        label: t('connector.refreshToken'),
        value:
          status.tokenStorage === 'memory' || !token
            ? t('connector.refreshTokenMemory')
            : token.refusedAt
              ? t('connector.refreshTokenRefused', { date: formatTimestamp(t, token.refusedAt), reason: token.refusal ?? '' })
              : t(tokenExpiring ? 'connector.refreshTokenExpiring' : 'connector.refreshTokenValue', { received: formatTimestamp(t, token.receivedAt), expires: formatTimestamp(t, token.expiresAt) }),
      },
      {
        label: t('connector.unreadable'),
        value: unreadable.latest
          ? t('connector.unreadableValue', { count: unreadable.count, date: formatTimestamp(t, unreadable.latest.loggedAt), id: unreadable.latest.recordId, reason: unreadable.latest.reason })
          : t('connector.unreadableNone'),
      },
      {
        label: t('connector.lastError'),
        value: e
          ? t('connector.lastErrorValue', { date: formatTimestamp(t, e.at), operation: e.operation, status: e.status, code: e.code, description: e.description, correlationId: e.correlationId })
          : t('connector.noError'),
      },
      {
        label: t('connector.lastSync'),
        value: sync?.lastFinishedAt
          ? t('connector.lastSyncValue', { date: formatTimestamp(t, sync.lastFinishedAt), customers: counts.customers ?? 0, subscriptions: counts.subscriptions ?? 0, orders: counts.orders ?? 0, reservations: counts.reservations ?? 0, policies: counts.policies ?? 0, changed: counts.changed ?? 0 })
          : t('connector.neverSynced'),
      },
      ...(sync?.runStartedAt ? [{ label: t('connector.currentSync'), value: t('connector.syncUnderWay', { date: formatTimestamp(t, sync.runStartedAt) }) }] : []),
      ...(sync?.lastError && sync.lastErrorAt ? [{ label: t('connector.syncError'), value: t('connector.syncErrorValue', { date: formatTimestamp(t, sync.lastErrorAt), reason: sync.lastError }) }] : []),
    ],
    lines: notActedFor ? [notActedFor] : [],
  };
}

const openToContacts = new Set<Command['name']>(['help', 'reservations', 'request', 'subscription', 'language']);

export async function runParsedCommand(env: Env, command: Exclude<Command, { name: 'home' }>): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  requireOrganizationKind(env.org, command);
  // R-A1: only these are open to customer contacts; each limits them to their own customer.
  if (!openToContacts.has(command.name)) requireStaff(env.actor, typedName(command));
  const customerId = (text: string) => resolveCustomerId(env.db, env.org.id, text);
  switch (command.name) {
    case 'help':
      return helpView(env);
    case 'customers':
      return customersView(env, command.text, command.page);
    case 'customer':
      return customerView(env, await customerId(command.customer));
    case 'allow-reservations':
    case 'allow-savings-plans': {
      requireToggleRole(env.actor);
      const resource = command.name === 'allow-savings-plans' ? 'azure-savings-plans' : 'azure-reservations';
      return allowView(env, await checkAllowPermission(ctx, await customerId(command.customer), resource, shownCustomerAccount), [], resource);
    }
    case 'disallow-reservations':
    case 'disallow-savings-plans':
      requireToggleRole(env.actor);
      return disallowView(env, await customerId(command.customer), command.name === 'disallow-savings-plans' ? 'azure-savings-plans' : 'azure-reservations');
    case 'owner-assigned': {
      requireOwnerRole(env.actor);
      const result = await recordOwnerAssigned(ctx, await customerId(command.customer), command.subscription);
      return { tone: 'success', lines: [ownerLine(env, result)] };
    }
    case 'activity':
      return activityView(env, command);
    case 'activity-export':
      return activityExportView(env, command);
    case 'reservations':
      return reservationsView(env, command.customer, command.page);
    case 'request': {
      const { name: _name, ...draft } = command;
      return fileRequestView(env, draft);
    }
    case 'requests':
      return requestsView(env, command);
    case 'approve':
    case 'reject':
      return decideRequestView(env, command.request, command.name, command.name === 'reject' ? command.reason : undefined);
    case 'orders':
      return ordersView(env, await customerId(command.customer), command.page);
    case 'price-list':
      return priceListView(env, command.filter);
    case 'marketplace':
      return marketplaceView(env, command.filter, command.page);
    case 'offer':
      return offerView(env, command.offer);
    case 'buy':
      return buyView(env, command);
    case 'subscriptions':
      return subscriptionsView(env, command.customer, command.page);
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
      return partnersView(env, command.filter, command.page);
    case 'audience':
      return audienceCommandView(env, command.offer, command.action, command.page);
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
    case 'language':
      return languageView(env, command.language);
    case 'channel-language':
      return channelLanguageView(env, command.language);
    case 'settings':
      return settingsView(env, command.change);
  }
}

/**
 * A button click. A confirmation's button carries the ID of the confirmation shown, which acts
 * once (core/confirmations.ts); the clicker's role and the rules are checked again now.
 */
export async function runButton(env: Env, id: Exclude<ActionId, 'run' | 'form'>, value: string, inputs: Record<string, string> = {}): Promise<View> {
  requireStaff(env.actor, id);
  switch (id) {
    case 'cancel':
      return cancelledView(env, value);
    case 'approve':
      return decideRequestView(env, value, 'approve');
    case 'reject':
      return rejectPromptView(env, value);
    case 'reject-confirm':
      return decideRequestView(env, value, 'reject', inputs.reason);
    case 'done-in-azure':
      return doneInAzureView(env, value);
    case 'buy':
      return boughtView(env, value);
    case 'subscription-edit':
      return subscriptionChangedView(env, value);
    case 'owner-assigned':
      return ownerConfirmedView(env, value);
    case 'allow-reservations':
    case 'allow-savings-plans':
    case 'disallow-reservations':
    case 'disallow-savings-plans':
      return permissionConfirmedView(env, id, value);
  }
}
