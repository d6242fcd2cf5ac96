import { relations, sql } from 'drizzle-orm';
import type { StoredParams } from '../src/i18n/index.js';
import {
  type AnyPgColumn, bigint, bigserial, boolean, check, doublePrecision, index, integer, jsonb, numeric, pgTable, primaryKey, text, timestamp, unique, uniqueIndex, uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

export const organizationKinds = ['partner', 'publisher'] as const;

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  /** A CSP partner, or a software publisher deciding which partners resell its offers. */
  kind: text('kind', { enum: organizationKinds }).notNull().default('partner'),
  /** A partner's CSP tenant ID: how publishers' audiences name it (R-I3). */
  cspTenantId: text('csp_tenant_id').unique(),
  slackTeamId: text('slack_team_id').unique(),
  teamsTenantId: text('teams_tenant_id').unique(),
  activityChannelPlatform: text('activity_channel_platform'),
  activityChannelId: text('activity_channel_id'),
  approvalsChannelPlatform: text('approvals_channel_platform'),
  approvalsChannelId: text('approvals_channel_id'),
  /** The language people and channels that chose none are answered in: en, ko-KR or zh-TW. */
  locale: text('locale').notNull().default('en'),
  /** The IANA zone times are shown in; business rules still count in UTC. */
  timeZone: text('time_zone').notNull().default('UTC'),
  /** Loaded from db/seed as the demo: never chosen for a command that names no organization, and removed by `demo remove`. */
  demo: boolean('demo').notNull().default(false),
  createdAt: createdAt(),
});

/** Partner roles, then publisher roles: owner (everything, and deciding support requests), manager (audiences), developer (reads). */
export const staffRoles = ['global-admin', 'admin-agent', 'sales-agent', 'helpdesk-agent', 'owner', 'manager', 'developer'] as const;
export type StaffRole = (typeof staffRoles)[number];

export const staff = pgTable('staff', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  name: text('name').notNull(),
  email: text('email').notNull(),
  role: text('role', { enum: staffRoles }).notNull(),
  slackUserId: text('slack_user_id'),
  teamsAadObjectId: text('teams_aad_object_id'),
  /** The language this person chose (`language …`); null: their platform's, then the organization's. */
  language: text('language'),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('staff_org_email').on(t.orgId, t.email),
  uniqueIndex('staff_org_slack_user').on(t.orgId, t.slackUserId),
  uniqueIndex('staff_org_teams_user').on(t.orgId, t.teamsAadObjectId),
]);

export const customers = pgTable('customers', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  name: text('name').notNull(),
  /** The name as users' text is matched against it (see core/text.ts). */
  nameKey: text('name_key').notNull(),
  domain: text('domain').notNull(),
  tenantId: text('tenant_id').notNull(),
  billingCountry: text('billing_country').notNull(),
  /** When a Partner Center sync last found this customer there (src/partner-center/sync.ts). */
  partnerCenterSeenAt: timestamp('partner_center_seen_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('customers_org_tenant').on(t.orgId, t.tenantId),
  uniqueIndex('customers_org_domain').on(t.orgId, t.domain),
  index('customers_name_key_trgm').using('gin', sql`${t.nameKey} gin_trgm_ops`),
  // An exact name, and the customers list a page at a time in name order, without sorting the organization's customers.
  index('customers_org_name_key').on(t.orgId, t.nameKey),
  // `customers <text>` also finds text inside domains and tenant IDs.
  index('customers_domain_trgm').using('gin', sql`${t.domain} gin_trgm_ops`),
  index('customers_tenant_trgm').using('gin', sql`${t.tenantId} gin_trgm_ops`),
  // A name typed as two characters (한빛, 宏達, LG) has no trigram: its pair of characters is looked up here (bigrams(), migration 0027).
  index('customers_name_key_bigrams').using('gin', sql`bigrams(${t.nameKey})`),
]);

export const customerContacts = pgTable('customer_contacts', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  name: text('name').notNull(),
  email: text('email').notNull(),
  slackUserId: text('slack_user_id'),
  teamsAadObjectId: text('teams_aad_object_id'),
  /** As for staff: the contact's own language choice. */
  language: text('language'),
  createdAt: createdAt(),
}, (t) => [
  uniqueIndex('contacts_org_email').on(t.orgId, t.email),
  uniqueIndex('contacts_org_slack_user').on(t.orgId, t.slackUserId),
  uniqueIndex('contacts_org_teams_user').on(t.orgId, t.teamsAadObjectId),
  // A permission change tells the customer's contacts (src/core/announcements.ts, tellContacts).
  index('contacts_org_customer').on(t.orgId, t.customerId),
]);

