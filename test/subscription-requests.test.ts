import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { reservationRequests, subscriptions } from '../db/schema.js';
import { importOrganization, parseImportFile } from '../src/core/import.js';
import type { ImportFileInput } from '../src/core/import-schema.js';
import { remindPendingRequests } from '../src/core/request-messages.js';
import { tenants, testOrganization } from './helpers/fixture.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { activityFor, customerId, testOrgId, unchanged } from './helpers/tables.js';

const hour = 3600 * 1000;
const day = 24 * hour;
/** Whole seconds, as messages show them. */
const now = Math.floor(Date.now() / 1000) * 1000;
const iso = (ms: number) => new Date(ms).toISOString();
/** A moment as the bot writes it: 2026-11-20 09:00:00. */
const utc = (ms: number) => iso(ms).replace('T', ' ').slice(0, 16);

const subs = {
  /** Contoso's, monthly, bought an hour ago: its window is open for 23 more hours. */
  monthly: '5a5a0000-0000-4000-8000-000000000001',
  /** Contoso's, monthly, bought two hours ago. */
  second: '5a5a0000-0000-4000-8000-000000000002',
  /** Contoso's, annual, bought 20 days ago: its 14-day window closed 6 days ago. */
  annual: '5a5a0000-0000-4000-8000-000000000003',
  /** Contoso's, annual, bought a day ago. */
  rejected: '5a5a0000-0000-4000-8000-000000000004',
  /** Contoso Pharmaceuticals', which Dana (Contoso's contact) must not see. */
  pharma: '5a5a0000-0000-4000-8000-000000000005',
};
const annualBought = now - 20 * day;

const saas = (id: string, term: 'monthly' | 'annual', purchasedAt: number, friendlyName: string) => ({
  id, offer: 'marketplace-saas' as const, friendlyName, status: 'active' as const,
  offerId: 'contoso-crm', planId: 'team', seats: 5, term, autoRenew: true, purchasedAt: iso(purchasedAt), activatedAt: iso(purchasedAt + 60_000),
});

/** The test organization with one SaaS offer and SaaS subscriptions for Contoso (contact: Dana) and Contoso Pharmaceuticals. */
function withMarketplace(): ImportFileInput {
  const copy = structuredClone(testOrganization) as ImportFileInput;
  copy.offers = [
    {
      id: 'contoso-crm', name: 'Contoso CRM', publisher: { name: 'Contoso Software', supportContact: 'support@contososoftware.example' },
      landingPageUrl: 'https://crm.contososoftware.example/activate', type: 'saas', categories: ['sales'], countries: ['US', 'KR'],
      plans: [{
        id: 'team', name: 'Team',
        prices: [
          { term: 'monthly', market: 'US', currency: 'USD', price: 12 },
          { term: 'annual', market: 'US', currency: 'USD', price: 120 },
        ],
      }],
    },
  ];
  const customers = copy.customers!;
  const contoso = customers.find((c) => c.tenantId === tenants.contoso)!;
  const pharma = customers.find((c) => c.tenantId === tenants.contosoPharma)!;
  contoso.subscriptions = [
    ...(contoso.subscriptions ?? []),
    saas(subs.monthly, 'monthly', now - hour, 'CRM sales team'),
    saas(subs.second, 'monthly', now - 2 * hour, 'CRM support team'),
    saas(subs.annual, 'annual', annualBought, 'CRM yearly'),
    saas(subs.rejected, 'annual', now - day, 'CRM pilot'),
  ];
  pharma.subscriptions = [...(pharma.subscriptions ?? []), saas(subs.pharma, 'monthly', now - hour, 'Pharma CRM')];
  return copy;
}

async function setUp(p: PlatformDriver) {
  await importOrganization(p.db, parseImportFile(withMarketplace()));
  await p.command('globalAdmin', 'channel approvals here');
}

