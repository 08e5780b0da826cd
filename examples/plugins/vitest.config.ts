import { defineConfig } from 'vitest/config';

// The example plugins' own tests: `npx vitest run --config examples/plugins/vitest.config.ts`.
export default defineConfig({
  test: {
    root: import.meta.dirname,
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    testTimeout: 20_000,
  },
});
