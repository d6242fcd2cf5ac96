import type { Database, Queryable } from '../../db/client.js';
import type { PartnerCenterPurchase, StaffRole } from '../../db/schema.js';
import type { PartnerCenterPurchaseAnswer, PendingOrder } from '../partner-center/purchase.js';
import type { Subscription } from './marketplace.js';
import type { SubscriptionChange } from './subscription-edits.js';
import type { FieldChange } from '../i18n/index.js';

/** `language` is the person's own choice of language (`language …`), if they made one. */
export type Actor =
  | { kind: 'staff'; id: string; name: string; role: StaffRole; language?: string | null }
  | { kind: 'contact'; id: string; name: string; customerId: string; language?: string | null }
  | { kind: 'unknown' };

export interface Organization {
  id: string;
  name: string;
  /** A CSP partner, or a software publisher managing its offers' CSP audiences (loaded by orgColumns; optional for hand-built contexts). */
  kind?: 'partner' | 'publisher';
  /** A partner's CSP tenant ID: how publishers' audiences name it (R-M2, R-I4); absent or null: none. */
  cspTenantId?: string | null;
  activityChannelPlatform: string | null;
  activityChannelId: string | null;
  approvalsChannelPlatform: string | null;
  approvalsChannelId: string | null;
  /** Its default language (en, ko-KR, zh-TW) and the IANA zone times are shown in; absent: en and UTC. */
  locale?: string;
  timeZone?: string;
}

export type Platform = 'slack' | 'teams' | 'cli';

/** A chat user as their platform names them: a Slack user ID, or a Teams `29:…` ID with the Entra object ID. */
export interface ChatPerson {
  id: string;
  aadObjectId?: string;
}

/** Where a command ran: announcements go back there unless the organization set an activity channel. */
export interface Conversation {
  platform: Platform;
  channelId: string | null;
  /** Who typed it, from the platform's signed request; absent in the terminal. */
  person?: ChatPerson;
}

/**
 * Partner Center's side of the customer purchase permission (R-P1) and of subscription edits.
 * Each call resolves once Partner Center holds the asked state (also when it already did) and
 * throws a DomainError the user can read otherwise; the local state changes only after it resolved.
 */
export interface PartnerCenterGateway {
  allowReservations(org: Organization, customerTenantId: string): Promise<void>;
  disallowReservations(org: Organization, customerTenantId: string): Promise<void>;
  allowSavingsPlans(org: Organization, customerTenantId: string): Promise<void>;
  disallowSavingsPlans(org: Organization, customerTenantId: string): Promise<void>;
  /**
   * A subscription edit made in Partner Center (PATCH with If-Match: the ETag csp-ops last read).
   * Resolves with Partner Center's copy afterwards as columns, or, when that copy changed since
   * csp-ops read it, with the copy read again and what changed; throws a DomainError on a refusal.
   */
  updateSubscription(
    org: Organization,
    customerTenantId: string,
    subscription: Subscription,
    change: SubscriptionChange,
  ): Promise<{ state: 'updated'; columns: Partial<Subscription> } | { state: 'conflict'; columns: Partial<Subscription>; changes: FieldChange[] }>;
  /**
   * A SaaS purchase made in Partner Center: cart, checkout at most once, then the order's
   * subscription and activation link (or the order alone while its subscription cannot be read).
   * onCart keeps the cart's ID before the checkout.
   */
  buy(org: Organization, customerTenantId: string, purchase: PartnerCenterPurchase, since: Date, onCart: (cartId: string) => Promise<void>): Promise<PartnerCenterPurchaseAnswer | PendingOrder>;
}

/** An approved reservation request, as the Azure Reservations API is asked to carry it out. */
export type AzureReservationChange = { reservationOrderId: string; reservationId: string; quantity: number } & (
  | { kind: 'cancel'; reason?: string }
  | { kind: 'exchange'; product: string; term: string; billingPlan: string }
  | { kind: 'renew' }
  | { kind: 'scope'; scope: 'shared' | 'single'; subscriptionId?: string }
);
export interface AzureReservationOutcome {
  refund?: { amount: number; currency: string };
  /** An exchange: the reservation Azure bought in the old one's place. */
  successor?: { reservationOrderId: string; reservationId: string };
}
/** A reservation as Azure Resource Manager answers GET …/reservationOrders/{o}/reservations/{r}. */
export interface RemoteReservation {
  id?: string;
  location?: string;
  properties?: {
    appliedScopeType?: string;
    appliedScopes?: string[] | null;
    renew?: boolean;
    provisioningState?: string;
    reservedResourceType?: string;
    billingScopeId?: string;
    /** An exchange's link: the reservation this one was swapped from, or to. */
    swapProperties?: { swapSource?: string; swapDestination?: string };
  };
}
/** The SKUs Azure's reservation catalog offers where a reservation is: its resource type, region and billing subscription. */
export interface ReservationCatalog {
  reservedResourceType: string;
  location: string;
  skus: string[];
}

/**
 * Azure reservations changed in the customer's tenant with the partner's delegated admin rights. Each
 * call throws a DomainError on Azure's refusal (`azure.refused`, with its code and message).
 */
export interface AzureReservationsGateway {
  /** What returning the reservation now refunds (calculateRefund). */
  refundQuote(customerTenantId: string, reservation: { reservationOrderId: string; reservationId: string; quantity: number }): Promise<{ amount: number; currency: string } | undefined>;
  /** Makes the change, following a long-running one to its end; `accepted` is told its operation URL once Azure took it. */
  carryOut(customerTenantId: string, change: AzureReservationChange, accepted: (operation: string) => Promise<void>): Promise<AzureReservationOutcome>;
  reservation(customerTenantId: string, reservationOrderId: string, reservationId: string): Promise<RemoteReservation | undefined>;
  /** A long-running exchange Azure accepted, followed to its end. */
  operation(customerTenantId: string, url: string): Promise<AzureReservationOutcome>;
  /** What the reservation could be exchanged for (GetCatalog for its resource type, region and billing subscription). */
  catalog(customerTenantId: string, reservationOrderId: string, reservationId: string): Promise<ReservationCatalog>;
  /** The reservation an exchange bought in place of `exchanged`, found by the exchange's swap link; undefined when Azure names none. */
  exchangedFor(customerTenantId: string, exchanged: RemoteReservation, sku: string | undefined): Promise<AzureReservationOutcome['successor']>;
}

export interface CoreContext {
  db: Database;
  org: Organization;
  actor: Actor;
  conversation: Conversation;
  now: () => Date;
  /** Absent: the permission is only kept here (no Partner Center connector configured). */
  partnerCenter?: PartnerCenterGateway & { azure?: AzureReservationsGateway };
}

export type { Database, Queryable };
