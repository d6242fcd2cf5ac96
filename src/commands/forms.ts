import { z } from 'zod';
import { billingTerms, notificationKinds, type BillingTerm, type NotificationKind } from '../../db/schema.js';
import { requireAdmin, requirePublisherRole, requireStaff } from '../core/access.js';
import { findPartner, publisherOffer, searchDirectory } from '../core/audience.js';
import { customerById, customerNamedAtStart, maxCustomerTextLength, resolveCustomer, searchCustomers, type Customer } from '../core/customers.js';
import { DomainError } from '../core/errors.js';
import { catalogBatches, findOffer, findPlan, type Offer } from '../core/marketplace.js';
import { audienceOffers, requestableReservations, scopeSubscriptions } from '../core/pickers.js';
import { findReservation, maxReasonLength } from '../core/requests.js';
import type { MessageKey } from '../i18n/index.js';
import { maxFormOptions, type Form, type FormField, type FormOption, type View } from '../views/model.js';
import { errorText, type CommandEnv, type OrgEnv } from './context.js';
import type { Command } from './grammar.js';

/*
 * Forms instead of syntax: a command typed with its arguments missing opens a form (a Slack modal, a
 * Teams card with inputs) whose pickers list what can be chosen. The submission becomes the Command the
 * typed syntax would have given and runs through the same dispatcher, confirmation included.
 */

const formIds = ['buy', 'request', 'notify-here', 'audience-add'] as const;
type FormId = (typeof formIds)[number];
const requestFormKinds = ['cancel', 'renew', 'exchange', 'scope'] as const;
type RequestFormKind = (typeof requestFormKinds)[number];

/** What a form was opened for, carried by its submission: untrusted when it comes back, so parsed. */
const contextSchema = z.object({
  form: z.enum(formIds),
  kind: z.enum(requestFormKinds).optional(),
  customer: z.string().max(maxCustomerTextLength).optional(),
});
type FormContext = z.infer<typeof contextSchema>;

/** A form to open: which one, and what the typed text already said. */
export interface FormRequest {
  context: FormContext;
  given: Record<string, string>;
}

/** A command a form fills in: one the dispatcher runs for an organization. */
type FilledCommand = Exclude<Command, { name: 'home' }>;

/** Field values by field ID; a multi-select's are separated by commas. */
type Values = Record<string, string>;

const listed = (text: string | undefined) => (text ?? '').split(',').map((p) => p.trim()).filter(Boolean);
const isOneOf = <T extends string>(list: readonly T[], value: string | undefined): value is T => (list as readonly string[]).includes(value ?? '');

/** The words before the first `stop` (case-insensitive), and those after it (undefined without one). */
function splitAt(words: string[], stop: string): [string[], string[] | undefined] {
  const at = words.findIndex((w) => w.toLowerCase() === stop);
  return at === -1 ? [words, undefined] : [words.slice(0, at), words.slice(at + 1)];
}

/** `buy [offer] [plan] [for <customer>] [seats <n>] [term]`, as far as it was written. */
function givenBuy(words: string[]): Values {
  const [head, afterSeats] = splitAt(words, 'seats');
  const [named, customer] = splitAt(head, 'for');
  const [seats = '', term = ''] = afterSeats ?? [];
  return { offer: named[0] ?? '', plan: named.slice(1).join(' '), customer: customer?.join(' ') ?? '', seats, term };
}

/** `request [kind] [reservation] … [for <customer>] [because <reason>]`, as far as it was written. */
function givenRequest(words: string[]): FormRequest {
  const kind = words[0]?.toLowerCase();
  // A word that is no kind is a kind mistyped when more follows (`request delete 3f2a`), else the reservation.
  const rest = isOneOf(requestFormKinds, kind) || words.length > 1 ? words.slice(1) : words;
  const [beforeReason, reason] = splitAt(rest, 'because');
  const [change, customer] = splitAt(beforeReason, 'for');
  const [reservation = '', ...details] = change;
  const given: Values = { reservation, reason: reason?.join(' ') ?? '' };
  if (kind === 'exchange') given.product = (details[0]?.toLowerCase() === 'to' ? details.slice(1) : details).join(' ');
  if (kind === 'scope') Object.assign(given, { scope: details[0]?.toLowerCase() ?? '', subscription: details[1] ?? '' });
  const context: FormContext = { form: 'request', ...(isOneOf(requestFormKinds, kind) ? { kind } : {}), ...(customer?.length ? { customer: customer.join(' ').slice(0, maxCustomerTextLength) } : {}) };
  return { context, given };
}

