import { and, asc, count, eq, exists, inArray, isNotNull, isNull, lt, lte, not, or, sql, type SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Database } from '../../db/client.js';
import { deliveryChannels, outbox } from '../../db/schema.js';
import type { OutboxMessage } from '../core/announcements.js';
import type { ChatPerson } from '../core/context.js';
import type { Logger } from '../log.js';
import type { DeliveryOutcome } from '../observability.js';
import type { Translate } from '../i18n/index.js';
import type { View } from '../views/model.js';

export interface DeliveryTarget {
  orgId: string;
  channelId: string;
  /** The channel's language and the organization's time zone, for what the platform's renderer adds (a cut notice). */
  t: Translate;
}

/** One platform's side of delivery; each call throws DeliveryError (or anything) when it did not go through. */
export interface Sender {
  /**
   * Posts one message. With `person`, a conversation the bot cannot post to is
   * replaced by a direct chat with them, and `channelId` says where it went; a
   * target that is the person's own ID goes to that direct chat at once.
   * With `replyTo`, it is a reply to that message of the bot's (in its thread).
   */
  post(target: DeliveryTarget, view: View, options?: { person?: ChatPerson; replyTo?: string }): Promise<{ messageId?: string; channelId?: string }>;
  /** Replaces a message the bot posted in the target channel. */
  update(target: DeliveryTarget, messageId: string, view: View): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly options: { retryAfterSeconds?: number; /** The platform said it cannot succeed (no such channel, bot not in it). */ permanent?: boolean } = {},
  ) {
    super(message);
  }
}

/** Turns outbox messages into views when they are sent, so they show the state of that moment. */
export interface Renderer {
  /** How a channel is written to: its own language or the organization's. */
  translator(orgId: string, platform: 'slack' | 'teams', channelId: string): Promise<Translate>;
  message(orgId: string, message: OutboxMessage, t: Translate): Promise<View>;
  /** Several customer purchases in one message: how many, their totals, the first few. */
  digest(orgId: string, purchaseIds: string[], t: Translate): Promise<View>;
  /**
   * A reply to a digest listing its purchases in order, each with its number among the digest's
   * `total`: as many as one message holds (at least one); `count` says how many it took.
   */
  threadReply(orgId: string, purchases: { id: string; number: number }[], t: Translate, total: number): Promise<{ view: View; count: number }>;
}

/** About 67 minutes of retries before a message counts as failed (1 s, 2 s, … capped at 10 min, plus jitter). */
export const maxAttempts = 16;

export function backoffSeconds(attempt: number, random = Math.random): number {
  // Up to a quarter more, so messages that failed together do not retry together.
  return Math.min(2 ** (attempt - 1), 600) * (1 + random() / 4);
}

/**
 * Pacing per channel, shared by every instance through delivery_channels: a
 * token bucket of 5 messages refilled one per 12 s (so at most a few a
 * minute once a burst is spent), and never two posts within a second (Slack
 * allows about one per second per channel). Replies in a digest's thread keep
 * the spacing but leave the bucket alone: the channel itself shows only the
 * digest. The trigger in migration 0007 starts a channel with a full bucket.
 */
export const pacing = { burst: 5, refillSeconds: 12, spacingSeconds: 1 };
const channelBatch = 20;
/**
 * Purchases a digest holds at most, so a backlog is cleared in a few digests
 * rather than many.
 */
const channelWindow = 10_000;
/**
 * Messages a channel turn reads first: the next message, a thread reply's
 * purchases and the choice of a digest come from these; the backlog behind
 * them is read only for the digest that names it.
 */
const lookAhead = 200;
/** Wakes (one per recorded event) start at most one pass per this many ms. */
const wakeGapMs = 50;

export interface DeliveryWorker {
  /** Look for due messages now rather than at the next tick. */
  wake(): void;
  stop(): Promise<void>;
}

type Channel = typeof deliveryChannels.$inferSelect;
type Row = typeof outbox.$inferSelect;
/** A purchase waiting on its own, not yet folded into a digest. */
const unfolded = (row: Row) => 'purchase' in (row.message as OutboxMessage) && row.parentId === null;
const unfoldedRows = sql`${outbox.message} ? 'purchase' and ${outbox.parentId} is null`;
const purchaseOf = (row: Row) => (row.message as { purchase: string }).purchase;
const digestParent = alias(outbox, 'digest_parent');

