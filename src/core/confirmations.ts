import { randomUUID } from 'node:crypto';
import { addDays } from './dates.js';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Database, Queryable } from '../../db/client.js';
import { preparedOnce, preparedSql } from '../../db/prepared.js';
import { isTransaction } from '../../db/transaction.js';
import { coalesce } from '../coalesce.js';
import { confirmations, type ConfirmationKind } from '../../db/schema.js';
import { requireAdmin, requireStaff } from './access.js';
import type { CoreContext } from './context.js';
import { DomainError } from './errors.js';
import { storedParams, type MessageKey, type MessageParams } from '../i18n/index.js';

/** A catalog sentence, its parameters and the parameters that are catalog words: what a click did, told again to later clicks. */
export type Outcome = { key: MessageKey; params: MessageParams; terms?: Record<string, MessageKey> };

/** How long a confirmation can be clicked: long enough to read and decide, short enough that its figures still hold. */
const lifetime = (shownAt: Date) => addDays(shownAt, 1);

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type OfferedRow = typeof confirmations.$inferInsert & { id: string; createdAt: Date };

/**
 * Offers inserted by one statement from one JSON parameter, whatever their number: its SQL is built and
 * prepared once, where a multi-row insert was built anew for each batch size (drizzle's building cost more CPU than the insert).
 * Its commit does not wait for the disk (synchronous_commit off, for this transaction only): an offer lost
 * to a crash in the next fraction of a second is a card whose button says to run the command again; nothing it changes is lost.
 */
const insertOffers = preparedSql('insert_confirmations', sql`
    insert into ${confirmations} (id, org_id, kind, params, shown_to_staff_id, shown_to_name, created_at, expires_at)
    select id, org_id, kind, params, shown_to_staff_id, shown_to_name, created_at, expires_at
    from jsonb_populate_recordset(null::${confirmations}, (${sql.placeholder('rows')}::text)::jsonb),
      (select set_config('synchronous_commit', 'off', true)) as unsynced`);
const offerRows = (rows: OfferedRow[]) =>
  JSON.stringify(
    rows.map((r) => ({
      id: r.id, org_id: r.orgId, kind: r.kind, params: r.params, shown_to_staff_id: r.shownToStaffId, shown_to_name: r.shownToName,
      created_at: r.createdAt.toISOString(), expires_at: r.expiresAt.toISOString(),
    })),
  );

/**
 * Confirmations shown at the same time are stored by one statement, so many cards cost one commit:
 * each offer waits for the statement under way, then goes with the others that came meanwhile. A row
 * that cannot be stored (its staff member removed meanwhile) fails its own card only.
 */
const offering = new WeakMap<Database, (row: OfferedRow) => Promise<void>>();
function storeOffer(db: Database, row: OfferedRow): Promise<unknown> {
  if (isTransaction(db)) return db.insert(confirmations).values(row);
  let store = offering.get(db);
  if (!store) {
    const insert = async (rows: OfferedRow[]) => (await insertOffers(db).execute({ rows: offerRows(rows) }), rows.map(() => undefined));
    offering.set(db, (store = coalesce(insert, { max: 500, aloneOnError: true, concurrency: 4 })));
  }
  return store(row);
}

/** Records a change shown for confirmation; its button carries the returned ID only. */
export async function offerConfirmation(ctx: CoreContext, kind: ConfirmationKind, params: Record<string, unknown>): Promise<string> {
  const actor = requireStaff(ctx.actor, kind);
  const shownAt = ctx.now();
  const id = randomUUID();
  await storeOffer(ctx.db, { id, orgId: ctx.org.id, kind, params, shownToStaffId: actor.id, shownToName: actor.name, createdAt: shownAt, expiresAt: lifetime(shownAt) });
  return id;
}

type Params = Record<string, unknown>;