/**
 * The form a command opens instead of the grammar's answer: when the grammar refused it for missing
 * arguments (a usage error), for the four commands with many arguments.
 */
export function formWanted(text: string, error: unknown): FormRequest | undefined {
  if (!(error instanceof DomainError)) return undefined;
  const words = text.normalize('NFKC').trim().split(/\s+/).filter(Boolean);
  const name = (words.shift() ?? '').toLowerCase();
  const verb = words[0]?.toLowerCase();
  switch (name) {
    case 'buy':
      return error.code === 'buy.usage' ? { context: { form: 'buy' }, given: givenBuy(words) } : undefined;
    case 'request':
      return error.code === 'request.usage' || error.code === 'request.scopeUsage' || error.code === 'error.missingArgument' ? givenRequest(words) : undefined;
    case 'notify':
      return verb === 'here' && error.code === 'notify.kindMissing' ? { context: { form: 'notify-here' }, given: { customers: words.slice(1).join(' ') } } : undefined;
    case 'audience': {
      const verbs = ['set', 'add', 'remove', 'publish', 'sync', 'export', 'import', 'grant', 'refuse'];
      const at = words.findIndex((w) => verbs.includes(w.toLowerCase()));
      if (error.code !== 'audience.usage' || words[at]?.toLowerCase() !== 'add') return undefined;
      const [partners, regions] = splitAt(words.slice(at + 1), 'in');
      return { context: { form: 'audience-add' }, given: { offer: words.slice(0, at).join(' '), partners: partners.join(' '), regions: regions?.join(' ') ?? '' } };
    }
    default:
      return undefined;
  }
}

/** What a picker lists from: the customer a request form is for, the offer a buy form is for. */
interface PickerScope {
  customerId?: string;
  offer?: Offer;
}

/** A select's choices from the database: the first ones or those matching typed text, and the one a text names. */
interface Picker {
  choices(env: OrgEnv, scope: PickerScope, text: string, limit: number): Promise<FormOption[]>;
  /** The choice the text names; a DomainError says why none. */
  resolve(env: OrgEnv, scope: PickerScope, text: string): Promise<FormOption>;
  placeholder: MessageKey;
}

const customerOption = (env: OrgEnv, c: Pick<Customer, 'name' | 'domain' | 'tenantId'>): FormOption => ({ value: c.tenantId, label: env.t('form.option.customer', { name: c.name, domain: c.domain }) });
const reservationOption = (env: OrgEnv, r: { id: string; product: string; quantity: number; region: string }, customer: string): FormOption => ({
  value: r.id,
  label: env.t('form.option.reservation', { product: r.product, quantity: r.quantity, region: r.region, customer, id: r.id.slice(0, 8) }),
});
const planOptions = (env: OrgEnv, offer: Offer): FormOption[] =>
  offer.plans.map((p) => ({ value: `${offer.id} ${p.id}`, label: env.t('form.option.plan', { offer: offer.name, plan: p.name }) }));

/** Active Azure subscriptions a single scope can name: those of the request's customer when it is known. */
const subscriptionChoices = async (env: OrgEnv, scope: PickerScope, text: string, limit: number): Promise<FormOption[]> =>
  (await scopeSubscriptions(env.db, { orgId: env.org.id, customerId: scope.customerId, text, limit })).map((s) => ({
    value: s.id,
    label: env.t('form.option.subscription', { name: s.friendlyName ?? s.id, customer: s.customerName, id: s.id }),
  }));

type PickerName = 'customer' | 'plan' | 'reservation' | 'subscription' | 'offer' | 'partner';

