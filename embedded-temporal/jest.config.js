/** jest for this package alone (`npm test -w @ampoule/embedded-temporal`): its own tests, TypeScript through SWC. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  // The tests start real servers, workers and processes.
  testTimeout: 60_000,
  maxWorkers: 2,
};
