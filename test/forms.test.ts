import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../db/client.js';
import { notificationSubscriptions, offerAudiencePartners, reservationRequests, staff, subscriptions } from '../db/schema.js';
import { runCli } from '../src/adapters/cli/run.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import { slackMessageSchema, slackModalSchema, slackOptionsSchema } from './helpers/block-kit.js';
import { openTestDatabase } from './helpers/database.js';
import { aadUsers, teamId, teamsTenantId, tenants, testOrganization, users } from './helpers/fixture.js';
import { buttons, replyText, slashCommandBody, startTestBot, viewSubmissionBody, type SlackReply } from './helpers/slack.js';
import { testOrgId, unchanged } from './helpers/tables.js';
import { cardActions, cardText, startTeamsTestBot, type AdaptiveCardJson } from './helpers/teams.js';
import { waitFor } from './helpers/wait.js';

// Forms instead of syntax (issue 17): buy, request, notify here and audience add typed without their
// arguments open a form; its submission runs the typed command's Command, confirmation included.

const hanbitReservation = 'r5000000-0000-4000-8000-000000000001';
const taiwanReservation = 'r8000000-0000-4000-8000-000000000001';
const contosoReservation = 'r1000000-0000-4000-8000-000000000001';
const pharmaReservation = 'r2000000-0000-4000-8000-000000000001';
const contosoProduction = 'c0c0c0c0-0000-4000-8000-000000000001';

const reservation = (id: string, product: string, region: string, currency: string) => ({
  id, product, region, quantity: 2, term: 'P1Y', billingPlan: 'monthly', scope: 'shared', price: 120, currency, purchasedBy: 'partner', purchasedAt: '2026-04-01T00:00:00Z',
});

/** The test organization with a SaaS catalog, and reservations of 한빛소프트 and 台灣雲端 besides Contoso's. */
const partnerOrganization = {
  ...testOrganization,
  offers: [
    {
      id: 'hanbit-insight', name: '한빛 인사이트 Analytics', type: 'saas', categories: ['analytics'], countries: ['KR', 'TW', 'US'],
      publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-insight.example' }, landingPageUrl: 'https://hanbit-insight.example/activate',
      plans: [
        { id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }, { term: 'annual', market: 'KR', currency: 'KRW', price: 120000 }] },
        { id: 'pro', name: 'Pro', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 30000 }] },
      ],
    },
    {
      id: 'tw-erp', name: '雲端 ERP', type: 'saas', categories: ['ERP'], countries: ['TW'],
      publisher: { name: '臺灣雲端軟體', supportContact: 'help@tw-erp.example' },
      plans: [{ id: 'standard', name: '標準版', prices: [{ term: 'monthly', market: 'TW', currency: 'TWD', price: 900 }] }],
    },
    {
      id: 'defender-vm', name: 'Defender Appliance VM', type: 'vm', categories: ['security'], countries: ['US', 'KR'],
      publisher: { name: 'Microsoft Corporation', supportContact: 'https://support.microsoft.com' },
      plans: [{ id: 'std', name: 'Standard', prices: [{ term: 'monthly', market: 'US', currency: 'USD', price: 99 }] }],
    },
  ],
  customers: testOrganization.customers.map((c) =>
    c.tenantId === tenants.hanbit
      ? { ...c, reservations: [reservation(hanbitReservation, '가상 머신 D4s v5', 'koreacentral', 'KRW')] }
      : c.tenantId === tenants.taiwanCloud
        ? { ...c, reservations: [reservation(taiwanReservation, '虛擬機器 D2s v5', 'eastasia', 'TWD')] }
        : c,
  ),
};