/**
 * Delivers the outbox (R-N3). A worker claims channels that have due messages
 * with FOR UPDATE SKIP LOCKED and a lease, so several instances share the work
 * and each channel has one poster at a time. A channel whose waiting purchases
 * outnumber its bucket gets one digest instead, and then every one of those
 * purchases as replies in the digest's thread; otherwise messages go one by
 * one. Failures back off per message with jitter, honour Retry-After for the
 * channel, and give up at once when the platform says a retry cannot succeed.
 */
export function startDeliveryWorker(options: {
  db: Database;
  senders: Partial<Record<'slack' | 'teams', Sender>>;
  render: Renderer;
  log: Logger;
  intervalMs?: number;
  /** How long one post may take; a channel's lease outlasts it. */
  postTimeoutSeconds?: number;
  /** Told how each attempt ended, for the metrics. */
  onDelivered?: (delivery: DeliveryOutcome) => void;
}): DeliveryWorker {
  const { db, senders, log, render } = options;
  const leaseSeconds = (options.postTimeoutSeconds ?? 10) + 15;
  const platforms = Object.keys(senders) as ('slack' | 'teams')[];
  let stopped = false;
  let pass: Promise<void> | undefined;
  let lastPassAt = 0;
  let timer: NodeJS.Timeout | undefined;

  const sameChannel = (c: Pick<Channel, 'orgId' | 'platform' | 'channelId'> | typeof deliveryChannels) =>
    and(eq(outbox.orgId, c.orgId), eq(outbox.platform, c.platform), eq(outbox.channelId, c.channelId));
  const dueRows = and(
    eq(outbox.status, 'pending'),
    lte(outbox.nextAttemptAt, sql`now()`),
    // A digest's purchases wait until the digest itself is posted: their replies go in its thread.
    or(isNull(outbox.parentId), exists(db.select({ one: sql`1` }).from(digestParent).where(and(eq(digestParent.id, outbox.parentId), eq(digestParent.status, 'sent'))))),
  );

  async function claimChannels(): Promise<Channel[]> {
    if (!platforms.length) return [];
    const due = db
      .select({ orgId: deliveryChannels.orgId, platform: deliveryChannels.platform, channelId: deliveryChannels.channelId })
      .from(deliveryChannels)
      .where(
        and(
          inArray(deliveryChannels.platform, platforms),
          lte(deliveryChannels.nextPostAt, sql`now()`),
          or(isNull(deliveryChannels.lockedUntil), lt(deliveryChannels.lockedUntil, sql`now()`)),
          exists(db.select({ one: sql`1` }).from(outbox).where(and(sameChannel(deliveryChannels), dueRows))),
        ),
      )
      .orderBy(asc(deliveryChannels.nextPostAt))
      .limit(channelBatch)
      .for('update', { skipLocked: true });
    return db
      .update(deliveryChannels)
      .set({ lockedUntil: sql`now() + make_interval(secs => ${leaseSeconds})` })
      .where(sql`(${deliveryChannels.orgId}, ${deliveryChannels.platform}, ${deliveryChannels.channelId}) in (${due})`)
      .returning();
  }

  async function deliverChannel(channel: Channel): Promise<void> {
    const now = new Date();
    const tokens = Math.min(pacing.burst, channel.tokens + (now.getTime() - channel.tokensAt.getTime()) / 1000 / pacing.refillSeconds);
    const release = (changes: Partial<Channel>) =>
      db
        .update(deliveryChannels)
        .set({ lockedUntil: null, ...changes })
        .where(and(eq(deliveryChannels.orgId, channel.orgId), eq(deliveryChannels.platform, channel.platform), eq(deliveryChannels.channelId, channel.channelId)));
    const due = (which: SQL | undefined, limit: number) => db.select().from(outbox).where(and(sameChannel(channel), dueRows, which)).orderBy(asc(outbox.id)).limit(limit);
    const rows = await due(undefined, lookAhead);
    if (!rows.length) return void (await release({}));
    // Past a full look-ahead there may be more: what is not among the rows read is looked for.
    const more = rows.length === lookAhead;
    const waitingPurchases = rows.filter(unfolded);
    let allPurchases = more ? undefined : waitingPurchases;
    const allWaitingPurchases = async () => (allPurchases ??= await due(unfoldedRows, channelWindow));
    // What the bucket still lets through one by one (two purchases or more make a digest only when they outnumber it).
    const bucket = Math.max(1, Math.floor(tokens));
    let lead: Row;
    if (tokens < 1) {
      // Purchases wait for the bucket (and then come as one digest); anything else only keeps the spacing.
      const other = rows.find((r) => !unfolded(r)) ?? (more ? (await due(not(unfoldedRows), 1))[0] : undefined);
      if (!other) return void (await release({ nextPostAt: new Date(now.getTime() + (1 - tokens) * pacing.refillSeconds * 1000) }));
      lead = other;
    } else if (unfolded(rows[0]!) && (waitingPurchases.length > bucket || (more && (await allWaitingPurchases()).length > bucket))) {
      // More purchases waiting than messages left in the bucket: one digest instead, its thread naming each.
      lead = await foldIntoDigest(channel, await allWaitingPurchases());
    } else {
      lead = rows[0]!;
    }
    const message = lead.message as OutboxMessage;
    // Updating cards posts nothing new, and a reply goes into a thread: the bucket is for what the channel shows.
    const updatesOnly = 'refreshRequestCard' in message;
    const spent = updatesOnly || lead.parentId !== null ? {} : { tokens: Math.max(0, tokens - 1), tokensAt: now };
    const spacingSeconds = updatesOnly ? 0 : pacing.spacingSeconds;
    let batch = [lead];
    try {
      const sender = senders[channel.platform]!;
      const t = await render.translator(channel.orgId, channel.platform, channel.channelId);
      const target = { orgId: channel.orgId, channelId: channel.channelId, t };
      let posted: { messageId?: string; channelId?: string } = {};
      if (lead.parentId !== null) {
        const siblings = rows.filter((r) => r.parentId === lead.parentId);
        const thread = await threadOf(lead.parentId);
        const numbered = siblings.map((r) => ({ id: purchaseOf(r), number: thread.numbers.get(r.id)! }));
        const { view, count: carried } = await render.threadReply(channel.orgId, numbered, t, thread.numbers.size);
        batch = siblings.slice(0, carried);
        posted = await sender.post(target, view, thread.messageId ? { replyTo: thread.messageId } : {});
      } else if ('digest' in message) {
        const folded = await db.select().from(outbox).where(eq(outbox.parentId, lead.id)).orderBy(asc(outbox.id));
        posted = await sender.post(target, await render.digest(channel.orgId, folded.map(purchaseOf), t));
      } else if ('refreshRequestCard' in message) {
        await refreshRequestCard(channel, sender, message.refreshRequestCard, t);
      } else {
        posted = await sender.post(target, await render.message(channel.orgId, message, t), 'person' in message ? { person: message.person } : {});
      }
      const ids = batch.map((r) => r.id);
      await db
        .update(outbox)
        .set({
          status: 'sent',
          sentAt: sql`now()`,
          attempts: sql`${outbox.attempts} + 1`,
          lastError: null,
          postedMessageId: posted.messageId ?? null,
          postedChannelId: posted.channelId && posted.channelId !== channel.channelId ? posted.channelId : null,
        })
        .where(inArray(outbox.id, ids));
      options.onDelivered?.({ platform: channel.platform, outcome: 'sent', reason: 'none', messages: ids.length });
      await release({ ...spent, nextPostAt: new Date(Date.now() + spacingSeconds * 1000) });
    } catch (error) {
      const { retryAfterSeconds, permanent } = error instanceof DeliveryError ? error.options : {};
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 1000);
      const kind = retryAfterSeconds !== undefined ? 'rate_limited' : permanent ? 'rejected' : 'error';
      // Messages that failed together usually share their attempt count: one update per count.
      for (const attempts of new Set(batch.map((r) => r.attempts + 1))) {
        const gaveUp = permanent || attempts >= maxAttempts;
        const delay = retryAfterSeconds ?? backoffSeconds(attempts);
        const group = batch.filter((r) => r.attempts + 1 === attempts).map((r) => r.id);
        log.warn(`outbox ${group.join(',')} attempt ${attempts} failed: ${reason}${gaveUp ? '; giving up' : `; next try in ${Math.round(delay)}s`}`);
        await db
          .update(outbox)
          .set({ status: gaveUp ? 'failed' : 'pending', attempts, lastError: reason, nextAttemptAt: sql`now() + make_interval(secs => ${gaveUp ? 0 : delay})` })
          .where(inArray(outbox.id, group));
        // A digest given up takes its purchases with it, so `notify failures` lists them and its retry sends them all again.
        if (gaveUp && 'digest' in message) {
          await db.update(outbox).set({ status: 'failed', lastError: reason }).where(and(eq(outbox.parentId, lead.id), eq(outbox.status, 'pending')));
        }
        options.onDelivered?.({ platform: channel.platform, outcome: gaveUp ? 'failed' : 'retry', reason: kind, messages: group.length });
      }
      await release({ ...spent, nextPostAt: new Date(Date.now() + (retryAfterSeconds ?? spacingSeconds) * 1000) });
    }
  }

  /**
   * Folds the waiting purchases into a new digest message, in one transaction: from then on
   * they wait for the digest, and a restart finds them waiting still.
   */
  async function foldIntoDigest(channel: Channel, purchases: Row[]): Promise<Row> {
    return db.transaction(async (tx) => {
      const [digest] = await tx
        .insert(outbox)
        .values({ orgId: channel.orgId, platform: channel.platform, channelId: channel.channelId, message: { digest: purchases.length } satisfies OutboxMessage })
        .returning();
      await tx.update(outbox).set({ parentId: digest!.id }).where(inArray(outbox.id, purchases.map((r) => r.id)));
      return digest!;
    });
  }

  /** The digest's message, whose thread a reply joins, and each of its purchases' number (their order in it). */
  async function threadOf(digestId: number) {
    const [digest] = await db.select({ messageId: outbox.postedMessageId }).from(outbox).where(eq(outbox.id, digestId));
    const children = await db.select({ id: outbox.id }).from(outbox).where(eq(outbox.parentId, digestId)).orderBy(asc(outbox.id));
    return { messageId: digest?.messageId ?? undefined, numbers: new Map(children.map((c, i) => [c.id, i + 1])) };
  }

  /**
   * R-Q5: every copy of a request's card posted in this channel shows it as it
   * stands now. Each copy is tried; a rate limit stops at once, and otherwise the
   * first failure a retry may get past wins over one that cannot (a deleted message).
   */
  async function refreshRequestCard(channel: Channel, sender: Sender, requestId: string, t: Translate): Promise<void> {
    const copies = await db
      .select({ messageId: outbox.postedMessageId })
      .from(outbox)
      .where(
        and(
          sameChannel(channel),
          eq(outbox.status, 'sent'),
          isNotNull(outbox.postedMessageId),
          isNull(outbox.postedChannelId),
          sql`${outbox.message} ? 'requestCard'`,
          sql`${outbox.message}->>'requestCard' = ${requestId}`,
        ),
      )
      .orderBy(asc(outbox.id));
    if (!copies.length) return;
    const view = await render.message(channel.orgId, { requestCard: requestId }, t);
    const failures: unknown[] = [];
    for (const { messageId } of copies) {
      try {
        await sender.update({ orgId: channel.orgId, channelId: channel.channelId, t }, messageId!, view);
      } catch (error) {
        if (error instanceof DeliveryError && error.options.retryAfterSeconds !== undefined) throw error;
        failures.push(error);
      }
    }
    const retryable = failures.find((e) => !(e instanceof DeliveryError && e.options.permanent));
    if (failures.length) throw retryable ?? failures[0];
  }

  async function deliverDue(): Promise<number> {
    const channels = await claimChannels();
    await Promise.all(channels.map((c) => deliverChannel(c).catch((error) => log.error(`delivery to ${c.platform} ${c.channelId}`, error))));
    return channels.length;
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  // One pass at a time; a wake during a pass is answered by the pass after it.
  function tick() {
    if (pass) return schedule(wakeGapMs);
    lastPassAt = Date.now();
    pass = (async () => {
      while (!stopped && (await deliverDue()) === channelBatch);
    })()
      .catch((error) => log.error('delivery worker', error))
      .finally(() => {
        pass = undefined;
        schedule(options.intervalMs ?? 250);
      });
  }

  tick();
  return {
    wake: () => schedule(Math.max(0, lastPassAt + wakeGapMs - Date.now())),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await pass;
    },
  };
}

/** Messages waiting and given up, across every organization: what /healthz reports. */
export async function deliveryBacklog(db: Database): Promise<{ pending: number; failed: number }> {
  const rows = await db
    .select({ status: outbox.status, n: count() })
    .from(outbox)
    .where(inArray(outbox.status, ['pending', 'failed']))
    .groupBy(outbox.status);
  const of = (status: string) => rows.find((r) => r.status === status)?.n ?? 0;
  return { pending: of('pending'), failed: of('failed') };
}
