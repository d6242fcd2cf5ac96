export interface CoalesceOptions<I> {
  /** Items in one batch at most. */
  max?: number;
  /** Items with the same key never share a batch: a later one waits for the next, which sees the first's outcome. */
  distinct?: (item: I) => string;
  /** A batch of several that fails is run again one item at a time, so an item that cannot be done fails only itself. */
  aloneOnError?: boolean;
  /**
   * Batches running at once (default 1): with more, an item given while a batch runs need not wait for
   * it. Not with `distinct`, whose later item must see the earlier one's outcome.
   */
  concurrency?: number;
}

/**
 * Makes one call per item into calls per batch of items, the way a database commits a group: items
 * given while `concurrency` batches run wait for one to end and go together in the next (at most
 * `max`), the first after the current turn of the event loop. So every item's batch starts after
 * the item was given, and a busy caller spends one call where it would have spent many. `run`
 * answers one result per item, in order; if it throws, every item of that batch gets its error
 * (or, with `aloneOnError`, its own outcome run alone).
 */
export function coalesce<I, O>(run: (items: I[]) => Promise<O[]>, options: CoalesceOptions<I> = {}): (item: I) => Promise<O> {
  const { max = Number.POSITIVE_INFINITY, distinct, aloneOnError = false, concurrency = 1 } = options;
  if (distinct && concurrency > 1) throw new Error('coalesce: distinct items need one batch at a time');
  type Waiting = { item: I; resolve: (result: O) => void; reject: (error: unknown) => void };
  const waiting: Waiting[] = [];
  let running = 0;
  let scheduled = false;
  /** The next batch: the first items waiting, a repeated key left for a later batch. */
  function take(): Waiting[] {
    if (!distinct) return waiting.splice(0, max);
    const keys = new Set<string>();
    const batch: Waiting[] = [];
    for (let i = 0; i < waiting.length && batch.length < max; ) {
      const key = distinct(waiting[i]!.item);
      if (keys.has(key)) i++;
      else keys.add(key), batch.push(...waiting.splice(i, 1));
    }
    return batch;
  }
  async function runBatch(batch: Waiting[]) {
    try {
      const results = await run(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (error) {
      if (aloneOnError && batch.length > 1) await Promise.all(batch.map((w) => run([w.item]).then(([result]) => w.resolve(result!), w.reject)));
      else for (const w of batch) w.reject(error);
    }
  }
  /** Starts batches of what waits, as many as may run; called a turn after an item came or a batch ended. */
  function start() {
    scheduled = false;
    while (waiting.length && running < concurrency) {
      running++;
      void runBatch(take()).finally(() => {
        running--;
        schedule();
      });
    }
  }
  function schedule() {
    if (scheduled || !waiting.length || running >= concurrency) return;
    scheduled = true;
    setImmediate(start);
  }
  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      schedule();
    });
}
