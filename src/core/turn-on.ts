import { getTableColumns, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { preparedSql } from '../../db/prepared.js';
import { isTransaction } from '../../db/transaction.js';
import { coalesce } from '../coalesce.js';
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

const textList = (values: readonly string[]) => sql.join(values.map((v) => sql`${v}`), sql`, `);
const customerColumns = sql.join(Object.values(getTableColumns(customers)).map((c) => sql`c.${sql.identifier(c.name)} as ${sql.identifier(`customer_${c.name}`)}`), sql`, `);

/**
 * Turn on clicks without the connector, in one statement and so one transaction: what confirmOnce and
 * allowPermission do in a dozen round trips, for every click given (issue 18). Each click is a row of
 * `click`, numbered `n`, and every part carries its `n`, so each click finds, changes and answers only
 * its own rows. The confirmation is locked while it is open, so a click racing this one on it (or a
 * Cancel) waits, then reads it as that one left it and does nothing; a permission turned on meanwhile
 * through another card is found by the insert, which then does nothing. Only an inserted permission
 * writes its activity row and its announcement and tells the contacts (R-P10, R-N3); the claim records
 * what the click did. The clicker (role, name, Slack user) is read here, with the change, never from
 * memory (R-A1, R-P2); the rules R-P4 and R-P5 are checkAllowPermission's.
 */
const turnOnStatement = preparedSql('turn_on_clicks', sql`
    with click as (
      -- The clicks, numbered, as one JSON text, which each driver passes through unchanged.
      select * from jsonb_to_recordset((${sql.placeholder('clicks')}::text)::jsonb) as x(
        n int, org_id uuid, id uuid, actor_id uuid, slack_user text, now timestamptz, resource text, action text, announcement jsonb,
        contact_notice jsonb, platform text, here_platform text, here_channel_id text, turned_on_key text, unchanged_key text)
    ), seen as (
      select i.n, f.* from click i join ${confirmations} f on f.org_id = i.org_id and f.id = i.id
    ), target as (
      -- Open when this statement began; locked, then read as the click that held it left it (used_at is the newest).
      -- Locked in the order of their IDs, as the permissions are inserted in theirs: two instances' statements do not deadlock.
      select s.n, f.* from seen s join ${confirmations} f on f.org_id = s.org_id and f.id = s.id where s.used_at is null
      order by f.id
      for no key update of f
    ), clicker as (
      -- Who clicked, as the database holds them now: their role, their name, and still linked to the Slack user who clicked.
      select i.n, s.role, s.name from click i join ${staff} s
        on s.org_id = i.org_id and s.id = i.actor_id and (i.slack_user is null or s.slack_user_id = i.slack_user)
    ), customer as (
      -- Each test is a subquery with limit 1, looked up by index for this customer: an exists here may be run
      -- as a hash of every permission of the resource, built anew by each click.
      select t.n, c.*, case
          when (select true from ${customerPurchasePermissions} p where p.org_id = c.org_id and p.customer_id = c.id and p.resource = i.resource limit 1) then 'already-on'
          when (select true from ${subscriptions} s where s.org_id = c.org_id and s.customer_id = c.id and s.status = 'active' and s.offer in (${textList(azureSubscriptionOffers)}) limit 1) is null then 'no-azure'
          when (select true from ${subscriptions} s where s.org_id = c.org_id and s.customer_id = c.id and s.status = 'active' and s.offer in (${textList(azureSubscriptionOffers)}) and s.owner_role_assigned limit 1) is null then 'owner-unknown'
          else 'ready'
        end as permission_state
      from target t join click i on i.n = t.n join ${customers} c on c.org_id = t.org_id and c.id = (t.params->>'customerId')::uuid
      where t.used_at is null and t.kind = 'allow' and t.shown_to_staff_id = i.actor_id and t.expires_at > i.now and t.params->>'resource' = i.resource
        and exists (select from clicker k where k.n = t.n and k.role in (${textList(adminRoles)}))
    ), ready as (
      -- Two cards for the same customer's permission: the first click inserts it; the other finds it on, as after that one's commit.
      select distinct on (c.org_id, c.id, i.resource) c.n, c.org_id, c.id as customer_id, i.resource, i.actor_id, i.now
      from customer c join click i on i.n = c.n where c.permission_state = 'ready'
      order by c.org_id, c.id, i.resource, c.n
    ), inserted as (
      insert into ${customerPurchasePermissions} (org_id, customer_id, resource, granted_by, granted_at)
      select org_id, customer_id, resource, actor_id, now from ready
      on conflict do nothing
      returning org_id, customer_id, resource
    ), granted as (
      select r.n, r.customer_id from ready r join inserted p on p.org_id = r.org_id and p.customer_id = r.customer_id and p.resource = r.resource
    ), logged as (
      insert into ${activityLog} (org_id, customer_id, actor_staff_id, actor_name, action, details, created_at)
      select i.org_id, g.customer_id, i.actor_id, k.name, i.action, '{}'::jsonb, i.now
      from granted g join click i on i.n = g.n join clicker k on k.n = g.n
    ), channels as (
      -- notify()'s targets: the activity channel, else where the click was; and the channels subscribed to permissions.
      select g.n, o.activity_channel_platform as platform, o.activity_channel_id as channel_id
      from granted g join click i on i.n = g.n join ${organizations} o on o.id = i.org_id
      union
      select g.n, i.here_platform, i.here_channel_id from granted g join click i on i.n = g.n join ${organizations} o on o.id = i.org_id
      where o.activity_channel_platform is null or o.activity_channel_id is null
      union
      select g.n, ns.platform, ns.channel_id from granted g join click i on i.n = g.n join ${notificationSubscriptions} ns
        on ns.org_id = i.org_id and ns.kind = 'permissions' and (ns.customer_id is null or ns.customer_id = g.customer_id)
    ), said as (
      -- The sentences' parameters: who turned it on, for which customer, at which partner.
      select g.n, jsonb_build_object('actor', k.name, 'customer', c.name, 'partner', o.name) as params
      from granted g join clicker k on k.n = g.n join customer c on c.n = g.n join ${organizations} o on o.id = c.org_id
    ), messages as (
      -- notify()'s announcement to each channel, and tellContacts()'s direct message to each contact with a chat user,
      -- on the clicker's platform when they have a user there; queued by one insert, which fires the outbox trigger once.
      select said.n, ch.platform, ch.channel_id, i.announcement || jsonb_build_object('params', said.params) as message, false as told
      from said join click i on i.n = said.n join channels ch on ch.n = said.n
      where ch.platform in ('slack', 'teams') and ch.channel_id is not null
      union all
      select said.n, d.platform, d.person->>'id', i.contact_notice || jsonb_build_object('params', said.params || jsonb_build_object('contact', cc.name), 'person', d.person), true
      from said join click i on i.n = said.n join granted g on g.n = said.n
        join ${customerContacts} cc on cc.org_id = i.org_id and cc.customer_id = g.customer_id,
        lateral (select case when cc.slack_user_id is null or (i.platform = 'teams' and cc.teams_aad_object_id is not null) then 'teams' else 'slack' end as platform) chosen,
        lateral (
          select chosen.platform, case chosen.platform
              when 'teams' then jsonb_build_object('id', cc.teams_aad_object_id, 'aadObjectId', cc.teams_aad_object_id)
              else jsonb_build_object('id', cc.slack_user_id)
            end as person
        ) d
      where i.contact_notice is not null and (cc.slack_user_id is not null or cc.teams_aad_object_id is not null)
    ), queued as (
      insert into ${outbox} (org_id, platform, channel_id, message)
      select i.org_id, m.platform, m.channel_id, m.message from messages m join click i on i.n = m.n order by m.n, m.told
    ), claimed as (
      update ${confirmations} f set used_at = i.now, used_by_name = k.name, outcome = jsonb_build_object(
          'key', case when g.n is null then i.unchanged_key else i.turned_on_key end,
          'params', jsonb_build_object('customer', c.name))
      from customer c join click i on i.n = c.n join clicker k on k.n = c.n left join granted g on g.n = c.n
      where f.org_id = i.org_id and f.id = i.id and c.permission_state <> 'no-azure'
      returning c.n
    )
    select t.*, ${customerColumns}, c.permission_state, k.role as clicker_role, i.n as click,
      g.n is not null as granted, exists (select from claimed d where d.n = i.n) as claimed,
      (select count(*)::int from messages m where m.n = i.n and m.told) as contacts_told
    from click i
      left join (select * from target union all select * from seen s where not exists (select from target t where t.n = s.n)) t on t.n = i.n
      left join customer c on c.n = i.n
      left join clicker k on k.n = i.n
      left join granted g on g.n = i.n`);

/** One click, as the statement's `click` row reads it (its `n` is given by the batch). */
type Click = { org_id: string; id: string } & Record<string, unknown>;

type TurnOnRow = Record<string, unknown> & {
  permission_state: 'already-on' | 'no-azure' | 'owner-unknown' | 'ready' | null;
  clicker_role: StaffRole | null;
  granted: boolean;
  claimed: boolean;
  contacts_told: number;
  click: number;
};

/** Runs clicks by one statement, each answered with its own row. */
async function runTogether(db: Database, clicks: Click[]): Promise<TurnOnRow[]> {
  const rows = rawRows(await turnOnStatement(db).execute({ clicks: JSON.stringify(clicks.map((click, n) => ({ ...click, n }))) })) as TurnOnRow[];
  const byClick = new Map(rows.map((row) => [row.click, row]));
  return clicks.map((_, n) => byClick.get(n)!);
}

/**
 * Clicks made while a statement is under way go together in the next one, so a busy instance commits
 * many clicks at the cost of one (issue 18). A confirmation clicked twice goes in one statement, then in
 * the next, which finds it used, as a second click does (R-P10). A statement that fails is run again for
 * each click alone, so a click that cannot be made (a deadlock, a constraint) fails only itself.
 */
const batches = new WeakMap<Database, (click: Click) => Promise<TurnOnRow>>();
async function turnOn(db: Database, click: Click): Promise<TurnOnRow> {
  // In a transaction the click is the caller's, alone, as part of its work.
  if (isTransaction(db)) return (await runTogether(db, [click]))[0]!;
  let run = batches.get(db);
  if (!run) batches.set(db, (run = coalesce((clicks: Click[]) => runTogether(db, clicks), { max: 200, distinct: (c) => c.id, aloneOnError: true })));
  return run(click);
}

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
  const row = await turnOn(ctx.db, {
    org_id: ctx.org.id,
    id: confirmationId,
    actor_id: actor.id,
    slack_user: ctx.conversation.platform === 'slack' ? (ctx.conversation.person?.id ?? null) : null,
    now: now.toISOString(),
    resource,
    action: toggle.created,
    // Their parameters are put in by the statement.
    announcement: { key: toggle.onAnnounce, ...(guidance ? { then: guidance.announced } : {}) },
    contact_notice: guidance ? { key: guidance.on[0], then: guidance.on.slice(1) } : null,
    platform: ctx.conversation.platform,
    here_platform: here?.platform ?? null,
    here_channel_id: here?.channelId ?? null,
    turned_on_key: outcome.turnedOn,
    unchanged_key: outcome.unchanged,
  });
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

