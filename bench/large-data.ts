/**
 * A large organization for the lookup benchmarks: generated customers (names in Latin,
 * Korean and Traditional Chinese, some mixing them) and an activity log spread over them
 * with a skew (a few busy accounts hold thousands of entries each) and over two years.
 *
 * Names are drawn in JavaScript so their name_key is what normalizeKey makes of them (the
 * app matches users' text against it), then inserted in one statement; the activity log is
 * one generate_series statement. Customer IDs are derived from the organization and the
 * customer's position (md5), so the activity statement names them without a join.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { normalizeKey } from '../src/core/text.js';

export interface LargeDataSize {
  customers: number;
  activity: number;
}

/** A small seeded generator (mulberry32): the same organization every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const latinBrands = [
  'Fabrikam', 'Northwind', 'Tailspin', 'Wingtip', 'Litware', 'Proseware', 'Lucerne', 'Alpine', 'Coho', 'Woodgrove', 'Adatum', 'Blue Yonder',
  'Trey', 'Humongous', 'Lamna', 'Relecloud', 'VanArsdel', 'Wide World', "Margie's", 'Fourth Coffee', 'Southridge', 'City Power', 'Datum',
  'Bellows', 'Müller', 'Zürich', 'Øresund', 'Crème', 'São Paulo', 'Kraków', 'Dvořák', 'Ångström', 'Björk', 'Léon', 'Graphic', 'Nod',
  'Olympia', 'Phoenix', 'Quantum', 'Redwood', 'Summit', 'Tidewater', 'Umbra', 'Vertex', 'Westwind', 'Xenon', 'Yellowstone', 'Zephyr',
];
const latinTrades = [
  'Cloud', 'Data', 'Systems', 'Networks', 'Logistics', 'Health', 'Energy', 'Media', 'Labs', 'Analytics', 'Software', 'Robotics',
  'Foods', 'Motors', 'Pharma', 'Retail', 'Finance', 'Travel', 'Games', 'Security', 'Consulting', 'Digital', 'Bio', 'Solar', 'Marine',
];
const latinRegions = ['', '', '', 'Europe', 'Asia', 'Americas', 'Nordic', 'Iberia', 'Pacific', 'Benelux', 'Alps', 'Atlantic'];
const latinForms = ['Ltd', 'Inc.', 'GmbH', 'AG', 'SA', 'S.A.S.', 'BV', 'LLC', 'Pty Ltd', 'KK', 'Co.', 'plc', 'Oy', 'AB', 'SpA', 'Group', 'Holdings', 'Partners'];
const latinCountries = ['US', 'GB', 'DE', 'FR', 'NL', 'SE', 'FI', 'IT', 'ES', 'CH', 'AU', 'JP', 'BR', 'PL', 'CZ'];

/** Korean brands with the romanization their domains use. */
const koreanBrands: [string, string][] = [
  ['한빛', 'hanbit'], ['새롬', 'saerom'], ['푸른', 'pureun'], ['다온', 'daon'], ['누리', 'nuri'], ['가람', 'garam'], ['하늘', 'haneul'],
  ['미래', 'mirae'], ['한결', 'hangyeol'], ['온누리', 'onnuri'], ['바른', 'bareun'], ['으뜸', 'eutteum'], ['솔빛', 'solbit'], ['해온', 'haeon'],
  ['별빛', 'byeolbit'], ['나래', 'narae'], ['다솜', 'dasom'], ['한울', 'hanul'], ['청솔', 'cheongsol'], ['금강', 'geumgang'], ['백두', 'baekdu'],
  ['한강', 'hangang'], ['서해', 'seohae'], ['동해', 'donghae'], ['대한', 'daehan'], ['세종', 'sejong'], ['충무', 'chungmu'], ['아름', 'areum'],
  ['빛누리', 'bitnuri'], ['초록', 'chorok'],
];
const koreanTrades = [
  '소프트', '클라우드', '데이터', '시스템', '네트웍스', '테크', '정보통신', '솔루션', '디지털', '인터랙티브', '게임즈', '로지스',
  '바이오', '에너지', '모빌리티', '헬스케어', '파이낸스', '커머스', '미디어', '랩스',
];
const koreanPlaces = ['', '', '', '서울', '부산', '대구', '인천', '광주', '대전', '울산', '수원', '제주'];
const koreanForms = ['주식회사', '(주)', '유한회사', '코리아', '그룹', '홀딩스'];

