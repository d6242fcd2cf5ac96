import { parse as parseDate, isValid, format } from '../core/dates.js';
import { tz } from '@date-fns/tz';
import { maxCustomerTextLength } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import type { RequestDraft } from '../core/requests.js';
import { notificationKinds, type BillingTerm, type NotificationKind } from '../../db/schema.js';
import type { CatalogFilter } from '../core/marketplace.js';
import type { SubscriptionChange } from '../core/subscription-edits.js';
import type { DirectoryFilter } from '../core/audience.js';
import { catalogFilterText, filterValueText, parseAudience, parseBuy, parseCatalogFilter, parsePartners, parseSubscriptionEdit, type AudienceAction } from './grammar-marketplace.js';
import { maxReasonLength } from '../core/requests.js';
import { unknownCommand } from './suggest.js';

export type { AudienceAction };

/** What a user asked for, the same from Slack, Teams and the terminal. */
export type Command =
  | { name: 'help' }
  | { name: 'home' }
  | { name: 'customers'; text: string; page: number }
  | { name: 'customer'; customer: string }
  | { name: 'allow-reservations'; customer: string }
  | { name: 'disallow-reservations'; customer: string }
  | { name: 'allow-savings-plans'; customer: string }
  | { name: 'disallow-savings-plans'; customer: string }
  | { name: 'activity'; customer?: string; since?: Date; page: number }
  /** Days (UTC midnight of each calendar day), taken in the organization's time zone; both included. */
  | { name: 'activity-export'; customer?: string; since?: Date; until?: Date }
  | { name: 'owner-assigned'; customer: string; subscription: string }
  | { name: 'channel-here'; purpose: 'activity' | 'approvals' }
  | { name: 'reservations'; customer?: string; page: number }
  | { name: 'orders'; customer: string; page: number }
  | ({ name: 'request' } & RequestDraft)
  | { name: 'requests'; pendingOnly: boolean; customer?: string; page: number }
  | { name: 'approve'; request: string }
  | { name: 'reject'; request: string; reason?: string }
  | { name: 'notify-here' | 'notify-off'; kinds: NotificationKind[]; customers: string[] }
  | { name: 'notify-list' }
  | { name: 'connector-status' }
  | { name: 'notify-failures'; retry: boolean }
  | { name: 'marketplace'; filter: CatalogFilter; page: number }
  | { name: 'price-list'; filter: CatalogFilter }
  | { name: 'offer'; offer: string }
  | { name: 'buy'; offer: string; plan: string; customer: string; seats: number; term?: BillingTerm }
  | { name: 'subscriptions'; customer: string; page: number }
  | { name: 'subscription'; subscription: string; change: SubscriptionChange; reason?: string }
  | { name: 'billing'; customer: string; month?: string }
  | { name: 'support'; about: string }
  | { name: 'partners'; filter: DirectoryFilter; page: number }
  | { name: 'audience'; offer: string; action?: AudienceAction; page: number }
  | { name: 'language'; language?: string }
  | { name: 'channel-language'; language: string }
  | { name: 'settings'; change?: { setting: 'locale' | 'time-zone'; value: string } };

const examples: Record<string, string> = {
  customer: 'customer contoso.com',
  'allow-reservations': 'allow-reservations northwind',
  'disallow-reservations': 'disallow-reservations contoso.com',
  'allow-savings-plans': 'allow-savings-plans northwind',
  'disallow-savings-plans': 'disallow-savings-plans contoso.com',
  'owner-assigned': 'owner-assigned contosopharma.com a1a1a1a1-0000-4000-8000-000000000002',
  activity: 'activity contoso.com since 2026-01-01',
  'activity export': 'activity export contoso.com since 2026-01-01 until 2026-12-31',
  customers: 'customers contoso',
  channel: 'channel activity here',
  orders: 'orders contoso.com',
  reservations: 'reservations contoso.com',
  request: 'request cancel 3f2a because we moved region',
  'request exchange': 'request exchange 3f2a Virtual Machines D8s v5 because we need more memory',
  'request scope': 'request scope 3f2a single a1a1a1a1-0000-4000-8000-000000000001',
  offer: 'offer contoso-crm',
  subscriptions: 'subscriptions 한빛소프트',
  billing: 'billing 高雄精密 2026-03',
  support: 'support contoso-crm',
};


