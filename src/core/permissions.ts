import { and, asc, desc, eq, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce } from '../../db/prepared.js';
import { inTransaction } from '../../db/transaction.js';
import { activityLog, customerPurchasePermissions, customers, subscriptions } from '../../db/schema.js';
import { recordActivity } from './activity.js';
import { announce, notify, tellContacts } from './announcements.js';
import { requireAdmin } from './access.js';
import type { Actor, CoreContext, Organization, PartnerCenterGateway } from './context.js';
import { changeCachePerDatabase, changedHere } from './change-cache.js';
import { askPartnerCenter, policyTarget, recordIntent, settleIntent, type PartnerCenterIntent } from './intents.js';
import { isUuid, type Customer } from './customers.js';
import { DomainError } from './errors.js';

export type Subscription = typeof subscriptions.$inferSelect;
type StaffContext = CoreContext & { actor: Extract<Actor, { kind: 'staff' }> };
export type ActivityEntry = Pick<typeof activityLog.$inferSelect, 'id' | 'action' | 'actorName' | 'details' | 'createdAt'>;

/** R-P4: an Azure plan or Azure Global subscription is what lets a customer buy reservations. */
export const azureSubscriptionOffers = ['azure-plan', 'azure-global'] as const;
export function isAzureSubscription(subscription: Pick<Subscription, 'offer'>): boolean {
  return (azureSubscriptionOffers as readonly string[]).includes(subscription.offer);
}
const recentActivityShown = 5;

export interface PermissionGrant {
  grantedAt: Date;
  grantedBy: string;
}

/** The self-serve purchase permissions csp-ops keeps, one row per resource while on. */
export type PermissionResource = (typeof customerPurchasePermissions.$inferSelect)['resource'];

export interface CustomerAccount {
  customer: Customer;
  /** R-P1: undefined means off (Azure reservations). */
  grant?: PermissionGrant;
  /** Every resource's permission; a missing one is off. */
  grants: Partial<Record<PermissionResource, PermissionGrant>>;
  subscriptions: Subscription[];
  recentActivity: ActivityEntry[];
}

const customerAccountQuery = preparedOnce((db) =>
  db.query.customers
    .findFirst({
      where: and(eq(customers.orgId, sql.placeholder('orgId')), eq(customers.id, sql.placeholder('customerId'))),
      with: {
        subscriptions: { orderBy: [asc(subscriptions.createdAt), asc(subscriptions.id)] },
        purchasePermissions: {
          // Through the primary key (org_id, customer_id, resource), not a read of every customer's permissions.
          where: eq(customerPurchasePermissions.orgId, sql.placeholder('orgId')),
          with: { grantedByStaff: { columns: { name: true } } },
        },
        activity: {
          columns: { id: true, action: true, actorName: true, details: true, createdAt: true },
          orderBy: [desc(activityLog.createdAt), desc(activityLog.id)],
          limit: recentActivityShown,
        },
      },
    })
    .prepare('customer_account'),
);

/** A customer with its permission, subscriptions and latest activity, in one query. */
export async function customerAccount(db: Database, orgId: string, customerId: string): Promise<CustomerAccount> {
  const row = isUuid(customerId) ? await customerAccountQuery(db).execute({ orgId, customerId }) : undefined;
  if (!row) throw new DomainError('error.noMatch', { text: customerId });
  const { subscriptions: subs, purchasePermissions: permissions, activity, ...customer } = row;
  const grants: CustomerAccount['grants'] = {};
  for (const p of permissions) grants[p.resource] = { grantedAt: p.grantedAt, grantedBy: p.grantedByStaff?.name ?? 'Partner Center' };
  return {
    customer,
    ...(grants['azure-reservations'] ? { grant: grants['azure-reservations'] } : {}),
    grants,
    subscriptions: subs,
    recentActivity: activity,
  };
}

/** Where a check reads a customer's account: the database (a click), or memory (a card that only offers). */
export type AccountReader = (db: Database, orgId: string, customerId: string) => Promise<CustomerAccount>;

/** Account views read from these tables, kept until one of them changes (src/core/change-cache.ts); the staff for a grant's name. */
const accountTables = ['customers', 'customer_purchase_permissions', 'staff', 'subscriptions', 'activity_log'];
const shownAccounts = changeCachePerDatabase<CustomerAccount>(accountTables, 2_000);

/**
 * A customer's account changed by this process, committed: its next card shows the change without waiting
 * for the notification. Said once a click is done (commands/dispatch.ts); on a transaction it does nothing.
 */
