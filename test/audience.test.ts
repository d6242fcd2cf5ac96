import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../db/client.js';
import { audienceSupportRequests, offerAudiencePartners, offers, organizations, partnerDirectory, staff, type AudienceOption } from '../db/schema.js';
import { loadAudience, publishAudience, writeAudience, type AudienceState } from '../src/core/audience.js';
import type { CoreContext } from '../src/core/context.js';
import { onPostgres, openTestDatabase } from './helpers/database.js';

const resoldPartner = 'f1000000-0000-4000-8000-000000000001';
const otherPartner = 'f2000000-0000-4000-8000-000000000002';

let database: DatabaseHandle;
let ctx: CoreContext;

beforeAll(async () => {
  database = await openTestDatabase();
  const db = database.db;
  const [org] = await db.insert(organizations).values({ name: '한빛 애널리틱스', kind: 'publisher' }).returning();
  const [owner] = await db.insert(staff).values({ orgId: org!.id, name: '이서연', email: 'seoyeon@hanbit-isv.example', role: 'owner' }).returning();
  await db.insert(partnerDirectory).values([
    { tenantId: resoldPartner, name: '서울 클라우드 파트너스', nameKey: '서울 클라우드 파트너스', country: 'KR' },
    { tenantId: otherPartner, name: '台北雲端夥伴', nameKey: '台北雲端夥伴', country: 'TW' },
  ]);
  ctx = {
    db,
    org: org!,
    actor: { kind: 'staff', id: owner!.id, name: owner!.name, role: 'owner' },
    conversation: { platform: 'cli', channelId: null },
    now: () => new Date(),
  };
});
afterAll(() => database?.close());

const state = (option: AudienceOption, partners: string[]): AudienceState => ({ option, partners: option === 'specific' ? partners.map((tenantId) => ({ tenantId, regions: [] })) : [] });

/** A published offer whose audience is `from` (with both partners when specific) and whose draft is `to` (the other partner only, when specific). */
async function offerMoving(from: AudienceOption, to: AudienceOption, resold: boolean, suffix = '') {
  const id = `offer-${from}-${to}-${resold ? 'resold' : 'unsold'}${suffix}`;
  await database.db.insert(offers).values({
    id, name: id, nameKey: id, publisherName: '한빛 애널리틱스', publisherSupportContact: 'support@hanbit-isv.example', type: 'saas', countries: ['KR'],
    plans: [{ id: 'basic', name: 'Basic', prices: [{ term: 'monthly', market: 'KR', currency: 'KRW', price: 1000 }] }],
    publisherOrgId: ctx.org.id, published: true, salesMaterialsUrl: 'https://hanbit-isv.example/csp', channelContact: 'csp@hanbit-isv.example',
  });
  await writeAudience(database.db, id, 'published', state(from, [resoldPartner, otherPartner]));
  await writeAudience(database.db, id, 'draft', state(to, [otherPartner]));
  // Under "any partner" the partner that resold is on no list, but its sale is on record all the same.
  if (resold) {
    await database.db
      .insert(offerAudiencePartners)
      .values({ offerId: id, tenantId: resoldPartner, hasResold: true })
      .onConflictDoUpdate({ target: [offerAudiencePartners.offerId, offerAudiencePartners.tenantId], set: { hasResold: true } });
  }
  return id;
}

type Expected = 'at once' | 'support request' | 'refused';

