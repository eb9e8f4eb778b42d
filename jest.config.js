/** jest: TypeScript through SWC; integration tests talk to real servers, so timeouts are generous. */
module.exports = {
  testEnvironment: 'node',
  // Ampoule's tests, and those of the embedded Temporal server (a workspace package of its own).
  roots: ['<rootDir>/test', '<rootDir>/embedded-temporal/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
    // The pages' templates: JSX rendered to HTML strings by Preact on the server.
    '^.+\\.tsx$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', tsx: true },
          transform: { react: { runtime: 'automatic', importSource: 'preact' } },
          target: 'es2022',
        },
      },
    ],
    // Dependencies published only as ES modules (node-opcua's hexy): jest on Node 20 cannot require
    // them, so SWC turns them into CommonJS.
    '^.+\\.js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!hexy/)'],
  testTimeout: 60_000,
  testSequencer: '<rootDir>/test/support/sequencer.js',
  // Each suite starts its own servers and workers; two cores run two suites at a time.
  maxWorkers: 2,
};