/** `request <kind> <reservation> … [for <customer>] [because <reason>]` (R-Q1). */
function parseRequest(words: string[]): Command {
  const kind = (words.shift() ?? '').toLowerCase();
  if (kind !== 'cancel' && kind !== 'renew' && kind !== 'exchange' && kind !== 'scope') throw new DomainError('request.usage');
  const reservation = words.shift();
  if (!reservation) throw new DomainError('error.missingArgument', { command: `request ${kind}`, argument: '<reservation>', example: examples.request! });
  if (reservation.length > 100) throw new DomainError('error.tooLong', { length: reservation.length, max: 100 }, { terms: { what: 'what.reservation' } });
  const split = (keyword: string) => {
    const at = words.findIndex((w) => w.toLowerCase() === keyword);
    return at === -1 ? undefined : words.splice(at).slice(1).join(' ');
  };
  let reason = split('because');
  const customer = split('for');
  if (customer !== undefined && !customer) throw new DomainError('error.missingArgument', { command: `request ${kind}`, argument: '<customer>', example: examples.request! });
  const request: Command & { name: 'request' } = { name: 'request', kind, reservation, ...(customer ? { customer } : {}) };
  if (kind === 'exchange') {
    if (words[0]?.toLowerCase() === 'to') words.shift();
    const product = words.join(' ');
    if (!product) throw new DomainError('error.missingArgument', { command: 'request exchange', argument: '<new product>', example: examples['request exchange']! });
    if (product.length > maxCustomerTextLength) throw new DomainError('error.tooLong', { length: product.length, max: maxCustomerTextLength }, { terms: { what: 'what.product' } });
    request.product = product;
  } else if (kind === 'scope') {
    const scope = (words.shift() ?? '').toLowerCase();
    if (scope !== 'shared' && scope !== 'single') throw new DomainError('request.scopeUsage', { example: examples['request scope']! });
    request.scope = scope;
    if (scope === 'single') {
      const subscription = words.shift();
      if (!subscription) throw new DomainError('error.missingArgument', { command: 'request scope single', argument: '<subscription>', example: examples['request scope']! });
      request.subscriptionId = subscription;
    }
    if (words.length) reason ??= words.join(' ');
  } else if (words.length) {
    reason ??= words.join(' ');
  }
  if (reason && reason.length > maxReasonLength) throw new DomainError('error.tooLong', { length: reason.length, max: maxReasonLength }, { terms: { what: 'what.reason' } });
  return reason ? { ...request, reason } : request;
}

/**
 * `notify here <kind…> [customer, customer…]`, `notify off [kind…] [customer, …]`,
 * `notify list`, `notify failures [retry]`. Kinds are the leading words that name
 * one (or `all`); what follows names customers, separated by commas (R-N1).
 */
function parseNotify(words: string[]): Command {
  const verb = (words.shift() ?? '').toLowerCase();
  if (verb === 'list' && !words.length) return { name: 'notify-list' };
  if (verb === 'failures') {
    const retry = words.join(' ').toLowerCase();
    if (retry !== '' && retry !== 'retry') throw new DomainError('notify.usage');
    return { name: 'notify-failures', retry: retry === 'retry' };
  }
  if (verb !== 'here' && verb !== 'off') throw new DomainError('notify.usage');
  const kinds = new Set<NotificationKind>();
  const named = new Set<string>();
  while (words.length) {
    const parts = words[0]!.toLowerCase().split(',').filter(Boolean);
    if (!parts.length || !parts.every((k) => k === 'all' || (notificationKinds as readonly string[]).includes(k))) break;
    words.shift();
    for (const k of parts) {
      named.add(k);
      for (const kind of k === 'all' ? notificationKinds : [k as NotificationKind]) kinds.add(kind);
    }
  }
  if (verb === 'here' && !kinds.size) throw new DomainError('notify.kindMissing', { given: (words[0] ?? '').slice(0, 40) });
  const customers = words.join(' ').split(',').map((c) => c.trim()).filter(Boolean);
  // Invoices are the partner's, not a customer's: heard for all customers or not at all.
  if (customers.length && named.has('invoices')) throw new DomainError('notify.invoicesForAll');
  if (customers.length) kinds.delete('invoices');
  for (const customer of customers) {
    if (customer.length > maxCustomerTextLength) throw new DomainError('error.tooLong', { length: customer.length, max: maxCustomerTextLength }, { terms: { what: 'what.customer' } });
  }
  if (customers.length > 20) throw new DomainError('notify.tooManyCustomers', { count: customers.length, max: 20 });
  return { name: verb === 'here' ? 'notify-here' : 'notify-off', kinds: [...kinds], customers };
}

