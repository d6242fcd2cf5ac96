import { parse as parseDate, isValid, format } from 'date-fns';
import { tz } from '@date-fns/tz';
import { maxCustomerTextLength } from '../core/customers.js';
import { DomainError } from '../core/errors.js';

/** What a user asked for, the same from Slack, Teams and the terminal. */
export type Command =
  | { name: 'help' }
  | { name: 'customers'; text: string; page: number }
  | { name: 'customer'; customer: string }
  | { name: 'allow-reservations'; customer: string }
  | { name: 'disallow-reservations'; customer: string }
  | { name: 'activity'; customer?: string; since?: Date; page: number }
  | { name: 'owner-assigned'; customer: string; subscription: string }
  | { name: 'channel-activity-here' }
  | { name: 'reservations'; customer?: string }
  | { name: 'orders'; customer: string };


const examples: Record<string, string> = {
  customer: 'customer contoso',
  'allow-reservations': 'allow-reservations contoso',
  'disallow-reservations': 'disallow-reservations contoso',
  'owner-assigned': 'owner-assigned contoso a1a1a1a1-0000-4000-8000-000000000001',
  activity: 'activity contoso since 2026-01-01',
  customers: 'customers contoso page 2',
  channel: 'channel activity here',
  orders: 'orders contoso',
  reservations: 'reservations contoso',
};

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

function takeSince(words: string[]): Date | undefined {
  const at = words.findIndex((w) => w.toLowerCase() === 'since');
  if (at === -1) return undefined;
  const value = words[at + 1] ?? '';
  const date = parseDate(value, 'yyyy-MM-dd', new Date(), { in: tz('UTC') });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || !isValid(date) || formatDay(date) !== value) {
    throw new DomainError('error.badDate', { value: value.slice(0, 40) });
  }
  if (words.length > at + 2) throw new DomainError('error.extraWords', { command: 'activity', words: words.slice(at + 2).join(' ').slice(0, 80), example: examples.activity! });
  words.splice(at, 2);
  return new Date(date.getTime());
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
    case 'customers': {
      const page = takePage(words, name);
      const text = words.join(' ');
      if (text.length > maxCustomerTextLength) throw new DomainError('error.tooLong', { length: text.length, max: maxCustomerTextLength }, { terms: { what: 'what.search' } });
      return { name, text, page };
    }
    case 'customer':
    case 'allow-reservations':
    case 'disallow-reservations':
    case 'orders':
      return { name, customer: customerArgument(words, name) };
    case 'reservations':
      return words.length ? { name, customer: customerArgument(words, name) } : { name };
    case 'activity': {
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
    case 'channel':
      if (words.map((w) => w.toLowerCase()).join(' ') !== 'activity here') {
        throw new DomainError('channel.usage');
      }
      return { name: 'channel-activity-here' };
    default:
      throw new DomainError('error.unknownCommand', { name: name.slice(0, 60) });
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
      case 'customers':
        return ['customers', command.text, page(command.page)];
      case 'customer':
      case 'allow-reservations':
      case 'disallow-reservations':
      case 'orders':
      case 'reservations':
        return [command.name, command.customer];
      case 'activity':
        return ['activity', command.customer, command.since && `since ${formatDay(command.since)}`, page(command.page)];
      case 'owner-assigned':
        return ['owner-assigned', command.customer, command.subscription];
      case 'channel-activity-here':
        return ['channel activity here'];
    }
  })();
  return words.filter(Boolean).join(' ');
}
