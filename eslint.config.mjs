// ESLint: TypeScript rules everywhere (type-aware where a mistake is invisible without the types: a promise
// nobody awaits, an assertion that changes nothing), no import cycles, and the determinism boundary around
// workflow code.
import js from '@eslint/js';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/** Node built-ins and I/O libraries that must never reach workflow code (it runs in Temporal's sandbox). */
const NON_DETERMINISTIC_MODULES = [
  'assert',
  'async_hooks',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
].flatMap((m) => [m, `node:${m}`]);

const IO_PACKAGES = [
  'knex',
  'pg',
  '@electric-sql/pglite',
  'node-opcua',
  'express',
  'pino',
  'pdfkit',
  'argon2',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
  '@ampoule/embedded-temporal',
];

export const workflowBoundary = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [...NON_DETERMINISTIC_MODULES, ...IO_PACKAGES].map((name) => ({
        name,
        message: 'Workflow code must stay deterministic: no I/O, clocks or randomness outside @temporalio/workflow.',
      })),
      patterns: [
        {
          group: [
            '**/activities',
            '**/activities/**',
            '**/db/**',
            '**/api/**',
            '**/equipment/**',
            '**/worker/**',
            '**/embedded-temporal/**',
          ],
          allowTypeImports: true,
          message: 'Workflows may import activities (and other I/O modules) as types only.',
        },
      ],
    },
  ],
  'no-restricted-globals': [
    'error',
    ...['process', 'require', 'fetch', 'crypto', 'performance', 'Buffer', 'setImmediate', 'queueMicrotask'].map(
      (name) => ({
        name,
        message: 'Not available (or not deterministic) in the workflow sandbox.',
      }),
    ),
  ],
};

export default tseslint.config(
  { ignores: ['node_modules/**', '**/dist/**', 'data/**', 'coverage/**', 'workflow-bundle-*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: {
        console: 'readonly',
        process: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.json'] })],
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/ignore': ['node_modules'],
    },
    rules: {
      // A promise nobody awaits loses its failure: an unhandled rejection, or an audit write that never happened.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unnecessary-type-assertion': 'error',
      // Layers point one way; a cycle means two modules that are really one, or a boundary in the wrong place.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-empty-function': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      // Handlers often capture a variable that is assigned right after the closure is created.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', 'bin/*', 'embedded-temporal/bin/*'],
    ignores: ['bin/*.ts'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js', 'bin/*', 'embedded-temporal/bin/*'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The pages' one script runs in the browser.
    files: ['web/static/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: {
        document: 'readonly',
        window: 'readonly',
        location: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        htmx: 'readonly',
      },
    },
  },
  {
    // The determinism boundary: Ampoule's workflows and the test fixtures' workflows.
    files: [
      'workflows/**/*.ts',
      'test/**/fixtures/workflows*.ts',
      'test/**/fixtures/workflows/**/*.ts',
      'embedded-temporal/test/fixtures/workflows*.ts',
      'test/crash/workflows.ts',
      'bench/workflows.ts',
    ],
    rules: workflowBoundary,
  },
);
