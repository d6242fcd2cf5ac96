/**
 * The load generator, in a process of its own so it does not share a thread with what it measures:
 * autocannon with keep-alive connections, each request built and signed just before it is sent.
 * Takes one LoadTask from its parent (IPC), runs the warm-up and then the measured run, and
 * answers with a LoadResult.
 *
 * Clicks act on the task's customers in turn; every `repeatEvery`-th click repeats one already
 * clicked (from the warm-up or the run), so exactly-once can be checked afterwards.
 */
import { randomInt } from 'node:crypto';
import autocannon from 'autocannon';
import { blockActionBody, signedHeaders, slashCommandBody } from './slack-requests.js';

export type LoadRequest =
  | {
      kind: 'command';
      user: string;
      text: string;
      /** What every answer must contain ('' for an empty ack); others are counted as unexpected. */
      expect: string;
      /** An ack saying the reply follows through response_url (not an error, but not the reply either). */
      working?: string;
    }
  | {
      kind: 'click';
      user: string;
      actionId: string;
      /** What each customer's button carries (its confirmation's ID). */
      values: string[];
      repeatEvery: number;
    };

export interface LoadTask {
  /** The server's /slack/events URL. */
  url: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** response_url base at the Slack stand-in, and its control URL (to wait for the warm-up's clicks). */
  responseBase: string;
  controlUrl: string;
  /** response_url ids are `${idPrefix}warm-<n>` and `${idPrefix}run-<n>`. */
  idPrefix: string;
  request: LoadRequest;
}

export interface PhaseResult {
  /** ms since the epoch */
  start: number;
  finish: number;
  seconds: number;
  completed: number;
  ok: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Of the 2xx answers: latency in ms. */
  latency: { p50: number; p99: number; mean: number; max: number };
  /** Commands: 2xx answers without the expected content, one of them as a sample. */
  unexpected: number;
  unexpectedSample?: string;
  /** Commands: "working on it" acks (the reply came later through response_url). */
  working: number;
  /** Clicks: 2xx answers (acks), of them repeats of an earlier click. */
  acked: number;
  ackedRepeats: number;
}

export interface LoadResult {
  warmup: PhaseResult;
  run: PhaseResult;
  /** Clicks: warm-up clicks still unfinished when the run started (the wait is bounded). */
  warmupUnfinished?: number;
  /** Clicks: indexes into the task's values whose click was acked, and those sent but never answered. */
  clickedCustomers?: number[];
  unansweredCustomers?: number[];
  /** Clicks: every fresh customer was used, later clicks all repeated earlier ones. */
  ranOutOfCustomers?: boolean;
}

const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : 0);
const round1 = (n: number) => Math.round(n * 10) / 10;

async function run(task: LoadTask): Promise<LoadResult> {
  const path = new URL(task.url).pathname;
  const { request } = task;
  // Clicks: 0 never sent, 1 sent and not answered 2xx, 2 acked.
  const clickState = request.kind === 'click' ? new Uint8Array(request.values.length) : undefined;
  let fresh = 0;
  let ranOut = false;
  let sequence = 0;

  async function phase(name: 'warm' | 'run', seconds: number): Promise<PhaseResult> {
    const latencies: number[] = [];
    let unexpected = 0;
    let unexpectedSample: string | undefined;
    let working = 0;
    let acked = 0;
    let ackedRepeats = 0;
    const instance = autocannon({
      url: task.url,
      connections: task.connections,
      duration: seconds,
      timeout: 10,
      requests: [
        {
          setupRequest(req: autocannon.Request, context: Record<string, unknown>) {
            const responseUrl = `${task.responseBase}${task.idPrefix}${name}-${sequence++}`;
            let body: string;
            if (request.kind === 'command') {
              body = slashCommandBody(request.user, request.text, responseUrl);
            } else {
              const repeat = (request.repeatEvery > 0 && sequence % request.repeatEvery === 0 && fresh > 0) || fresh === request.values.length;
              if (fresh === request.values.length) ranOut = true;
              const index = repeat ? randomInt(fresh) : fresh++;
              if (clickState![index] === 0) clickState![index] = 1;
              context.customer = index;
              context.repeat = repeat;
              body = blockActionBody(request.user, request.actionId, request.values[index]!, responseUrl);
            }
            return { ...req, method: 'POST', path, headers: signedHeaders(body), body };
          },
          onResponse(status: number, body: string, context: Record<string, unknown>) {
            if (status < 200 || status > 299) return;
            if (request.kind === 'click') {
              clickState![context.customer as number] = 2;
              acked++;
              if (context.repeat) ackedRepeats++;
            } else if (request.working && body.includes(request.working)) {
              working++;
            } else if (request.expect === '' ? body !== '' : !body.includes(request.expect)) {
              unexpected++;
              unexpectedSample ??= body.slice(0, 300);
            }
          },
        },
      ],
    });
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      if (status >= 200 && status <= 299) latencies.push(ms);
    });
    const result = await instance;
    const sorted = Float64Array.from(latencies).sort();
    const sum = latencies.reduce((a, b) => a + b, 0);
    const statusCodes = Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]));
    return {
      start: new Date(result.start).getTime(),
      finish: new Date(result.finish).getTime(),
      seconds: result.duration,
      completed: result.requests.total,
      ok: result['2xx'],
      non2xx: result.non2xx,
      statusCodes,
      errors: result.errors,
      timeouts: result.timeouts,
      latency: { p50: round1(percentile(sorted, 50)), p99: round1(percentile(sorted, 99)), mean: round1(sorted.length ? sum / sorted.length : 0), max: round1(percentile(sorted, 100)) },
      unexpected,
      ...(unexpectedSample !== undefined ? { unexpectedSample } : {}),
      working,
      acked,
      ackedRepeats,
    };
  }

  const warmup = await phase('warm', task.warmupSeconds);
  let warmupUnfinished: number | undefined;
  if (request.kind === 'click') {
    // The warm-up's clicks finish before the run starts, so their work does not count in it (waited
    // for while they keep finishing).
    for (let progressAt = Date.now(); ; ) {
      const { count } = (await (await fetch(`${task.controlUrl}/count?prefix=${encodeURIComponent(`${task.idPrefix}warm-`)}`)).json()) as { count: number };
      const unfinished = Math.max(0, warmup.acked - count);
      if (unfinished !== warmupUnfinished) progressAt = Date.now();
      warmupUnfinished = unfinished;
      if (warmupUnfinished === 0 || Date.now() - progressAt > 15_000) break;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const measured = await phase('run', task.seconds);
  const result: LoadResult = { warmup, run: measured };
  if (clickState) {
    result.warmupUnfinished = warmupUnfinished;
    result.clickedCustomers = [];
    result.unansweredCustomers = [];
    clickState.forEach((state, index) => {
      if (state === 2) result.clickedCustomers!.push(index);
      else if (state === 1) result.unansweredCustomers!.push(index);
    });
    result.ranOutOfCustomers = ranOut;
  }
  return result;
}

process.once('message', (task: LoadTask) => {
  run(task).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error('load generator:', error);
      process.exit(1);
    },
  );
});