// Every (from, to) pair × resold or not; "resold" means a partner on the published list has resold the offer.
const table: [string, AudienceOption, AudienceOption, boolean, Expected][] = [
  ['R-I7', 'none', 'none', false, 'at once'],
  ['R-I7', 'none', 'none', true, 'at once'],
  ['R-I7 3 → 1 at once', 'none', 'any', false, 'at once'],
  ['R-I7 3 → 1 at once', 'none', 'any', true, 'at once'],
  ['R-I7 3 → 2 at once', 'none', 'specific', false, 'at once'],
  ['R-I7 3 → 2 at once', 'none', 'specific', true, 'at once'],
  ['R-I7', 'any', 'any', false, 'at once'],
  ['R-I7', 'any', 'any', true, 'at once'],
  ['R-I7 1 → 2 needs support', 'any', 'specific', false, 'support request'],
  ['R-I7 1 → 2 needs support, keeping who resold', 'any', 'specific', true, 'support request'],
  ['R-I7 1 → 3 needs support', 'any', 'none', false, 'support request'],
  ['R-I6 1 → 3 would deauthorize a partner that resold', 'any', 'none', true, 'refused'],
  ['R-I7 2 → 1 needs support', 'specific', 'any', false, 'support request'],
  ['R-I7 2 → 1 needs support', 'specific', 'any', true, 'support request'],
  ['R-I7 removing a partner after publishing needs support', 'specific', 'specific', false, 'support request'],
  ['R-I6 a partner that resold is never removed', 'specific', 'specific', true, 'refused'],
  ['R-I7 2 → 3 with no partner that resold', 'specific', 'none', false, 'at once'],
  ['R-I7 2 → 3 is refused while a partner has resold', 'specific', 'none', true, 'refused'],
];

describe(`R-I6 R-I7 CSP audience transitions on sync (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  it.each(table)('%s: %s → %s, resold %s: %s', async (_, from, to, resold, expected) => {
    const id = await offerMoving(from, to, resold);
    const before = await loadAudience(database.db, (await database.db.select().from(offers).where(eq(offers.id, id)))[0]!);
    const outcome = await publishAudience(ctx, id, 'sync').then(
      (r) => r,
      (error: { code?: string }) => ({ state: 'refused' as const, code: error.code }),
    );
    const after = await loadAudience(database.db, before.offer);
    const requests = await database.db.select().from(audienceSupportRequests).where(eq(audienceSupportRequests.offerId, id));
    const published = (s: AudienceState | null) => ({ option: s?.option, partners: s?.partners.map((p) => p.tenantId).sort() });

    if (expected === 'at once') {
      expect(outcome.state).toBe('synced');
      expect(published(after.published)).toEqual(published(state(to, [otherPartner])));
      expect(requests).toHaveLength(0);
    } else if (expected === 'refused') {
      expect(outcome).toMatchObject({ state: 'refused' });
      expect(['audience.resoldRemoval', 'audience.resoldNone']).toContain((outcome as { code: string }).code);
      expect(published(after.published)).toEqual(published(before.published));
      expect(requests).toHaveLength(0);
    } else {
      expect(outcome.state).toBe('support-request');
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({ status: 'pending', fromOption: from, toOption: to });
      // Partners stay authorized until support grants the request.
      expect(published(after.published).partners).toEqual(expect.arrayContaining(published(before.published).partners!.filter((p) => p !== resoldPartner || from === 'specific')));
      if (from === 'any' && to === 'specific') {
        // R-I7: moving 1 → 2 keeps every partner that already resold.
        expect(requests[0]!.partners.map((p) => p.tenantId).sort()).toEqual(resold ? [resoldPartner, otherPartner].sort() : [otherPartner]);
      }
    }
  });

  it('R-I3 an unpublished offer takes its draft on publish, and sync is refused until then', async () => {
    const id = await offerMoving('none', 'specific', false, '-draft');
    await database.db.update(offers).set({ published: false }).where(eq(offers.id, id));
    await expect(publishAudience(ctx, id, 'sync')).rejects.toMatchObject({ code: 'audience.notPublished' });
    expect((await publishAudience(ctx, id, 'publish')).state).toBe('published');
    await expect(publishAudience(ctx, id, 'publish')).rejects.toMatchObject({ code: 'audience.alreadyPublished' });
  });

  it('R-I8 an opted-in offer without sales materials or a channel contact cannot be published', async () => {
    const id = await offerMoving('none', 'any', false, '-materials');
    await database.db.update(offers).set({ channelContact: null }).where(eq(offers.id, id));
    await expect(publishAudience(ctx, id, 'sync')).rejects.toMatchObject({ code: 'audience.materialsMissing' });
  });
});