export const accountChangedHere = (db: Database) => changedHere(db, accountTables);

/**
 * customerAccount, answered from memory until the customer, its permissions, subscriptions or activity
 * change: for what only shows it (`customer`, the allow-/disallow- cards). A click reads customerAccount
 * itself, so it never acts on a permission or subscription changed a moment ago.
 */
export function shownCustomerAccount(db: Database, orgId: string, customerId: string): Promise<CustomerAccount> {
  const cache = shownAccounts(db);
  const read = () => customerAccount(db, orgId, customerId).then(frozen);
  return cache ? cache.read(`${orgId}\u0000${customerId}`, read) : read();
}

/** A kept account is shared by every request that shows it: frozen through and through (a Date stays as it is). */
function frozen<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Date) && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) frozen(inner);
    Object.freeze(value);
  }
  return value;
}

/** R-P2, R-A3: turning the permission on or off is for admin agents and global admins. */
export const requireToggleRole = (actor: Actor) => requireAdmin(actor, 'what.togglePermission');
/** R-P5: so is recording that Owner is assigned. */
export const requireOwnerRole = (actor: Actor) => requireAdmin(actor, 'what.recordOwner');

export type AllowCheck = { customer: Customer } & (
  | { state: 'already-on'; grant: PermissionGrant }
  | { state: 'owner-unknown'; subscriptions: Subscription[] }
  | { state: 'ready'; subscription: Subscription }
);

/**
 * Everything turning the permission on needs: the role (R-P2), an active Azure
 * plan / Azure Global subscription (R-P4) and a known Owner on one (R-P5).
 * Checked when the command runs and again when the button is clicked (without the connector, by the
 * same rules written in SQL: core/turn-on.ts).
 */
export async function checkAllowReservations(ctx: CoreContext, customerId: string): Promise<AllowCheck> {
  return checkAllowPermission(ctx, customerId, 'azure-reservations');
}

export async function checkAllowPermission(ctx: CoreContext, customerId: string, resource: PermissionResource, read: AccountReader = customerAccount): Promise<AllowCheck> {
  requireToggleRole(ctx.actor);
  const { customer, grants, subscriptions: all } = await read(ctx.db, ctx.org.id, customerId);
  const grant = grants[resource];
  if (grant) return { customer, state: 'already-on', grant };
  const azure = all.filter((s) => s.status === 'active' && isAzureSubscription(s));
  if (azure.length === 0) throw new DomainError('error.noAzureSubscription', { customer: customer.name, resource: resource === 'azure-savings-plans' ? 'savings' : 'reservations' });
  const owned = azure.find((s) => s.ownerRoleAssigned);
  return owned ? { customer, state: 'ready', subscription: owned } : { customer, state: 'owner-unknown', subscriptions: azure };
}

/** What a committed change did besides the change: how many of the customer's contacts were told directly (for a resource that tells them). */
export interface Committed {
  contactsTold?: number;
}

export type AllowResult = AllowCheck | ({ customer: Customer; state: 'turned-on' } & Committed);

/**
 * Seeds 000/001, "Verify the customer has been assigned the correct role in Azure" and "Help customers
 * manage reservations they purchase": what a customer allowed to buy needs to know (R-P5, R-P7, R-P11, R-P12).
 */
const reservationGuidance = ['allow.guideOwner', 'allow.guideScope', 'allow.guidePrice', 'allow.guideLinks', 'allow.guidePartner'] as const;

/** Per resource: its Partner Center calls, activity actions and announcements (R-P10), also of a change a sync found. */
export const permissionToggles = {
  'azure-reservations': {
    allow: (pc: PartnerCenterGateway, org: Organization, tenantId: string) => pc.allowReservations(org, tenantId),
    disallow: (pc: PartnerCenterGateway, org: Organization, tenantId: string) => pc.disallowReservations(org, tenantId),
    created: 'create_customer_purchase_permission',
    deleted: 'delete_customer_purchase_permission',
    onAnnounce: 'allow.announce',
    offAnnounce: 'disallow.announce',
    foundOn: 'partnerCenter.reservationsFoundOn',
    foundOff: 'partnerCenter.reservationsFoundOff',
    /** The lines after the on announcement's first; and what each contact is told directly, on and off. */
    guidance: {
      announced: ['allow.guideBuy', ...reservationGuidance],
      on: ['allow.contactNotice', ...reservationGuidance],
      off: ['disallow.contactNotice'],
    },
  },
  'azure-savings-plans': {
    allow: (pc: PartnerCenterGateway, org: Organization, tenantId: string) => pc.allowSavingsPlans(org, tenantId),
    disallow: (pc: PartnerCenterGateway, org: Organization, tenantId: string) => pc.disallowSavingsPlans(org, tenantId),
    created: 'create_customer_savings_plan_permission',
    deleted: 'delete_customer_savings_plan_permission',
    onAnnounce: 'allowSavingsPlans.announce',
    offAnnounce: 'disallowSavingsPlans.announce',
    foundOn: 'partnerCenter.savingsPlansFoundOn',
    foundOff: 'partnerCenter.savingsPlansFoundOff',
  },
} as const satisfies Record<PermissionResource, unknown>;

