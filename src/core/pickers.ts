import { and, asc, desc, eq, ilike, inArray, like, or, type Column } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customers, offers, reservations, subscriptions } from '../../db/schema.js';
import { audienceTypes, isAudienceType } from './audience.js';
import type { Offer } from './marketplace.js';
import { azureSubscriptionOffers } from './permissions.js';
import { likeEscape, normalizeKey, plainText } from './text.js';

// What a form's pickers list: the first `limit` choices, or those matching what the user types.

/** Which customers' rows a picker lists: one customer's (a contact's own, or the one named), or every customer's. */
interface PickerScope {
  orgId: string;
  customerId?: string;
  text: string;
  limit: number;
}

/** Rows of one customer when the scope names one, and those whose ID starts with the typed text or whose `column` or customer name holds it. */
function inScope(scope: PickerScope, table: { id: Column; customerId: Column }, column: Column) {
  const key = normalizeKey(scope.text);
  const typed = likeEscape(plainText(scope.text));
  return and(
    scope.customerId ? eq(table.customerId, scope.customerId) : undefined,
    key ? or(like(table.id, `${typed}%`), ilike(column, `%${typed}%`), like(customers.nameKey, `%${likeEscape(key)}%`)) : undefined,
  );
}

/** Active reservations, which a request can name (R-Q1), with their customer's name: by customer, newest first. */
export async function requestableReservations(db: Queryable, scope: PickerScope) {
  return db
    .select({ id: reservations.id, product: reservations.product, region: reservations.region, quantity: reservations.quantity, customerName: customers.name })
    .from(reservations)
    .innerJoin(customers, eq(customers.id, reservations.customerId))
    .where(
      and(
        eq(reservations.orgId, scope.orgId),
        eq(reservations.status, 'active'),
        inScope(scope, reservations, reservations.product),
      ),
    )
    .orderBy(asc(customers.nameKey), desc(reservations.purchasedAt), asc(reservations.id))
    .limit(scope.limit);
}

/** Active Azure subscriptions, which a reservation's single scope can name (R-P12), with their customer's name. */
export async function scopeSubscriptions(db: Queryable, scope: PickerScope) {
  return db
    .select({ id: subscriptions.id, friendlyName: subscriptions.friendlyName, customerName: customers.name })
    .from(subscriptions)
    .innerJoin(customers, eq(customers.id, subscriptions.customerId))
    .where(
      and(
        eq(subscriptions.orgId, scope.orgId),
        eq(subscriptions.status, 'active'),
        inArray(subscriptions.offer, azureSubscriptionOffers),
        inScope(scope, subscriptions, subscriptions.friendlyName),
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