export const subscriptionOffers = ['azure-plan', 'azure-global', 'marketplace-saas', 'microsoft-365', 'other'] as const;
/** `action-needed`: a SaaS subscription the publisher has not activated yet (R-M6). */
export const subscriptionStatuses = ['active', 'suspended', 'disabled', 'pending', 'action-needed', 'cancelled', 'expired'] as const;
export const billingTerms = ['monthly', 'annual'] as const;
export type BillingTerm = (typeof billingTerms)[number];

export const subscriptions = pgTable('subscriptions', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  /** Partner Center's subscription ID (for Azure, the Azure subscription GUID). */
  id: text('id').notNull(),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  offer: text('offer', { enum: subscriptionOffers }).notNull(),
  friendlyName: text('friendly_name'),
  status: text('status', { enum: subscriptionStatuses }).notNull(),
  ownerRoleAssigned: boolean('owner_role_assigned').notNull().default(false),
  // Marketplace (SaaS) subscriptions: the offer and plan bought, and the life after the purchase (R-M6–R-M11).
  offerId: text('offer_id').references(() => offers.id),
  planId: text('plan_id'),
  seats: integer('seats'),
  term: text('term', { enum: billingTerms }),
  autoRenew: boolean('auto_renew'),
  /** The plan's price per seat for the term, in `currency`, when it was bought. */
  price: numeric('price', { precision: 14, scale: 2 }),
  currency: text('currency'),
  purchasedAt: timestamp('purchased_at', { withTimezone: true }),
  /** R-M8: identifies this purchase in the publisher's activation link. */
  activationCode: text('activation_code').unique(),
  licensesAssignedAt: timestamp('licenses_assigned_at', { withTimezone: true }),
  setupCompletedAt: timestamp('setup_completed_at', { withTimezone: true }),
  /** R-M9: set when both of the above happened. */
  billingStartedAt: timestamp('billing_started_at', { withTimezone: true }),
  resellerMpnId: text('reseller_mpn_id'),
  cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
  /** When the activity channel was told the cancellation window is about to close. */
  windowRemindedAt: timestamp('window_reminded_at', { withTimezone: true }),
  // Read from Partner Center by a sync or an event: its offer, term dates, refundable seats and the ETag edits send back (If-Match).
  partnerCenterOfferId: text('partner_center_offer_id'),
  offerName: text('offer_name'),
  commitmentEndsAt: timestamp('commitment_ends_at', { withTimezone: true }),
  cancellationAllowedUntil: timestamp('cancellation_allowed_until', { withTimezone: true }),
  refundableQuantity: integer('refundable_quantity'),
  commerceModel: text('commerce_model', { enum: ['legacy', 'new-commerce'] }),
  etag: text('etag'),
  syncedAt: timestamp('synced_at', { withTimezone: true }),
  /** R-M8: the activation link Partner Center gave for a SaaS subscription bought there (its order line's activationlinks). */
  activationLink: text('activation_link'),
  createdAt: createdAt(),
}, (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('subscriptions_customer').on(t.customerId)]);

export const offerTypes = ['saas', 'vm', 'container', 'azure-app', 'solution-template', 'managed-app'] as const;
export type OfferType = (typeof offerTypes)[number];

export interface OfferPlan {
  id: string;
  name: string;
  freeTrialDays?: number;
  /** A bring-your-own-license VM plan: opted in to CSP by default (R-I1). */
  byol?: boolean;
  /** catalogItemId: Partner Center's availability for that market and term, which a cart line names (set by the catalog refresh). */
  prices: { term: BillingTerm; market: string; currency: string; price: number; catalogItemId?: string }[];
  /** The free trial's own availability in Partner Center, by market. */
  trialCatalogItemIds?: Record<string, string>;
}

/** R-M7: what the publisher asks partners to do before cancelling or changing seats: its own text or a URL. */
export interface PublisherSteps {
  cancel?: string;
  seats?: string;
}

/** The commercial marketplace catalog (R-M1), shared by every organization; an import replaces an offer's plans and prices. */
export const offers = pgTable('offers', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  nameKey: text('name_key').notNull(),
  publisherName: text('publisher_name').notNull(),
  publisherSupportContact: text('publisher_support_contact').notNull(),
  /** The publisher's landing page; the activation link is this with the purchase's token (R-M8). */
  landingPageUrl: text('landing_page_url'),
  /** R-M7: steps the publisher defines before a change; from the import file (Partner Center's catalog names none). */
  publisherSteps: jsonb('publisher_steps').$type<PublisherSteps>(),
  type: text('type', { enum: offerTypes }).notNull(),
  categories: jsonb('categories').$type<string[]>().notNull().default([]),
  /** R-M5: billing countries the publisher sells to. */
  countries: jsonb('countries').$type<string[]>().notNull().default([]),
  plans: jsonb('plans').$type<OfferPlan[]>().notNull(),
  /** The publisher organization that manages this offer's CSP audience (section 6); null for catalog entries imported by partners. */
  publisherOrgId: uuid('publisher_org_id').references(() => organizations.id),
  /** False until the publisher publishes it: its audience changes then take effect on publish, not on sync (R-I3). */
  published: boolean('published').notNull().default(true),
  /** R-I8: for partners only, required once the offer is opted in to CSP. */
  salesMaterialsUrl: text('sales_materials_url'),
  channelContact: text('channel_contact'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  /** When Partner Center's product catalog refresh last read this offer; null for an offer from the import file. */
  partnerCenterRefreshedAt: timestamp('partner_center_refreshed_at', { withTimezone: true }),
});