/** Splits off a trailing `page N`. */
function takePage(words: string[], command: string): number {
  const n = words.length;
  if (n >= 2 && words[n - 2]!.toLowerCase() === 'page') {
    const value = words[n - 1]!;
    if (!/^[1-9][0-9]{0,5}$/.test(value)) throw new DomainError('error.badPage', { value: value.slice(0, 20), command });
    words.splice(n - 2, 2);
    return Number(value);
  }
  return 1;
}

/** A calendar day written YYYY-MM-DD, as the UTC midnight that starts it. */
function parseDay(value: string): Date {
  const date = parseDate(value, 'yyyy-MM-dd', new Date(), { in: tz('UTC') });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || !isValid(date) || formatDay(date) !== value) {
    throw new DomainError('error.badDate', { value: value.slice(0, 40) });
  }
  return new Date(date.getTime());
}

function takeSince(words: string[]): Date | undefined {
  const at = words.findIndex((w) => w.toLowerCase() === 'since');
  if (at === -1) return undefined;
  const since = parseDay(words[at + 1] ?? '');
  if (words.length > at + 2) throw new DomainError('error.extraWords', { command: 'activity', words: words.slice(at + 2).join(' ').slice(0, 80), example: examples.activity! });
  words.splice(at, 2);
  return since;
}

/** `activity export [customer] [since YYYY-MM-DD] [until YYYY-MM-DD]`: the days come last, in either order, each once. */
function parseActivityExport(words: string[]): Command {
  const command = 'activity export';
  const at = words.findIndex((w) => /^(since|until)$/i.test(w));
  const tail = at === -1 ? [] : words.splice(at);
  const days: { since?: Date; until?: Date } = {};
  while (tail.length) {
    const keyword = tail[0]!.toLowerCase();
    if ((keyword !== 'since' && keyword !== 'until') || days[keyword]) {
      throw new DomainError('error.extraWords', { command, words: tail.join(' ').slice(0, 80), example: examples[command]! });
    }
    tail.shift();
    days[keyword] = parseDay(tail.shift() ?? '');
  }
  const customer = words.length ? customerArgument(words, command) : undefined;
  return { name: 'activity-export', ...(customer ? { customer } : {}), ...days };
}

function customerArgument(words: string[], command: string): string {
  const customer = words.join(' ');
  if (!customer) throw new DomainError('error.missingArgument', { command, argument: '<customer>', example: examples[command]! });
  if (customer.length > maxCustomerTextLength) {
    throw new DomainError('error.tooLong', { length: customer.length, max: maxCustomerTextLength }, { terms: { what: 'what.customer' } });
  }
  return customer;
}