const isvTeam = 'T0ISVFORM1';
const isvTenant = '0c0c0c0c-0000-4000-8000-00000000000c';
const partner = { seoul: 'c1000000-0000-4000-8000-000000000001', taipei: 'c2000000-0000-4000-8000-000000000002', tokyo: 'c3000000-0000-4000-8000-000000000003' };
const saasOffer = (id: string, name: string, audience: unknown) => ({
  id, name, type: 'saas', publisher: { name: '한빛 애널리틱스', supportContact: 'support@hanbit-isv.example' }, countries: ['KR', 'TW', 'JP'],
  salesMaterialsUrl: 'https://hanbit-isv.example/csp-kit', channelContact: 'csp@hanbit-isv.example',
  plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 12000 }] }],
  audience,
});
const publisherOrganization = {
  organization: { name: '한빛 애널리틱스', kind: 'publisher', slackTeamId: isvTeam, teamsTenantId: isvTenant },
  staff: [
    { name: '林志明', email: 'zhiming@hanbit-isv.example', role: 'manager', slackUserId: 'UISVMANAG', teamsAadObjectId: 'b0000000-0000-4000-8000-000000000002' },
    { name: 'Sam Lee', email: 'sam@hanbit-isv.example', role: 'developer', slackUserId: 'UISVDEVEL', teamsAadObjectId: 'b0000000-0000-4000-8000-000000000003' },
  ],
  offers: [
    saasOffer('hb-specific', '한빛 인사이트', { option: 'specific', published: true, partners: [{ tenantId: partner.seoul, regions: ['KR'] }] }),
    saasOffer('hb-any', '한빛 리포트', { option: 'any', published: true }),
  ],
  partnerDirectory: [
    { name: '서울 클라우드 파트너스', tenantId: partner.seoul, country: 'KR', competencies: ['Cloud Platform'], skills: ['Azure'] },
    { name: '台北雲端夥伴', tenantId: partner.taipei, country: 'TW', competencies: ['Data & AI'], skills: ['Analytics'] },
    { name: 'Tokyo Cloud Works', tenantId: partner.tokyo, country: 'JP', competencies: ['Cloud Platform'], skills: ['Security'] },
  ],
  customers: [],
};

/** A partner with 120 customers: more than a select lists at once. */
const bigTeam = 'T0BIGFORM1';
const bigTenant = '0d0d0d0d-0000-4000-8000-00000000000d';
const bigOrganization = {
  organization: { name: '대형 파트너', slackTeamId: bigTeam, teamsTenantId: bigTenant },
  staff: [{ name: '정다은', email: 'daeun@big.example', role: 'global-admin', slackUserId: 'UBIGADMIN', teamsAadObjectId: 'd0000000-0000-4000-8000-000000000001' }],
  offers: partnerOrganization.offers,
  customers: [
    { name: '한빛소프트 주식회사', domain: 'hanbitsoft.example', tenantId: tenants.hanbit, billingCountry: 'KR', subscriptions: [] },
    ...Array.from({ length: 119 }, (_, i) => ({
      name: `고객사 ${String(i).padStart(3, '0')}`, domain: `c${i}.example`, tenantId: `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`, billingCountry: 'KR', subscriptions: [],
    })),
  ],
};

const people = {
  globalAdmin: { slack: users.globalAdmin, aad: aadUsers.globalAdmin, team: teamId, tenant: teamsTenantId },
  adminAgent: { slack: users.adminAgent, aad: aadUsers.adminAgent, team: teamId, tenant: teamsTenantId },
  salesAgent: { slack: users.salesAgent, aad: aadUsers.salesAgent, team: teamId, tenant: teamsTenantId },
  contact: { slack: users.contact, aad: aadUsers.contact, team: teamId, tenant: teamsTenantId },
  isvManager: { slack: 'UISVMANAG', aad: 'b0000000-0000-4000-8000-000000000002', team: isvTeam, tenant: isvTenant },
  isvDeveloper: { slack: 'UISVDEVEL', aad: 'b0000000-0000-4000-8000-000000000003', team: isvTeam, tenant: isvTenant },
  bigAdmin: { slack: 'UBIGADMIN', aad: 'd0000000-0000-4000-8000-000000000001', team: bigTeam, tenant: bigTenant },
};
type Person = keyof typeof people;

/** A form as the person sees it, the same shape on both platforms. */
interface ShownField {
  id: string;
  label: string;
  /** `search`: a select that takes typed text (Slack searches as it is typed; Teams looks it up when submitted). */
  kind: 'select' | 'multi-select' | 'search' | 'text' | 'number';
  options: { label: string; value: string }[];
  selected: string[];
  initial?: string;
  optional: boolean;
  error?: string;
}
interface ShownForm {
  fields: ShownField[];
  error?: string;
  /** The platform's own form: a modal, or a card with where it was posted. */
  handle: unknown;
}
interface Answer {
  text: string;
  buttons: { label: string; click: () => Promise<Answer> }[];
}
/** What a submission gave: the form again with its errors, or the command's answer. */
type Submitted = { form: ShownForm; answer?: undefined } | { form?: undefined; answer: Answer };

interface FormDriver {
  name: string;
  db: Database;
  /** A command; resolves with what was said and the form that opened, if one did. */
  open(person: Person, text: string): Promise<{ text: string; form?: ShownForm }>;
  submit(person: Person, form: ShownForm, values: Record<string, string | string[]>): Promise<Submitted>;
  close(): Promise<void>;
}

const field = (form: ShownForm | undefined, id: string) => {
  const found = form?.fields.find((f) => f.id === id);
  if (!found) throw new Error(`no field ${id} in ${JSON.stringify(form?.fields.map((f) => f.id))}`);
  return found;
};
const labels = (f: ShownField) => f.options.map((o) => o.label);
const errorsOf = (submitted: Submitted) => Object.fromEntries((submitted.form?.fields ?? []).flatMap((f) => (f.error ? [[f.id, f.error]] : [])));