export const allowReservations = (ctx: CoreContext, customerId: string) => allowPermission(ctx, customerId, 'azure-reservations');
export const allowSavingsPlans = (ctx: CoreContext, customerId: string) => allowPermission(ctx, customerId, 'azure-savings-plans');

/**
 * R-P3, R-P10: turns it on once, however often it is asked; only the winner writes the log.
 * With the connector, Partner Center is asked between the intent's transaction and the outcome's.
 */
export async function allowPermission(ctx: CoreContext, customerId: string, resource: PermissionResource): Promise<AllowResult> {
  const check = await checkAllowPermission(ctx, customerId, resource);
  if (check.state !== 'ready') return check;
  const { customer } = check;
  const at = { ...ctx, actor: requireToggleRole(ctx.actor) };
  const intent = await recordPermissionIntent(at, customer, resource, true);
  if (intent) await askPartnerCenter(ctx.db, intent, () => permissionToggles[resource].allow(ctx.partnerCenter!, ctx.org, customer.tenantId));
  const committed = await inTransaction(ctx.db, (tx) => commitPermission(tx, at, customer, resource, true, intent));
  // A lost race: the insert waited for the winner to commit, so the state read now is the winner's.
  return committed ? { customer, state: 'turned-on', ...committed } : checkAllowPermission(ctx, customer.id, resource);
}

/** Step 1 of a permission change made in Partner Center too; undefined without the connector. */
async function recordPermissionIntent(ctx: StaffContext, customer: Customer, resource: PermissionResource, on: boolean): Promise<PartnerCenterIntent | undefined> {
  if (!ctx.partnerCenter) return undefined;
  return ctx.db.transaction((tx) =>
    recordIntent(tx, ctx, { kind: 'permission', target: policyTarget(customer.id), customerId: customer.id, change: { kind: 'permission', resource, on } }),
  );
}

/**
 * The permission's row, its activity row (R-P10), its announcement and the customer's contacts'
 * direct messages, committed together (R-N3); the intent (when Partner Center was asked) is settled
 * in the same transaction. False when there was nothing to change, or a repair already committed this intent.
 */
export async function commitPermission(
  tx: Queryable,
  ctx: StaffContext,
  customer: Pick<Customer, 'id' | 'name'>,
  resource: PermissionResource,
  on: boolean,
  intent?: PartnerCenterIntent,
): Promise<Committed | false> {
  if (intent && !(await settleIntent(tx, intent, 'done'))) return false;
  const toggle = permissionToggles[resource];
  const { actor } = ctx;
  const where = and(
    eq(customerPurchasePermissions.orgId, ctx.org.id),
    eq(customerPurchasePermissions.customerId, customer.id),
    eq(customerPurchasePermissions.resource, resource),
  );
  const changed = on
    ? await grantPermission(tx as Database).execute({ orgId: ctx.org.id, customerId: customer.id, resource, grantedBy: actor.id, grantedAt: ctx.now() })
    : await tx.delete(customerPurchasePermissions).where(where).returning();
  if (changed.length === 0) return false;
  await recordActivity(tx, ctx, on ? toggle.created : toggle.deleted, customer.id);
  const guidance = 'guidance' in toggle ? toggle.guidance : undefined;
  const params = { actor: actor.name, customer: customer.name, partner: ctx.org.name };
  const then = on && guidance ? { then: [...guidance.announced] } : {};
  await announce(tx, ctx, 'permissions', customer.id, { key: on ? toggle.onAnnounce : toggle.offAnnounce, params, ...then });
  if (!guidance) return {};
  const [key, ...told] = on ? guidance.on : guidance.off;
  return { contactsTold: await tellContacts(tx, ctx, customer.id, { key, params, then: told }) };
}

