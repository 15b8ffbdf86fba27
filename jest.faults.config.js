// `npm run test:faults`: the fault-injection suite (test/faults/*.faults.ts), apart from `npm test`.
// Seeded (FAULT_SEED=… replays a run); each file starts its own dev server and workers,
// and the runs are meant to fit a busy 2-core machine.
/** @type {import('jest').Config} */
export default {
  rootDir: 'dist',
  testMatch: ['<rootDir>/test/faults/**/*.faults.js'],
  transform: {},
  testEnvironment: 'node',
  testTimeout: 900_000,
  // Two files at a time: a run mostly waits (heartbeat timeouts, approvals), so the cores stay shared.
  maxWorkers: 2,
  // Runs of one file share its dev server and go concurrently (it.concurrent): most of a run is waiting.
  maxConcurrency: 5,
};
