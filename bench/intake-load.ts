/**
 * The load generator of bench/notifications.ts, in a process of its own so that posting
 * costs the bot nothing: started with an IPC channel, it is sent the purchases' bodies and
 * how to post them, posts them all, and sends back what was answered.
 */

export interface LoadPlan {
  url: string;
  token: string;
  /** Each purchase's JSON body. */
  bodies: string[];
  /** Purchases per request: 1 posts each body as it is, more posts JSON arrays of that many. */
  perRequest: number;
  /** Requests in flight at once. */
  concurrency: number;
}

export interface LoadResult {
  seconds: number;
  /** Each purchase's answer status (0 for a network error), by status. */
  statuses: Record<number, number>;
  /** The first few purchases not answered 201, with why. */
  failures: string[];
  /** Each request's time to its answer, in ms. */
  latencies: number[];
}

async function post(plan: LoadPlan): Promise<LoadResult> {
  const requests: { first: number; body: string; count: number }[] = [];
  for (let i = 0; i < plan.bodies.length; i += plan.perRequest) {
    const bodies = plan.bodies.slice(i, i + plan.perRequest);
    requests.push({ first: i, body: plan.perRequest === 1 ? bodies[0]! : `[${bodies.join(',')}]`, count: bodies.length });
  }
  const statuses: Record<number, number> = {};
  const failures: string[] = [];
  const latencies: number[] = [];
  const answered = (purchase: number, status: number, text: () => string) => {
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 201 && failures.length < 5) failures.push(`purchase ${purchase}: HTTP ${status} ${text().slice(0, 200)}`);
  };
  let next = 0;
  const startedAt = performance.now();
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const sent = performance.now();
      let status = 0;
      let text = '';
      try {
        const response = await fetch(plan.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${plan.token}`, 'content-type': 'application/json' },
          body: request.body,
        });
        status = response.status;
        text = await response.text();
      } catch (error) {
        text = (error as Error).message;
      }
      latencies.push(performance.now() - sent);
      if (status === 207) {
        const { results } = JSON.parse(text) as { results: { status: number }[] };
        results.forEach((r, i) => answered(request.first + i, r.status, () => JSON.stringify(r)));
      } else {
        for (let i = 0; i < request.count; i++) answered(request.first + i, status, () => text);
      }
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, worker));
  return { seconds: (performance.now() - startedAt) / 1000, statuses, failures, latencies };
}

process.once('message', (plan: LoadPlan) => {
  post(plan).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error) => {
      console.error('load generator failed:', error);
      process.exit(1);
    },
  );
});