/** Traditional Chinese brands with their domains' romanization. */
const chineseBrands: [string, string][] = [
  ['台灣', 'taiwan'], ['臺北', 'taipei'], ['新竹', 'hsinchu'], ['宏達', 'hongda'], ['聯發', 'lianfa'], ['遠東', 'fareast'], ['大同', 'datong'],
  ['統一', 'tongyi'], ['國泰', 'guotai'], ['富邦', 'fubang'], ['中華', 'zhonghua'], ['長榮', 'changrong'], ['光寶', 'guangbao'], ['廣達', 'guangda'],
  ['緯創', 'weichuang'], ['仁寶', 'renbao'], ['英業', 'yingye'], ['和碩', 'heshuo'], ['友達', 'youda'], ['群創', 'qunchuang'], ['日月', 'riyue'],
  ['南亞', 'nanya'], ['永豐', 'yongfeng'], ['玉山', 'yushan'], ['彰化', 'changhua'], ['嘉義', 'chiayi'], ['宜蘭', 'yilan'], ['花蓮', 'hualien'],
  ['澎湖', 'penghu'], ['金門', 'kinmen'],
];
const chineseTrades = [
  '雲端', '科技', '資訊', '電子', '網路', '數位', '軟體', '系統', '智能', '通訊', '半導體', '精密', '光電', '生技', '能源', '物流',
  '金融', '電信', '媒體', '國際',
];
const chinesePlaces = ['', '', '', '臺北', '新北', '桃園', '臺中', '臺南', '高雄', '基隆', '新竹', '屏東'];
const chineseForms = ['股份有限公司', '有限公司', '企業社', '集團', '控股'];

const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)]!;

interface GeneratedCustomer {
  name: string;
  name_key: string;
  domain: string;
  tenant_id: string;
  billing_country: string;
}

/** One name of each kind, as people write them: Latin with spaces, Korean spaced loosely, Chinese unspaced, and brands mixing both. */
function drawName(next: () => number): { name: string; slug: string; country: string; tld: string } {
  const kind = next();
  if (kind < 0.4) {
    const brand = pick(next, latinBrands);
    const words = [brand, pick(next, latinTrades), pick(next, latinRegions), pick(next, latinForms)].filter(Boolean);
    return { name: words.join(' '), slug: normalizeKey(brand).replace(/[^a-z0-9]+/g, ''), country: pick(next, latinCountries), tld: 'com' };
  }
  if (kind < 0.65) {
    const [brand, slug] = pick(next, koreanBrands);
    const trade = pick(next, koreanTrades);
    const place = pick(next, koreanPlaces);
    const form = pick(next, koreanForms);
    const core = next() < 0.5 ? `${brand}${trade}` : `${brand} ${trade}`;
    const name = form === '(주)' ? `(주)${core}${place ? ` ${place}` : ''}` : [core, place, form].filter(Boolean).join(' ');
    return { name, slug, country: 'KR', tld: 'co.kr' };
  }
  if (kind < 0.85) {
    const [brand, slug] = pick(next, chineseBrands);
    return { name: `${pick(next, chinesePlaces)}${brand}${pick(next, chineseTrades)}${pick(next, chineseForms)}`, slug, country: 'TW', tld: 'com.tw' };
  }
  const brand = pick(next, latinBrands);
  const slug = normalizeKey(brand).replace(/[^a-z0-9]+/g, '');
  if (next() < 0.5) return { name: `${brand} ${pick(next, koreanTrades)} ${pick(next, koreanForms)}`, slug, country: 'KR', tld: 'co.kr' };
  return { name: `${brand} ${pick(next, chineseTrades)}${pick(next, chineseForms)}`, slug, country: 'TW', tld: 'com.tw' };
}

/** A GUID in the form Partner Center gives tenants (version 4), from the generator. */
function tenantGuid(next: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16));
  hex[12] = '4';
  hex[16] = '89ab'[Math.floor(next() * 4)]!;
  const h = hex.join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** `count` customers with distinct name keys, domains and tenant IDs. */
export function generateCustomers(count: number, seed = 18): GeneratedCustomer[] {
  const next = random(seed);
  const keys = new Set<string>();
  const tenants = new Set<string>();
  const rows: GeneratedCustomer[] = [];
  for (let attempts = 0; rows.length < count; attempts++) {
    if (attempts > count * 20) throw new Error(`only ${rows.length} distinct customer names could be drawn, not ${count}`);
    const { name, slug, country, tld } = drawName(next);
    const key = normalizeKey(name);
    // Distinct keys: the customer the benchmark names must be found by its exact name, not be ambiguous.
    if (keys.has(key)) continue;
    const tenantId = tenantGuid(next);
    if (tenants.has(tenantId)) continue;
    keys.add(key);
    tenants.add(tenantId);
    rows.push({ name, name_key: key, domain: `${slug}-${rows.length.toString(36)}.${tld}`, tenant_id: tenantId, billing_country: country });
  }
  return rows;
}

/** Rows of a select: postgres.js answers an array, PGlite { rows }. */
export function resultRows<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? (result as T[]));
}