export const audienceOptions = ['any', 'specific', 'none'] as const;
export type AudienceOption = (typeof audienceOptions)[number];

/** R-I2: an offer's CSP audience, as published (what partners see) and as drafted (what the publisher is editing). */
export const offerAudiences = pgTable('offer_audiences', {
  offerId: text('offer_id').primaryKey().references(() => offers.id),
  /** Null while the offer was never published. */
  publishedOption: text('published_option', { enum: audienceOptions }),
  draftOption: text('draft_option', { enum: audienceOptions }).notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A partner on an offer's list: in the published list, the draft, or both, with the regions it may sell in (R-I4). */
export const offerAudiencePartners = pgTable('offer_audience_partners', {
  offerId: text('offer_id').notNull().references(() => offers.id),
  tenantId: text('tenant_id').notNull(),
  regions: jsonb('regions').$type<string[]>().notNull().default([]),
  published: boolean('published').notNull().default(false),
  draft: boolean('draft').notNull().default(false),
  /** R-I6: the partner has resold the offer to a customer (recorded, or seen in its subscriptions). */
  hasResold: boolean('has_resold').notNull().default(false),
}, (t) => [primaryKey({ columns: [t.offerId, t.tenantId] })]);

export const supportRequestStatuses = ['pending', 'granted', 'refused'] as const;

/** R-I7: a change that needs Microsoft's support ("Deauthorize CSP"), recorded until the publisher's owner marks it granted or refused. */
export const audienceSupportRequests = pgTable('audience_support_requests', {
  id: uuid('id').primaryKey().defaultRandom(),
  offerId: text('offer_id').notNull().references(() => offers.id),
  fromOption: text('from_option', { enum: audienceOptions }).notNull(),
  toOption: text('to_option', { enum: audienceOptions }).notNull(),
  /** The list the offer will have once granted (option specific), and the partners it removes. */
  partners: jsonb('partners').$type<{ tenantId: string; regions: string[] }[]>().notNull().default([]),
  removes: jsonb('removes').$type<string[]>().notNull().default([]),
  status: text('status', { enum: supportRequestStatuses }).notNull().default('pending'),
  requestedByName: text('requested_by_name').notNull(),
  decidedByName: text('decided_by_name'),
  decidedAt: timestamp('decided_at', { withTimezone: true }),
  createdAt: createdAt(),
});

/** R-I3: the CSP partners a publisher can choose from. */
export const partnerDirectory = pgTable('partner_directory', {
  tenantId: text('tenant_id').primaryKey(),
  name: text('name').notNull(),
  nameKey: text('name_key').notNull(),
  country: text('country').notNull(),
  competencies: jsonb('competencies').$type<string[]>().notNull().default([]),
  skills: jsonb('skills').$type<string[]>().notNull().default([]),
});

/** A row exists while the permission is on (R-P1: off by default), as Partner Center's self-serve policy does. */
export const customerPurchasePermissions = pgTable('customer_purchase_permissions', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  resource: text('resource', { enum: ['azure-reservations', 'azure-savings-plans'] }).notNull(),
  /** Null: found on in Partner Center by a sync, not turned on through csp-ops. */
  grantedBy: uuid('granted_by').references(() => staff.id),
  grantedAt: timestamp('granted_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.orgId, t.customerId, t.resource] })]);

/** Append-only: rows are inserted, never updated or deleted. */
export const activityLog = pgTable('activity_log', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  customerId: uuid('customer_id').references(() => customers.id),
  actorStaffId: uuid('actor_staff_id').references(() => staff.id),
  actorName: text('actor_name').notNull(),
  action: text('action').notNull(),
  details: jsonb('details').$type<StoredParams>().notNull().default({}),
  createdAt: createdAt(),
}, (t) => [
  // The id orders entries of the same moment, so an export can page through them in order (keyset).
  index('activity_org_created').on(t.orgId, t.createdAt, t.id),
  // A customer's latest entries (the account view) without reading the whole organization's log.
  index('activity_customer_created').on(t.customerId, t.createdAt, t.id),
]);

export const outboxStatuses = ['pending', 'sent', 'failed'] as const;

export const outbox = pgTable('outbox', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  platform: text('platform', { enum: ['slack', 'teams'] }).notNull(),
  channelId: text('channel_id').notNull(),
  /** A platform-neutral view (src/views/model.ts), rendered when it is sent. */
  message: jsonb('message').notNull(),
  status: text('status', { enum: outboxStatuses }).notNull().default('pending'),
  attempts: integer('attempts').notNull().default(0),
  nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
  lastError: text('last_error'),
  sentAt: timestamp('sent_at', { withTimezone: true }),
  /** The platform's ID of the posted message (Slack `ts`), so later changes can update it. */
  postedMessageId: text('posted_message_id'),
  /** Where it was posted when that is not `channelId`: the direct chat a decision notice went to instead. */
  postedChannelId: text('posted_channel_id'),
  /**
   * A purchase folded into a digest: posted as a reply to the digest (this row), in its thread,
   * once the digest is sent and its message ID known.
   */
  parentId: bigint('parent_id', { mode: 'number' }).references((): AnyPgColumn => outbox.id),
  createdAt: createdAt(),
}, (t) => [
  index('outbox_due').on(t.status, t.nextAttemptAt),
  // A channel's waiting messages, oldest first, for pacing and digests.
  index('outbox_channel_pending').on(t.orgId, t.platform, t.channelId, t.id).where(sql`status = 'pending'`),
  // Every posted copy of a request's card, to update them all once it is decided (R-Q5).
  index('outbox_request_card').on(t.orgId, sql`(message->>'requestCard')`).where(sql`message ? 'requestCard'`),
  // A digest's purchases, for its replies.
  index('outbox_parent').on(t.parentId, t.id).where(sql`parent_id is not null`),
]);

/**
 * One row per chat channel the bot posts to: its pacing (a token bucket, shared
 * by every instance) and a lease, so one worker at a time posts to a channel.
 */
export const deliveryChannels = pgTable('delivery_channels', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  platform: text('platform', { enum: ['slack', 'teams'] }).notNull(),
  channelId: text('channel_id').notNull(),
  tokens: doublePrecision('tokens').notNull(),
  tokensAt: timestamp('tokens_at', { withTimezone: true }).notNull().defaultNow(),
  nextPostAt: timestamp('next_post_at', { withTimezone: true }).notNull().defaultNow(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }),
}, (t) => [primaryKey({ columns: [t.orgId, t.platform, t.channelId] })]);