type Modal = ReturnType<typeof slackModalSchema.parse>;
type ModalBlock = Modal['blocks'][number];
const blockText = (block: ModalBlock | undefined) =>
  block?.type === 'rich_text' ? block.elements.map((s) => s.elements.map((e) => ('text' in e && e.text) || '').join('')).join('') : undefined;

/** A modal's fields: each input block, and the line below it when it holds the field's error. */
function slackForm(modal: Modal): ShownForm {
  const fields = modal.blocks.flatMap((block, i): ShownField[] => {
    if (block.type !== 'input') return [];
    const e = block.element;
    const options = 'options' in e ? e.options.map((o) => ({ label: o.text.text, value: o.value })) : [];
    const selected = 'initial_options' in e ? (e.initial_options ?? []).map((o) => o.value) : 'initial_option' in e && e.initial_option ? [e.initial_option.value] : [];
    const kind = e.type === 'static_select' ? 'select' : e.type === 'multi_static_select' ? 'multi-select' : e.type.endsWith('external_select') ? 'search' : e.type === 'number_input' ? 'number' : 'text';
    const error = blockText(modal.blocks[i + 1]);
    return [{ id: block.block_id, label: block.label.text, kind, options, selected, initial: 'initial_value' in e ? e.initial_value : undefined, optional: Boolean(block.optional), ...(error ? { error } : {}) }];
  });
  const general = modal.blocks[0]?.type === 'rich_text' ? blockText(modal.blocks[0]) : undefined;
  return { fields, ...(general ? { error: general } : {}), handle: modal };
}

async function slackDriver(): Promise<FormDriver> {
  const bot = await startTestBot({ organizations: [partnerOrganization, publisherOrganization, bigOrganization] });
  const signedIn = (person: Person) => ({ user: people[person].slack, team: people[person].team });
  const answer = (person: Person, reply: SlackReply): Answer => ({
    text: replyText(reply),
    buttons: buttons(reply).map((b) => ({
      label: b.text.text,
      click: async () => answer(person, (await bot.click(people[person].slack, b, { team: people[person].team })).reply!),
    })),
  });
  return {
    name: 'Slack',
    db: bot.db,
    async open(person, text) {
      const { user, team } = signedIn(person);
      const trigger = randomUUID();
      const body = new URLSearchParams(slashCommandBody(user, text, bot.slack.responseUrl(randomUUID()), { team }));
      body.set('trigger_id', trigger);
      const response = await bot.post(body.toString());
      const said = replyText(slackMessageSchema.parse(await response.json()) as SlackReply);
      // The reply says so when a form opens; views.open follows the ack.
      if (!said.includes('A form opened')) return { text: said };
      const call = await waitFor('the form', () => bot.slack.calls.find((c) => c.method === 'views.open' && c.body.trigger_id === trigger));
      return { text: said, form: slackForm(slackModalSchema.parse(call.body.view)) };
    },
    async submit(person, form, values) {
      const { user, team } = signedIn(person);
      const modal = form.handle as Modal;
      const state = Object.fromEntries(
        modal.blocks.flatMap((block) => {
          if (block.type !== 'input') return [];
          const given = values[block.block_id];
          const list = given === undefined ? [] : Array.isArray(given) ? given : [given];
          const type = block.element.type;
          const chosen = list.map((value) => ({ value, text: { type: 'plain_text', text: value } }));
          const entry = type.startsWith('multi_') ? { type, selected_options: chosen } : type.endsWith('select') ? { type, selected_option: chosen[0] ?? null } : { type, value: list[0] ?? null };
          return [[block.block_id, { [block.block_id]: entry }]];
        }),
      );
      const responseId = String(JSON.parse(modal.private_metadata).responseUrl).split('/response/')[1]!;
      const answered = bot.slack.responses.filter((r) => r.id === responseId).length;
      const response = await bot.post(viewSubmissionBody(user, modal, state, team));
      const raw = await response.text();
      if (raw) {
        const ack = JSON.parse(raw) as { response_action: string; errors?: Record<string, string>; view?: unknown };
        // The modal stays as the person left it, each error below its field.
        if (ack.response_action === 'errors') {
          const kept = (f: ShownField) => (f.kind === 'text' || f.kind === 'number' ? { initial: values[f.id] as string | undefined } : { selected: [values[f.id] ?? []].flat() });
          return { form: { ...form, fields: form.fields.map((f) => ({ ...f, ...kept(f), error: ack.errors![f.id] })) } };
        }
        expect(ack.response_action).toBe('update');
        return { form: slackForm(slackModalSchema.parse(ack.view)) };
      }
      const posted = await waitFor('the answer', () => bot.slack.responses.filter((r) => r.id === responseId)[answered]);
      const reply = slackMessageSchema.parse(posted.body) as SlackReply;
      expect(reply.response_type).toBe('ephemeral');
      return { answer: answer(person, reply) };
    },
    close: () => bot.close(),
  };
}

