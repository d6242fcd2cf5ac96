import type { ReservationCatalog } from './context.js';
import { DomainError } from './errors.js';
import { editDistance } from './text.js';

/** How many catalog SKUs a refusal names. */
const shown = 5;

/**
 * The words a SKU is compared by: width-folded, case-folded, spaces and underscores alike, with
 * no `Standard_` and no resource type written before it ("Virtual Machines D8s v5", as products
 * are named here), so "D4s v3", "standard_d4s_v3" and "Standard_D4s_v3" are one SKU.
 */
function skuWords(text: string, reservedResourceType: string): string {
  let words = text.normalize('NFKC').toLowerCase().split(/[\s_]+/).filter(Boolean);
  const type = reservedResourceType.replace(/(\p{Ll})(\p{Lu})/gu, '$1 $2').toLowerCase().split(' ').filter(Boolean);
  if (type.length && type.every((word, i) => words[i] === word)) words = words.slice(type.length);
  else if (type.length && words[0] === type.join('')) words = words.slice(1);
  if (words[0] === 'standard') words = words.slice(1);
  return words.join(' ');
}

/**
 * The catalog SKU an exchange's new product names, as the requester wrote it: exactly one must
 * match. None or several refuse the approval, naming what was asked and the closest SKUs.
 */
export function catalogSku(product: string, catalog: ReservationCatalog): string {
  const asked = skuWords(product, catalog.reservedResourceType);
  const matches = catalog.skus.filter((sku) => skuWords(sku, catalog.reservedResourceType) === asked);
  if (matches.length === 1) return matches[0]!;
  const where = { product, type: catalog.reservedResourceType, location: catalog.location };
  if (matches.length > 1) throw new DomainError('azure.skuAmbiguous', { ...where, count: matches.length, skus: matches.slice(0, shown).join(', ') });
  const closest = catalog.skus
    .map((sku) => ({ sku, distance: editDistance(asked, skuWords(sku, catalog.reservedResourceType)) }))
    .sort((a, b) => a.distance - b.distance || a.sku.localeCompare(b.sku))
    .slice(0, shown)
    .map((c) => c.sku);
  throw new DomainError('azure.skuUnknown', { ...where, count: closest.length, skus: closest.join(', ') });
}
