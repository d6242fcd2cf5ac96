import { audienceOptions, billingTerms, offerTypes, type AudienceOption, type BillingTerm, type OfferType } from '../../db/schema.js';
import type { DirectoryFilter } from '../core/audience.js';
import { maxCustomerTextLength } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import type { CatalogFilter } from '../core/marketplace.js';
import { mpnIdPattern, type SubscriptionChange } from '../core/subscription-edits.js';
import { maxReasonLength } from '../core/requests.js';
import type { Command } from './grammar.js';

// The marketplace's and publishers' part of the one grammar (grammar.ts).

/** What `audience <offer> …` does; none shows the audience. */
export type AudienceAction =
  | { kind: 'set'; option: AudienceOption }
  | { kind: 'add'; partners: string[]; regions: string[] }
  | { kind: 'remove'; partners: string[] }
  | { kind: 'publish' | 'sync' | 'export' }
  | { kind: 'import'; url: string }
  | { kind: 'grant' | 'refuse' | 'steps'; request: string };


// A double quote, straight or as Slack and phones type it.
const quote = /["“”]/g;

/**
 * The words again with a quoted run kept whole (`skill:"Cloud Security"`, `category:“Data Analytics”`):
 * a filter's value may have spaces. An unclosed quote runs to the end.
 */
export function quotedWords(words: string[]): string[] {
  return words.join(' ').match(/(?:[^\s"“”]+|["“][^"“”]*(?:["”]|$))+/g) ?? [];
}

/** A filter's value as meant: without its quotes. */
const unquoted = (value: string) => value.replace(quote, '').trim();

/** A filter's value as typed back (a Next page button), quoted when it has a space. */
export const filterValueText = (value: string) => (/\s/.test(value) ? `"${value}"` : value);

/** `type:saas`, `category:analytics` (or `category:"data analytics"`), `publisher:partner|microsoft` anywhere; the other words search (R-M1). */
export function parseCatalogFilter(words: string[]): CatalogFilter {
  const filter: CatalogFilter = {};
  const rest: string[] = [];
  for (const word of quotedWords(words)) {
    const [key, ...value] = word.split(':');
    const v = unquoted(value.join(':'));
    switch (value.length ? key!.toLowerCase() : '') {
      case 'type':
        if (!(offerTypes as readonly string[]).includes(v.toLowerCase())) throw new DomainError('marketplace.badType', { value: v.slice(0, 40), types: offerTypes.join(', ') });
        filter.type = v.toLowerCase() as OfferType;
        break;
      case 'category':
        if (!v) throw new DomainError('marketplace.badFilter', { value: word.slice(0, 40) });
        filter.category = v;
        break;
      case 'publisher':
        if (v.toLowerCase() !== 'partner' && v.toLowerCase() !== 'microsoft') throw new DomainError('marketplace.badPublisher', { value: v.slice(0, 40) });
        filter.publisher = v.toLowerCase() as 'partner' | 'microsoft';
        break;
      default:
        rest.push(word);
    }
  }
  const text = rest.join(' ');
  if (text.length > maxCustomerTextLength) throw new DomainError('error.tooLong', { length: text.length, max: maxCustomerTextLength }, { terms: { what: 'what.search' } });
  return text ? { ...filter, words: text } : filter;
}

export function catalogFilterText(filter: CatalogFilter): string[] {
  return [filter.words, filter.type && `type:${filter.type}`, filter.category && `category:${filterValueText(filter.category)}`, filter.publisher && `publisher:${filter.publisher}`].filter(
    (w): w is string => Boolean(w),
  );
}

/** `buy <offer> <plan> for <customer> seats <n> [monthly|annual]` (R-A4). */
export function parseBuy(words: string[]): Command {
  const usage = () => new DomainError('buy.usage');
  const forAt = words.findIndex((w) => w.toLowerCase() === 'for');
  const seatsAt = words.findIndex((w) => w.toLowerCase() === 'seats');
  if (forAt !== 2 || seatsAt < forAt + 2) throw usage();
  const [offer, plan] = words;
  const customer = words.slice(forAt + 1, seatsAt).join(' ');
  const seatsText = words[seatsAt + 1] ?? '';
  if (!/^[1-9][0-9]{0,6}$/.test(seatsText)) throw new DomainError('buy.badSeats', { value: seatsText.slice(0, 20) });
  const tail = words.slice(seatsAt + 2).map((w) => w.toLowerCase());
  if (tail.length > 1 || (tail[0] && !(billingTerms as readonly string[]).includes(tail[0]))) throw usage();
  return { name: 'buy', offer: offer!, plan: plan!, customer, seats: Number(seatsText), ...(tail[0] ? { term: tail[0] as BillingTerm } : {}) };
}

