// Tests are compiled by `tsc` with the rest of the project and run as native ES modules, so Jest
// exercises exactly the JavaScript that ships (no second TypeScript transform to drift from tsc).
/** @type {import('jest').Config} */
export default {
  rootDir: 'dist',
  testMatch: ['<rootDir>/test/**/*.test.js'],
  transform: {},
  testEnvironment: 'node',
  testTimeout: 300_000,
  maxWorkers: 2,
};
