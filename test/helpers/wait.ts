import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until `find` returns something (not undefined/false), or fails naming what never came. */
export async function waitFor<T>(what: string, find: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await find();
    if (found !== undefined && found !== false) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
