import { and, inArray, isNotNull, isNull, max } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { customers, offers, type BillingTerm, type OfferPlan } from '../../db/schema.js';
import { normalizeKey } from '../core/text.js';
import type { Logger } from '../log.js';
import { connectedOrganizations } from './audit.js';
import { allItems, partnerApiScope, type PartnerCenterClient } from './client.js';

/** Partner Center's product catalog shapes (product-resources: Product, Sku, Availability, Term). */
interface Product {
  id: string;
  title?: string;
  description?: string;
  publisherName?: string;
  isMicrosoftProduct?: boolean;
  productType?: { id?: string; subType?: { id?: string } };
}
interface Sku {
  id: string;
  title?: string;
  isTrial?: boolean;
}
interface Availability {
  catalogItemId: string;
  country?: string;
  isPurchasable?: boolean;
  defaultCurrency?: { code?: string } | string;
  terms?: { duration?: string; billingCycle?: string }[];
}
/** A row of the marketplace price sheet (get-a-price-sheet), the columns read. */
interface PriceRow {
  ProductId: string;
  SkuId: string;
  TermDuration: string;
  Market: string;
  Currency: string;
  UnitPrice: string;
}

/** Marketplace SaaS offers published by ISVs (get-a-list-of-products, targetView). */
export const saasTargetView = 'MarketplaceSaaS';
const termOf: Record<string, BillingTerm> = { P1M: 'monthly', P1Y: 'annual' };
/** A SaaS free trial is one month (create-a-cart: billing cycle "none", term P1M). */
const trialDays = 30;

export interface CatalogRefresh {
  offers: number;
  markets: string[];
}

const enc = encodeURIComponent;

async function parseCsv(text: string): Promise<PriceRow[]> {
  // Loaded with the first price sheet: only a bot with a Partner Center connector reads one.
  const { parseString } = await import('@fast-csv/parse');
  return new Promise((done, fail) => {
    const rows: PriceRow[] = [];
    parseString<PriceRow, PriceRow>(text.replace(/^\uFEFF/, ''), { headers: true, ignoreEmpty: true })
      .on('data', (row) => rows.push(row))
      .on('error', fail)
      .on('end', () => done(rows));
  });
}

/** One market's marketplace prices, keyed product:sku:term. */
async function marketPrices(client: PartnerCenterClient, pricingUrl: string, market: string): Promise<Map<string, { price: number; currency: string }>> {
  // The price sheets are the Partner API's (another resource than Partner Center's): its own token.
  const { body } = await client.request('GET', `${pricingUrl}/v1.0/sales/pricesheets(Market='${enc(market)}',PricesheetView='marketplace')/$value`, undefined, { scope: partnerApiScope });
  const prices = new Map<string, { price: number; currency: string }>();
  for (const row of await parseCsv(typeof body === 'string' ? body : '')) {
    const price = Number(row.UnitPrice);
    const key = `${row.ProductId}:${row.SkuId}:${row.TermDuration}`.toUpperCase();
    if (Number.isFinite(price) && !prices.has(key)) prices.set(key, { price, currency: row.Currency });
  }
  return prices;
}

/**
 * R-M1 with the connector: the marketplace catalog read from Partner Center for the markets the
 * partner's customers are billed in: products of the SaaS view, their SKUs and availabilities
 * (terms and the catalog item a cart line names), priced from the market's marketplace price
 * sheet. Offers a publisher organization manages here are left to it.
 */
