import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { customers, organizations, reservationRequests, reservations } from '../db/schema.js';
import { teamId, tenants } from './helpers/fixture.js';
import { platforms, usePlatform, type PlatformDriver } from './helpers/platforms.js';
import { remindPendingRequests } from '../src/core/request-messages.js';
import { activityFor, permissionFor, unchanged } from './helpers/tables.js';

const approvalsHere = (p: PlatformDriver) => p.command('globalAdmin', 'channel approvals here');

// One table of scenarios, run through the real Slack and Teams adapters alike.
describe.each(platforms)('$name', ({ start }) => {
  const p = usePlatform(start);

  it('R-P6 R-P8 allow-reservations shows what turning it on means, with Turn on and Cancel, and changes nothing', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-reservations twcloud.example'));
    expect(reply.text).toContain('Allow 台灣雲端科技股份有限公司 to buy Azure reservations?');
    expect(reply.text).toContain('you, the partner, pay for every purchase they make');
    expect(reply.text).toContain('Partner Center will not tell you when they buy');
    expect(reply.buttons.map((b) => [b.label, b.style])).toEqual([['Turn on', 'primary'], ['Cancel', undefined]]);
  });

  it('R-P3 R-P10 Turn on turns it on once, however often it is clicked', async () => {
    const reply = await p.command('adminAgent', 'allow-reservations 台灣雲端科技');
    const done = await p.click('adminAgent', reply, 'Turn on');
    expect(done.text).toContain('Azure reservation purchases are now on for 台灣雲端科技股份有限公司');
    expect(done.buttons).toHaveLength(0);
    const again = await unchanged(p.db, () => p.click('globalAdmin', reply, 'Turn on'));
    expect(again.text).toMatch(/This was already confirmed by 王小明 on \d{4}-\d\d-\d\d \d\d:\d\d UTC; nothing more was changed\./);
    expect(await permissionFor(p.db, tenants.taiwanCloud)).toHaveLength(1);
    expect((await activityFor(p.db, tenants.taiwanCloud)).map((r) => r.action)).toEqual(['create_customer_purchase_permission']);
  });

  it('R-P10 Turn off records "Delete customer purchase permission"', async () => {
    const reply = await p.command('globalAdmin', 'disallow-reservations twcloud.example');
    expect(reply.buttons.map((b) => [b.label, b.style])).toEqual([['Turn off', 'danger'], ['Cancel', undefined]]);
    const done = await p.click('globalAdmin', reply, 'Turn off');
    expect(done.text).toContain('Azure reservation purchases are now off for 台灣雲端科技股份有限公司.');
    const log = await p.command('helpdeskAgent', 'activity 台灣雲端科技');
    expect(log.text).toMatch(/박지훈 — Delete customer purchase permission[\s\S]*王小明 — Create customer purchase permission/);
  });

  it('R-A3 R-P2 sales and helpdesk agents are refused, naming the role, at command and at click time', async () => {
    for (const person of ['salesAgent', 'helpdeskAgent'] as const) {
      const reply = await unchanged(p.db, () => p.command(person, 'allow-reservations contoso.com'));
      expect(reply.text).toMatch(/Your role is (sales|helpdesk) agent\. Turning customer purchase permissions on or off needs the admin agent or global admin role/);
    }
    const card = await p.command('adminAgent', 'allow-reservations contoso.com');
    const clicked = await unchanged(p.db, () => p.click('salesAgent', card, 'Turn on'));
    expect(clicked.text).toContain('needs the admin agent or global admin role');
  });

  it('R-P4 is refused without an active Azure plan or Azure Global subscription', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-reservations 부산해운'));
    expect(reply.text).toContain('부산해운 has no active Azure plan or Azure Global subscription bought through you. Buy one for the customer first');
    expect(reply.buttons).toHaveLength(0);
  });

  it('R-P5 Owner not known: says how to assign it; the admin confirms, then turns it on', async () => {
    const reply = await unchanged(p.db, () => p.command('adminAgent', 'allow-reservations 한빛'));
    expect(reply.text).toContain('Access control (IAM)');
    const confirmed = await p.click('adminAgent', reply, 'Owner is assigned on 한빛 운영');
    expect(confirmed.text).toContain('Recorded: 한빛소프트 주식회사\'s key user holds Owner');
    await p.click('adminAgent', confirmed, 'Turn on');
    expect((await activityFor(p.db, tenants.hanbit)).map((r) => r.action)).toEqual(['owner_role_confirmed', 'create_customer_purchase_permission']);
  });

  it('Cancel changes nothing', async () => {
    const reply = await p.command('adminAgent', 'allow-reservations Café Lumière');
    const cancelled = await unchanged(p.db, () => p.click('adminAgent', reply, 'Cancel'));
    expect(cancelled.text).toContain('Cancelled. Nothing was changed.');
  });

  it('bad input gets a clear reply and changes nothing', async () => {
    const cases: [string, string][] = [
      ['allow-reservations Contosso', 'No customer matches "Contosso". Closest names: Contoso Ltd, Contoso Pharmaceuticals'],
      ['allow-reservations', 'allow-reservations needs <customer>.'],
      [`allow-reservations ${'가'.repeat(5000)}`, 'That is 5,000 characters; a customer is at most 200.'],
      ["allow-reservations '; DROP TABLE customers; --", 'No customer matches'],
      ['allow-everything contoso', 'There is no command "allow-everything".'],
    ];
    for (const [text, expected] of cases) {
      expect((await unchanged(p.db, () => p.command('globalAdmin', text))).text).toContain(expected);
    }
    const stranger = await unchanged(p.db, () => p.command('stranger', 'allow-reservations contoso.com'));
    expect(stranger.text).toContain('You are not registered as partner staff of this organization, so you can only run help.');
  });

  it('an ambiguous customer is offered as choices that run the command', async () => {
    const reply = await unchanged(p.db, () => p.command('globalAdmin', 'customer contoso'));
    expect(reply.text).toContain('2 customers match "contoso". Choose one:');
    const chosen = await p.click('globalAdmin', reply, 'Contoso Pharmaceuticals (contosopharma.com)');
    expect(chosen.text).toContain('Contoso Pharmaceuticals');
    expect(chosen.text).toContain('contosopharma.com');
  });
});

