/**
 * Every change of the batch workflow's running logic, as a `patched()` id: declared once, with what it
 * changed, the replay corpus histories recorded before it (`test/histories/`, which must keep replaying),
 * and when it may be deprecated.
 *
 * A patch's life (temporalio/samples-typescript `patching-api`):
 * 1. `patched(id)` guards the new code; the old code stays for histories without the marker.
 * 2. Once no open batch started before the patch — the cluster answers
 *    `ExecutionStatus = 'Running' AND StartTime < '<when the patch was deployed>'` with none — the old branch
 *    goes and `deprecatePatch(id)` takes `patched(id)`'s place, in a release of its own.
 * 3. Once no open batch started before that release either, `deprecatePatch` goes too; the corpus histories
 *    older than the patch leave the corpus with it (they would no longer replay).
 * Each step is a deployment: a batch runs for up to weeks, so the steps are weeks apart.
 */

export interface PatchDeclaration {
  id: string;
  /** What the patched code does differently. */
  change: string;
  /** The commit that introduced it, and its date: the deployment after which batches take the new branch. */
  since: string;
  /** The corpus histories recorded before it: batches the old branch still replays. */
  predatingCorpus: string;
}

export const PATCHES = {
  oneWriteBetweenSteps: {
    id: 'one-write-between-steps',
    change: "a step's end is written in one transaction with the next step's start",
    since: '96fc092, 2026-11-27',
    predatingCorpus: 'v1-*',
  },
  oneWritePerEntry: {
    id: 'one-write-per-entry',
    change: "an operator's entry that ends a step is written with the step's end and the next step's start",
    since: '0fa53ac, 2026-11-27',
    predatingCorpus: 'v1-*, v2-*',
  },
  equipmentResultsWithStepEnd: {
    id: 'equipment-results-with-step-end',
    change: "an unsigned equipment phase's parameters and reports are written with its end",
    since: '15a3e9e, 2026-11-27',
    predatingCorpus: 'v1-*, v2-*, v3-*',
  },
  verifiedEquipmentAwaitsVerification: {
    id: 'verified-equipment-awaits-verification',
    change: 'an equipment phase verified by a second person, performed by no one, awaits that verification',
    since: 'a6d9a19, 2026-11-27',
    predatingCorpus: 'none (the old branch hung: no history of it finished)',
  },
  serialisedCommands: {
    id: 'serialised-commands',
    change: 'batch commands take turns and are checked again in their turn; the batch ends once every handler has',
    since: '2026-12-06 (issue 15)',
    predatingCorpus: 'v1-* … v4-*',
  },
  measuredYield: {
    id: 'output-lot-from-measured-yield',
    change: 'the output lot is the measured yield, recorded against the theoretical',
    since: '2026-12-06 (issue 15)',
    predatingCorpus: 'v1-* … v4-*',
  },
  recordInterruptedPhases: {
    id: 'record-interrupted-phases',
    change: 'an equipment phase taken up again after an interruption is recorded as such',
    since: '2026-12-06 (issue 15)',
    predatingCorpus: 'v1-* … v4-* (v4-pbs-worker-restart and v4-pbs-worker-killed were interrupted)',
  },
  weighingsRecorded: {
    id: 'weighings-recorded',
    change:
      "a weighed step's weighing is recorded with its entry; a manual weighing sends the step to a second person's verification",
    since: '2026-12-07 (issue 23)',
    predatingCorpus: 'all before it (none holds a weighing: their handlers take the old branch only by not asking)',
  },
} as const satisfies Record<string, PatchDeclaration>;