/** A channel's language for what csp-ops posts there (`channel language …`); without a row, the organization's. */
export const channelLanguages = pgTable('channel_languages', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  platform: text('platform', { enum: ['slack', 'teams'] }).notNull(),
  channelId: text('channel_id').notNull(),
  locale: text('locale').notNull(),
}, (t) => [primaryKey({ columns: [t.orgId, t.platform, t.channelId] })]);

/** A Slack user's language as users.info gave it (include_locale), read again at most daily. */
export const slackUserLocales = pgTable('slack_user_locales', {
  userId: text('user_id').primaryKey(),
  /** Null: Slack gave none. */
  locale: text('locale'),
  fetchedAt: timestamp('fetched_at', { withTimezone: true }).notNull(),
});

export const notificationKinds = ['purchases', 'permissions', 'requests', 'subscriptions', 'invoices'] as const;
export type NotificationKind = (typeof notificationKinds)[number];

/** R-N1: a channel hears one kind of event, for every customer (customer_id null) or for one. */
export const notificationSubscriptions = pgTable('notification_subscriptions', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  platform: text('platform', { enum: ['slack', 'teams'] }).notNull(),
  channelId: text('channel_id').notNull(),
  kind: text('kind', { enum: notificationKinds }).notNull(),
  customerId: uuid('customer_id').references(() => customers.id),
  createdByName: text('created_by_name').notNull(),
  createdAt: createdAt(),
}, (t) => [
  unique('notification_subscriptions_once').on(t.orgId, t.platform, t.channelId, t.kind, t.customerId).nullsNotDistinct(),
  index('notification_subscriptions_kind').on(t.orgId, t.kind),
]);

export const purchaseKinds = ['reservation', 'saas'] as const;

/** A purchase the customer made on its own (R-P8), recorded once per source ID. */
export const purchases = pgTable('purchases', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  /** The source's purchase (order) ID: a repeat of it is the same purchase. */
  sourceId: text('source_id').notNull(),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  kind: text('kind', { enum: purchaseKinds }).notNull(),
  /** reservation: product, region, quantity, term, scope…; saas: offerId, planId, seats, term. */
  details: jsonb('details').$type<Record<string, string | number>>().notNull(),
  price: numeric('price', { precision: 14, scale: 2 }).notNull(),
  currency: text('currency').notNull(),
  buyerName: text('buyer_name').notNull(),
  buyerEmail: text('buyer_email').notNull(),
  purchasedAt: timestamp('purchased_at', { withTimezone: true }).notNull(),
  /** The purchase as received, to tell a repeat from a different purchase reusing the ID. */
  received: jsonb('received').notNull(),
  createdAt: createdAt(),
}, (t) => [uniqueIndex('purchases_org_source').on(t.orgId, t.sourceId), index('purchases_customer').on(t.customerId, t.purchasedAt)]);