describe.each(platforms)('$name: reservations and orders', ({ start }) => {
  const p = usePlatform(start);

  it('R-P9 R-P11 R-P12 reservations show product, region, quantity, term, billing, scope, price, buyer and term end', async () => {
    const reply = await p.command('salesAgent', 'reservations contoso.com');
    expect(reply.text).toContain('Azure reservations of Contoso Ltd');
    expect(reply.text).toContain(
      'SQL Database vCore in eastasia, quantity 2 — 3 years, paid monthly — single subscription c0c0c0c0-0000-4000-8000-000000000001 — $88.25 — bought by the customer on 2026-05-15 02:30 UTC, term ends 2029-05-15 02:30 UTC — active — r1000000-0000-4000-8000-000000000002',
    );
    expect(reply.text).toContain('Virtual Machines D2s v5 in koreacentral, quantity 4 — 1 year, paid upfront — shared scope — $3,120.50 — bought by the partner on 2026-02-01 09:00 UTC, term ends 2027-02-01 09:00 UTC');
    // Newest purchase first.
    expect(reply.text.indexOf('SQL Database')).toBeLessThan(reply.text.indexOf('Virtual Machines'));
    expect((await p.command('salesAgent', 'reservations 부산해운')).text).toContain('부산해운 has no Azure reservations.');
  });

  it('R-P9 orders list the customer\'s own purchases beside the partner\'s', async () => {
    const reply = await p.command('helpdeskAgent', 'orders contoso.com');
    expect(reply.text).toContain('Order history of Contoso Ltd');
    expect(reply.text).toMatch(/2026-05-15 02:30 UTC — SQL Database vCore .* — bought by the customer[\s\S]*2026-02-01 09:00 UTC — Virtual Machines D2s v5 .* — bought by the partner/);
  });

  it('R-A1 a customer contact sees their own reservations only', async () => {
    expect((await p.command('contact', 'reservations')).text).toContain('Azure reservations of Contoso Ltd');
    expect((await p.command('contact', 'reservations contoso.com')).text).toContain('SQL Database vCore');
    for (const other of ['reservations contosopharma.com', 'reservations 한빛', `reservations ${tenants.hanbit}`]) {
      const refused = await p.command('contact', other);
      expect(refused.text).toContain('You can see only the reservations of Contoso Ltd.');
      expect(refused.text).not.toMatch(/Pharmaceuticals|한빛|Virtual Machines|SQL Database/);
      expect(refused.buttons).toHaveLength(0);
    }
    expect((await p.command('contact', 'orders contoso.com')).text).toContain('Only partner staff can run orders.');
  });
});