/** `subscription <subscription> rename <name> | seats <n> | auto-renew on|off | reseller <MPN ID> | cancel [because <reason>]` (R-M7). */
export function parseSubscriptionEdit(words: string[]): Command {
  const subscription = words.shift();
  const verb = (words.shift() ?? '').toLowerCase();
  if (!subscription) throw new DomainError('subscription.usage');
  if (subscription.length > 100) throw new DomainError('error.tooLong', { length: subscription.length, max: 100 }, { terms: { what: 'what.subscriptionId' } });
  const rest = words.join(' ');
  const command = (change: SubscriptionChange, reason?: string): Command => ({ name: 'subscription', subscription, change, ...(reason ? { reason } : {}) });
  switch (verb) {
    case 'rename':
      if (!rest) throw new DomainError('subscription.usage');
      if (rest.length > 200) throw new DomainError('error.tooLong', { length: rest.length, max: 200 }, { terms: { what: 'what.subscriptionName' } });
      return command({ kind: 'rename', name: rest });
    case 'seats':
      if (!/^[1-9][0-9]{0,6}$/.test(rest)) throw new DomainError('buy.badSeats', { value: rest.slice(0, 20) });
      return command({ kind: 'seats', seats: Number(rest) });
    case 'auto-renew':
      if (rest.toLowerCase() !== 'on' && rest.toLowerCase() !== 'off') throw new DomainError('subscription.usage');
      return command({ kind: 'auto-renew', on: rest.toLowerCase() === 'on' });
    case 'reseller':
      if (!mpnIdPattern.test(rest)) throw new DomainError('subscription.badMpnId', { value: rest.slice(0, 40) });
      return command({ kind: 'reseller', mpnId: rest });
    case 'cancel': {
      const reason = words[0]?.toLowerCase() === 'because' ? words.slice(1).join(' ') : rest;
      if (reason.length > maxReasonLength) throw new DomainError('error.tooLong', { length: reason.length, max: maxReasonLength }, { terms: { what: 'what.reason' } });
      return command({ kind: 'cancel' }, reason || undefined);
    }
    default:
      throw new DomainError('subscription.usage');
  }
}

/** `partners [name or tenant ID] [country:KR] [competency:…] [skill:…] [page N]` (R-I3), values quoted when they have spaces; the page is already split off. */
export function parsePartners(words: string[], page: number): Command {
  const filter: DirectoryFilter = {};
  const rest: string[] = [];
  for (const word of quotedWords(words)) {
    const [key, ...value] = word.split(':');
    const v = unquoted(value.join(':'));
    const k = value.length ? key!.toLowerCase() : '';
    if (k === 'country') {
      if (!/^[A-Za-z]{2}$/.test(v)) throw new DomainError('partners.badCountry', { value: v.slice(0, 20) });
      filter.country = v.toUpperCase();
    } else if (k === 'competency' || k === 'skill') {
      if (!v) throw new DomainError('marketplace.badFilter', { value: word.slice(0, 40) });
      filter[k] = v;
    } else rest.push(word);
  }
  return { name: 'partners', filter: rest.length ? { ...filter, text: rest.join(' ').slice(0, maxCustomerTextLength) } : filter, page };
}

/**
 * `audience <offer> [page N]` shows the audience; `audience <offer> set any|specific|none | add <partner>, … [in KR,TW] |
 * remove <partner>, … | publish | sync | export | import <url> | grant|refuse <request>` changes it; `steps <request>` shows how to file a support request. The page is already split off.
 */
export function parseAudience(words: string[], page: number): Command {
  const verbs = ['set', 'add', 'remove', 'publish', 'sync', 'export', 'import', 'grant', 'refuse', 'steps'];
  const at = words.findIndex((w) => verbs.includes(w.toLowerCase()));
  const offer = (at === -1 ? words : words.slice(0, at)).join(' ');
  if (!offer) throw new DomainError('audience.usage');
  if (at === -1) return { name: 'audience', offer, page };
  // A change answers with the audience's first page.
  if (page > 1) throw new DomainError('audience.usage');
  const verb = words[at]!.toLowerCase();
  const rest = words.slice(at + 1);
  const list = (items: string[]) => items.join(' ').split(',').map((p) => p.trim()).filter(Boolean);
  switch (verb) {
    case 'set': {
      const option = (rest[0] ?? '').toLowerCase();
      if (rest.length !== 1 || !(audienceOptions as readonly string[]).includes(option)) throw new DomainError('audience.usage');
      return { name: 'audience', offer, page, action: { kind: 'set', option: option as AudienceOption } };
    }
    case 'add':
    case 'remove': {
      const inAt = verb === 'add' ? rest.findIndex((w) => w.toLowerCase() === 'in') : -1;
      const partners = list(inAt === -1 ? rest : rest.slice(0, inAt));
      const regions = inAt === -1 ? [] : list(rest.slice(inAt + 1)).map((r) => r.toUpperCase());
      if (!partners.length || regions.some((r) => !/^[A-Z]{2}$/.test(r))) throw new DomainError('audience.usage');
      return { name: 'audience', offer, page, action: verb === 'add' ? { kind: 'add', partners, regions } : { kind: 'remove', partners } };
    }
    case 'import':
      if (rest.length !== 1 || !/^https?:\/\//i.test(rest[0]!)) throw new DomainError('audience.usage');
      return { name: 'audience', offer, page, action: { kind: 'import', url: rest[0]! } };
    case 'grant':
    case 'refuse':
    case 'steps':
      if (rest.length !== 1) throw new DomainError('audience.usage');
      return { name: 'audience', offer, page, action: { kind: verb, request: rest[0]! } };
    default:
      if (rest.length) throw new DomainError('audience.usage');
      return { name: 'audience', offer, page, action: { kind: verb as 'publish' | 'sync' | 'export' } };
  }
}