const pickers: Record<PickerName, Picker> = {
  customer: {
    placeholder: 'form.find.customer',
    choices: async (env, _scope, text, limit) => (await searchCustomers(env.db, env.org.id, text, 1, limit)).rows.map((c) => customerOption(env, c)),
    resolve: async (env, _scope, text) => customerOption(env, await resolveCustomer(env.db, env.org.id, text)),
  },
  // An offer and plan in one choice (value `<offer ID> <plan ID>`): SaaS offers this partner may resell (R-M2, R-M4).
  plan: {
    placeholder: 'form.find.plan',
    async choices(env, scope, text, limit) {
      if (scope.offer) return planOptions(env, scope.offer);
      const search = async (words: string) => ((await catalogBatches(env.db, env.org, { type: 'saas', ...(words ? { words } : {}) }, limit).next()).value ?? []) as Offer[];
      const typed = text.trim();
      const offers = await search(typed);
      if (offers.length || !/\s/.test(typed)) return offers.flatMap((o) => planOptions(env, o)).slice(0, limit);
      // "<offer ID> <plan>" as typed: the offer by its first word, its plans by the rest.
      const [first = '', ...rest] = typed.split(/\s+/);
      const plan = rest.join(' ').toLowerCase();
      return (await search(first)).flatMap((o) => planOptions(env, o).filter((p) => p.label.toLowerCase().includes(plan) || p.value.toLowerCase().endsWith(` ${plan}`))).slice(0, limit);
    },
    async resolve(env, _scope, text) {
      const [offerText = '', ...plan] = text.trim().split(/\s+/);
      const offer = await findOffer(env.db, env.org, offerText);
      const chosen = findPlan(offer, plan.join(' '));
      return planOptions(env, offer).find((o) => o.value === `${offer.id} ${chosen.id}`)!;
    },
  },
  reservation: {
    placeholder: 'form.find.reservation',
    choices: async (env, scope, text, limit) =>
      (await requestableReservations(env.db, { orgId: env.org.id, customerId: scope.customerId, text, limit })).map((r) => reservationOption(env, r, r.customerName)),
    async resolve(env, _scope, text) {
      // A contact finds only their own customer's (R-A1).
      const r = await findReservation(env.db, env, text.trim());
      return reservationOption(env, r, (await customerById(env.db, env.org.id, r.customerId)).name);
    },
  },
  subscription: {
    placeholder: 'form.find.subscription',
    choices: subscriptionChoices,
    async resolve(env, scope, text) {
      const options = await subscriptionChoices(env, scope, text.trim(), 2);
      const found = options.find((o) => o.value === text.trim()) ?? (options.length === 1 ? options[0] : undefined);
      if (!found) throw new DomainError('request.problemSubscription', { subscription: text.trim() });
      return found;
    },
  },
  offer: {
    placeholder: 'form.find.offer',
    choices: async (env, _scope, text, limit) => (await audienceOffers(env.db, env.org.id, text, limit)).map((o) => ({ value: o.id, label: env.t('offer.title', { name: o.name, id: o.id }) })),
    async resolve(env, _scope, text) {
      const o = await publisherOffer(env.db, env, text);
      return { value: o.id, label: env.t('offer.title', { name: o.name, id: o.id }) };
    },
  },
  partner: {
    placeholder: 'form.find.partner',
    choices: async (env, _scope, text, limit) =>
      (await searchDirectory(env.db, text.trim() ? { text } : {}, 1, limit)).rows.map((p) => ({ value: p.tenantId, label: env.t('form.option.partner', { name: p.name, country: p.country }) })),
    async resolve(env, _scope, text) {
      const p = await findPartner(env.db, text);
      return { value: p.tenantId, label: env.t('form.option.partner', { name: p.name, country: p.country }) };
    },
  },
};

/** Field IDs in each form that pick from the database, and the picker each uses. */
const pickerFields: Record<FormId, Record<string, PickerName>> = {
  buy: { customer: 'customer', plan: 'plan' },
  request: { reservation: 'reservation', subscription: 'subscription' },
  'notify-here': { customers: 'customer' },
  'audience-add': { offer: 'offer', partners: 'partner' },
};