describe.each(platforms)('$name: requests and approvals', ({ start }) => {
  const p = usePlatform(start, approvalsHere);

  const customerOwn = 'r1000000-0000-4000-8000-000000000002';
  const partnerBought = 'r1000000-0000-4000-8000-000000000001';

  async function reservation(id: string) {
    const [row] = await p.db.select().from(reservations).where(eq(reservations.id, id));
    return row;
  }

  it('R-P7 R-Q1 R-Q2 R-Q3 R-Q5 a contact asks to cancel; an admin approves once; the requester is told', async () => {
    const asked = await p.command('contact', `request cancel ${customerOwn} because we moved to another region`);
    expect(asked.text).toContain(`Your request to cancel reservation ${customerOwn} was sent to the partner for approval`);
    const card = await p.posted(`Request: cancel reservation ${customerOwn}`);
    expect(card.text).toContain('Dana (customer)');
    expect(card.text).toContain('we moved to another region');
    expect(card.buttons.map((b) => [b.label, b.style])).toEqual([['Approve', 'primary'], ['Reject', 'danger']]);
    expect(card.text).toMatch(/Refund estimate[\s\S]{0,5}\$[\d,]+\.\d\d \(\d+ of 1,096 days of the term left\)/);
    expect(card.text).toMatch(/Refunds approved in the last 12 months[\s\S]{0,5}\$0\.00 of the \$50,000\.00 cap/);

    const refused = await unchanged(p.db, () => p.click('salesAgent', card, 'Approve'));
    expect(refused.text).toContain('Your role is sales agent. Deciding a request needs the admin agent or global admin role');

    const approved = await p.click('adminAgent', card, 'Approve');
    expect(approved.text).toMatch(/Approved by 王小明 at \d{4}-\d\d-\d\d \d\d:\d\d UTC\. The change is recorded in csp-ops only: make it in the Azure portal, then press Done in Azure\./);
    expect(approved.buttons).toHaveLength(0);
    expect((await reservation(customerOwn))?.status).toBe('cancelled');

    const late = await unchanged(p.db, () => p.click('globalAdmin', card, 'Reject'));
    expect(late.text).toContain('This request was already decided; nothing was changed.');
    expect(late.text).toContain('Approved by 王小明');

    const told = await p.posted('Approved by 王小明');
    expect(told.text).toContain(`Request: cancel reservation ${customerOwn}`);
    const log = await activityFor(p.db, tenants.contoso);
    expect(log.map((r) => [r.action, r.actorName])).toEqual([
      ['request_filed', 'Dana'],
      ['request_approved', '王小明'],
    ]);
    expect((await p.command('helpdeskAgent', 'requests all')).text).toMatch(/approved — cancel reservation r1000000-0000-4000-8000-000000000002 — Contoso Ltd — asked by Dana/);
  });

  it('R-Q4 a decision after the reservation changed is refused with the reason', async () => {
    await p.command('adminAgent', `request renew ${partnerBought} for contoso.com`);
    await p.command('adminAgent', `request cancel ${partnerBought}`);
    const renew = await p.posted(`Request: renew reservation ${partnerBought}`);
    const cancel = await p.posted(`Request: cancel reservation ${partnerBought}`);
    await p.click('globalAdmin', cancel, 'Approve');
    const refused = await p.click('globalAdmin', renew, 'Approve');
    expect(refused.text).toContain(`Reservation ${partnerBought} is cancelled, so it cannot be changed.`);
    expect(refused.text).toMatch(/Refused at .* when 박지훈 approved it/);
    expect((await p.command('adminAgent', `request cancel ${partnerBought}`)).text).toContain(`Reservation ${partnerBought} is cancelled, so it cannot be changed.`);
  });

  it('R-A1 a contact cannot ask about another customer\'s reservation; bad requests change nothing', async () => {
    const other = await unchanged(p.db, () => p.command('contact', 'request cancel r2000000-0000-4000-8000-000000000001'));
    expect(other.text).toContain('No reservation "r2000000-0000-4000-8000-000000000001" was found.');
    expect((await unchanged(p.db, () => p.command('contact', 'request cancel r1'))).text).toContain('No reservation "r1" was found.');
    expect((await unchanged(p.db, () => p.command('contact', 'request delete r1000000'))).text).toContain('request cancel, renew, exchange or scope');
    expect((await unchanged(p.db, () => p.command('adminAgent', 'request exchange r2000000'))).text).toContain('request exchange needs <new product>');
    expect((await unchanged(p.db, () => p.command('adminAgent', 'request cancel r2000000 for contoso.com'))).text).toContain(
      'Reservation r2000000-0000-4000-8000-000000000001 does not belong to contoso.com.',
    );
  });

  it('R-P12 exchange and scope changes are carried out on approval', async () => {
    await p.command('adminAgent', 'request exchange r2000000 Premium v3 P2 because more memory');
    const exchange = await p.posted('Request: exchange reservation r2000000-0000-4000-8000-000000000001 for Premium v3 P2');
    await p.click('adminAgent', exchange, 'Approve');
    expect((await reservation('r2000000-0000-4000-8000-000000000001'))?.status).toBe('exchanged');
    const listed = await p.command('salesAgent', 'reservations contosopharma.com');
    expect(listed.text).toMatch(/Premium v3 P2 in japaneast, quantity 1 — 1 year, paid monthly — shared scope — \$140\.00 — bought by the partner .* — active/);

    const rejected = await p.command('adminAgent', 'request scope 한빛 shared');
    expect(rejected.text).toContain('No reservation "한빛" was found.');
  });
});