type CardElement = NonNullable<AdaptiveCardJson['body']>[number] & {
  id?: string; label?: string; choices?: { title: string; value: string }[]; isMultiSelect?: boolean; value?: string | number; isRequired?: boolean;
  inlines?: { text: string; color?: string; isSubtle?: boolean }[];
};

/** A card's inputs as fields, each with the error line below it (an Attention run), and one above them all. */
function teamsForm(card: AdaptiveCardJson | undefined, replyToId: string): ShownForm | undefined {
  const body = (card?.body ?? []) as CardElement[];
  const firstInput = body.findIndex((e) => e.type.startsWith('Input.'));
  if (firstInput === -1) return undefined;
  const errorAt = (e: CardElement | undefined) => (e?.type === 'RichTextBlock' && e.inlines?.[0]?.color === 'Attention' ? e.inlines.map((r) => r.text).join('') : undefined);
  const fields = body.flatMap((e, i): ShownField[] => {
    if (!e.type.startsWith('Input.')) return [];
    const next = body.findIndex((x, j) => j > i && x.type.startsWith('Input.'));
    const error = body.slice(i + 1, next === -1 ? undefined : next).map(errorAt).find(Boolean);
    const value = e.value === undefined ? undefined : String(e.value);
    const kind = e.type === 'Input.ChoiceSet' ? (e.isMultiSelect ? 'multi-select' : 'select') : e.type === 'Input.Number' ? 'number' : 'text';
    return [{
      id: e.id!, label: e.label!, kind, options: (e.choices ?? []).map((c) => ({ label: c.title, value: c.value })),
      selected: kind.endsWith('select') && value ? value.split(',') : [], initial: value, optional: !e.isRequired, ...(error ? { error } : {}),
    }];
  });
  const general = body.slice(0, firstInput).map(errorAt).find(Boolean);
  return { fields, ...(general ? { error: general } : {}), handle: { card, replyToId } };
}

async function teamsDriver(): Promise<FormDriver> {
  const bot = await startTeamsTestBot({ organizations: [partnerOrganization, publisherOrganization, bigOrganization] });
  const answer = (person: Person, card: AdaptiveCardJson | undefined, replyToId: string): Answer => ({
    text: cardText(card),
    buttons: cardActions(card).map((a) => ({
      label: a.title,
      click: async () => {
        const { value = '', ...data } = a.data ?? {};
        const clicked = await bot.click(people[person].aad, { verb: a.verb!, value, inputs: data }, replyToId, { tenantId: people[person].tenant });
        return answer(person, clicked.card, replyToId);
      },
    })),
  });
  return {
    name: 'Teams',
    db: bot.db,
    async open(person, text) {
      const { card, replyToId } = await bot.message(people[person].aad, text, { tenantId: people[person].tenant });
      return { text: cardText(card), form: teamsForm(card, replyToId!) };
    },
    async submit(person, form, values) {
      const { card, replyToId } = form.handle as { card: AdaptiveCardJson; replyToId: string };
      const submit = cardActions(card).find((a) => a.verb === 'form')!;
      const { value = '', ...data } = submit.data ?? {};
      // Teams puts each input's value beside the action's data; a multi-select's separated by commas.
      const inputs = Object.fromEntries(Object.entries(values).map(([id, v]) => [id, Array.isArray(v) ? v.join(',') : v]));
      const result = await bot.click(people[person].aad, { verb: 'form', value, inputs: { ...data, ...inputs } }, replyToId, { tenantId: people[person].tenant });
      const again = teamsForm(result.card, replyToId);
      return again ? { form: again } : { answer: answer(person, result.card, replyToId) };
    },
    close: () => bot.close(),
  };
}

