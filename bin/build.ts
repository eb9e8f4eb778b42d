/**
 * `npm run build`: the compiled Ampoule, for production (no TypeScript at run time): Ampoule's code compiled to
 * `dist/` and the embedded server's to `embedded-temporal/dist/` (tsc), the assets the code reads beside it (the
 * pages' static files, the demo recipes, temporal.yaml), and the batch workflow's bundle built ahead of time
 * (`dist/workflow-bundle.js`, which workers and replays load instead of bundling at start). Run it with
 *
 *   node --conditions=ampoule-compiled dist/bin/ampoule.js [command]
 *
 * (the condition resolves `@ampoule/embedded-temporal` to its compiled code).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

async function main(): Promise<void> {
  const started = Date.now();
  rmSync(dist, { recursive: true, force: true });
  rmSync(path.join(root, 'embedded-temporal', 'dist'), { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'embedded-temporal', 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  for (const [from, to] of [
    ['web/static', 'web/static'],
    ['api/integration/schemas', 'api/integration/schemas'],
    ['demo/recipes', 'demo/recipes'],
    ['temporal.yaml', 'temporal.yaml'],
  ]) {
    mkdirSync(path.dirname(path.join(dist, to)), { recursive: true });
    cpSync(path.join(root, from), path.join(dist, to), { recursive: true });
  }
  // From the compiled workflows: the bundle is the code the worker runs, with no TypeScript in between.
  const bundle = await bundleWorkflowCode({ workflowsPath: path.join(dist, 'workflows') });
  writeFileSync(path.join(dist, 'workflow-bundle.js'), bundle.code);
  console.log(`build: dist/ and embedded-temporal/dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
