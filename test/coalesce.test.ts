import { describe, expect, it } from 'vitest';
import { coalesce } from '../src/coalesce.js';

/** A batch call the test finishes by hand: each call's items, and a way to answer it. */
function controlledRun() {
  const calls: { items: number[]; finish: () => void }[] = [];
  let called: (() => void) | undefined;
  const run = (items: number[]) =>
    new Promise<string[]>((resolve) => {
      calls.push({ items, finish: () => resolve(items.map((i) => `done ${i}`)) });
      called?.();
    });
  /** Resolves once `count` calls were made. */
  const callsMade = (count: number) => new Promise<void>((done) => {
    const check = () => (calls.length >= count ? done() : undefined);
    called = check;
    check();
  });
  return { calls, run, callsMade };
}

describe('coalesce (group commit of items into batches)', () => {
  it('items given in one turn go in one batch; those given while it runs wait for it and go together in the next', async () => {
    const { calls, run, callsMade } = controlledRun();
    const store = coalesce(run);
    const first = [1, 2, 3].map(store);
    await callsMade(1);
    const later = [4, 5].map(store);
    // The next turn comes and goes without a second call: one batch at a time.
    await new Promise((turn) => setImmediate(turn));
    expect(calls.map((c) => c.items)).toEqual([[1, 2, 3]]);
    calls[0]!.finish();
    expect(await Promise.all(first)).toEqual(['done 1', 'done 2', 'done 3']);
    await callsMade(2);
    expect(calls[1]!.items).toEqual([4, 5]);
    calls[1]!.finish();
    expect(await Promise.all(later)).toEqual(['done 4', 'done 5']);
  });

  it('with concurrency 2, items given while a batch runs start the next batch at once; a third waits for one to end', async () => {
    const { calls, run, callsMade } = controlledRun();
    const store = coalesce(run, { concurrency: 2 });
    const a = store(1);
    await callsMade(1);
    const b = [2, 3].map(store);
    await callsMade(2);
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3]]);
    const c = store(4);
    await new Promise((turn) => setImmediate(turn));
    expect(calls).toHaveLength(2);
    calls[1]!.finish();
    expect(await Promise.all(b)).toEqual(['done 2', 'done 3']);
    await callsMade(3);
    expect(calls[2]!.items).toEqual([4]);
    calls[0]!.finish();
    calls[2]!.finish();
    expect([await a, await c]).toEqual(['done 1', 'done 4']);
  });

  it('refuses concurrency with distinct keys, whose later item must see the earlier one\'s outcome', () => {
    expect(() => coalesce(async (items: number[]) => items, { distinct: String, concurrency: 2 })).toThrow('coalesce: distinct items need one batch at a time');
  });
});