/** A field that picks from the database: its first choices, and what `given` names chosen (or why it names none). */
async function pickerField(env: OrgEnv, picker: PickerName, scope: PickerScope, field: Omit<FormField, 'kind'>, multi: boolean, given: string | undefined): Promise<FormField> {
  const found = await pickers[picker].choices(env, scope, '', maxFormOptions + 1);
  const more = found.length > maxFormOptions;
  const selected: FormOption[] = [];
  let error: string | undefined;
  for (const text of multi ? listed(given) : given?.trim() ? [given] : []) {
    try {
      selected.push(await pickers[picker].resolve(env, scope, text));
    } catch (refusal) {
      if (!(refusal instanceof DomainError)) throw refusal;
      error ??= errorText(env, refusal);
    }
  }
  // A choice made must be among a complete list's options (Slack shows only those).
  const options = more ? found.slice(0, maxFormOptions) : [...selected.filter((s) => !found.some((o) => o.value === s.value)), ...found].slice(0, maxFormOptions);
  return {
    ...field,
    kind: multi ? 'multi-select' : 'select',
    options,
    selected,
    placeholder: env.t(pickers[picker].placeholder),
    ...(more ? { more } : {}),
    ...(!options.length && !more ? { error: env.t('form.noChoices') } : {}),
    ...(error ? { error } : {}),
  };
}

/** A select with fixed choices, and those `given` names chosen. */
function choiceField(field: Omit<FormField, 'kind'>, options: FormOption[], multi: boolean, given: string | undefined): FormField {
  const wanted = (multi ? listed(given) : [given?.trim() ?? '']).map((v) => v.toLowerCase());
  return { ...field, kind: multi ? 'multi-select' : 'select', options, selected: options.filter((o) => wanted.includes(o.value)) };
}

const textField = (field: Omit<FormField, 'kind'>, given: string | undefined): FormField => ({ ...field, kind: 'text', ...(given?.trim() ? { initial: given.trim() } : {}) });

/** Which people may run each form's command (the same checks as the command), so only they get the form. */
function allow(env: OrgEnv, form: FormId): void {
  switch (form) {
    case 'buy':
      requireStaff(env.actor, 'buy');
      requireAdmin(env.actor, 'what.marketplace');
      return;
    case 'request':
      return;
    case 'notify-here':
      requireStaff(env.actor, 'notify-here');
      requireAdmin(env.actor, 'what.notifications');
      return;
    case 'audience-add':
      requirePublisherRole(env.actor, 'manager', 'what.editAudience');
  }
}

/** The customer a request form lists reservations of: a contact's own (R-A1), or the one staff named. */
async function requestScope(env: OrgEnv, context: FormContext): Promise<{ scope: PickerScope; error?: string }> {
  if (env.actor.kind === 'contact') return { scope: { customerId: env.actor.customerId } };
  if (!context.customer) return { scope: {} };
  try {
    return { scope: { customerId: (await resolveCustomer(env.db, env.org.id, context.customer)).id } };
  } catch (error) {
    if (error instanceof DomainError) return { scope: {}, error: errorText(env, error) };
    throw error;
  }
}

/** The kind of a request form: fixed when it was typed, else a field. */
const requestKindOf = (context: FormContext, values: Values): RequestFormKind | undefined => context.kind ?? (isOneOf(requestFormKinds, values.kind) ? values.kind : undefined);

