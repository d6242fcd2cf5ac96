import { asc, count, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database, Transaction } from '../../db/client.js';
import {
  activityLog, apiTokens, audienceSupportRequests, channelLanguages, confirmations, customerContacts, customerPurchasePermissions, customers,
  deliveryChannels, notificationSubscriptions, offerAudiencePartners, offerAudiences, offers, organizations, outbox, partnerCenterAuditCursors,
  partnerCenterIntents, partnerCenterOrders, partnerCenterSyncs, partnerCenterUnreadableRecords, purchases, reservationRequests, reservations,
  slackInstallations, slackLinkCodes, staff, subscriptions, teamsConversations, teamsPrivateViews,
} from '../../db/schema.js';

/** Every table with an org_id, each before the tables its rows refer to (foreign keys without cascade). */
export const orgTables: [string, PgTable & { orgId: PgColumn }][] = [
  ['partner_center_intents', partnerCenterIntents],
  ['reservation_requests', reservationRequests],
  ['confirmations', confirmations],
  ['customer_purchase_permissions', customerPurchasePermissions],
  ['activity_log', activityLog],
  ['notification_subscriptions', notificationSubscriptions],
  ['purchases', purchases],
  ['reservations', reservations],
  ['subscriptions', subscriptions],
  ['partner_center_orders', partnerCenterOrders],
  ['customer_contacts', customerContacts],
  ['customers', customers],
  ['staff', staff],
  ['outbox', outbox],
  ['delivery_channels', deliveryChannels],
  ['channel_languages', channelLanguages],
  ['api_tokens', apiTokens],
  ['teams_conversations', teamsConversations],
  ['teams_private_views', teamsPrivateViews],
  ['partner_center_audit_cursors', partnerCenterAuditCursors],
  ['partner_center_syncs', partnerCenterSyncs],
  ['partner_center_unreadable_records', partnerCenterUnreadableRecords],
  ['slack_installations', slackInstallations],
  ['slack_link_codes', slackLinkCodes],
];

export interface DemoRemoval {
  /** The demo organizations removed, by name; none when there were none. */
  names: string[];
  /** Rows removed, by table. */
  rows: Record<string, number>;
  /** Organizations still stored: the partner's own. */
  remaining: number;
}

const removed = (tx: Transaction, table: PgTable, where: SQL) => tx.delete(table).where(where).returning({ one: sql`1` }).then((r) => r.length);

/**
 * `demo remove`: the demo organizations and everything that belongs to them, in one transaction — every
 * row with their org_id, and the offers a demo publisher manages with those offers' audiences. An offer one
 * of the partner's own subscriptions still names is kept, no longer managed by anyone. Nothing else changes.
 */
export async function removeDemoOrganizations(db: Database): Promise<DemoRemoval> {
  return db.transaction(async (tx) => {
    const demo = await tx.select({ id: organizations.id, name: organizations.name }).from(organizations).where(eq(organizations.demo, true)).orderBy(asc(organizations.name));
    const ids = demo.map((o) => o.id);
    const rows: Record<string, number> = {};
    if (ids.length) {
      for (const [name, table] of orgTables) rows[name] = await removed(tx, table, inArray(table.orgId, ids));
      const managed = (await tx.select({ id: offers.id }).from(offers).where(inArray(offers.publisherOrgId, ids))).map((o) => o.id);
      // The demo's own subscriptions are gone by now: any left naming its offers are the partner's.
      const kept = (await tx.selectDistinct({ id: subscriptions.offerId }).from(subscriptions).where(inArray(subscriptions.offerId, managed))).map((s) => s.id!);
      await tx.update(offers).set({ publisherOrgId: null }).where(inArray(offers.id, kept));
      const gone = managed.filter((id) => !kept.includes(id));
      rows.audience_support_requests = await removed(tx, audienceSupportRequests, inArray(audienceSupportRequests.offerId, gone));
      rows.offer_audience_partners = await removed(tx, offerAudiencePartners, inArray(offerAudiencePartners.offerId, gone));
      rows.offer_audiences = await removed(tx, offerAudiences, inArray(offerAudiences.offerId, gone));
      rows.offers = await removed(tx, offers, inArray(offers.id, gone));
      rows.organizations = await removed(tx, organizations, inArray(organizations.id, ids));
    }
    const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(organizations);
    return { names: demo.map((o) => o.name), rows, remaining: n };
  });
}
