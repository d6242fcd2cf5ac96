import { outsideRequest } from './request-context.js';

/**
 * Makes one call per item into calls per batch of items, the way a database commits a group: items
 * given while a batch runs wait for it to end and go together in the next (at most `max`), the
 * first after the current turn of the event loop. So every item's batch starts after
 * the item was given, and a busy caller spends one call where it would have spent many. `run`
 * answers one result per item, in order; if it throws, every item of that batch gets its error.
 */
export function coalesce<I, O>(run: (items: I[]) => Promise<O[]>, options: { max?: number } = {}): (item: I) => Promise<O> {
  const { max = Number.POSITIVE_INFINITY } = options;
  const waiting: { item: I; resolve: (result: O) => void; reject: (error: unknown) => void }[] = [];
  let running = false;
  async function drain() {
    while (waiting.length) {
      const batch = waiting.splice(0, max);
      try {
        const results = await run(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(results[i]!));
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    running = false;
  }
  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (running) return;
      running = true;
      // A batch serves many requests: it runs, and logs, as none of them.
      setImmediate(() => outsideRequest(() => void drain()));
    });
}