async function fields(env: OrgEnv, context: FormContext, given: Values): Promise<FormField[]> {
  const { t } = env;
  switch (context.form) {
    case 'buy': {
      // An offer typed alone narrows the plans to its own.
      let offer: Offer | undefined;
      let offerError: string | undefined;
      if (given.offer?.trim() && !given.plan?.trim()) {
        try {
          offer = await findOffer(env.db, env.org, given.offer);
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          offerError = errorText(env, error);
        }
      }
      const planGiven = given.plan?.trim() ? [given.offer, given.plan].filter(Boolean).join(' ') : offer?.plans.length === 1 ? `${offer.id} ${offer.plans[0]!.id}` : '';
      const plan = await pickerField(env, 'plan', offer ? { offer } : {}, { id: 'plan', label: t('form.field.plan') }, false, planGiven);
      return [
        await pickerField(env, 'customer', {}, { id: 'customer', label: t('buy.customer') }, false, given.customer),
        offerError ? { ...plan, error: offerError } : plan,
        { id: 'seats', label: t('buy.seats'), kind: 'number', min: 1, max: 9_999_999, ...(/^[1-9][0-9]{0,6}$/.test(given.seats ?? '') ? { initial: given.seats } : {}) },
        choiceField({ id: 'term', label: t('buy.term'), optional: true, hint: t('form.hint.term') }, billingTerms.map((term) => ({ value: term, label: t(`saasTermName.${term}`) })), false, given.term),
      ];
    }
    case 'request': {
      const { scope, error } = await requestScope(env, context);
      const kind = context.kind;
      const reservation = await pickerField(env, 'reservation', scope, { id: 'reservation', label: t('form.field.reservation') }, false, given.reservation);
      return [
        ...(kind ? [] : [choiceField({ id: 'kind', label: t('form.field.kind') }, requestFormKinds.map((k) => ({ value: k, label: t(`form.kind.${k}`) })), false, given.kind)]),
        error ? { ...reservation, error } : reservation,
        ...(!kind || kind === 'exchange'
          ? [textField({ id: 'product', label: t('form.field.product'), maxLength: maxCustomerTextLength, ...(kind ? {} : { optional: true, hint: t('form.hint.product') }) }, given.product)]
          : []),
        ...(!kind || kind === 'scope'
          ? [
              choiceField({ id: 'scope', label: t('form.field.scope'), ...(kind ? {} : { optional: true, hint: t('form.hint.scope') }) }, (['shared', 'single'] as const).map((s) => ({ value: s, label: t(`form.scope.${s}`) })), false, given.scope),
              await pickerField(env, 'subscription', scope, { id: 'subscription', label: t('form.field.subscription'), optional: true, hint: t('form.hint.subscription') }, false, given.subscription),
            ]
          : []),
        textField({ id: 'reason', label: t('request.reason'), optional: true, multiline: true, maxLength: maxReasonLength }, given.reason),
      ];
    }
    case 'notify-here':
      return [
        choiceField({ id: 'kinds', label: t('form.field.kinds') }, notificationKinds.map((k) => ({ value: k, label: t(`notify.kind.${k}`) })), true, given.kinds),
        await pickerField(env, 'customer', {}, { id: 'customers', label: t('form.field.customers'), optional: true, hint: t('form.hint.customers') }, true, given.customers),
      ];
    case 'audience-add':
      return [
        await pickerField(env, 'offer', {}, { id: 'offer', label: t('form.field.offer') }, false, given.offer),
        await pickerField(env, 'partner', {}, { id: 'partners', label: t('form.field.partners') }, true, given.partners),
        textField({ id: 'regions', label: t('form.field.regions'), optional: true, hint: t('form.hint.regions'), maxLength: 100 }, given.regions),
      ];
  }
}

const titles: Record<FormId, { title: MessageKey; submit: MessageKey }> = {
  buy: { title: 'form.buy.title', submit: 'form.buy.submit' },
  request: { title: 'form.request.title', submit: 'form.request.submit' },
  'notify-here': { title: 'form.notify.title', submit: 'form.notify.submit' },
  'audience-add': { title: 'form.audience.title', submit: 'form.audience.submit' },
};

/** The form with `given` filled in and these errors next to their fields (or, under `general`, above them). */
async function form(env: OrgEnv, context: FormContext, given: Values, errors: Values = {}): Promise<Form> {
  const shown = await fields(env, context, given);
  const general = errors[''];
  return {
    title: env.t(titles[context.form].title),
    submit: env.t(titles[context.form].submit),
    value: JSON.stringify(context),
    fields: shown.map((f) => (errors[f.id] ? { ...f, error: errors[f.id] } : f)),
    ...(general ? { error: general } : {}),
  };
}

/** `for <customer> <reason>` as typed by staff: the name ends where the longest start naming a customer does, and the rest is the reason. */
async function customerThenReason(env: OrgEnv, { context, given }: FormRequest): Promise<FormRequest> {
  const found = context.customer && env.actor.kind === 'staff' ? await customerNamedAtStart(env.db, env.org.id, context.customer) : undefined;
  if (!found) return { context, given };
  const rest = context.customer!.trim().split(/\s+/).slice(found.named.split(' ').length).join(' ');
  return { context: { ...context, customer: found.named }, given: { ...given, reason: [rest, given.reason].filter(Boolean).join(' ') } };
}