/** Bearer tokens for the purchase intake, or (with a publisher) for that publisher's SaaS activations; only a hash is kept. */
export const apiTokens = pgTable('api_tokens', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  name: text('name').notNull(),
  publisherName: text('publisher_name'),
  tokenHash: text('token_hash').notNull().unique(),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  createdAt: createdAt(),
});

export const reservationTerms = ['P1Y', 'P3Y'] as const;
export const reservationStatuses = ['active', 'cancelled', 'exchanged', 'expired'] as const;

/** Azure reservations bought for a customer by the partner or by the customer itself (R-P9). */
export const reservations = pgTable('reservations', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  /** The reservation's ID (Azure's reservation ID when it came from Azure). */
  id: text('id').notNull(),
  /** Azure's reservation order holding it: what the Azure Reservations API changes it through; absent: changed in the Azure portal by hand. */
  reservationOrderId: text('reservation_order_id'),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  product: text('product').notNull(),
  region: text('region').notNull(),
  quantity: integer('quantity').notNull(),
  term: text('term', { enum: reservationTerms }).notNull(),
  billingPlan: text('billing_plan', { enum: ['upfront', 'monthly'] }).notNull(),
  /** R-P12: one subscription, or every subscription the partner bought for the customer. */
  scope: text('scope', { enum: ['shared', 'single'] }).notNull(),
  subscriptionId: text('subscription_id'),
  /** R-P11: the partner's price for the subscription, in `currency`. */
  price: numeric('price', { precision: 14, scale: 2 }).notNull(),
  currency: text('currency').notNull(),
  purchasedBy: text('purchased_by', { enum: ['partner', 'customer'] }).notNull(),
  purchasedAt: timestamp('purchased_at', { withTimezone: true }).notNull(),
  status: text('status', { enum: reservationStatuses }).notNull().default('active'),
  createdAt: createdAt(),
}, (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('reservations_customer').on(t.customerId, t.purchasedAt)]);

/** `cancel-subscription`: cancel a marketplace (SaaS) subscription (R-Q1); the others change a reservation. */
export const requestKinds = ['cancel', 'exchange', 'renew', 'scope', 'cancel-subscription'] as const;
/** `failed`: approved, but Azure refused to make the change (its code and message are the refusal). */
export const requestStatuses = ['pending', 'approved', 'rejected', 'refused', 'failed'] as const;

/** A change to a reservation, or a marketplace subscription's cancellation, that only the partner can make (R-P7), asked for and decided once (R-Q1–R-Q5). */
export const reservationRequests = pgTable('reservation_requests', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  /** What the request changes: a reservation, or (cancel-subscription) a marketplace subscription; exactly one is set. */
  reservationId: text('reservation_id'),
  subscriptionId: text('subscription_id'),
  kind: text('kind', { enum: requestKinds }).notNull(),
  /**
   * exchange: the new product (and, approved with the connector, the catalog `sku` it matched; `successorUnknown` when Azure
   * made it and named no new reservation); scope: the new scope and subscription; cancel-subscription: the offer and plan names when asked.
   */
  details: jsonb('details').$type<{ product?: string; scope?: 'shared' | 'single'; subscriptionId?: string; offer?: string; plan?: string; azureRefund?: { amount: number; currency: string }; sku?: string; successorUnknown?: boolean }>().notNull().default({}),
  reason: text('reason'),
  requestedByStaffId: uuid('requested_by_staff_id').references(() => staff.id),
  requestedByContactId: uuid('requested_by_contact_id').references(() => customerContacts.id),
  requestedByName: text('requested_by_name').notNull(),
  /** Where the requester asked: told the outcome there (R-Q5). */
  requestedPlatform: text('requested_platform').notNull(),
  requestedChannelId: text('requested_channel_id'),
  /** The requester as the platform names them (Slack user ID; Teams `29:…` ID and Entra object ID): told directly when the conversation cannot be posted to. */
  requestedByUserId: text('requested_by_user_id'),
  requestedByAadObjectId: text('requested_by_aad_object_id'),
  status: text('status', { enum: requestStatuses }).notNull().default('pending'),
  decidedByName: text('decided_by_name'),
  decidedAt: timestamp('decided_at', { withTimezone: true }),
  /** The approver's reason for a rejection. */
  decisionNote: text('decision_note'),
  /** Why the rules refused it at decision time (R-Q4): a catalog sentence and its parameters. */
  refusal: jsonb('refusal').$type<{ key: string; params: StoredParams }>(),
  /** An approved cancellation's refund, counted against the rolling 12-month cap. */
  refundAmount: numeric('refund_amount', { precision: 14, scale: 2 }),
  refundCurrency: text('refund_currency'),
  /** An approved reservation change: made by csp-ops through Azure, or to be made by hand in the Azure portal (then who marked it done, and when). */
  carriedOut: text('carried_out', { enum: ['azure', 'portal'] }),
  doneInAzureByName: text('done_in_azure_by_name'),
  doneInAzureAt: timestamp('done_in_azure_at', { withTimezone: true }),
  lastRemindedAt: timestamp('last_reminded_at', { withTimezone: true }),
  createdAt: createdAt(),
}, (t) => [
  index('requests_org_status').on(t.orgId, t.status, t.createdAt),
  check('requests_one_target', sql`num_nonnulls(reservation_id, subscription_id) = 1`),
  check('requests_kind_target', sql`(kind = 'cancel-subscription') = (subscription_id is not null)`),
]);