/** Every confirmed change is an admin's (R-A3, R-A4); a click is refused by role before anything else. */
const neededFor: Record<ConfirmationKind, MessageKey> = {
  buy: 'what.marketplace',
  'subscription-edit': 'what.marketplace',
  allow: 'what.togglePermission',
  disallow: 'what.togglePermission',
  'owner-assigned': 'what.recordOwner',
};

/** The click's claim on a confirmation: it sets used_at only while it is unset, so one click wins. */
const claimStatement = (db: Database, withOutcome: boolean) =>
  db
    .update(confirmations)
    .set({
      usedAt: sql`${sql.placeholder('usedAt')}::timestamptz`,
      usedByName: sql`${sql.placeholder('usedByName')}::text`,
      // As JSON text, so each driver passes it through unchanged.
      ...(withOutcome ? { outcome: sql`(${sql.placeholder('outcome')}::text)::jsonb` } : {}),
    })
    .where(and(eq(confirmations.id, sql.placeholder('id')), eq(confirmations.orgId, sql.placeholder('orgId')), isNull(confirmations.usedAt)))
    .returning({ id: confirmations.id });
const claimOnly = preparedOnce((db) => claimStatement(db, false).prepare('claim_confirmation'));
const claimWithOutcome = preparedOnce((db) => claimStatement(db, true).prepare('claim_confirmation_with_outcome'));

/** Another click on the same confirmation committed first: this one's transaction is undone. */
class LostRace extends Error {}

/** The click on a confirmation already used: who clicked it, when, and what it did or why it failed. */
export interface UsedConfirmation {
  usedByName: string;
  usedAt: Date;
  failed: boolean;
  outcome?: Outcome;
}

export type ConfirmResult<T> = { state: 'done'; result: T; params: Params } | ({ state: 'used' } & UsedConfirmation);

export interface ConfirmOptions<T> {
  /**
   * The change calls Partner Center: the click is claimed first, in its own transaction, so no
   * row stays locked during the call; a change that then fails marks the confirmation failed.
   * Otherwise the claim and the change commit together, or neither does.
   */
  remote: boolean | ((params: Params) => Promise<boolean>);
  /** What the click did, told to later clicks. */
  outcome: (result: T, params: Params) => Outcome;
  /** A result that changed nothing because Partner Center's copy differed (remote only): the confirmation is failed. */
  failed?: (result: T) => boolean;
}

/**
 * The click on a confirmation: acts at most once. Checked first: the clicker's role, then that the
 * button is one of this organization's confirmations of this kind (R-A5), not already used, shown
 * to the clicker (it was their own card) and not expired. The change itself checks the rules again.
 */
export async function confirmOnce<T>(
  ctx: CoreContext,
  id: string,
  kind: ConfirmationKind,
  act: (ctx: CoreContext, params: Params) => Promise<T>,
  options: ConfirmOptions<T>,
): Promise<ConfirmResult<T>> {
  const actor = requireAdmin(ctx.actor, neededFor[kind]);
  const row = await readConfirmation(ctx.db, ctx.org.id, id);
  if (!row || row.kind !== kind) throw new DomainError('error.staleButton');
  if (row.usedAt) return used(row);
  if (row.shownToStaffId !== actor.id) throw new DomainError('confirmation.notYours', { name: row.shownToName });
  if (row.expiresAt.getTime() <= ctx.now().getTime()) throw new DomainError('confirmation.expired', { date: row.expiresAt });

  const claim = (db: Database, outcome?: Outcome) => {
    // Values bound as text: drizzle's column mappings do not apply to them here.
    const at = { id: row.id, orgId: ctx.org.id, usedAt: ctx.now().toISOString(), usedByName: actor.name };
    return outcome ? claimWithOutcome(db).execute({ ...at, outcome: JSON.stringify({ ...outcome, params: storedParams(outcome.params) }) }) : claimOnly(db).execute(at);
  };
  const finish = (db: Database, outcome: Outcome, failed = false) => recordOutcome(db, ctx.org.id, row.id, outcome, failed ? ctx.now() : undefined);

  const remote = typeof options.remote === 'boolean' ? options.remote : await options.remote(row.params);
  if (!remote) {
    try {
      return await ctx.db.transaction(async (tx) => {
        const db = tx as unknown as Database;
        const result = await act({ ...ctx, db }, row.params);
        // Claimed last, with what the click did, in one statement. A click racing this one waits here
        // for its commit (or on a row the change writes), finds the row used, and undoes its own work.
        if (!(await claim(db, options.outcome(result, row.params))).length) throw new LostRace();
        return { state: 'done', result, params: row.params };
      });
    } catch (error) {
      if (!(error instanceof LostRace)) throw error;
      return used((await readConfirmation(ctx.db, ctx.org.id, row.id))!);
    }
  }

  if (!(await claim(ctx.db)).length) return used((await readConfirmation(ctx.db, ctx.org.id, row.id))!);
  let result: T;
  try {
    result = await act(ctx, row.params);
  } catch (error) {
    const reason: Outcome = error instanceof DomainError ? { key: error.code, params: error.params, terms: error.terms } : { key: 'confirmation.unexpected', params: {} };
    await finish(ctx.db, reason, true);
    throw error;
  }
  await finish(ctx.db, options.outcome(result, row.params), Boolean(options.failed?.(result)));
  return { state: 'done', result, params: row.params };
}

