// End-to-end tests against a real API server and real helm (`npm run test:e2e`): slow, so they are
// kept out of `npm test`. The binaries are built before Jest starts (scripts in package.json).
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  testMatch: ['<rootDir>/test/e2e/**/*.e2e.js'],
  testTimeout: 10 * 60_000,
  // One cluster and one Temporal server per file; files one at a time on a two-core machine.
  maxWorkers: 1,
};
