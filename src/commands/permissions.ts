import { confirmOnce } from '../core/confirmations.js';
import { DomainError } from '../core/errors.js';
import {
  allowPermission, checkAllowPermission, checkDisallowPermission, disallowPermission, recordOwnerAssigned, shownCustomerAccount, type AllowResult, type OwnerResult, type PermissionResource,
} from '../core/permissions.js';
import { confirmAllowPermission } from '../core/turn-on.js';
import type { Customer } from '../core/customers.js';
import { formatTimestamp, type MessageKey } from '../i18n/index.js';
import type { ActionId, View } from '../views/model.js';
import { confirmationActions, usedView } from './confirmations.js';
import { coreContext, type OrgEnv } from './context.js';
import { commandText } from './grammar.js';

/* Customer purchase permissions (R-P1–R-P6): the confirmations shown and what their buttons do. */

type Env = OrgEnv;

/** Per resource: its sentences and buttons; the rules are the same (R-P2, R-P5, R-P6). */
const permissionTexts = {
  'azure-reservations': {
    allow: 'allow-reservations',
    disallow: 'disallow-reservations',
    permission: 'customer.permission',
    title: 'allow.title',
    responsibility: 'allow.responsibility',
    noNotice: 'allow.noNotice',
    alreadyOn: 'allow.alreadyOn',
    done: 'allow.done',
    contactsTold: 'allow.contactsTold',
    offTitle: 'disallow.title',
    effect: 'disallow.effect',
    alreadyOff: 'disallow.alreadyOff',
    offDone: 'disallow.done',
    offContactsTold: 'disallow.contactsTold',
  },
  'azure-savings-plans': {
    allow: 'allow-savings-plans',
    disallow: 'disallow-savings-plans',
    permission: 'customer.permissionSavingsPlans',
    title: 'allowSavingsPlans.title',
    responsibility: 'allowSavingsPlans.responsibility',
    noNotice: 'allowSavingsPlans.noNotice',
    alreadyOn: 'allowSavingsPlans.alreadyOn',
    done: 'allowSavingsPlans.done',
    offTitle: 'disallowSavingsPlans.title',
    effect: 'disallowSavingsPlans.effect',
    alreadyOff: 'disallowSavingsPlans.alreadyOff',
    offDone: 'disallowSavingsPlans.done',
  },
} as const satisfies Record<PermissionResource, { allow: ActionId; disallow: ActionId } & Record<string, string>>;

/** After a change that told the customer's contacts directly: how many were told, or that none could be. */
function contactsLine(env: Env, key: MessageKey | undefined, customer: string, told: number | undefined): string[] {
  return key && told !== undefined ? [env.t(key, { count: told, customer })] : [];
}

/** R-P5: Owner is not known; how to assign it (seeds 000/001, "Verify the customer has been assigned the correct role in Azure") and how to record it. */
export function ownerUnknownLines(env: Env, customer: Pick<Customer, 'name' | 'tenantId'>, subscriptionId: string): string[] {
  const { t } = env;
  return [
    t('owner.unknown', { customer: customer.name }),
    t('owner.howTo'),
    t('owner.howToDoc'),
    t('owner.confirmCommand', { command: env.prefix + commandText({ name: 'owner-assigned', customer: customer.tenantId, subscription: subscriptionId }) }),
  ];
}

/** The answer to `allow-reservations` / `allow-savings-plans` and to each of their buttons, by the state the rules found. */
export async function allowView(env: Env, result: AllowResult, extraLines: string[] = [], resource: PermissionResource = 'azure-reservations'): Promise<View> {
  const { t } = env;
  const texts = permissionTexts[resource];
  const { customer } = result;
  const name = customer.name;
  switch (result.state) {
    case 'already-on':
      return { tone: 'info', lines: [...extraLines, t(texts.alreadyOn, { customer: name, date: formatTimestamp(t, result.grant.grantedAt), name: result.grant.grantedBy })] };
    case 'turned-on':
      return { tone: 'success', lines: [...extraLines, t(texts.done, { customer: name }), ...contactsLine(env, 'contactsTold' in texts ? texts.contactsTold : undefined, name, result.contactsTold)] };
    case 'owner-unknown':
      return {
        tone: 'warning',
        title: t('owner.unknownTitle', { customer: name }),
        lines: [...extraLines, ...ownerUnknownLines(env, customer, result.subscriptions[0]!.id)],
        actions: await confirmationActions(
          env,
          result.subscriptions.map((s) => ({
            id: 'owner-assigned' as const,
            kind: 'owner-assigned' as const,
            params: { customerId: customer.id, subscriptionId: s.id, resource },
            label: t('owner.confirmButton', { subscription: s.friendlyName ?? s.id }),
          })),
        ),
      };
    case 'ready':
      return {
        tone: 'warning',
        title: t(texts.title, { customer: name }),
        facts: [{ label: t('allow.subscription'), value: `${result.subscription.friendlyName ?? t(`offer.${result.subscription.offer}`)} (${result.subscription.id})` }],
        lines: [...extraLines, t(texts.responsibility, { customer: name }), t(texts.noNotice)],
        actions: await confirmationActions(env, [{ id: texts.allow, kind: 'allow', params: { customerId: customer.id, resource }, label: t('allow.turnOn'), style: 'primary' }]),
      };
  }
}

