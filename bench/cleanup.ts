/**
 * Steps that undo what a benchmark started (servers, databases), run last first
 * when it ends or on Ctrl-C, so a run never leaves a database or a port behind.
 */
export const cleanups: { name: string; run: () => Promise<unknown> }[] = [];

let interrupted = false;
let beforeCleanUp: () => void = () => {};

export async function cleanUp() {
  beforeCleanUp();
  while (cleanups.length) {
    const step = cleanups.pop()!;
    try {
      await step.run();
    } catch (error) {
      console.error(`clean-up "${step.name}" failed:`, (error as Error).message);
    }
  }
}

/** Runs the benchmark, reports a failure (not one caused by Ctrl-C), and always cleans up; `stop` halts load in flight first. */
export async function runBenchmark(main: () => Promise<boolean | void>, stop?: () => void): Promise<void> {
  if (stop) beforeCleanUp = stop;
  process.once('SIGINT', () => {
    interrupted = true;
    console.error('\ninterrupted: cleaning up…');
    void cleanUp().finally(() => process.exit(130));
  });
  try {
    if ((await main()) === false) process.exitCode = 1;
  } catch (error) {
    // After Ctrl-C the servers are going away under the run; that is not a failure to report.
    if (!interrupted) {
      console.error('\nbenchmark failed:', error);
      process.exitCode = 1;
    }
  } finally {
    await cleanUp();
  }
}