/** Text after `/csp` (or `csp`, or the CLI's arguments) → a Command, or a DomainError saying what is wrong. */
export function parseCommand(input: string): Command {
  const words = input.normalize('NFKC').trim().split(/\s+/).filter(Boolean);
  const name = (words.shift() ?? 'help').toLowerCase();
  switch (name) {
    case 'help':
      return { name: 'help' };
    case 'home':
      return { name: 'home' };
    case 'customers': {
      const page = takePage(words, name);
      const text = words.join(' ');
      if (text.length > maxCustomerTextLength) throw new DomainError('error.tooLong', { length: text.length, max: maxCustomerTextLength }, { terms: { what: 'what.search' } });
      return { name, text, page };
    }
    case 'customer':
    case 'allow-reservations':
    case 'disallow-reservations':
    case 'allow-savings-plans':
    case 'disallow-savings-plans':
      return { name, customer: customerArgument(words, name) };
    case 'orders':
    case 'subscriptions': {
      const page = takePage(words, name);
      return { name, customer: customerArgument(words, name), page };
    }
    case 'reservations': {
      const page = takePage(words, name);
      return { name, page, ...(words.length ? { customer: customerArgument(words, name) } : {}) };
    }
    case 'activity': {
      if (words[0]?.toLowerCase() === 'export') return parseActivityExport(words.slice(1));
      const page = takePage(words, name);
      const since = takeSince(words);
      const customer = words.length ? customerArgument(words, name) : undefined;
      return { name, page, ...(customer ? { customer } : {}), ...(since ? { since } : {}) };
    }
    case 'owner-assigned': {
      const subscription = words.length >= 2 ? words.pop()! : '';
      if (!subscription) throw new DomainError('error.missingArgument', { command: name, argument: '<customer> <subscription>', example: examples[name]! });
      if (subscription.length > 100) throw new DomainError('error.tooLong', { length: subscription.length, max: 100 }, { terms: { what: 'what.subscriptionId' } });
      return { name, customer: customerArgument(words, name), subscription };
    }
    case 'request':
      return parseRequest(words);
    case 'requests': {
      const page = takePage(words, name);
      const filter = words[0]?.toLowerCase();
      if (filter === 'pending' || filter === 'all') words.shift();
      return { name, pendingOnly: filter !== 'all', page, ...(words.length ? { customer: customerArgument(words, name) } : {}) };
    }
    case 'approve':
    case 'reject': {
      const request = words.shift();
      if (!request) throw new DomainError('error.missingArgument', { command: name, argument: '<request>', example: `${name} c9dbae2f` });
      const reason = words.join(' ');
      if (reason.length > maxReasonLength) throw new DomainError('error.tooLong', { length: reason.length, max: maxReasonLength }, { terms: { what: 'what.reason' } });
      return name === 'reject' && reason ? { name, request, reason } : { name, request };
    }
    case 'notify':
      return parseNotify(words);
    case 'marketplace': {
      const page = takePage(words, name);
      return { name, filter: parseCatalogFilter(words), page };
    }
    case 'price-list':
      return { name, filter: parseCatalogFilter(words) };
    case 'offer': {
      const offer = words.join(' ');
      if (!offer) throw new DomainError('error.missingArgument', { command: name, argument: '<offer>', example: examples.offer! });
      if (offer.length > maxCustomerTextLength) throw new DomainError('error.tooLong', { length: offer.length, max: maxCustomerTextLength }, { terms: { what: 'what.search' } });
      return { name, offer };
    }
    case 'buy':
      return parseBuy(words);
    case 'subscription':
      return parseSubscriptionEdit(words);
    case 'billing': {
      const last = words[words.length - 1];
      const month = last && /^\d{4}-\d{2}$/.test(last) ? words.pop() : undefined;
      if (month && !(Number(month.slice(5)) >= 1 && Number(month.slice(5)) <= 12)) throw new DomainError('billing.badMonth', { value: month });
      return { name, customer: customerArgument(words, name), ...(month ? { month } : {}) };
    }
    case 'partners':
      return parsePartners(words, takePage(words, name));
    case 'audience':
      return parseAudience(words, takePage(words, name));
    case 'support': {
      const about = words.join(' ');
      if (!about) throw new DomainError('error.missingArgument', { command: name, argument: '<offer or subscription>', example: examples.support! });
      return { name, about: about.slice(0, maxCustomerTextLength) };
    }
    case 'connector':
      if (words.length > 1 || (words[0] ?? 'status').toLowerCase() !== 'status') {
        throw new DomainError('error.missingArgument', { command: name, argument: 'status', example: 'connector status' });
      }
      return { name: 'connector-status' };
    case 'language':
      if (words.length > 1) throw new DomainError('language.usage', { value: words.join(' ').slice(0, 40) });
      return words.length ? { name, language: words[0]! } : { name };
    case 'settings': {
      if (!words.length) return { name };
      const setting = words.shift()!.toLowerCase();
      if ((setting !== 'locale' && setting !== 'time-zone') || words.length !== 1) throw new DomainError('settings.usage');
      return { name, change: { setting, value: words[0]! } };
    }
    case 'channel': {
      if (words[0]?.toLowerCase() === 'language') {
        if (words.length !== 2) throw new DomainError('channel.languageUsage', { value: words.slice(1).join(' ').slice(0, 40) });
        return { name: 'channel-language', language: words[1]! };
      }
      const purpose = words.map((w) => w.toLowerCase()).join(' ').replace(/ here$/, '');
      if (!words.length || words[words.length - 1]!.toLowerCase() !== 'here' || (purpose !== 'activity' && purpose !== 'approvals')) {
        throw new DomainError('channel.usage');
      }
      return { name: 'channel-here', purpose };
    }
    default:
      throw unknownCommand(name);
  }
}