describe.each([
  { name: 'Slack', start: slackDriver },
  { name: 'Teams', start: teamsDriver },
])('$name: forms instead of syntax', ({ start }) => {
  let p: FormDriver;
  beforeAll(async () => {
    p = await start();
  });
  afterAll(() => p?.close());

  it('R-A4 buy without arguments opens a form with customer and SaaS plan pickers; a partial command fills in what it said', async () => {
    const opened = await unchanged(p.db, () => p.open('adminAgent', 'buy'));
    expect(opened.text).toContain('buy <offer> <plan> for <customer> seats <n>');
    const form = opened.form!;
    expect(labels(field(form, 'customer'))).toEqual(expect.arrayContaining(['한빛소프트 주식회사 (hanbitsoft.example)', '台灣雲端科技股份有限公司 (twcloud.example)', 'Café Lumière (cafe-lumiere.example)']));
    // R-M2, R-M4: the SaaS plans this partner may resell (한빛 리포트's audience is any partner), not the VM offer.
    expect(labels(field(form, 'plan')).sort()).toEqual(['한빛 인사이트 Analytics — Basic', '한빛 인사이트 Analytics — Pro', '한빛 리포트 — Basic', '雲端 ERP — 標準版'].sort());
    expect(field(form, 'seats').kind).toBe('number');
    expect(field(form, 'term')).toMatchObject({ kind: 'select', optional: true, options: [{ value: 'monthly', label: 'monthly' }, { value: 'annual', label: 'annual' }] });

    const partial = (await p.open('adminAgent', 'buy hanbit-insight pro for 한빛소프트')).form!;
    expect(field(partial, 'customer').selected).toEqual([tenants.hanbit]);
    expect(field(partial, 'plan').selected).toEqual(['hanbit-insight pro']);
    expect(field(partial, 'seats').initial).toBeUndefined();
    // An offer named alone narrows the plans to its own.
    expect(labels(field((await p.open('adminAgent', 'buy tw-erp')).form!, 'plan'))).toEqual(['雲端 ERP — 標準版']);
    // What cannot be found is said next to its field.
    expect(field((await p.open('adminAgent', 'buy tw-erp standard for 없는회사')).form!, 'customer').error).toContain('No customer matches "없는회사"');
  });

  it('R-A4 R-M5 a buy form\'s wrong input is told next to its field and changes nothing; a right one asks the same confirmation as typed', async () => {
    const { form } = await p.open('adminAgent', 'buy');
    const wrong = await unchanged(p.db, () => p.submit('adminAgent', form!, { plan: 'hanbit-insight basic', seats: '0' }));
    expect(errorsOf(wrong)).toEqual({ customer: 'Customer is needed.', seats: 'Seats must be a whole number from 1 to 9,999,999, not "0".' });
    const france = await unchanged(p.db, () => p.submit('adminAgent', form!, { customer: tenants.cafe, plan: 'hanbit-insight basic', seats: '3' }));
    expect(errorsOf(france)).toEqual({ customer: '한빛 인사이트 Analytics is not sold to customers billed in FR, so Café Lumière cannot buy it. It is sold in: KR, TW, US.' });
    // What was chosen stays chosen.
    expect(field(france.form, 'plan').selected).toEqual(['hanbit-insight basic']);

    const typed = await unchanged(p.db, () => p.open('adminAgent', 'buy hanbit-insight basic for 한빛소프트 seats 3 annual'));
    const submitted = await unchanged(p.db, () => p.submit('adminAgent', form!, { customer: tenants.hanbit, plan: 'hanbit-insight basic', seats: '3', term: 'annual' }));
    const confirmation = submitted.answer!;
    for (const words of ['Buy 한빛 인사이트 Analytics for 한빛소프트 주식회사?', '한빛 인사이트 Analytics — Basic', '₩120,000']) {
      expect(confirmation.text).toContain(words);
      expect(typed.text).toContain(words);
    }
    expect(confirmation.buttons.map((b) => b.label)).toEqual(['Buy', 'Cancel']);
    const bought = await confirmation.buttons[0]!.click();
    expect(bought.text).toContain('Bought 한빛 인사이트 Analytics for 한빛소프트 주식회사');
    const rows = await p.db.select().from(subscriptions).where(eq(subscriptions.offerId, 'hanbit-insight'));
    expect(rows.map((s) => [s.planId, s.seats, s.term])).toEqual([['basic', 3, 'annual']]);
  });

  it('R-A4 who submits a form is checked again: a role lost since it opened is told above the fields, and nothing changes', async () => {
    const { form } = await p.open('globalAdmin', 'buy tw-erp standard for 台灣雲端');
    const [admin] = await p.db.update(staff).set({ role: 'sales-agent' }).where(eq(staff.name, '박지훈')).returning();
    try {
      const refused = await unchanged(p.db, () => p.submit('globalAdmin', form!, { customer: tenants.taiwanCloud, plan: 'tw-erp standard', seats: '2' }));
      expect(refused.form!.error).toBe('Your role is sales agent. Buying or changing marketplace subscriptions needs the admin agent or global admin role; ask someone with that role.');
      expect(field(refused.form, 'customer').selected).toEqual([tenants.taiwanCloud]);
    } finally {
      await p.db.update(staff).set({ role: 'global-admin' }).where(eq(staff.id, admin!.id));
    }
  });

  it('R-A1 R-Q1 a customer contact\'s request form lists only their own customer\'s reservations and subscriptions', async () => {
    const opened = await unchanged(p.db, () => p.open('contact', 'request'));
    expect(opened.text).toContain('request cancel, renew, exchange or scope');
    const form = opened.form!;
    expect(field(form, 'kind').options.map((o) => o.value)).toEqual(['cancel', 'renew', 'exchange', 'scope']);
    expect(field(form, 'reservation').options.map((o) => o.value).sort()).toEqual([contosoReservation, 'r1000000-0000-4000-8000-000000000002']);
    expect(labels(field(form, 'reservation'))).toContain('Virtual Machines D2s v5 × 4, koreacentral — Contoso Ltd (r1000000)');
    expect(field(form, 'subscription').options.map((o) => o.value)).toEqual([contosoProduction]);

    // Staff see every customer's, and a kind typed leaves only its own fields.
    const staff = (await p.open('adminAgent', 'request cancel')).form!;
    expect(staff.fields.map((f) => f.id)).toEqual(['reservation', 'reason']);
    expect(labels(field(staff, 'reservation'))).toEqual(expect.arrayContaining([
      '가상 머신 D4s v5 × 2, koreacentral — 한빛소프트 주식회사 (r5000000)',
      '虛擬機器 D2s v5 × 2, eastasia — 台灣雲端科技股份有限公司 (r8000000)',
      'App Service Premium v3 × 1, japaneast — Contoso Pharmaceuticals (r2000000)',
    ]));
    // Staff naming the customer see that customer's alone; the words after its name are the reason.
    const forHanbit = (await p.open('adminAgent', 'request exchange r5000000 for 한빛소프트 주식회사 너무 비싸요')).form!;
    expect(field(forHanbit, 'reservation')).toMatchObject({ selected: [hanbitReservation], options: [{ value: hanbitReservation }] });
    expect(field(forHanbit, 'reason').initial).toBe('너무 비싸요');
  });

  it('R-Q1 R-P12 a request form\'s wrong input is told next to its field and changes nothing; a right one files the request as typed', async () => {
    // The typed command's own answer still says what is missing; the form holds what was typed.
    const partial = await unchanged(p.db, () => p.open('adminAgent', 'request exchange r2000000'));
    expect(partial.text).toContain('request exchange needs <new product>');
    expect(field(partial.form, 'reservation').selected).toEqual([pharmaReservation]);
    expect(field(partial.form, 'product').optional).toBe(false);

    const { form } = await p.open('contact', 'request');
    const missing = await unchanged(p.db, () => p.submit('contact', form!, { kind: 'exchange', reservation: contosoReservation }));
    expect(errorsOf(missing)).toEqual({ product: 'New product is needed.' });
    const single = await unchanged(p.db, () => p.submit('contact', form!, { kind: 'scope', reservation: contosoReservation, scope: 'single' }));
    expect(errorsOf(single)).toEqual({ subscription: 'Subscription of a single scope is needed.' });
    // Another customer's reservation, sent anyway, is not found for a contact (R-A1).
    const other = await unchanged(p.db, () => p.submit('contact', form!, { kind: 'cancel', reservation: pharmaReservation }));
    expect(errorsOf(other)).toEqual({ reservation: `No reservation "${pharmaReservation}" was found. ${p.name === 'Slack' ? '/csp ' : '@csp-ops '}reservations lists them.` });

    const filed = await p.submit('contact', form!, { kind: 'scope', reservation: contosoReservation, scope: 'single', subscription: contosoProduction, reason: '운영 구독만 쓰려고 합니다' });
    expect(filed.answer!.text).toContain(`Your request to change reservation ${contosoReservation} to subscription ${contosoProduction} was sent to the partner for approval`);
    const [request] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.reservationId, contosoReservation));
    expect(request).toMatchObject({ kind: 'scope', status: 'pending', reason: '운영 구독만 쓰려고 합니다', details: { scope: 'single', subscriptionId: contosoProduction } });
    expect(request!.requestedByContactId).not.toBeNull();

    const cancel = (await p.open('adminAgent', 'request cancel')).form!;
    const staffFiled = await p.submit('adminAgent', cancel, { reservation: taiwanReservation, reason: '不再需要' });
    expect(staffFiled.answer!.text).toContain(`cancel reservation ${taiwanReservation}`);
    const [taiwan] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.reservationId, taiwanReservation));
    expect(taiwan).toMatchObject({ kind: 'cancel', reason: '不再需要', requestedByName: '王小明' });

    // Staff asking for a named customer: the customer is checked as typed (R-Q1), the reason kept.
    const exchange = (await p.open('adminAgent', 'request exchange r5000000 for 한빛소프트 주식회사 너무 비싸요')).form!;
    const exchanged = await p.submit('adminAgent', exchange, { reservation: hanbitReservation, product: '가상 머신 D2s v5', reason: field(exchange, 'reason').initial! });
    expect(exchanged.answer!.text).toContain(`exchange reservation ${hanbitReservation} for 가상 머신 D2s v5`);
    const [hanbit] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.reservationId, hanbitReservation));
    expect(hanbit).toMatchObject({ kind: 'exchange', reason: '너무 비싸요', details: { product: '가상 머신 D2s v5' } });
  });

  it('R-N1 notify here without kinds opens a form of kinds and customers, to admins only; its answer is the typed command\'s', async () => {
    const opened = await unchanged(p.db, () => p.open('adminAgent', 'notify here 한빛소프트'));
    expect(opened.text).toContain('Say what this channel should hear');
    const form = opened.form!;
    expect(field(form, 'kinds')).toMatchObject({ kind: 'multi-select', options: [
      { value: 'purchases', label: 'customer purchases' }, { value: 'permissions', label: 'permission changes' }, { value: 'requests', label: 'requests' },
      { value: 'subscriptions', label: 'subscription changes' }, { value: 'invoices', label: 'Partner Center invoices' },
    ] });
    expect(field(form, 'customers')).toMatchObject({ kind: 'multi-select', optional: true, selected: [tenants.hanbit] });

    const refused = await unchanged(p.db, () => p.open('salesAgent', 'notify here'));
    expect(refused.text).toContain('Your role is sales agent. Choosing what a channel is told needs the admin agent or global admin role');
    expect(refused.form).toBeUndefined();

    const none = await unchanged(p.db, () => p.submit('adminAgent', form, { customers: [tenants.hanbit] }));
    expect(errorsOf(none)).toEqual({ kinds: 'What this channel hears is needed.' });
    const invoices = await unchanged(p.db, () => p.submit('adminAgent', form, { kinds: ['invoices'], customers: [tenants.hanbit] }));
    expect(errorsOf(invoices).kinds).toContain('Partner Center invoices are the partner\'s, not a customer\'s');

    const added = await p.submit('adminAgent', form, { kinds: ['purchases', 'requests'], customers: [tenants.hanbit, tenants.taiwanCloud] });
    expect(added.answer!.text).toContain('This channel will now hear about customer purchases, requests for 한빛소프트 주식회사, 台灣雲端科技股份有限公司.');
    // The channel the command was typed in.
    const channel = p.name === 'Slack' ? 'C0OPS00001' : '19:ops-channel@thread.tacv2';
    const rows = await p.db.select().from(notificationSubscriptions).where(eq(notificationSubscriptions.orgId, await testOrgId(p.db)));
    expect(rows.map((r) => [r.kind, r.channelId]).sort()).toEqual([['purchases', channel], ['purchases', channel], ['requests', channel], ['requests', channel]]);
  });

  it('R-I3 audience add without partners opens a form of the publisher\'s offers and the partner directory, to owners and managers', async () => {
    const opened = await unchanged(p.db, () => p.open('isvManager', 'audience 한빛 인사이트 add'));
    const form = opened.form!;
    expect(field(form, 'offer').selected).toEqual(['hb-specific']);
    expect(labels(field(form, 'offer')).sort()).toEqual(['한빛 리포트 (hb-any)', '한빛 인사이트 (hb-specific)']);
    expect(labels(field(form, 'partners')).sort()).toEqual(['Tokyo Cloud Works (JP)', '서울 클라우드 파트너스 (KR)', '台北雲端夥伴 (TW)'].sort());
    const refused = await unchanged(p.db, () => p.open('isvDeveloper', 'audience hb-specific add'));
    expect(refused.text).toContain('Changing CSP audiences needs');
    expect(refused.form).toBeUndefined();

    const regions = await unchanged(p.db, () => p.submit('isvManager', form, { offer: 'hb-specific', partners: [partner.tokyo], regions: 'Japan' }));
    expect(errorsOf(regions)).toEqual({ regions: 'Regions are two-letter country codes such as KR, TW, not "JAPAN".' });
    const notSpecific = await unchanged(p.db, () => p.submit('isvManager', form, { offer: 'hb-any', partners: [partner.taipei] }));
    expect(errorsOf(notSpecific).offer).toContain('The draft audience of 한빛 리포트 is not "specific partners"');

    const saved = await p.submit('isvManager', form, { offer: 'hb-specific', partners: [partner.tokyo, partner.taipei], regions: 'jp, tw' });
    expect(saved.answer!.text).toContain('Saved as a draft');
    expect(saved.answer!.text).toContain(`Tokyo Cloud Works — ${partner.tokyo} — JP, TW — added in the draft`);
    const drafted = await p.db.select().from(offerAudiencePartners).where(eq(offerAudiencePartners.tenantId, partner.tokyo));
    expect(drafted.map((r) => [r.offerId, r.draft, r.regions])).toEqual([['hb-specific', true, ['JP', 'TW']]]);
  });

  it('a picker with more customers than a select lists takes typed text: Slack searches as it is typed, Teams looks it up on submit', async () => {
    const { form } = await p.open('bigAdmin', 'buy');
    const customer = field(form, 'customer');
    expect(customer.kind).toBe(p.name === 'Slack' ? 'search' : 'text');
    const typed = p.name === 'Slack' ? tenants.hanbit : '한빛소프트';
    const submitted = await p.submit('bigAdmin', form!, { customer: typed, plan: 'hanbit-insight basic', seats: '2' });
    expect(submitted.answer!.text).toContain('Buy 한빛 인사이트 Analytics for 한빛소프트 주식회사?');
    const ambiguous = await p.submit('bigAdmin', form!, { customer: p.name === 'Slack' ? 'no-such-tenant' : '고객사 01', plan: 'hanbit-insight basic', seats: '2' });
    expect(errorsOf(ambiguous).customer).toContain(p.name === 'Slack' ? 'No customer matches "no-such-tenant"' : '10 customers match "고객사 01"');
  });
});

