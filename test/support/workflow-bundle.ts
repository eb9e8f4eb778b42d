/**
 * The batch workflow's code, bundled once per test process and shared by every batch worker and replay a
 * suite starts (webpack takes about a second a bundle, and a suite starts many).
 */
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WORKFLOWS_PATH } from '../../worker/batch-worker';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
  return bundle;
}

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
