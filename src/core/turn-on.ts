import { getTableColumns, sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { preparedOnce } from '../../db/prepared.js';
import { columnsOf, rawRows } from '../../db/rows.js';
import {
  activityLog, confirmations, customerContacts, customerPurchasePermissions, customers, notificationSubscriptions, organizations, outbox, staff, subscriptions,
  type StaffRole,
} from '../../db/schema.js';
import type { MessageKey } from '../i18n/index.js';
import { adminRoles } from './access.js';
import { used, type ConfirmResult } from './confirmations.js';
import type { CoreContext } from './context.js';
import { isUuid } from './customers.js';
import { DomainError } from './errors.js';
import {
  azureSubscriptionOffers, checkAllowPermission, permissionToggles, requireToggleRole, type AllowResult, type PermissionResource,
} from './permissions.js';

// A Turn on click without the connector, as one statement (issue 18): the rules are permissions.ts's, written again in SQL.

/** A value the Turn on statement is given, by name. */
const input = (name: string) => sql.placeholder(name);
const textList = (values: readonly string[]) => sql.join(values.map((v) => sql`${v}`), sql`, `);
const customerColumns = sql.join(Object.values(getTableColumns(customers)).map((c) => sql`c.${sql.identifier(c.name)} as ${sql.identifier(`customer_${c.name}`)}`), sql`, `);

/**
 * A Turn on click without the connector, in one statement and so one transaction: what confirmOnce and
 * allowPermission do in a dozen round trips. The confirmation is locked while it is open, so a click
 * racing this one on it (or a Cancel) waits, then reads it as that one left it and does nothing; a
 * permission turned on meanwhile through another card is found by the insert, which then does nothing.
 * Only an inserted permission writes its activity row and its announcement and tells the contacts
 * (R-P10, R-N3); the claim records what the click did. The clicker (role, name, Slack user) is read
 * here, with the change, never from memory (R-A1, R-P2); the rules R-P4 and R-P5 are checkAllowPermission's.
 */
const turnOnStatement = preparedOnce((db) => {
  const orgId = sql`${input('orgId')}::uuid`;
  const actorId = sql`${input('actorId')}::uuid`;
  const now = sql`${input('now')}::timestamptz`;
  const resource = sql`${input('resource')}::text`;
  const query = sql`
    with seen as (
      select * from ${confirmations} where org_id = ${orgId} and id = ${input('id')}::uuid
    ), target as (
      select * from ${confirmations} where org_id = ${orgId} and id = (select id from seen where used_at is null)
      for no key update
    ), clicker as (
      -- Who clicked, as the database holds them now: their role, their name, and still linked to the Slack user who clicked.
      select role, name from ${staff}
      where org_id = ${orgId} and id = ${actorId} and (${input('slackUser')}::text is null or slack_user_id = ${input('slackUser')}::text)
    ), customer as (
      -- Each test is a subquery with limit 1, looked up by index for this customer: an exists here may be run
      -- as a hash of every permission of the resource, built anew by each click.
      select c.*, case
          when (select true from ${customerPurchasePermissions} p where p.org_id = c.org_id and p.customer_id = c.id and p.resource = ${resource} limit 1) then 'already-on'
          when (select true from ${subscriptions} s where s.org_id = c.org_id and s.customer_id = c.id and s.status = 'active' and s.offer in (${textList(azureSubscriptionOffers)}) limit 1) is null then 'no-azure'
          when (select true from ${subscriptions} s where s.org_id = c.org_id and s.customer_id = c.id and s.status = 'active' and s.offer in (${textList(azureSubscriptionOffers)}) and s.owner_role_assigned limit 1) is null then 'owner-unknown'
          else 'ready'
        end as permission_state
      from target t join ${customers} c on c.org_id = t.org_id and c.id = (t.params->>'customerId')::uuid
      where t.used_at is null and t.kind = 'allow' and t.shown_to_staff_id = ${actorId} and t.expires_at > ${now} and t.params->>'resource' = ${resource}
        and exists (select from clicker where role in (${textList(adminRoles)}))
    ), granted as (
      insert into ${customerPurchasePermissions} (org_id, customer_id, resource, granted_by, granted_at)
      select ${orgId}, id, ${resource}, ${actorId}, ${now} from customer where permission_state = 'ready'
      on conflict do nothing
      returning customer_id
    ), logged as (
      insert into ${activityLog} (org_id, customer_id, actor_staff_id, actor_name, action, details, created_at)
      select ${orgId}, customer_id, ${actorId}, k.name, ${input('action')}::text, '{}'::jsonb, ${now} from granted, clicker k
    ), channels as (
      -- notify()'s targets: the activity channel, else where the click was; and the channels subscribed to permissions.
      select activity_channel_platform as platform, activity_channel_id as channel_id from ${organizations} where id = ${orgId}
      union
      select ${input('herePlatform')}::text, ${input('hereChannelId')}::text from ${organizations}
      where id = ${orgId} and (activity_channel_platform is null or activity_channel_id is null)
      union
      select n.platform, n.channel_id from ${notificationSubscriptions} n, customer c
      where n.org_id = ${orgId} and n.kind = 'permissions' and (n.customer_id is null or n.customer_id = c.id)
    ), said as (
      -- The sentences' parameters: who turned it on, for which customer, at which partner.
      select jsonb_build_object('actor', k.name, 'customer', c.name, 'partner', o.name) as params
      from clicker k, customer c, ${organizations} o where o.id = ${orgId}
    ), messages as (
      -- notify()'s announcement to each channel, and tellContacts()'s direct message to each contact with a chat user,
      -- on the clicker's platform when they have a user there; queued by one insert, which fires the outbox trigger once.
      select ch.platform, ch.channel_id, (${input('announcement')}::text)::jsonb || jsonb_build_object('params', said.params) as message, false as told
      from granted, said, channels ch
      where ch.platform in ('slack', 'teams') and ch.channel_id is not null
      union all
      select d.platform, d.person->>'id', m.notice || jsonb_build_object('params', said.params || jsonb_build_object('contact', cc.name), 'person', d.person), true
      from granted, customer c, said, (select (${input('contactNotice')}::text)::jsonb as notice) m, ${customerContacts} cc,
        lateral (select case when cc.slack_user_id is null or (${input('platform')}::text = 'teams' and cc.teams_aad_object_id is not null) then 'teams' else 'slack' end as platform) chosen,
        lateral (
          select chosen.platform, case chosen.platform
              when 'teams' then jsonb_build_object('id', cc.teams_aad_object_id, 'aadObjectId', cc.teams_aad_object_id)
              else jsonb_build_object('id', cc.slack_user_id)
            end as person
        ) d
      where m.notice is not null and cc.org_id = ${orgId} and cc.customer_id = c.id and (cc.slack_user_id is not null or cc.teams_aad_object_id is not null)
    ), queued as (
      insert into ${outbox} (org_id, platform, channel_id, message)
      select ${orgId}, platform, channel_id, message from messages
    ), claimed as (
      update ${confirmations} set used_at = ${now}, used_by_name = k.name, outcome = jsonb_build_object(
          'key', case when exists (select from granted) then ${input('turnedOnKey')}::text else ${input('unchangedKey')}::text end,
          'params', jsonb_build_object('customer', c.name))
      from customer c, clicker k
      where ${confirmations}.org_id = ${orgId} and ${confirmations}.id = (select id from target) and c.permission_state <> 'no-azure'
      returning 1
    )
    select t.*, ${customerColumns}, c.permission_state, k.role as clicker_role,
      exists (select from granted) as granted, exists (select from claimed) as claimed, (select count(*)::int from messages where told) as contacts_told
    from (select) one
      left join (select * from target union all select * from seen where not exists (select from target)) t on true
      left join customer c on true
      left join clicker k on true`;
  return db._.session.prepareQuery(new PgDialect().sqlToQuery(query), undefined, 'turn_on_confirmed', false);
});

type TurnOnRow = Record<string, unknown> & {
  permission_state: 'already-on' | 'no-azure' | 'owner-unknown' | 'ready' | null;
  clicker_role: StaffRole | null;
  granted: boolean;
  claimed: boolean;
  contacts_told: number;
};

/**
 * The Turn on button without the connector (R-P2–R-P5, R-P10): confirmOnce's checks, in its order, on
 * what one statement found and did. What the click did is recorded as `turnedOn` or `unchanged`.
 */
export async function confirmAllowPermission(
  ctx: CoreContext,
  confirmationId: string,
  resource: PermissionResource,
  outcome: { turnedOn: MessageKey; unchanged: MessageKey },
): Promise<ConfirmResult<AllowResult>> {
  const actor = requireToggleRole(ctx.actor);
  if (!isUuid(confirmationId)) throw new DomainError('error.staleButton');
  const toggle = permissionToggles[resource];
  const guidance = 'guidance' in toggle ? toggle.guidance : undefined;
  const now = ctx.now();
  // Where the click was, which hears the announcement when the organization has no activity channel (the statement reads which).
  const here = ctx.conversation.channelId ? ctx.conversation : undefined;
  const result = await turnOnStatement(ctx.db).execute({
    orgId: ctx.org.id,
    id: confirmationId,
    actorId: actor.id,
    slackUser: ctx.conversation.platform === 'slack' ? (ctx.conversation.person?.id ?? null) : null,
    now: now.toISOString(),
    resource,
    action: toggle.created,
    // Their parameters are put in by the statement.
    announcement: JSON.stringify({ key: toggle.onAnnounce, ...(guidance ? { then: guidance.announced } : {}) }),
    contactNotice: guidance ? JSON.stringify({ key: guidance.on[0], then: guidance.on.slice(1) }) : null,
    platform: ctx.conversation.platform,
    herePlatform: here?.platform ?? null,
    hereChannelId: here?.channelId ?? null,
    turnedOnKey: outcome.turnedOn,
    unchangedKey: outcome.unchanged,
  });
  const row = rawRows(result)[0] as TurnOnRow;
  // The role now, as the change was made: one removed (or a Slack user unlinked) since the clicker was identified refuses the click.
  requireToggleRole(row.clicker_role ? { ...actor, role: row.clicker_role } : { kind: 'unknown' });
  const confirmation = columnsOf(confirmations, row);
  if (!confirmation.id || confirmation.kind !== 'allow') throw new DomainError('error.staleButton');
  if (confirmation.usedAt) return used(confirmation);
  if (confirmation.shownToStaffId !== actor.id) throw new DomainError('confirmation.notYours', { name: confirmation.shownToName });
  if (confirmation.expiresAt.getTime() <= now.getTime()) throw new DomainError('confirmation.expired', { date: confirmation.expiresAt });
  if (confirmation.params.resource !== resource) throw new DomainError('error.staleButton');
  if (!row.permission_state) throw new DomainError('error.noMatch', { text: String(confirmation.params.customerId) });
  const customer = columnsOf(customers, row, 'customer_');
  if (row.permission_state === 'no-azure') {
    throw new DomainError('error.noAzureSubscription', { customer: customer.name, resource: resource === 'azure-savings-plans' ? 'savings' : 'reservations' });
  }
  if (!row.claimed) throw new Error(`confirmation ${confirmation.id} was open and not claimed`);
  if (row.granted) return { state: 'done', result: { customer, state: 'turned-on', ...(guidance ? { contactsTold: row.contacts_told } : {}) }, params: confirmation.params };
  // Already on, or Owner unknown: the card that says so is built from what the rules find now.
  return { state: 'done', result: await checkAllowPermission(ctx, customer.id, resource), params: confirmation.params };
}