describe.each(platforms)('$name: a customer contact asks to cancel a marketplace subscription', ({ start }) => {
  const p = usePlatform(start, setUp);

  async function subscription(id: string) {
    const [row] = await p.db.select().from(subscriptions).where(eq(subscriptions.id, id));
    return row!;
  }

  it('R-Q1 R-Q2 R-Q3 R-Q5 R-M7 R-M10 a contact\'s cancel becomes a request; an admin approves inside the window; it is cancelled once', async () => {
    const asked = await p.command('contact', `subscription ${subs.monthly} cancel because we chose another CRM`);
    expect(asked.text).toContain(`Your request to cancel Contoso CRM (Team) subscription ${subs.monthly} was sent to the partner for approval`);
    expect((await subscription(subs.monthly)).status).toBe('active');

    const card = await p.posted(`Request: cancel Contoso CRM (Team) subscription ${subs.monthly}`);
    expect(card.text).toContain('Dana (customer)');
    expect(card.text).toContain('we chose another CRM');
    expect(card.text).toContain('CRM sales team: 5 seats, monthly, bought');
    expect(card.text).toContain(`open until ${utc(now + 23 * hour)} UTC`);
    expect(card.buttons.map((b) => [b.label, b.style])).toEqual([['Approve', 'primary'], ['Reject', 'danger']]);

    const refused = await unchanged(p.db, () => p.click('salesAgent', card, 'Approve'));
    expect(refused.text).toContain('Your role is sales agent. Deciding a request needs the admin agent or global admin role');

    const approved = await p.click('adminAgent', card, 'Approve');
    expect(approved.text).toMatch(/Approved by 王小明 at \d{4}-\d\d-\d\d \d\d:\d\d UTC; the change is made\./);
    expect(approved.buttons).toHaveLength(0);
    const cancelled = await subscription(subs.monthly);
    expect([cancelled.status, cancelled.autoRenew, cancelled.cancelledAt instanceof Date]).toEqual(['cancelled', false, true]);

    const late = await unchanged(p.db, () => p.click('globalAdmin', card, 'Approve'));
    expect(late.text).toContain('This request was already decided; nothing was changed.');
    expect(late.text).toContain('Approved by 王小明');

    const told = await p.posted('Approved by 王小明');
    expect(told.text).toContain(`Request: cancel Contoso CRM (Team) subscription ${subs.monthly}`);
    const log = (await activityFor(p.db, tenants.contoso)).map((r) => [r.action, r.actorName, r.details.subscription]);
    expect(log).toEqual([
      ['saas_cancel_requested', 'Dana', subs.monthly],
      ['saas_cancel_request_approved', '王小明', subs.monthly],
      ['saas_cancelled', '王小明', subs.monthly],
    ]);
    const listed = await p.command('helpdeskAgent', 'requests all');
    expect(listed.text).toContain(`approved — cancel Contoso CRM (Team) subscription ${subs.monthly} — Contoso Ltd — asked by Dana`);
    expect((await p.command('helpdeskAgent', 'activity contoso.com')).text).toContain(`Approved the request to cancel subscription ${subs.monthly} (Contoso CRM, Team)`);
  });

  it('R-Q4 R-M10 a request whose window closed before the decision is refused with the time it closed; the reminder card says so', async () => {
    await p.command('contact', `subscription ${subs.second} cancel`);
    const [request] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.subscriptionId, subs.second));
    expect(request).toMatchObject({ kind: 'cancel-subscription', reservationId: null, status: 'pending' });
    // A day passes: the window (24 hours after the purchase) closes an hour before the admin decides.
    const bought = now - 25 * hour;
    await p.db.update(subscriptions).set({ purchasedAt: new Date(bought) }).where(eq(subscriptions.id, subs.second));
    await p.db.update(reservationRequests).set({ createdAt: new Date(now - 24.5 * hour) }).where(eq(reservationRequests.id, request!.id));

    expect(await remindPendingRequests(p.db, new Date())).toBe(1);
    const reminder = await p.posted('Reminder: this request has waited 24 hours for a decision.');
    expect(reminder.text).toContain(`Request: cancel Contoso CRM (Team) subscription ${subs.second}`);
    expect(reminder.text).toContain(`closed at ${utc(bought + day)} UTC: approving now refuses the request`);

    const refused = await p.click('globalAdmin', reminder, 'Approve');
    expect(refused.text).toMatch(/Refused at .* when 박지훈 approved it/);
    expect(refused.text).toContain(
      `Subscription ${subs.second} can no longer be cancelled: its cancellation window (24 hours after the purchase for a monthly subscription) closed at ${utc(bought + day)} UTC. Auto-renew can still be turned off`,
    );
    expect(refused.buttons).toHaveLength(0);
    expect((await subscription(subs.second)).status).toBe('active');
    const [decided] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.id, request!.id));
    expect(decided!.status).toBe('refused');
    const told = await p.posted(`closed at ${utc(bought + day)} UTC. Auto-renew can still be turned off`);
    expect(told.text).toContain('Refused at');
    const log = (await activityFor(p.db, tenants.contoso)).filter((r) => r.details.subscription === subs.second).map((r) => r.action);
    expect(log).toEqual(['saas_cancel_requested', 'saas_cancel_request_refused']);
  });

  it('R-Q2 R-Q5 Reject asks for the reason; the subscription stays, the requester is told why', async () => {
    await p.command('contact', `subscription ${subs.rejected} cancel`);
    const card = await p.posted(`Request: cancel Contoso CRM (Team) subscription ${subs.rejected}`);
    expect(card.text).toContain(`open until ${utc(now + 13 * day)} UTC`);
    const rejected = await p.clickWithInput('adminAgent', card, 'Reject', { reason: 'the pilot runs until March' });
    expect(rejected.text).toMatch(/Rejected by 王小明 at .*: the pilot runs until March/);
    expect(rejected.buttons).toHaveLength(0);
    expect((await subscription(subs.rejected)).status).toBe('active');
    expect((await p.posted('the pilot runs until March')).text).toContain(`Request: cancel Contoso CRM (Team) subscription ${subs.rejected}`);
  });

  it('R-A1 R-Q1 a contact asking about another customer\'s subscription is told it is not found; other edits are for staff; nothing changes', async () => {
    const other = await unchanged(p.db, () => p.command('contact', `subscription ${subs.pharma} cancel`));
    expect(other.text).toContain(`No marketplace subscription "${subs.pharma}" was found.`);
    expect((await subscription(subs.pharma)).status).toBe('active');
    const seats = await unchanged(p.db, () => p.command('contact', `subscription ${subs.rejected} seats 2`));
    expect(seats.text).toContain('Only partner staff can run subscription.');
    expect((await subscription(subs.rejected)).seats).toBe(5);
  });

  it('a request names exactly one of a reservation and a subscription, and only cancel-subscription names a subscription', async () => {
    const orgId = await testOrgId(p.db);
    const row: typeof reservationRequests.$inferInsert = {
      orgId, customerId: await customerId(p.db, tenants.contoso, orgId), kind: 'cancel-subscription', subscriptionId: subs.monthly,
      requestedByName: 'Dana', requestedPlatform: 'slack',
    };
    /** The CHECK constraint that refused the row, if one did. */
    const refusedBy = (changes: Partial<typeof row>) =>
      p.db.insert(reservationRequests).values({ ...row, ...changes }).then(
        () => 'inserted',
        (error: Error & { cause?: Error }) => /requests_(one|kind)_target/.exec(`${error.message} ${error.cause?.message}`)?.[0] ?? error.message,
      );
    expect(await refusedBy({ kind: 'cancel', reservationId: null, subscriptionId: null })).toBe('requests_one_target');
    expect(await refusedBy({ reservationId: 'r1000000-0000-4000-8000-000000000001', subscriptionId: subs.monthly })).toBe('requests_one_target');
    expect(await refusedBy({ kind: 'cancel', reservationId: null, subscriptionId: subs.monthly })).toBe('requests_kind_target');
    expect(await refusedBy({ kind: 'cancel-subscription', reservationId: 'r1000000-0000-4000-8000-000000000001', subscriptionId: null })).toBe('requests_kind_target');
  });

  it('R-M10 R-M7 past the window, a contact is refused at once and an admin\'s direct cancel is refused, both with when it closed and auto-renew off as the way out', async () => {
    const closed = utc(annualBought + 14 * day);
    const contact = await unchanged(p.db, () => p.command('contact', `subscription ${subs.annual} cancel because too expensive`));
    expect(contact.text).toContain(
      `Subscription ${subs.annual} can no longer be cancelled: its annual cancellation window closed on ${closed} UTC. Ask the partner to turn auto-renew off instead`,
    );
    const admin = await unchanged(p.db, () => p.command('adminAgent', `subscription ${subs.annual} cancel`));
    expect(admin.text).toContain(`Subscription ${subs.annual} can no longer be cancelled: its annual cancellation window closed on ${closed} UTC.`);
    expect(admin.text).toMatch(new RegExp(`Turn auto-renew off instead, so it ends with its term: \\S*\\s?subscription ${subs.annual} auto-renew off`));
    expect((await subscription(subs.annual)).status).toBe('active');
  });
});