describe('Slack: a form\'s picker of more than 100 customers searches as the user types', () => {
  const env = {} as { bot: Awaited<ReturnType<typeof startTestBot>> };
  beforeAll(async () => {
    env.bot = await startTestBot({ organizations: [bigOrganization] });
  });
  afterAll(() => env.bot?.close());

  it('block_suggestion answers the customers whose name, domain or tenant ID holds the typed text, to staff who may buy', async () => {
    const { bot } = env;
    const trigger = randomUUID();
    const body = new URLSearchParams(slashCommandBody('UBIGADMIN', 'buy', bot.slack.responseUrl(randomUUID()), { team: bigTeam }));
    body.set('trigger_id', trigger);
    await bot.post(body.toString());
    const call = await waitFor('the form', () => bot.slack.calls.find((c) => c.method === 'views.open' && c.body.trigger_id === trigger));
    const modal = slackModalSchema.parse(call.body.view);
    const customer = modal.blocks.find((b) => b.type === 'input' && b.block_id === 'customer');
    expect(customer).toMatchObject({ element: { type: 'external_select', min_query_length: 0 } });
    const suggest = async (value: string) => {
      const payload = {
        type: 'block_suggestion', action_id: 'customer', block_id: 'customer', value, api_app_id: 'A0CSPOPS01', token: 'legacy-token',
        team: { id: bigTeam, domain: 'big' }, user: { id: 'UBIGADMIN', name: 'ubigadmin', team_id: bigTeam }, container: { type: 'view', view_id: 'V0FORM0001' },
        view: { id: 'V0FORM0001', type: 'modal', callback_id: modal.callback_id, private_metadata: modal.private_metadata, state: { values: {} } },
      };
      const response = await bot.post(`payload=${encodeURIComponent(JSON.stringify(payload))}`);
      return slackOptionsSchema.parse(await response.json()).options.map((o) => [o.text.text, o.value]);
    };
    expect(await suggest('한빛')).toEqual([['한빛소프트 주식회사 (hanbitsoft.example)', tenants.hanbit]]);
    // By domain: c11.example and c110.example to c118.example, by name.
    expect(await suggest('c11')).toEqual([11, 110, 111, 112, 113, 114, 115, 116, 117, 118].map((i) => [`고객사 ${String(i).padStart(3, '0')} (c${i}.example)`, `e0000000-0000-4000-8000-${String(i).padStart(12, '0')}`]));
    expect(await suggest('')).toHaveLength(100);
  });
});

describe('terminal: no forms', () => {
  it('buy and notify here without their arguments answer how to type them, as before, and change nothing', async () => {
    const database = await openTestDatabase();
    try {
      await importOrganization(database.db, parseImportFile(partnerOrganization));
      const as = ['--as', 'xiaoming.wang@partner.example'];
      const buy = await unchanged(database.db, () => runCli(database.db, ['buy', ...as]));
      expect(buy.output).toContain('Write: npm run csp -- buy <offer> <plan> for <customer> seats <n> [monthly|annual]');
      expect(buy.exitCode).not.toBe(0);
      const request = await unchanged(database.db, () => runCli(database.db, ['request', 'cancel', ...as]));
      expect(request.output).toContain('request cancel needs <reservation>');
    } finally {
      await database.close();
    }
  });
});
