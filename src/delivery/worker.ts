import { and, asc, eq, inArray, isNull, lte, lt, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { outbox } from '../../db/schema.js';
import type { OutboxMessage } from '../core/announcements.js';
import { translator } from '../i18n/index.js';
import type { Logger } from '../log.js';
import type { View } from '../views/model.js';

/** Posts one message; throws DeliveryError (or anything) when it did not go out. */
export type Sender = (target: { orgId: string; channelId: string }, view: View) => Promise<{ messageId?: string }>;

export class DeliveryError extends Error {
  constructor(message: string, readonly retryAfterSeconds?: number) {
    super(message);
  }
}

/** About 67 minutes of retries before a message counts as failed (1 s, 2 s, … capped at 10 min). */
export const maxAttempts = 16;
const claimBatch = 10;
/** Longer than a post may take (the Slack client times out at 30 s), so no other worker claims a row mid-post. */
const leaseSeconds = 60;

export function backoffSeconds(attempt: number): number {
  return Math.min(2 ** (attempt - 1), 600);
}

export interface DeliveryWorker {
  /** Look for due messages now rather than at the next tick. */
  wake(): void;
  stop(): Promise<void>;
}

/**
 * Claims due outbox rows with FOR UPDATE SKIP LOCKED (so several instances can
 * share one database), posts them, and marks each sent — or schedules its next
 * attempt, honouring a platform's Retry-After (R-N3).
 */
export function startDeliveryWorker(options: {
  db: Database;
  senders: Partial<Record<'slack' | 'teams', Sender>>;
  /** Renders a request's approval card as it stands when sent. */
  renderRequestCard: (orgId: string, requestId: string, reminder: boolean) => Promise<View>;
  log: Logger;
  intervalMs?: number;
}): DeliveryWorker {
  const { db, senders, log } = options;
  const t = translator('en');
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  async function deliverDue(): Promise<number> {
    const due = db
      .select({ id: outbox.id })
      .from(outbox)
      .where(
        and(
          eq(outbox.status, 'pending'),
          lte(outbox.nextAttemptAt, sql`now()`),
          or(isNull(outbox.lockedUntil), lt(outbox.lockedUntil, sql`now()`)),
          inArray(outbox.platform, Object.keys(senders) as ('slack' | 'teams')[]),
        ),
      )
      .orderBy(asc(outbox.id))
      .limit(claimBatch)
      .for('update', { skipLocked: true });
    const claimed = await db
      .update(outbox)
      .set({ lockedUntil: sql`now() + make_interval(secs => ${leaseSeconds})`, attempts: sql`${outbox.attempts} + 1` })
      .where(inArray(outbox.id, due))
      .returning();
    for (const row of claimed.sort((a, b) => a.id - b.id)) {
      const message = row.message as OutboxMessage;
      try {
        const view: View = 'key' in message ? { lines: [t(message.key, message.params)] } : await options.renderRequestCard(row.orgId, message.requestCard, message.reminder ?? false);
        const { messageId } = await senders[row.platform]!({ orgId: row.orgId, channelId: row.channelId }, view);
        await db
          .update(outbox)
          .set({ status: 'sent', sentAt: sql`now()`, lockedUntil: null, lastError: null, postedMessageId: messageId ?? null })
          .where(eq(outbox.id, row.id));
      } catch (error) {
        const retryAfter = error instanceof DeliveryError ? error.retryAfterSeconds : undefined;
        const reason = error instanceof Error ? error.message : String(error);
        const gaveUp = row.attempts >= maxAttempts;
        const delay = retryAfter ?? backoffSeconds(row.attempts);
        log.warn(`outbox ${row.id} attempt ${row.attempts} failed: ${reason}${gaveUp ? '; giving up' : `; next try in ${delay}s`}`);
        await db
          .update(outbox)
          .set({
            status: gaveUp ? 'failed' : 'pending',
            lastError: reason.slice(0, 1000),
            lockedUntil: null,
            nextAttemptAt: sql`now() + make_interval(secs => ${delay})`,
          })
          .where(eq(outbox.id, row.id));
      }
    }
    return claimed.length;
  }

  function schedule(ms: number) {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(tick, ms);
  }

  function tick() {
    running = running
      .then(async () => {
        while (!stopped && (await deliverDue()) === claimBatch);
      })
      .catch((error) => log.error('delivery worker', error))
      .finally(() => schedule(options.intervalMs ?? 500));
  }

  tick();
  return {
    wake: () => schedule(0),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
