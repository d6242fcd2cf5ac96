import { and, asc, desc, eq, ilike, inArray, like, or } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customers, offers, reservations, subscriptions } from '../../db/schema.js';
import { audienceTypes, isAudienceType } from './audience.js';
import type { Offer } from './marketplace.js';
import { likeEscape, normalizeKey, plainText } from './text.js';

// What a form's pickers list: the first `limit` choices, or those matching what the user types.

/** Which customers' rows a picker lists: one customer's (a contact's own, or the one named), or every customer's. */
interface PickerScope {
  orgId: string;
  customerId?: string;
  text: string;
  limit: number;
}

/** Active reservations, which a request can name (R-Q1), with their customer's name: by customer, newest first. */
export async function requestableReservations(db: Queryable, scope: PickerScope) {
  const key = normalizeKey(scope.text);
  const typed = plainText(scope.text);
  return db
    .select({ id: reservations.id, product: reservations.product, region: reservations.region, quantity: reservations.quantity, customerName: customers.name })
    .from(reservations)
    .innerJoin(customers, eq(customers.id, reservations.customerId))
    .where(
      and(
        eq(reservations.orgId, scope.orgId),
        eq(reservations.status, 'active'),
        scope.customerId ? eq(reservations.customerId, scope.customerId) : undefined,
        key ? or(like(reservations.id, `${likeEscape(typed)}%`), ilike(reservations.product, `%${likeEscape(typed)}%`), like(customers.nameKey, `%${likeEscape(key)}%`)) : undefined,
      ),
    )
    .orderBy(asc(customers.nameKey), desc(reservations.purchasedAt), asc(reservations.id))
    .limit(scope.limit);
}

/** Active Azure subscriptions, which a reservation's single scope can name (R-P12), with their customer's name. */
export async function scopeSubscriptions(db: Queryable, scope: PickerScope) {
  const key = normalizeKey(scope.text);
  const typed = plainText(scope.text);
  return db
    .select({ id: subscriptions.id, friendlyName: subscriptions.friendlyName, customerName: customers.name })
    .from(subscriptions)
    .innerJoin(customers, eq(customers.id, subscriptions.customerId))
    .where(
      and(
        eq(subscriptions.orgId, scope.orgId),
        eq(subscriptions.status, 'active'),
        inArray(subscriptions.offer, ['azure-plan', 'azure-global']),
        scope.customerId ? eq(subscriptions.customerId, scope.customerId) : undefined,
        key ? or(like(subscriptions.id, `${likeEscape(typed)}%`), ilike(subscriptions.friendlyName, `%${likeEscape(typed)}%`), like(customers.nameKey, `%${likeEscape(key)}%`)) : undefined,
      ),
    )
    .orderBy(asc(customers.nameKey), asc(subscriptions.id))
    .limit(scope.limit);
}

/** A publisher's offers whose CSP audience it chooses (R-I1), by name. */
export async function audienceOffers(db: Queryable, orgId: string, text: string, limit: number): Promise<Offer[]> {
  const key = normalizeKey(text);
  const rows = await db
    .select()
    .from(offers)
    .where(
      and(
        eq(offers.publisherOrgId, orgId),
        inArray(offers.type, audienceTypes),
        key ? or(like(offers.nameKey, `%${likeEscape(key)}%`), like(offers.id, `%${likeEscape(plainText(text))}%`)) : undefined,
      ),
    )
    .orderBy(asc(offers.nameKey), asc(offers.id))
    .limit(limit);
  return rows.filter(isAudienceType);
}