/** A permission turned on, once: a row already there (another click's) is left as it is. */
const grantPermission = preparedOnce((db) =>
  db
    .insert(customerPurchasePermissions)
    .values({
      orgId: sql.placeholder('orgId'),
      customerId: sql.placeholder('customerId'),
      resource: sql.placeholder('resource'),
      grantedBy: sql.placeholder('grantedBy'),
      grantedAt: sql.placeholder('grantedAt'),
    })
    .onConflictDoNothing()
    .returning()
    .prepare('grant_customer_permission'),
);

export type DisallowResult = { customer: Customer } & ({ state: 'already-off' } | ({ state: 'turned-off' } & Committed) | { state: 'on'; grant: PermissionGrant });

export async function checkDisallowReservations(ctx: CoreContext, customerId: string): Promise<DisallowResult> {
  return checkDisallowPermission(ctx, customerId, 'azure-reservations');
}

export async function checkDisallowPermission(ctx: CoreContext, customerId: string, resource: PermissionResource, read: AccountReader = customerAccount): Promise<DisallowResult> {
  requireToggleRole(ctx.actor);
  const { customer, grants } = await read(ctx.db, ctx.org.id, customerId);
  const grant = grants[resource];
  return grant ? { customer, state: 'on', grant } : { customer, state: 'already-off' };
}

export const disallowReservations = (ctx: CoreContext, customerId: string) => disallowPermission(ctx, customerId, 'azure-reservations');
export const disallowSavingsPlans = (ctx: CoreContext, customerId: string) => disallowPermission(ctx, customerId, 'azure-savings-plans');

/** R-P2, R-P10: turns it off once; a repeat finds nothing to delete and writes nothing. */
export async function disallowPermission(ctx: CoreContext, customerId: string, resource: PermissionResource): Promise<DisallowResult> {
  const check = await checkDisallowPermission(ctx, customerId, resource);
  if (check.state !== 'on') return check;
  const { customer } = check;
  const at = { ...ctx, actor: requireToggleRole(ctx.actor) };
  const intent = await recordPermissionIntent(at, customer, resource, false);
  if (intent) await askPartnerCenter(ctx.db, intent, () => permissionToggles[resource].disallow(ctx.partnerCenter!, ctx.org, customer.tenantId));
  const committed = await inTransaction(ctx.db, (tx) => commitPermission(tx, at, customer, resource, false, intent));
  return committed ? { customer, state: 'turned-off', ...committed } : { customer, state: 'already-off' };
}

export type OwnerResult = { state: 'recorded' | 'already-known'; customer: Customer; subscription: Subscription };

/** R-P5: an admin confirms that the customer's key user holds Owner on an Azure subscription. */
export async function recordOwnerAssigned(ctx: CoreContext, customerId: string, subscriptionId: string): Promise<OwnerResult> {
  const actor = requireOwnerRole(ctx.actor);
  const { customer, subscriptions: all } = await customerAccount(ctx.db, ctx.org.id, customerId);
  const subscription = all.find((s) => s.id.toLowerCase() === subscriptionId.trim().toLowerCase());
  if (!subscription) {
    throw new DomainError('error.unknownSubscription', {
      customer: customer.name,
      subscription: subscriptionId,
      list: all.length ? all.map((s) => s.id).join(', ') : '—',
    });
  }
  if (!isAzureSubscription(subscription)) {
    throw new DomainError('error.notAzureSubscription', { subscription: subscription.id }, { terms: { offer: `offer.${subscription.offer}` } });
  }
  const recorded = await inTransaction(ctx.db, async (tx) => {
    const updated = await tx
      .update(subscriptions)
      .set({ ownerRoleAssigned: true })
      .where(and(eq(subscriptions.orgId, ctx.org.id), eq(subscriptions.id, subscription.id), eq(subscriptions.ownerRoleAssigned, false)))
      .returning();
    if (updated.length === 0) return false;
    await recordActivity(tx, { ...ctx, actor }, 'owner_role_confirmed', customer.id, { subscription: subscription.id });
    await notify(tx, ctx.org, {
      kind: 'subscriptions',
      customerId: customer.id,
      message: { key: 'owner.announce', params: { actor: actor.name, customer: customer.name, subscription: subscription.id } },
    });
    return true;
  });
  return { state: recorded ? 'recorded' : 'already-known', customer, subscription };
}

export async function subscriptionById(db: Queryable, orgId: string, id: string): Promise<Subscription | undefined> {
  const [subscription] = await db.select().from(subscriptions).where(and(eq(subscriptions.orgId, orgId), eq(subscriptions.id, id)));
  return subscription;
}
