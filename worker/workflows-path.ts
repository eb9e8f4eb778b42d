/**
 * Where the workflow code lives, for the worker to bundle it and for a replay to bundle the same — or, in the
 * compiled Ampoule (`npm run build`), the bundle built ahead of time beside it (`dist/workflow-bundle.js`), so that a
 * production worker neither bundles at start nor needs the bundler's TypeScript.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../workflows');

/** Where `npm run build` writes the bundle (beside the compiled `workflows/`). */
export const PREBUILT_BUNDLE_PATH = path.resolve(__dirname, '../workflow-bundle.js');

/** The bundle built ahead of time, if this is the compiled Ampoule. */
export function prebuiltWorkflowBundle(): { code: string; sourceMap: string } | undefined {
  if (!existsSync(PREBUILT_BUNDLE_PATH)) return undefined;
  return { code: readFileSync(PREBUILT_BUNDLE_PATH, 'utf8'), sourceMap: '' };
}
