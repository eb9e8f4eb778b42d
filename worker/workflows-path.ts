/** Where the workflow code lives, for the worker to bundle it and for a replay to bundle the same. */
import path from 'node:path';

export const WORKFLOWS_PATH = path.resolve(__dirname, '../workflows');