/** R-A1: the form for a command typed without its arguments, to people who may run it; `lines` say what was missing. */
export async function formView(env: OrgEnv, request: FormRequest, lines: string[]): Promise<View> {
  allow(env, request.context.form);
  const { context, given } = await customerThenReason(env, request);
  return { lines, form: await form(env, context, given) };
}

function readContext(value: string): FormContext {
  try {
    return contextSchema.parse(JSON.parse(value));
  } catch {
    throw new DomainError('error.unknownCommand', { name: 'form' });
  }
}

const regionsOf = (text: string) => text.split(/[\s,]+/).filter(Boolean).map((r) => r.toUpperCase());

/** What is wrong with the values as typed, by field: nothing is looked up yet. */
function check(env: OrgEnv, context: FormContext, values: Values): Values {
  const { t } = env;
  const errors: Values = {};
  const needed = (id: string, label: string) => {
    if (!values[id]) errors[id] = t('form.required', { field: label });
  };
  const tooLong = (id: string, max: number, what: MessageKey) => {
    const length = values[id]?.length ?? 0;
    if (length > max) errors[id] = t('error.tooLong', { length, max, what: t(what) });
  };
  switch (context.form) {
    case 'buy':
      needed('customer', t('buy.customer'));
      needed('plan', t('form.field.plan'));
      if (values.plan && values.plan.split(/\s+/).length < 2) errors.plan = t('form.required', { field: t('buy.plan') });
      if (!/^[1-9][0-9]{0,6}$/.test(values.seats ?? '')) errors.seats = values.seats ? t('buy.badSeats', { value: values.seats.slice(0, 20) }) : t('form.required', { field: t('buy.seats') });
      if (values.term && !isOneOf(billingTerms, values.term)) errors.term = t('form.required', { field: t('buy.term') });
      tooLong('customer', maxCustomerTextLength, 'what.customer');
      break;
    case 'request': {
      const kind = requestKindOf(context, values);
      if (!kind) errors.kind = t('form.required', { field: t('form.field.kind') });
      needed('reservation', t('form.field.reservation'));
      tooLong('reservation', 100, 'what.reservation');
      if (kind === 'exchange') needed('product', t('form.field.product'));
      tooLong('product', maxCustomerTextLength, 'what.product');
      if (kind === 'scope' && !isOneOf(['shared', 'single'], values.scope)) errors.scope = t('form.required', { field: t('form.field.scope') });
      if (kind === 'scope' && values.scope === 'single') needed('subscription', t('form.field.subscription'));
      tooLong('subscription', 100, 'what.subscriptionId');
      tooLong('reason', maxReasonLength, 'what.reason');
      break;
    }
    case 'notify-here': {
      const kinds = listed(values.kinds);
      const customers = listed(values.customers);
      if (!kinds.length || !kinds.every((k) => isOneOf(notificationKinds, k))) errors.kinds = t('form.required', { field: t('form.field.kinds') });
      // Invoices are the partner's, not a customer's (R-N1): heard for all customers or not at all.
      else if (customers.length && kinds.includes('invoices')) errors.kinds = t('notify.invoicesForAll', { prefix: env.prefix });
      if (customers.length > 20) errors.customers = t('notify.tooManyCustomers', { count: customers.length, max: 20 });
      else if (customers.some((c) => c.length > maxCustomerTextLength)) errors.customers = t('error.tooLong', { length: Math.max(...customers.map((c) => c.length)), max: maxCustomerTextLength, what: t('what.customer') });
      break;
    }
    case 'audience-add': {
      needed('offer', t('form.field.offer'));
      if (!listed(values.partners).length) errors.partners = t('form.required', { field: t('form.field.partners') });
      const bad = regionsOf(values.regions ?? '').find((r) => !/^[A-Z]{2}$/.test(r));
      if (bad) errors.regions = t('form.badRegions', { value: bad.slice(0, 20) });
      tooLong('offer', maxCustomerTextLength, 'what.search');
      break;
    }
  }
  return errors;
}

