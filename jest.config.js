/** jest: TypeScript through SWC; integration tests talk to real servers, so timeouts are generous. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  testTimeout: 60_000,
  // Each suite starts its own servers and workers; two cores run two suites at a time.
  maxWorkers: 2,
};
