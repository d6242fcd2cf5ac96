import { defineConfig } from 'vitest/config';

// Files that time a killed or stopped process: they run alone, after the rest, so a busy machine cannot stretch their timings.
const alone = ['test/delivery-processes.test.ts', 'test/lifecycle.test.ts'];

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      // Most of a test's time is spent waiting (delivery pacing, other processes, polls), so more files than cores run at once.
      { extends: true, test: { name: 'parallel', include: ['test/**/*.test.ts'], exclude: alone, maxWorkers: 4, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'alone', include: alone, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
