import { defineConfig } from 'vitest/config';

// Tests talk to the real PostgreSQL and NATS on 127.0.0.1. Each test file makes its
// own database and its own streams, so files may run in parallel; two forks match
// the two cores of the machines we run on.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