/**
 * Where the bot may post in Teams: the service URL and conversation of an
 * authenticated inbound activity (a message to the bot, or the bot being added).
 */
export const teamsConversations = pgTable('teams_conversations', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  conversationId: text('conversation_id').notNull(),
  serviceUrl: text('service_url').notNull(),
  conversationType: text('conversation_type'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [primaryKey({ columns: [t.orgId, t.conversationId] })]);

/**
 * A Teams answer shown only to the person who asked (a user-specific view): in a channel or group chat
 * everyone sees a short line, and the asker's Teams client fetches this card through the card's refresh.
 * The answer is kept, not re-run, because a typed command may have changed something.
 */
export const teamsPrivateViews = pgTable('teams_private_views', {
  /** Chosen by the adapter: the card's refresh action names it. */
  id: uuid('id').primaryKey(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  /** The asker's Microsoft Entra object ID: only their refresh gets the card. */
  userAadObjectId: text('user_aad_object_id').notNull(),
  card: jsonb('card').notNull(),
  /** What everyone else in the conversation sees: who asked what. */
  sharedCard: jsonb('shared_card').notNull(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [index('teams_private_views_created').on(t.createdAt)]);

/** What became of a Partner Center event: 'received' until the processor fetched its resource from the API (src/partner-center/events.ts). */
export const partnerCenterEventStatuses = ['received', 'processed', 'ignored', 'failed'] as const;

/**
 * Partner Center webhook events whose signature was verified, once each: Partner
 * Center delivers an event up to 10 times, and a repeat finds its key taken.
 * The body is kept as sent; the resource itself is to be fetched from the API.
 */
export const partnerCenterEvents = pgTable('partner_center_events', {
  /** sha256 of EventName, ResourceUri and ResourceChangeUtcDate. */
  eventKey: text('event_key').primaryKey(),
  eventName: text('event_name').notNull(),
  resourceUri: text('resource_uri').notNull(),
  resourceChangeUtcDate: text('resource_change_utc_date').notNull(),
  auditUri: text('audit_uri'),
  body: jsonb('body').notNull(),
  certificateUrl: text('certificate_url').notNull(),
  status: text('status', { enum: partnerCenterEventStatuses }).notNull().default('received'),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
  attempts: integer('attempts').notNull().default(0),
  /** Why it was ignored, or the last failure to process it. */
  outcome: text('outcome'),
  processedAt: timestamp('processed_at', { withTimezone: true }),
}, (t) => [index('partner_center_events_status').on(t.status, t.receivedAt)]);

// Relations let one relational query load a customer's account (db.query.customers … with).
export const customersRelations = relations(customers, ({ many }) => ({
  subscriptions: many(subscriptions),
  purchasePermissions: many(customerPurchasePermissions),
  activity: many(activityLog),
}));

export const subscriptionsRelations = relations(subscriptions, ({ one }) => ({
  customer: one(customers, { fields: [subscriptions.customerId], references: [customers.id] }),
}));

export const customerPurchasePermissionsRelations = relations(customerPurchasePermissions, ({ one }) => ({
  customer: one(customers, { fields: [customerPurchasePermissions.customerId], references: [customers.id] }),
  grantedByStaff: one(staff, { fields: [customerPurchasePermissions.grantedBy], references: [staff.id] }),
}));

export const activityLogRelations = relations(activityLog, ({ one }) => ({
  customer: one(customers, { fields: [activityLog.customerId], references: [customers.id] }),
}));

/** R-P8: how far each organization's Partner Center audit records were read (src/partner-center/audit.ts). */
export const partnerCenterAuditCursors = pgTable('partner_center_audit_cursors', {
  orgId: uuid('org_id').primaryKey().references(() => organizations.id),
  /** Every audit record before this time was read and handled. */
  polledUntil: timestamp('polled_until', { withTimezone: true }).notNull(),
});

/** Orders read from Partner Center by a sync: what was bought for or by a customer, line by line. */
export const partnerCenterOrders = pgTable('partner_center_orders', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  id: text('id').notNull(),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  status: text('status').notNull(),
  billingCycle: text('billing_cycle'),
  currency: text('currency'),
  lineItems: jsonb('line_items').$type<{ offerId?: string; friendlyName?: string; quantity?: number; subscriptionId?: string }[]>().notNull(),
  orderedAt: timestamp('ordered_at', { withTimezone: true }),
  syncedAt: timestamp('synced_at', { withTimezone: true }).notNull(),
}, (t) => [primaryKey({ columns: [t.orgId, t.id] }), index('partner_center_orders_customer').on(t.customerId, t.orderedAt)]);

/**
 * One row per organization: the sync under way (where the customer list's paging stopped and
 * the last customer finished, so an interrupted sync resumes there) and how the last one ended.
 */
export const partnerCenterSyncs = pgTable('partner_center_syncs', {
  orgId: uuid('org_id').primaryKey().references(() => organizations.id),
  /** Set while a sync is under way (also one cut off, until the next resumes it). */
  runStartedAt: timestamp('run_started_at', { withTimezone: true }),
  /** Until when the process syncing now holds the organization's sync; extended as it makes progress. */
  leaseUntil: timestamp('lease_until', { withTimezone: true }),
  /** The customer list's next page ({ path, headers }); null once it was read to the end. */
  customersNext: jsonb('customers_next').$type<{ path: string; headers: Record<string, string> }>(),
  customersListed: boolean('customers_listed').notNull().default(false),
  /** Customers are synced in tenant ID order; every one up to this one is done. */
  doneThrough: text('done_through'),
  lastFinishedAt: timestamp('last_finished_at', { withTimezone: true }),
  lastCounts: jsonb('last_counts').$type<Record<string, number>>(),
  lastError: text('last_error'),
  lastErrorAt: timestamp('last_error_at', { withTimezone: true }),
});

export const confirmationKinds = ['buy', 'allow', 'disallow', 'owner-assigned', 'subscription-edit'] as const;
export type ConfirmationKind = (typeof confirmationKinds)[number];

/**
 * A change shown to a staff member for confirmation: its button carries only this row's ID, and the
 * click claims the row once (used_at set by a compare-and-set), so a change is made at most once
 * however often and however fast its button is clicked, on any instance.
 */
export const confirmations = pgTable('confirmations', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  kind: text('kind', { enum: confirmationKinds }).notNull(),
  /** What the change applies to and its values, as the confirmation showed them. */
  params: jsonb('params').$type<Record<string, unknown>>().notNull(),
  shownToStaffId: uuid('shown_to_staff_id').notNull().references(() => staff.id),
  shownToName: text('shown_to_name').notNull(),
  createdAt: createdAt(),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  usedAt: timestamp('used_at', { withTimezone: true }),
  usedByName: text('used_by_name'),
  /** Set when the change failed after the click claimed it: a new command is needed. */
  failedAt: timestamp('failed_at', { withTimezone: true }),
  /** What the click did (or why it failed): a catalog sentence and its parameters. */
  outcome: jsonb('outcome').$type<{ key: string; params: StoredParams; terms?: Record<string, string> }>(),
}, (t) => [index('confirmations_org_created').on(t.orgId, t.createdAt)]);
export const partnerCenterIntentKinds = ['permission', 'subscription', 'purchase', 'reservation'] as const;
export const partnerCenterIntentStatuses = ['pending', 'done', 'failed', 'abandoned'] as const;

/** A permission turned on or off, or a subscription edit (a request's cancellation names the request). */
export type PartnerCenterIntentChange =
  | { kind: 'permission'; resource: 'azure-reservations' | 'azure-savings-plans'; on: boolean }
  | { kind: 'subscription'; change: { kind: 'rename'; name: string } | { kind: 'seats'; seats: number } | { kind: 'auto-renew'; on: boolean } | { kind: 'reseller'; mpnId: string } | { kind: 'cancel' }; note?: string }
  | { kind: 'purchase'; purchase: PartnerCenterPurchase }
  /** An approved reservation request carried out through Azure Resource Manager; `operation`: a long-running exchange's status URL once Azure accepted it. */
  | { kind: 'reservation'; request: 'cancel' | 'exchange' | 'renew' | 'scope'; reservationOrderId: string; reservationId: string; operation?: string };

/**
 * A Buy confirmed with the connector on: the cart line sent, the figures shown, the cart once Partner Center created it,
 * and the order once Partner Center took it without naming its subscription yet (the repair links it later).
 */
export interface PartnerCenterPurchase {
  confirmationId: string;
  offerId: string;
  planId: string;
  seats: number;
  term: BillingTerm;
  unitPrice: number;
  currency: string;
  line: { catalogItemId: string; quantity: number; billingCycle: string; termDuration: string; renewsTo?: { termDuration: string } };
  cartId?: string;
  orderId?: string;
}

/**
 * A change csp-ops asked Partner Center to make: recorded before the call, its outcome committed
 * after it. One pending intent per target at a time; one left pending by a crash is resolved by
 * reading Partner Center's state again (src/partner-center/repair.ts).
 */
export const partnerCenterIntents = pgTable('partner_center_intents', {
  id: uuid('id').primaryKey().defaultRandom(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  kind: text('kind', { enum: partnerCenterIntentKinds }).notNull(),
  /** What Partner Center is asked to change: `policy:<customer id>` (one policy holds every permission) or `subscription:<id>`. */
  target: text('target').notNull(),
  customerId: uuid('customer_id').notNull().references(() => customers.id),
  subscriptionId: text('subscription_id'),
  /** The request an approval carries out, when it is one. */
  requestId: uuid('request_id').references(() => reservationRequests.id),
  change: jsonb('change').$type<PartnerCenterIntentChange>().notNull(),
  actorStaffId: uuid('actor_staff_id').notNull().references(() => staff.id),
  actorName: text('actor_name').notNull(),
  actorPlatform: text('actor_platform').notNull(),
  actorChannelId: text('actor_channel_id'),
  status: text('status', { enum: partnerCenterIntentStatuses }).notNull().default('pending'),
  /** Partner Center's refusal (HTTP status, code, description, correlation ID), or why it was abandoned. */
  outcome: jsonb('outcome').$type<Record<string, string | number>>(),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  uniqueIndex('partner_center_intents_pending_target').on(t.orgId, t.target).where(sql`${t.status} = 'pending'`),
  index('partner_center_intents_status').on(t.status, t.createdAt),
]);

/**
 * The connector's newest refresh token (each token request returns a new one), sealed with
 * PARTNER_CENTER_TOKEN_KEY (AES-256-GCM), and what Microsoft Entra last said about it.
 * One row per partner tenant: src/partner-center/tokens.ts.
 */
export const partnerCenterConnections = pgTable('partner_center_connections', {
  tenantId: text('tenant_id').primaryKey(),
  /** `v1.<iv>.<tag>.<ciphertext>` (base64url): never the plain token. */
  sealedRefreshToken: text('sealed_refresh_token').notNull(),
  /** sha256 of the PARTNER_CENTER_REFRESH_TOKEN this chain started from: a new one in the settings (after re-consent) replaces the chain. */
  seedHash: text('seed_hash').notNull(),
  /** When the token held was received (or first seen, for the settings' one): it lapses 90 days later unless renewed. */
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
  /** Microsoft Entra refused the token (invalid_grant): its error and when. */
  refusedAt: timestamp('refused_at', { withTimezone: true }),
  refusal: text('refusal'),
  /** When the 14-day warning was announced for the token held. */
  expiryWarnedAt: timestamp('expiry_warned_at', { withTimezone: true }),
});

/** R-P8: audit records that could not be read as a purchase, once each, with why (counted in connector status). */
export const partnerCenterUnreadableRecords = pgTable('partner_center_unreadable_records', {
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  recordId: text('record_id').notNull(),
  reason: text('reason').notNull(),
  operationDate: text('operation_date'),
  loggedAt: createdAt(),
}, (t) => [primaryKey({ columns: [t.orgId, t.recordId] })]);

/**
 * A Slack workspace csp-ops was installed in through the OAuth install (src/adapters/slack/install.ts):
 * Bolt's installation, bot token included, sealed with SLACK_TOKEN_KEY (AES-256-GCM). Deleted on uninstall.
 */
export const slackInstallations = pgTable('slack_installations', {
  teamId: text('team_id').primaryKey(),
  /** The organization the install linked the workspace to (its slack_team_id). */
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  teamName: text('team_name'),
  /** The bot scopes the workspace granted: a manifest with more needs a new install. */
  scopes: text('scopes').notNull(),
  /** The Slack user who installed. */
  installedBy: text('installed_by').notNull(),
  /** `v1.<iv>.<tag>.<ciphertext>` (base64url) of the installation as JSON: never the plain token. */
  sealedInstallation: text('sealed_installation').notNull(),
  installedAt: timestamp('installed_at', { withTimezone: true }).notNull(),
});

/** One-time codes (`slack link-code`) that link the workspace installing csp-ops to an organization; only a hash is kept. */
export const slackLinkCodes = pgTable('slack_link_codes', {
  codeHash: text('code_hash').primaryKey(),
  orgId: uuid('org_id').notNull().references(() => organizations.id),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  /** Set once, by the install that used the code. */
  usedAt: timestamp('used_at', { withTimezone: true }),
  usedByTeamId: text('used_by_team_id'),
  createdAt: createdAt(),
});