/** The statement adding `count` entries over the organization's first `customers` generated customers. */
export function activityInsert(orgId: string, customers: number, count: number) {
  return sql`    with staff_ids as materialized (
      select array_agg(id order by email) as ids, array_agg(name order by email) as names from staff where org_id = ${orgId}
    ), entries as (
      select g,
             (hashint4(g)::bigint & 2147483647) / 2147483648.0 as u,
             (hashint4(g + 1000003)::bigint & 2147483647) % 1000 as pick,
             now() - interval '730 days' + g * (interval '730 days' / ${count}) as at
      from generate_series(0, ${count - 1}) g
    )
    insert into activity_log (org_id, customer_id, actor_staff_id, actor_name, action, details, created_at)
    select ${orgId},
           case when pick < 30 then null else md5(${orgId} || ':' || (1 + floor(${customers} * u * u * u))::bigint)::uuid end,
           case when a.actor = 'staff' then s.ids[1 + pick % cardinality(s.ids)] end,
           case a.actor
             when 'staff' then s.names[1 + pick % cardinality(s.names)]
             when 'contact' then (array['Dana Whitfield', '김민지', '林志明', 'Jonas Müller', '이서준', '陳雅婷'])[1 + pick % 6]
             when 'publisher' then (array['Relecloud Software', '한빛소프트', '雲端應用股份有限公司'])[1 + pick % 3]
             else 'Partner Center'
           end,
           a.action,
           case a.action
             when 'settings_changed' then jsonb_build_object('setting', 'timeZone', 'value', 'Asia/Seoul')
             when 'notifications_subscribed' then jsonb_build_object('kinds', 'purchases, subscriptions', 'channel', 'C0ACTIVITY')
             when 'deliveries_retried' then jsonb_build_object('count', (1 + pick % 5)::text)
             when 'partner_center_subscription_changed' then jsonb_build_object('subscription', 'sub-' || g,
               'changes', jsonb_build_object('fieldChanges', jsonb_build_array(jsonb_build_object('field', 'seats', 'from', (pick % 40)::text, 'to', (pick % 40 + 5)::text))))
             when 'create_customer_purchase_permission' then '{}'::jsonb
             when 'delete_customer_purchase_permission' then '{}'::jsonb
             when 'owner_role_confirmed' then jsonb_build_object('subscription', md5('subscription:' || g)::uuid::text)
             when 'saas_purchased' then jsonb_build_object('offer', 'Relecloud CRM', 'plan', 'Standard', 'seats', (1 + pick % 50)::text, 'subscription', md5('saas:' || g)::uuid::text)
             when 'saas_cancelled' then jsonb_build_object('subscription', md5('saas:' || g)::uuid::text)
             when 'saas_licenses_assigned' then jsonb_build_object('offer', 'Relecloud CRM', 'subscription', md5('saas:' || g)::uuid::text)
             else jsonb_build_object('kind', (array['cancel', 'renew', 'exchange', 'scope'])[1 + pick % 4], 'reservation', md5('reservation:' || g)::uuid::text)
           end,
           at
    from entries
    cross join staff_ids s
    cross join lateral (
      select case
               when pick < 10 then 'settings_changed' when pick < 20 then 'notifications_subscribed' when pick < 30 then 'deliveries_retried'
               when pick < 400 then 'partner_center_subscription_changed' when pick < 520 then 'request_filed' when pick < 600 then 'request_approved'
               when pick < 630 then 'request_rejected' when pick < 700 then 'create_customer_purchase_permission' when pick < 730 then 'delete_customer_purchase_permission'
               when pick < 800 then 'owner_role_confirmed' when pick < 880 then 'saas_purchased' when pick < 920 then 'saas_cancelled'
               else 'saas_licenses_assigned'
             end as action
    ) k
    cross join lateral (
      select case
               when k.action = 'partner_center_subscription_changed' then 'partner-center'
               when k.action = 'request_filed' then 'contact'
               when k.action = 'saas_licenses_assigned' then 'publisher'
               else 'staff'
             end as actor,
             k.action
    ) a`;
}

/** Adds generated customers and activity entries to organization orgId (one SQL statement each); returns a customer name and tenant ID worth querying. */
export async function seedLargeOrganization(db: Database, orgId: string, size: LargeDataSize): Promise<{ customerName: string; tenantId: string }> {
  const generated = generateCustomers(size.customers);
  // Position n (from 1) gets the ID md5(org:n), which the activity statement derives again; created in that order, a second apart.
  await db.execute(sql`
    insert into customers (id, org_id, name, name_key, domain, tenant_id, billing_country, created_at)
    select md5(${orgId} || ':' || c.n)::uuid, ${orgId}, c.name, c.name_key, c.domain, c.tenant_id, c.billing_country,
           now() - interval '3 years' + c.n * interval '1 second'
    from rows from (json_to_recordset(${JSON.stringify(generated)}::json) as (name text, name_key text, domain text, tenant_id text, billing_country text))
         with ordinality as c(name, name_key, domain, tenant_id, billing_country, n)`);

  // Entries a steady stream over two years (ids follow time, as appends do). An entry's customer is position
  // 1 + floor(N · u³) for a uniform u: position 1 gets about 2% of the log, the first fifty thousands each,
  // the median customer a handful. 3% are the organization's own (settings, notifications, deliveries).
  await db.execute(activityInsert(orgId, size.customers, size.activity));
  // As autovacuum leaves a table some time after a bulk insert: statistics read, GIN pending lists merged, the visibility map set.
  await db.execute(sql`vacuum analyze customers, activity_log`);
  const busiest = generated[0]!;
  return { customerName: busiest.name, tenantId: busiest.tenant_id };
}