export async function refreshCatalog(db: Database, client: PartnerCenterClient, pricingUrl: string, markets: string[], now = new Date()): Promise<CatalogRefresh> {
  const found = new Map<string, { product: Product; plans: Map<string, OfferPlan>; countries: Set<string> }>();
  for (const market of markets) {
    const prices = await marketPrices(client, pricingUrl, market);
    for await (const product of allItems<Product>(client, `/v1/products?country=${enc(market)}&targetView=${saasTargetView}`)) {
      const entry = found.get(product.id) ?? { product, plans: new Map<string, OfferPlan>(), countries: new Set<string>() };
      found.set(product.id, entry);
      let trial: string | undefined;
      for await (const sku of allItems<Sku>(client, `/v1/products/${enc(product.id)}/skus?country=${enc(market)}`)) {
        for await (const a of allItems<Availability>(client, `/v1/products/${enc(product.id)}/skus/${enc(sku.id)}/availabilities?country=${enc(market)}`)) {
          if (a.isPurchasable === false) continue;
          if (sku.isTrial) {
            trial = a.catalogItemId;
            continue;
          }
          const plan = entry.plans.get(sku.id) ?? { id: sku.id, name: sku.title ?? sku.id, prices: [] };
          entry.plans.set(sku.id, plan);
          for (const term of a.terms ?? []) {
            const billing = termOf[term.duration?.toUpperCase() ?? ''];
            const price = prices.get(`${product.id}:${sku.id}:${term.duration}`.toUpperCase());
            if (!billing || !price || plan.prices.some((p) => p.market === market && p.term === billing)) continue;
            plan.prices.push({ term: billing, market, currency: price.currency, price: price.price, catalogItemId: a.catalogItemId });
            entry.countries.add(market);
          }
        }
      }
      // The product's trial SKU starts a trial of any of its plans, which then renews to the chosen term.
      if (trial) for (const plan of entry.plans.values()) Object.assign(plan, { freeTrialDays: trialDays, trialCatalogItemIds: { ...plan.trialCatalogItemIds, [market]: trial } });
    }
  }
  const managed = new Set(
    found.size ? (await db.select({ id: offers.id }).from(offers).where(and(inArray(offers.id, [...found.keys()]), isNotNull(offers.publisherOrgId)))).map((o) => o.id) : [],
  );
  let stored = 0;
  for (const [id, { product, plans, countries }] of found) {
    if (managed.has(id) || !countries.size) continue;
    const publisherName = product.publisherName ?? (product.isMicrosoftProduct ? 'Microsoft' : product.title ?? id);
    const row = {
      name: product.title ?? id,
      nameKey: normalizeKey(product.title ?? id),
      publisherName,
      // Partner Center's catalog names no support contact: the publisher is named, the partner answers first (R-M12).
      publisherSupportContact: publisherName,
      type: 'saas' as const,
      countries: [...countries].sort(),
      plans: [...plans.values()].filter((p) => p.prices.length),
      updatedAt: now,
      partnerCenterRefreshedAt: now,
    };
    await db.insert(offers).values({ id, ...row }).onConflictDoUpdate({ target: offers.id, set: row, where: isNull(offers.publisherOrgId) });
    stored++;
  }
  return { offers: stored, markets };
}

/** The markets of the organizations the connector acts for: their customers' billing countries. */
export async function partnerMarkets(db: Database, tenantId: string): Promise<string[]> {
  const orgs = await connectedOrganizations(db, tenantId);
  if (!orgs.length) return [];
  const rows = await db.selectDistinct({ country: customers.billingCountry }).from(customers).where(inArray(customers.orgId, orgs.map((o) => o.id)));
  return rows.map((r) => r.country).sort();
}

/** When the catalog was last read from Partner Center, if ever. */
export async function lastCatalogRefresh(db: Database): Promise<Date | undefined> {
  const [row] = await db.select({ at: max(offers.partnerCenterRefreshedAt) }).from(offers);
  return row?.at ?? undefined;
}

/** Prices change often (the seeds): the catalog is read again once it is a day old. */
export const catalogMaxAgeMs = 24 * 60 * 60 * 1000;

/** The catalog read now for the partner's markets, whatever its age (`refresh-catalog`). */
export async function refreshCatalogNow(db: Database, client: PartnerCenterClient, pricingUrl: string, log?: Logger, now = new Date()): Promise<CatalogRefresh> {
  const markets = await partnerMarkets(db, client.tenantId);
  const result = markets.length ? await refreshCatalog(db, client, pricingUrl, markets, now) : { offers: 0, markets };
  log?.info(`Partner Center catalog: ${result.offers} offers read for ${markets.join(', ') || 'no markets'}`);
  return result;
}

/** The daily job (at start-up and with each periodic sync): refreshes a catalog never read or a day old. */
export async function refreshPartnerCatalog(db: Database, client: PartnerCenterClient, pricingUrl: string, log: Logger, now = new Date()): Promise<CatalogRefresh | undefined> {
  const last = await lastCatalogRefresh(db);
  if (last && now.getTime() - last.getTime() < catalogMaxAgeMs) return undefined;
  return refreshCatalogNow(db, client, pricingUrl, log, now);
}