export async function disallowView(env: Env, customerId: string, resource: PermissionResource): Promise<View> {
  const { t } = env;
  const texts = permissionTexts[resource];
  // The card only offers: its click reads the database again.
  const check = await checkDisallowPermission(coreContext(env), customerId, resource, shownCustomerAccount);
  const { customer } = check;
  if (check.state !== 'on') return { tone: 'info', lines: [t(texts.alreadyOff, { customer: customer.name })] };
  return {
    tone: 'warning',
    title: t(texts.offTitle, { customer: customer.name }),
    facts: [{ label: t(texts.permission), value: t('customer.permissionOn', { date: formatTimestamp(t, check.grant.grantedAt), name: check.grant.grantedBy }) }],
    lines: [t(texts.effect, { customer: customer.name })],
    actions: await confirmationActions(env, [{ id: texts.disallow, kind: 'disallow', params: { customerId: customer.id, resource }, label: t('disallow.turnOff'), style: 'danger' }]),
  };
}

export function ownerLine(env: Env, result: OwnerResult): string {
  const params = { customer: result.customer.name, subscription: result.subscription.id };
  return env.t(result.state === 'recorded' ? 'owner.recorded' : 'owner.alreadyKnown', params);
}

type ConfirmParams = { customerId: string; subscriptionId: string; resource: PermissionResource };

/** A permission confirmation's parameters, when it is the one the clicked button is for. */
function forResource(params: Record<string, unknown>, resource: PermissionResource): ConfirmParams {
  if (params.resource !== resource) throw new DomainError('error.staleButton');
  return params as ConfirmParams;
}


/** Owner is assigned (R-P5): recorded once, then the Turn on confirmation of the permission it was asked for. */
export async function ownerConfirmedView(env: Env, value: string): Promise<View> {
  const ctx = coreContext(env);
  const confirmed = await confirmOnce(ctx, value, 'owner-assigned', (c, p) => recordOwnerAssigned(c, String(p.customerId), String(p.subscriptionId)), {
    remote: false,
    outcome: (r) => ({ key: r.state === 'recorded' ? 'owner.recorded' : 'owner.alreadyKnown', params: { customer: r.customer.name, subscription: r.subscription.id } }),
  });
  if (confirmed.state === 'used') return usedView(env, confirmed);
  const { result, params } = confirmed;
  // The Turn on confirmation that follows is for the permission the owner question came from.
  const { resource } = params as ConfirmParams;
  const next = await allowView(env, await checkAllowPermission(ctx, result.customer.id, resource), [ownerLine(env, result)], resource);
  return result.state === 'recorded' ? { ...next, committed: true } : next;
}

/** Turn on / Turn off, once (R-P10); with the connector the permission is changed in Partner Center (core/permissions.ts). */
export async function permissionConfirmedView(
  env: Env,
  id: Extract<ActionId, 'allow-reservations' | 'allow-savings-plans' | 'disallow-reservations' | 'disallow-savings-plans'>,
  value: string,
): Promise<View> {
  const { t } = env;
  const ctx = coreContext(env);
  const remote = Boolean(env.partnerCenter);
  if (id === 'allow-reservations' || id === 'allow-savings-plans') {
    const resource = id === 'allow-savings-plans' ? 'azure-savings-plans' : 'azure-reservations';
    const texts = permissionTexts[resource];
    const outcome = { turnedOn: texts.done, unchanged: 'confirmation.noChange' } as const;
    // Without the connector, the click is one statement, shared with the clicks made at the same moment (core/turn-on.ts).
    const confirmed = remote
      ? await confirmOnce(ctx, value, 'allow', (c, p) => allowPermission(c, forResource(p, resource).customerId, resource), {
          remote,
          outcome: (r) => ({ key: r.state === 'turned-on' ? outcome.turnedOn : outcome.unchanged, params: { customer: r.customer.name } }),
        })
      : await confirmAllowPermission(ctx, value, resource, outcome);
    if (confirmed.state === 'used') return usedView(env, confirmed);
    const view = await allowView(env, confirmed.result, [], resource);
    return confirmed.result.state === 'turned-on' ? { ...view, committed: true } : view;
  }
  const resource = id === 'disallow-savings-plans' ? 'azure-savings-plans' : 'azure-reservations';
  const texts = permissionTexts[resource];
  const confirmed = await confirmOnce(ctx, value, 'disallow', (c, p) => disallowPermission(c, forResource(p, resource).customerId, resource), {
    remote,
    outcome: (r) => ({ key: r.state === 'turned-off' ? texts.offDone : texts.alreadyOff, params: { customer: r.customer.name } }),
  });
  if (confirmed.state === 'used') return usedView(env, confirmed);
  const { result } = confirmed;
  const { customer } = result;
  if (result.state !== 'turned-off') return { tone: 'info', lines: [t(texts.alreadyOff, { customer: customer.name })] };
  const told = contactsLine(env, 'offContactsTold' in texts ? texts.offContactsTold : undefined, customer.name, result.contactsTold);
  return { tone: 'success', lines: [t(texts.offDone, { customer: customer.name }), ...told], committed: true };
}
