import { and, asc, eq } from 'drizzle-orm';
import type { Queryable } from '../../db/client.js';
import { customerPurchasePermissions, staff, subscriptions } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { announce } from './announcements.js';
import { requireAdmin } from './access.js';
import type { CoreContext } from './context.js';
import type { Customer } from './customers.js';
import { DomainError } from './errors.js';

export type Subscription = typeof subscriptions.$inferSelect;

/** R-P4: the offers whose subscription lets a customer buy reservations. */
const azureOffers = ['azure-plan', 'azure-global'] as const;
const toggleWhat = 'what.togglePermission';

export interface PermissionGrant {
  grantedAt: Date;
  grantedBy: string;
}

/** R-P1: no row means off. */
export async function reservationPermission(db: Queryable, orgId: string, customerId: string): Promise<PermissionGrant | undefined> {
  const [grant] = await db
    .select({ grantedAt: customerPurchasePermissions.grantedAt, grantedBy: staff.name })
    .from(customerPurchasePermissions)
    .innerJoin(staff, eq(staff.id, customerPurchasePermissions.grantedBy))
    .where(
      and(
        eq(customerPurchasePermissions.orgId, orgId),
        eq(customerPurchasePermissions.customerId, customerId),
        eq(customerPurchasePermissions.resource, 'azure-reservations'),
      ),
    );
  return grant;
}

export async function customerSubscriptions(db: Queryable, orgId: string, customerId: string): Promise<Subscription[]> {
  return db
    .select()
    .from(subscriptions)
    .where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.customerId, customerId)))
    .orderBy(asc(subscriptions.createdAt), asc(subscriptions.id));
}

export type AllowCheck =
  | { state: 'already-on'; grant: PermissionGrant }
  | { state: 'owner-unknown'; subscriptions: Subscription[] }
  | { state: 'ready'; subscription: Subscription };

/**
 * Everything turning the permission on needs: the role (R-P2), an active Azure
 * plan / Azure Global subscription (R-P4) and a known Owner on one (R-P5).
 * Checked when the command runs and again when the button is clicked.
 */
export async function checkAllowReservations(ctx: CoreContext, customer: Customer): Promise<AllowCheck> {
  requireAdmin(ctx.actor, toggleWhat);
  const grant = await reservationPermission(ctx.db, ctx.org.id, customer.id);
  if (grant) return { state: 'already-on', grant };
  const azure = (await customerSubscriptions(ctx.db, ctx.org.id, customer.id)).filter(
    (s) => s.status === 'active' && (azureOffers as readonly string[]).includes(s.offer),
  );
  if (azure.length === 0) throw new DomainError('error.noAzureSubscription', { customer: customer.name });
  const owned = azure.find((s) => s.ownerRoleAssigned);
  return owned ? { state: 'ready', subscription: owned } : { state: 'owner-unknown', subscriptions: azure };
}

export type AllowResult = AllowCheck | { state: 'turned-on' };

/** R-P3, R-P10: turns it on once, however often it is asked; only the winner writes the log. */
export async function allowReservations(ctx: CoreContext, customer: Customer): Promise<AllowResult> {
  const check = await checkAllowReservations(ctx, customer);
  if (check.state !== 'ready') return check;
  const actor = requireAdmin(ctx.actor, toggleWhat);
  return ctx.db.transaction(async (tx): Promise<AllowResult> => {
    const inserted = await tx
      .insert(customerPurchasePermissions)
      .values({ orgId: ctx.org.id, customerId: customer.id, resource: 'azure-reservations', grantedBy: actor.id, grantedAt: ctx.now() })
      .onConflictDoNothing()
      .returning();
    if (inserted.length === 0) {
      // Lost a race: the insert waited for the winner to commit, so this statement sees its row.
      const grant = await reservationPermission(tx, ctx.org.id, customer.id);
      return { state: 'already-on', grant: grant! };
    }
    await recordActivity(tx, { ...ctx, actor }, 'create_customer_purchase_permission', customer.id);
    await announce(tx, ctx, { key: 'allow.announce', params: { actor: actor.name, customer: customer.name } });
    return { state: 'turned-on' };
  });
}

export type DisallowResult = { state: 'already-off' } | { state: 'on'; grant: PermissionGrant } | { state: 'turned-off' };

export async function checkDisallowReservations(ctx: CoreContext, customer: Customer): Promise<DisallowResult> {
  requireAdmin(ctx.actor, toggleWhat);
  const grant = await reservationPermission(ctx.db, ctx.org.id, customer.id);
  return grant ? { state: 'on', grant } : { state: 'already-off' };
}

/** R-P2, R-P10: turns it off once; a repeat finds nothing to delete and writes nothing. */
export async function disallowReservations(ctx: CoreContext, customer: Customer): Promise<DisallowResult> {
  const actor = requireAdmin(ctx.actor, toggleWhat);
  const deleted = await ctx.db.transaction(async (tx) => {
    const rows = await tx
      .delete(customerPurchasePermissions)
      .where(
        and(
          eq(customerPurchasePermissions.orgId, ctx.org.id),
          eq(customerPurchasePermissions.customerId, customer.id),
          eq(customerPurchasePermissions.resource, 'azure-reservations'),
        ),
      )
      .returning();
    if (rows.length === 0) return false;
    await recordActivity(tx, { ...ctx, actor }, 'delete_customer_purchase_permission', customer.id);
    await announce(tx, ctx, { key: 'disallow.announce', params: { actor: actor.name, customer: customer.name } });
    return true;
  });
  return deleted ? { state: 'turned-off' } : { state: 'already-off' };
}

/** Finds a customer's subscription by its ID, case-insensitively. */
export async function findSubscription(ctx: CoreContext, customer: Customer, id: string): Promise<Subscription> {
  const all = await customerSubscriptions(ctx.db, ctx.org.id, customer.id);
  const found = all.find((s) => s.id.toLowerCase() === id.trim().toLowerCase());
  if (found) return found;
  throw new DomainError('error.unknownSubscription', {
    customer: customer.name,
    subscription: id,
    list: all.length ? all.map((s) => s.id).join(', ') : '—',
  });
}

export type OwnerResult = { state: 'recorded' | 'already-known'; subscription: Subscription };

/** R-P5: an admin confirms that the customer's key user holds Owner on an Azure subscription. */
export async function recordOwnerAssigned(ctx: CoreContext, customer: Customer, subscriptionId: string): Promise<OwnerResult> {
  const actor = requireAdmin(ctx.actor, 'what.recordOwner');
  const subscription = await findSubscription(ctx, customer, subscriptionId);
  if (!(azureOffers as readonly string[]).includes(subscription.offer)) {
    throw new DomainError('error.notAzureSubscription', { subscription: subscription.id }, { terms: { offer: `offer.${subscription.offer}` } });
  }
  const recorded = await ctx.db.transaction(async (tx) => {
    const updated = await tx
      .update(subscriptions)
      .set({ ownerRoleAssigned: true })
      .where(
        and(
          eq(subscriptions.orgId, ctx.org.id),
          eq(subscriptions.id, subscription.id),
          eq(subscriptions.ownerRoleAssigned, false),
        ),
      )
      .returning();
    if (updated.length === 0) return false;
    await recordActivity(tx, { ...ctx, actor }, 'owner_role_confirmed', customer.id, { subscription: subscription.id });
    return true;
  });
  return { state: recorded ? 'recorded' : 'already-known', subscription };
}

export async function subscriptionById(db: Queryable, orgId: string, id: string): Promise<Subscription | undefined> {
  const [subscription] = await db.select().from(subscriptions).where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.id, id)));
  return subscription;
}
