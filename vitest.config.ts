import { defineConfig } from 'vitest/config';

// One glob for every test (STYLE.md: two layouts once hid 28 tests in xmpp.js).
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // A noisy 2-core machine: tests talk to real servers, so give them room and run few files at once.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
