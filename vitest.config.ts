import { defineConfig } from 'vitest/config';

// Three projects: unit tests beside the code, integration tests in test/ (real Postgres, NATS,
// PGlite, real sockets), e2e in e2e/ (real processes). Tests never assert on wall-clock time.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{proto,shared,control-plane,data-plane,ui}/src/**/*.test.ts', 'examples/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 20_000,
          setupFiles: ['test/helpers/fast-check-seed.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/bench/**', '**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          globalSetup: ['test/helpers/global-setup.ts'],
          setupFiles: ['test/helpers/fast-check-seed.ts'],
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          fileParallelism: false,
          globalSetup: ['test/helpers/global-setup.ts'],
          setupFiles: ['test/helpers/fast-check-seed.ts'],
        },
      },
    ],
  },
});
