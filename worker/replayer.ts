/**
 * Replays batch histories against the batch workflow's code as this Ampoule runs it, for QA's investigations.
 * The code is bundled once per process (on first use: a few seconds) and its SHA-256 says which code judged. A
 * replay that the code would not have written fails with a DeterminismViolationError; one that passes also
 * gives back, through the workflow's record sink, every entry the workflow wrote — rebuilt from the history
 * alone, for the cross-check against the stored record (`domain/batch/cross-check.ts`).
 */
import { performance } from 'node:perf_hooks';
import type { History } from '@temporalio/common/lib/proto-utils';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { sha256Hex } from '../domain/canonical-hash';
import type { EbrEntryInput } from '../domain/batch/types';
import { WORKFLOWS_PATH, prebuiltWorkflowBundle } from './workflows-path';

export interface ReplayOutcome {
  deterministic: boolean;
  /** Why a replay failed: DeterminismViolationError (the code would not have written this history) or ReplayError. */
  error?: { name: string; message: string };
  /** Per run, oldest first: the entries the workflow handed to the record, as the replay rebuilt them. */
  written: { runId: string; entries: EbrEntryInput[] }[];
  bundleSha256: string;
  durationMs: number;
}

/** For a worker or a replay that has no use for the record's writes the workflow tells (a sink must be registered). */
export const RECORD_SINK_IGNORED = { record: { written: { fn: () => {} } } };

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export class BatchReplayer {
  private code: Promise<{ bundle: WorkflowBundleWithSourceMap; sha256: string }> | undefined;

  /** `bundle`: the workflow code already bundled (tests share one); by default it is bundled from `workflows/`. */
  constructor(private readonly bundle?: () => Promise<WorkflowBundleWithSourceMap>) {}

  private workflowCode() {
    this.code ??= (async () => {
      // Loaded on first use: an API process that never replays does not pay for the worker's package.
      const { bundleWorkflowCode } = await import('@temporalio/worker');
      const bundle = await (this.bundle?.() ??
        prebuiltWorkflowBundle() ??
        bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet }));
      return { bundle, sha256: sha256Hex(bundle.code) };
    })();
    // A failed bundling is tried again by the next investigation, not remembered.
    this.code.catch(() => (this.code = undefined));
    return this.code;
  }

  /** Replays the runs of one workflow's chain in order; stops at the first that fails. */
  async replay(workflowId: string, runs: { runId: string; history: History }[]): Promise<ReplayOutcome> {
    const { bundle, sha256 } = await this.workflowCode();
    const { Worker } = await import('@temporalio/worker');
    const started = performance.now();
    const written: ReplayOutcome['written'] = [];
    // Histories replay one after the other, each once the one before has given its result: what the sink is
    // told in between belongs to the run under way.
    let current: EbrEntryInput[] = [];
    const replays = Worker.runReplayHistories(
      {
        workflowBundle: bundle,
        sinks: {
          record: {
            written: {
              fn: (_info, entries: EbrEntryInput[]) => void current.push(...structuredClone(entries)),
              callDuringReplay: true,
            },
          },
        },
      },
      runs.map((r) => ({ workflowId, history: r.history })),
    );
    let i = 0;
    let error: ReplayOutcome['error'];
    for await (const result of replays) {
      written.push({ runId: runs[i++].runId, entries: current });
      current = [];
      if (result.error) {
        error = { name: result.error.name, message: result.error.message };
        break;
      }
    }
    return {
      deterministic: error === undefined,
      ...(error ? { error } : {}),
      written,
      bundleSha256: sha256,
      durationMs: Math.round(performance.now() - started),
    };
  }
}