/**
 * What a confirmed change came to, told to later clicks; also written by a repair that settled a
 * change whose click was cut off (a crash) or answered before Partner Center finished.
 */
export async function recordOutcome(db: Queryable, orgId: string, id: string, outcome: Outcome, failedAt?: Date): Promise<void> {
  await db
    .update(confirmations)
    .set({ outcome: { ...outcome, params: storedParams(outcome.params) }, ...(failedAt ? { failedAt } : {}) })
    .where(and(eq(confirmations.orgId, orgId), eq(confirmations.id, id)));
}

/**
 * The Cancel button: closes the shown confirmations still open, so their buttons no longer act.
 * One that a click used first (also one racing this Cancel) is returned: its change stands.
 */
export async function closeConfirmations(ctx: CoreContext, ids: string[]): Promise<UsedConfirmation | undefined> {
  const actor = requireStaff(ctx.actor, 'cancel');
  const valid = ids.filter((id) => uuidPattern.test(id));
  if (!valid.length) return undefined;
  const mine = and(eq(confirmations.orgId, ctx.org.id), inArray(confirmations.id, valid));
  const other = (await ctx.db.select().from(confirmations).where(mine)).find((r) => r.shownToStaffId !== actor.id);
  if (other) throw new DomainError('confirmation.notYours', { name: other.shownToName });
  await ctx.db.update(confirmations).set({ usedAt: ctx.now(), usedByName: actor.name, outcome: { ...cancelled, params: {} } }).where(and(mine, isNull(confirmations.usedAt)));
  const acted = (await ctx.db.select().from(confirmations).where(mine)).find((r) => r.outcome?.key !== cancelled.key);
  return acted && used(acted);
}

const cancelled: Outcome = { key: 'common.cancelled', params: {} };

const confirmationById = preparedOnce((db) =>
  db
    .select()
    .from(confirmations)
    .where(and(eq(confirmations.orgId, sql.placeholder('orgId')), eq(confirmations.id, sql.placeholder('id'))))
    .prepare('confirmation_by_id'),
);

async function readConfirmation(db: Database, orgId: string, id: string) {
  if (!uuidPattern.test(id)) return undefined;
  const [row] = await confirmationById(db).execute({ orgId, id });
  return row;
}

export function used(row: typeof confirmations.$inferSelect): { state: 'used' } & UsedConfirmation {
  return { state: 'used', usedByName: row.usedByName!, usedAt: row.usedAt!, failed: Boolean(row.failedAt), ...(row.outcome ? { outcome: row.outcome as Outcome } : {}) };
}