describe.each(platforms)('$name: refunds against the 12-month cap', ({ start }) => {
  const p = usePlatform(start, approvalsHere);

  it('a cancellation card warns when its refund would pass 50,000 USD in 12 months', async () => {
    const [org] = await p.db.select({ id: organizations.id }).from(organizations).where(eq(organizations.slackTeamId, teamId));
    const [customer] = await p.db.select({ id: customers.id }).from(customers).where(eq(customers.tenantId, tenants.taiwanCloud));
    const purchasedAt = new Date(Date.now() - 10 * 24 * 3600 * 1000);
    await p.db.insert(reservations).values({
      orgId: org!.id, id: 'big00000-0000-4000-8000-000000000001', customerId: customer!.id, product: 'Dedicated Host', region: 'eastasia',
      quantity: 2, term: 'P1Y', billingPlan: 'upfront', scope: 'shared', price: '60000.00', currency: 'USD', purchasedBy: 'partner', purchasedAt,
    });
    await p.command('adminAgent', 'request cancel big00000 for 台灣雲端科技');
    const card = await p.posted('Request: cancel reservation big00000-0000-4000-8000-000000000001');
    expect(card.text).toMatch(/\$5\d,\d{3}\.\d\d \(35[56] of 365 days of the term left\)/);
    expect(card.text).toMatch(/Warning: with this refund the customer reaches \$5\d,\d{3}\.\d\d, past the \$50,000\.00 Microsoft refunds over 12 months\./);
    await p.click('adminAgent', card, 'Approve');
    const [decided] = await p.db.select().from(reservationRequests).where(eq(reservationRequests.reservationId, 'big00000-0000-4000-8000-000000000001'));
    expect(Number(decided!.refundAmount)).toBeGreaterThan(50_000);
  });
});

describe.each(platforms)('$name: reminders', ({ start }) => {
  const p = usePlatform(start, approvalsHere);

  it('a request pending more than 24 hours is reminded once a day in the approvals channel until decided', async () => {
    await p.command('contact', 'request renew r1000000-0000-4000-8000-000000000001');
    const [request] = await p.db.select().from(reservationRequests);
    const asked = new Date(Date.now() - 25 * 3600 * 1000);
    await p.db.update(reservationRequests).set({ createdAt: asked }).where(eq(reservationRequests.id, request!.id));
    expect(await remindPendingRequests(p.db, new Date(asked.getTime() + 23 * 3600 * 1000))).toBe(0);
    expect(await remindPendingRequests(p.db, new Date())).toBe(1);
    const reminder = await p.posted('Reminder: this request has waited 25 hours for a decision.');
    expect(reminder.text).toContain('Request: renew reservation r1000000-0000-4000-8000-000000000001');
    expect(await remindPendingRequests(p.db, new Date())).toBe(0);
    expect(await remindPendingRequests(p.db, new Date(Date.now() + 24 * 3600 * 1000 + 60_000))).toBe(1);
    const rejected = await p.clickWithInput('adminAgent', reminder, 'Reject', { reason: '갱신은 다음 분기에 검토합니다' });
    expect(rejected.text).toMatch(/Rejected by 王小明 at .*: 갱신은 다음 분기에 검토합니다/);
    expect(rejected.buttons).toHaveLength(0);
    expect(await remindPendingRequests(p.db, new Date(Date.now() + 72 * 3600 * 1000))).toBe(0);
    const told = await p.posted('갱신은 다음 분기에 검토합니다');
    expect(told.text).toContain('Request: renew reservation');
  });
});