/** A day as the grammar writes it (UTC). */
export function formatDay(date: Date): string {
  return format(date, 'yyyy-MM-dd', { in: tz('UTC') });
}

/** The text that parses back to this command: what a "next page" or "choose this customer" button runs. */
export function commandText(command: Command): string {
  const page = (n: number) => (n > 1 ? `page ${n}` : '');
  const words = (() => {
    switch (command.name) {
      case 'help':
        return ['help'];
      case 'home':
        return ['home'];
      case 'customers':
        return ['customers', command.text, page(command.page)];
      case 'customer':
      case 'allow-reservations':
      case 'disallow-reservations':
      case 'allow-savings-plans':
      case 'disallow-savings-plans':
        return [command.name, command.customer];
      case 'orders':
      case 'reservations':
      case 'subscriptions':
        return [command.name, command.customer, page(command.page)];
      case 'activity':
        return ['activity', command.customer, command.since && `since ${formatDay(command.since)}`, page(command.page)];
      case 'activity-export':
        return ['activity', 'export', command.customer, command.since && `since ${formatDay(command.since)}`, command.until && `until ${formatDay(command.until)}`];
      case 'owner-assigned':
        return ['owner-assigned', command.customer, command.subscription];
      case 'channel-here':
        return ['channel', command.purpose, 'here'];
      case 'request':
        return [
          'request',
          command.kind,
          command.reservation,
          command.product,
          command.scope,
          command.subscriptionId,
          command.customer && `for ${command.customer}`,
          command.reason && `because ${command.reason}`,
        ];
      case 'requests':
        return ['requests', command.pendingOnly ? 'pending' : 'all', command.customer, page(command.page)];
      case 'approve':
        return ['approve', command.request];
      case 'reject':
        return ['reject', command.request, command.reason];
      case 'notify-here':
      case 'notify-off':
        return ['notify', command.name === 'notify-here' ? 'here' : 'off', command.kinds.join(','), command.customers.join(', ')];
      case 'notify-list':
        return ['notify', 'list'];
      case 'connector-status':
        return ['connector', 'status'];
      case 'notify-failures':
        return ['notify', 'failures', command.retry && 'retry'];
      case 'marketplace':
        return ['marketplace', ...catalogFilterText(command.filter), page(command.page)];
      case 'price-list':
        return ['price-list', ...catalogFilterText(command.filter)];
      case 'offer':
        return ['offer', command.offer];
      case 'buy':
        return ['buy', command.offer, command.plan, 'for', command.customer, 'seats', String(command.seats), command.term];
      case 'subscription': {
        const c = command.change;
        const change =
          c.kind === 'rename' ? `rename ${c.name}` : c.kind === 'seats' ? `seats ${c.seats}` : c.kind === 'auto-renew' ? `auto-renew ${c.on ? 'on' : 'off'}` : c.kind === 'reseller' ? `reseller ${c.mpnId}` : 'cancel';
        return ['subscription', command.subscription, change, command.reason && `because ${command.reason}`];
      }
      case 'billing':
        return ['billing', command.customer, command.month];
      case 'support':
        return ['support', command.about];
      case 'partners': {
        const f = command.filter;
        return ['partners', f.text, f.country && `country:${f.country}`, f.competency && `competency:${filterValueText(f.competency)}`, f.skill && `skill:${filterValueText(f.skill)}`, page(command.page)];
      }
      case 'audience': {
        const a = command.action;
        const tail = !a
          ? []
          : a.kind === 'set'
            ? ['set', a.option]
            : a.kind === 'add'
              ? ['add', a.partners.join(', '), a.regions.length ? `in ${a.regions.join(',')}` : undefined]
              : a.kind === 'remove'
                ? ['remove', a.partners.join(', ')]
                : a.kind === 'import'
                  ? ['import', a.url]
                  : a.kind === 'grant' || a.kind === 'refuse' || a.kind === 'steps'
                    ? [a.kind, a.request]
                    : [a.kind];
        return ['audience', command.offer, ...tail, page(command.page)];
      }
      case 'language':
        return ['language', command.language];
      case 'channel-language':
        return ['channel', 'language', command.language];
      case 'settings':
        return ['settings', command.change?.setting, command.change?.value];
    }
  })();
  return words.filter(Boolean).join(' ');
}