/** The Command the values fill in: the one the typed syntax gives. */
function commandOf(env: OrgEnv, context: FormContext, values: Values): FilledCommand {
  switch (context.form) {
    case 'buy': {
      const [offer = '', ...plan] = values.plan!.split(/\s+/);
      return { name: 'buy', offer, plan: plan.join(' '), customer: values.customer!, seats: Number(values.seats), ...(values.term ? { term: values.term as BillingTerm } : {}) };
    }
    case 'request': {
      const kind = requestKindOf(context, values)!;
      // Staff name the customer they ask for; a contact's own is always theirs.
      const customer = env.actor.kind === 'staff' && context.customer ? { customer: context.customer } : {};
      const details =
        kind === 'exchange'
          ? { product: values.product! }
          : kind === 'scope'
            ? { scope: values.scope as 'shared' | 'single', ...(values.scope === 'single' ? { subscriptionId: values.subscription! } : {}) }
            : {};
      return { name: 'request', kind, reservation: values.reservation!, ...details, ...customer, ...(values.reason ? { reason: values.reason } : {}) };
    }
    case 'notify-here':
      return { name: 'notify-here', kinds: listed(values.kinds) as NotificationKind[], customers: listed(values.customers) };
    case 'audience-add':
      return { name: 'audience', offer: values.offer!, page: 1, action: { kind: 'add', partners: listed(values.partners), regions: regionsOf(values.regions ?? '') } };
  }
}

/** Which field a refusal of the command is about; others are shown above the fields. */
const refusalFields: Record<FormId, Partial<Record<MessageKey, string>>> = {
  buy: {
    'error.noMatch': 'customer', 'error.noMatchClosest': 'customer', 'error.ambiguous': 'customer', 'buy.country': 'customer', 'buy.region': 'customer',
    'offer.unknown': 'plan', 'offer.ambiguous': 'plan', 'offer.unknownPlan': 'plan', 'buy.notSaas': 'plan', 'buy.noPrice': 'term',
  },
  request: {
    'request.unknownReservation': 'reservation', 'request.ambiguousReservation': 'reservation', 'request.notThatCustomer': 'reservation', 'request.problemGone': 'reservation',
    'request.problemNotActive': 'reservation', 'request.problemScopeUnchanged': 'scope', 'request.problemSubscription': 'subscription',
  },
  'notify-here': { 'error.noMatch': 'customers', 'error.noMatchClosest': 'customers', 'error.ambiguous': 'customers' },
  'audience-add': {
    'audience.unknownOffer': 'offer', 'offer.ambiguous': 'offer', 'audience.fixedType': 'offer', 'audience.notSpecific': 'offer', 'partners.unknown': 'partners', 'partners.ambiguous': 'partners',
  },
};

export type FormSubmission =
  | { view: View }
  | {
      command: FilledCommand;
      /** The form again, the command's refusal next to the field it is about. */
      refused(message: string, error: unknown): Promise<View>;
    };

/**
 * A submitted form: the form again with what is wrong next to each field, or the Command to run.
 * Who submits is checked again, as when it opened.
 */
export async function readForm(env: OrgEnv, value: string, inputs: Values): Promise<FormSubmission> {
  const context = readContext(value);
  const values = Object.fromEntries(Object.entries(inputs).map(([id, v]) => [id, v.normalize('NFKC').trim()]));
  const shown = async (errors: Values): Promise<View> => ({ tone: 'error', failed: true, form: await form(env, context, values, errors) });
  try {
    allow(env, context.form);
  } catch (refusal) {
    if (refusal instanceof DomainError) return { view: await shown({ '': errorText(env, refusal) }) };
    throw refusal;
  }
  const errors = check(env, context, values);
  if (Object.keys(errors).length) return { view: await shown(errors) };
  return {
    command: commandOf(env, context, values),
    refused: (message, error) => shown({ [(error instanceof DomainError && refusalFields[context.form][error.code]) || '']: message }),
  };
}

/** The choices of a form's picker matching typed text (Slack's external selects ask as the user types). */
export async function formChoices(env: CommandEnv, value: string, fieldId: string, text: string): Promise<FormOption[]> {
  const { org } = env;
  if (!org || env.actor.kind === 'unknown') return [];
  const orgEnv = { ...env, org };
  const context = readContext(value);
  allow(orgEnv, context.form);
  const picker = pickerFields[context.form][fieldId];
  if (!picker) return [];
  const scope = context.form === 'request' ? (await requestScope(orgEnv, context)).scope : {};
  return pickers[picker].choices(orgEnv, scope, text.slice(0, maxCustomerTextLength), maxFormOptions);
}
