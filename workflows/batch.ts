/**
 * The batch workflow: an interpreter of the scaled execution plan. Stages run one after another and the
 * unit procedures of a stage side by side; each step runs by its kind — equipment phases through the
 * OPC UA driver's activities, holds as durable timers, operator steps as Updates whose validators refuse
 * at once what is not allowed. Batch commands (Hold, Restart, Stop, Abort) arrive as Updates checked
 * against the ISA-88 table and are passed on to the running equipment phases. Everything that happens
 * becomes an entry of the batch record, written by an idempotent activity.
 *
 * Deterministic: no I/O, no clock but the workflow's; activities are imported as types only.
 */
import { SearchAttributeType, defineSearchAttributeKey } from '@temporalio/common';
import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  defineQuery,
  defineUpdate,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import type { BatchActivities } from '../activities';
import { checkCompletion, checkVerification, reportDeviations } from '../domain/batch/completion';
import { REFUSALS } from '../domain/batch/failures';
import { judgeYield } from '../domain/batch/yield';
import type {
  BatchCommand,
  BatchCommandRequest,
  BatchInput,
  BatchStatus,
  Deviation,
  EbrEntryInput,
  EbrKind,
  LiveState,
  Signer,
  StepCompletion,
  StepOutcome,
  StepProjection,
  StepStatus,
  StepVerification,
} from '../domain/batch/types';
import { afterCommand, type PhaseState } from '../domain/isa88';
import type { PlanStep, PlanUnitProcedure } from '../domain/recipe/plan';

export const completeStepUpdate = defineUpdate<StepOutcome, [StepCompletion]>('completeStep');
export const verifyStepUpdate = defineUpdate<StepOutcome, [StepVerification]>('verifyStep');
export const batchCommandUpdate = defineUpdate<{ status: BatchStatus }, [BatchCommandRequest]>('batchCommand');
export const batchStateQuery = defineQuery<LiveState>('state');

export interface BatchResult {
  status: 'complete' | 'stopped' | 'aborted';
  outputLot: { lotId: string; lotNumber: string } | null;
  deviations: number;
}

/** Equipment failures no retry can mend (`equipment/errors.ts`, `db/inventory.ts`). */
const BUSINESS_FAILURES = ['PhaseStopped', 'PhaseAborted', 'CommandRefused', 'ParametersRefused', 'ParameterReadbackMismatch', 'EquipmentNotIdle', 'BindingInvalid', 'UnitConversion', 'LotUnusable', 'Inventory'];

/**
 * Short database writes (the batch record, lots, units) run as local activities: in the worker, without a
 * round trip through the server per write, retried in place. They are idempotent by key like the rest.
 */
const records = proxyLocalActivities<BatchActivities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '200 ms', maximumInterval: '10 seconds', nonRetryableErrorTypes: BUSINESS_FAILURES } });
/** Commands to equipment go through the server like the phases they act on. */
const commands = proxyActivities<BatchActivities>({ startToCloseTimeout: '1 minute', retry: { initialInterval: '500 ms', maximumInterval: '30 seconds', nonRetryableErrorTypes: BUSINESS_FAILURES } });
/** The first write: the launch commits the batch just after starting the workflow; give up if it never appears. */
const firstRecord = proxyLocalActivities<BatchActivities>({ startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '5 minutes', retry: { initialInterval: '200 ms', maximumInterval: '5 seconds' } });
const equipment = proxyActivities<BatchActivities>({
  // A phase may run for days; the heartbeat says it is alive.
  startToCloseTimeout: '30 days',
  heartbeatTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', nonRetryableErrorTypes: BUSINESS_FAILURES },
  cancellationType: 'WAIT_CANCELLATION_COMPLETED' as never,
});

const StatusKey = defineSearchAttributeKey('AmpouleStatus', SearchAttributeType.KEYWORD);

/**
 * From this version on, a step's end is written in one transaction with the next step's start, not in one
 * of its own: one local activity less per step. Histories recorded before it replay the old way.
 */
const ONE_WRITE_BETWEEN_STEPS = 'one-write-between-steps';
/**
 * From this version on, an operator's entry that ends a step (a completion needing no verification, or the
 * verification) is written together with the step's end and the next step's start: the next step is ready
 * after one local activity, not two.
 */
const ONE_WRITE_PER_ENTRY = 'one-write-per-entry';

/**
 * From this version on, an equipment phase's parameters and reports are written with the step's end (and the
 * next step's start), not in a write of their own: one local activity less per equipment step.
 */
const EQUIPMENT_RESULTS_WITH_STEP_END = 'equipment-results-with-step-end';
/**
 * From this version on, an equipment phase to be verified that no one performs awaits its verification once the
 * phase has run. Before, it waited for a verification that could never be given.
 */
const VERIFIED_EQUIPMENT_AWAITS_VERIFICATION = 'verified-equipment-awaits-verification';

/**
 * From this version on, batch commands are carried out one at a time, each checked again against the ISA-88
 * table once its turn comes (a second Hold sent while the first is being recorded is refused, not recorded
 * as a second Hold from Running), and the batch ends only once every update handler has finished.
 */
const SERIALISED_COMMANDS = 'serialised-commands';

/**
 * From this version on, a plan that names its yield gets an output lot of the measured yield (not the nominal
 * batch size), and the record shows the yield against the theoretical, a yield outside its limits as a deviation.
 */
const MEASURED_YIELD = 'output-lot-from-measured-yield';
/**
 * From this version on, an equipment phase that had to be taken up again (its worker, or the whole process,
 * died mid-phase) is recorded as interrupted, with the attempt and how it was resumed.
 */
const RECORD_INTERRUPTED_PHASES = 'record-interrupted-phases';

/** Refusals of an update, typed so that the API can answer each with its problem (`domain/batch/failures.ts`). */
const notAwaited = (message: string) => ApplicationFailure.create({ type: REFUSALS.stepNotAwaited, message, nonRetryable: true });
const refused = (message: string) => ApplicationFailure.create({ type: REFUSALS.stepRefused, message, nonRetryable: true });
const invalidTransition = (message: string) => ApplicationFailure.create({ type: REFUSALS.invalidTransition, message, nonRetryable: true });

type RecordItem = { kind: EbrKind; stepId?: string | null; data: Record<string, unknown>; user?: { userId: string; fullName: string } | null; signature?: Signer };

/** Entries as they happened (the causing history event, the time), not yet numbered nor written. */
interface Stamped {
  items: (RecordItem & { eventId: number; occurredAt: string })[];
  projections: StepProjection[];
  /** Told the numbers its entries were given, once they are written. */
  onWritten?: (numbers: number[]) => void;
}

/** A unit procedure's last step end (with the entry that ended it), held back to be written with its next step's start. */
interface PendingEnd {
  ended: Stamped[];
}

/** An operator's entry that ends its step, handed to the step's runner to be written with the step's end. */
interface HandedOver {
  entry: Stamped;
  /** Takes the entry's effect on the step (who performed or verified it, its deviations). */
  apply(): void;
}

interface StepState {
  step: PlanStep;
  status: StepStatus;
  /** Set while an operator's completion is being recorded: a second one is refused. */
  busy: boolean;
  performedBy?: Signer;
  verifiedBy?: Signer;
  equipmentState?: PhaseState;
  /** Re-runs of an equipment phase after a failure, at the operator's Restart: part of its command id. */
  reruns: number;
  /** Workflow time at which the step last became ready for an operator's input: where a late entry's window opens. */
  readyAt?: number;
  /** The entry that ended the step, until its runner takes it. */
  handedOver?: HandedOver;
}

export async function batchWorkflow(input: BatchInput): Promise<BatchResult> {
  const { workflowId, runId } = workflowInfo();
  const steps = new Map<string, StepState>(input.plan.steps.map((s) => [s.id, { step: s, status: 'pending', busy: false, reruns: 0 }]));
  let status: BatchStatus = 'running';
  let ending: 'stop' | 'abort' | null = null;
  let entries = 0;
  const deviations: Deviation[] = [];
  const yieldPlan = input.plan.yield;
  /** The yield as measured by the step the plan names (its report, or its operator's entry); null: not given. */
  let measuredYield: number | null | undefined;
  const scope = new CancellationScope();

  let recorder = firstRecord;
  // Decided once, at the start, so that a run keeps the way it began with through every later replay.
  const entriesEndSteps = patched(ONE_WRITE_PER_ENTRY);
  const resultsWithStepEnd = patched(EQUIPMENT_RESULTS_WITH_STEP_END);
  const serialisedCommands = patched(SERIALISED_COMMANDS);
  /** Batch commands take turns (since SERIALISED_COMMANDS). */
  const commandTurns = new Mutex();

  /** Takes down entries (and step projections) as of now: the history event that caused them and the time. */
  function stamp(items: RecordItem[], projections: StepProjection[] = []): Stamped {
    const eventId = workflowInfo().historyLength;
    const occurredAt = new Date().toISOString();
    return { items: items.map((i) => ({ ...i, eventId, occurredAt })), projections };
  }

  /**
   * Writes stamped entries into the batch record in one local activity, numbering them as they are written
   * (the numbers make the write idempotent, and keep the record's order).
   */
  async function write(parts: Stamped[], batchStatus?: BatchStatus): Promise<number[]> {
    const batch: EbrEntryInput[] = parts.flatMap((p) =>
      p.items.map((i) => ({ no: ++entries, kind: i.kind, stepId: i.stepId ?? null, data: i.data, eventId: i.eventId, occurredAt: i.occurredAt, user: i.user ?? null, signature: i.signature })),
    );
    const steps = parts.flatMap((p) => p.projections);
    await CancellationScope.nonCancellable(() => recorder.recordEbr({ batchId: input.batchId, workflowId, runId, entries: batch, steps, batchStatus }));
    recorder = records;
    let next = 0;
    for (const p of parts) {
      const numbers = batch.slice(next, next + p.items.length).map((e) => e.no);
      next += p.items.length;
      p.onWritten?.(numbers);
    }
    return batch.map((e) => e.no);
  }

  /** Writes entries (and step projections) into the batch record now. */
  async function record(items: RecordItem[], projections: StepProjection[] = [], batchStatus?: BatchStatus): Promise<number[]> {
    return write([stamp(items, projections)], batchStatus);
  }

  /** Step ends held back by running unit procedures; a stop or abort writes them before anything else. */
  const pendingEnds = new Set<PendingEnd>();

  /** Writes a held-back step end, if there is one; it is taken before the write starts, so it is written once. */
  async function flush(pending: PendingEnd, alongWith: Stamped[] = []): Promise<void> {
    const parts = [...pending.ended, ...alongWith];
    pending.ended = [];
    if (parts.length > 0) await write(parts);
  }

  /**
   * Hands an operator's entry that ends step `s` to the step's runner, which writes it with the step's end
   * (and the next step's start); resolves with the entries' numbers once written.
   */
  function handOver(s: StepState, entry: Omit<Stamped, 'onWritten'>, apply: () => void): Promise<number[]> {
    return new Promise((resolve) => {
      s.handedOver = { entry: { ...entry, onWritten: resolve }, apply };
    });
  }

  /** Takes the entry handed over for step `s`, if any, and its effect on the step; the caller writes it. */
  function takeHandedOver(s: StepState): Stamped[] {
    const h = s.handedOver;
    if (!h) return [];
    s.handedOver = undefined;
    h.apply();
    return [h.entry];
  }

  const projection = (s: StepState): StepProjection => ({
    stepId: s.step.id,
    status: s.status,
    awaitingRoles: s.status === 'awaiting-input' ? s.step.performedBy : s.status === 'awaiting-verification' ? s.step.signatures.verifiedBy : [],
    performedBy: s.performedBy?.userId ?? null,
    verifiedBy: s.verifiedBy?.userId ?? null,
  });

  /**
   * Records the batch's new status, then takes it. The change comes after the write, never before: code
   * waiting on the status (a step about to start) must not run while this write is still pending, or
   * its writes and these would interleave differently on replay.
   */
  async function setStatus(next: BatchStatus, data: Record<string, unknown> = {}, user: { userId: string; fullName: string } | null = null): Promise<void> {
    await record([{ kind: next === 'complete' || next === 'stopped' || next === 'aborted' ? 'batch-ended' : 'batch-command', data: { status: next, ...data }, user }], [], next);
    status = next;
    upsertSearchAttributes([{ key: StatusKey, value: next }]);
  }

  // ---- queries and updates ------------------------------------------------------------------------

  setHandler(batchStateQuery, (): LiveState => ({
    batchNumber: input.batchNumber,
    status,
    deviations: deviations.length,
    steps: [...steps.values()].map((s) => ({
      id: s.step.id,
      number: s.step.number,
      name: s.step.name,
      kind: s.step.kind,
      unitProcedureId: s.step.unitProcedureId,
      status: s.status,
      ...(s.status === 'awaiting-input' ? { awaiting: { what: 'input' as const, roles: s.step.performedBy } } : {}),
      ...(s.status === 'awaiting-verification' ? { awaiting: { what: 'verification' as const, roles: s.step.signatures.verifiedBy, notBy: s.performedBy?.fullName } } : {}),
      ...(s.equipmentState ? { equipmentState: s.equipmentState } : {}),
      ...(s.performedBy ? { performedBy: s.performedBy.fullName } : {}),
    })),
  }));

  const today = () => new Date().toISOString().slice(0, 10);

  setHandler(
    completeStepUpdate,
    async (c: StepCompletion): Promise<StepOutcome> => {
      const s = steps.get(c.stepId)!;
      s.busy = true;
      try {
        const verdict = checkCompletion(s.step, s.status, c, today());
        if (c.lateEntry && Date.parse(c.lateEntry.performedAt) > Date.now()) throw ApplicationFailure.nonRetryable('a late entry cannot be performed in the future', 'StepRefused');
        if (s.step.kind === 'material' && c.lots) {
          await records.consumeLots({ batchId: input.batchId, batchNumber: input.batchNumber, workflowId, stepId: s.step.id, material: s.step.material, unit: s.step.quantity.unit, lots: c.lots.map((l) => ({ lotId: l.lotId, quantity: l.quantity })) });
        }
        const next: StepStatus = s.step.signatures.verified ? 'awaiting-verification' : 'done';
        const user = { userId: c.signer.userId, fullName: c.signer.fullName };
        const items: RecordItem[] = [
          { kind: 'values-entered', stepId: s.step.id, data: { values: c.values, comment: c.comment ?? null, ...(c.lots ? { lots: c.lots } : {}), ...(c.lateEntry ? { lateEntry: c.lateEntry } : {}) }, user, signature: c.signer },
          ...(c.lots ? [{ kind: 'lots-consumed' as const, stepId: s.step.id, data: { material: s.step.kind === 'material' ? s.step.material : null, lots: c.lots.map((l) => ({ lotId: l.lotId, lotNumber: l.lotNumber, quantity: l.quantity })) }, user }] : []),
          ...verdict.deviations.map((d) => ({ kind: 'deviation' as const, stepId: s.step.id, data: { ...d }, user })),
        ];
        const apply = () => {
          s.performedBy = c.signer;
          s.status = next;
          deviations.push(...verdict.deviations);
          if (yieldPlan?.stepId === s.step.id && 'field' in yieldPlan.source) {
            const v = c.values[yieldPlan.source.field];
            measuredYield = typeof v === 'number' ? v : null;
          }
        };
        if (entriesEndSteps && next === 'done') {
          // No projection of its own: the step's end, written with it, projects the step as done.
          const [signed] = await handOver(s, stamp(items), apply);
          return { stepId: s.step.id, status: 'done', deviations: verdict.deviations, signatureEntry: signed };
        }
        // As in setStatus: write first, then change the state the step's own code is waiting on.
        const [signed] = await record(items, [projection({ ...s, status: next, performedBy: c.signer })]);
        apply();
        return { stepId: s.step.id, status: s.status, deviations: verdict.deviations, signatureEntry: signed };
      } finally {
        s.busy = false;
      }
    },
    {
      // Validators never run on replay: what they refuse leaves no trace in the history, so they may change freely.
      validator: (c: StepCompletion) => {
        const s = steps.get(c?.stepId);
        if (!s) throw refused(`this batch has no step ${c?.stepId}`);
        if (s.busy) throw notAwaited(`step ${s.step.id} is being completed by someone else`);
        if (status !== 'running') throw notAwaited(`the batch is ${status}: no step can be completed`);
        if (ending) throw notAwaited(`the batch is ${ending === 'stop' ? 'stopping' : 'aborting'}: no step can be completed`);
        const verdict = checkCompletion(s.step, s.status, c, today(), s.readyAt === undefined ? undefined : { readyAt: s.readyAt, now: Date.now() });
        if (verdict.notAwaited) throw notAwaited(verdict.notAwaited);
        if (verdict.problems.length > 0) throw refused(verdict.problems.join('; '));
      },
    },
  );

  setHandler(
    verifyStepUpdate,
    async (v: StepVerification): Promise<StepOutcome> => {
      const s = steps.get(v.stepId)!;
      s.busy = true;
      try {
        const items: RecordItem[] = [{ kind: 'verification', stepId: s.step.id, data: { performedBy: s.performedBy?.fullName ?? null }, user: { userId: v.signer.userId, fullName: v.signer.fullName }, signature: v.signer }];
        const apply = () => {
          s.verifiedBy = v.signer;
          s.status = 'done';
        };
        if (entriesEndSteps) {
          const [signed] = await handOver(s, stamp(items), apply);
          return { stepId: s.step.id, status: 'done', deviations: [], signatureEntry: signed };
        }
        const [signed] = await record(items, [projection({ ...s, status: 'done', verifiedBy: v.signer })]);
        apply();
        return { stepId: s.step.id, status: s.status, deviations: [], signatureEntry: signed };
      } finally {
        s.busy = false;
      }
    },
    {
      validator: (v: StepVerification) => {
        const s = steps.get(v?.stepId);
        if (!s) throw refused(`this batch has no step ${v?.stepId}`);
        if (s.busy) throw notAwaited(`step ${s.step.id} is being recorded by someone else`);
        if (ending) throw notAwaited(`the batch is ${ending === 'stop' ? 'stopping' : 'aborting'}: no step can be verified`);
        const verdict = checkVerification(s.step, s.status, s.performedBy?.userId, v);
        if (verdict.notAwaited) throw notAwaited(verdict.notAwaited);
        if (verdict.problems.length > 0) throw refused(verdict.problems.join('; '));
      },
    },
  );

  /** Why the ISA-88 table refuses `command` to the batch as it stands now, or undefined if it allows it. */
  function commandRefusal(command: BatchCommand): string | undefined {
    const from: PhaseState = status === 'held' ? 'held' : status === 'running' ? 'running' : status === 'stopped' ? 'stopped' : status === 'aborted' ? 'aborted' : 'complete';
    if (ending || !afterCommand(from, command)) return `a batch that is ${ending ? `${ending === 'stop' ? 'stopping' : 'aborting'}` : status} cannot be given ${command}`;
    return undefined;
  }

  setHandler(
    batchCommandUpdate,
    async (req: BatchCommandRequest): Promise<{ status: BatchStatus }> => {
      const carryOut = async (): Promise<{ status: BatchStatus }> => {
        // Its turn may come after another command changed the batch: the table is asked again.
        const refusal = serialisedCommands ? commandRefusal(req.command) : undefined;
        if (refusal) throw invalidTransition(refusal);
        const by = { userId: req.by.userId, fullName: req.by.fullName };
        await record([{ kind: 'batch-command', data: { command: req.command, reason: req.reason, from: status }, user: by }]);
        const active = [...steps.values()].filter((s) => s.step.kind === 'equipment' && s.status === 'active');
        await Promise.all(active.map((s) => passCommand(s, req.command)));
        if (req.command === 'hold') await setStatus('held', { reason: req.reason }, by);
        if (req.command === 'restart') await setStatus('running', { reason: req.reason }, by);
        if (req.command === 'stop' || req.command === 'abort') {
          ending = req.command;
          scope.cancel();
        }
        return { status };
      };
      return serialisedCommands ? commandTurns.runExclusive(carryOut) : carryOut();
    },
    {
      validator: (req: BatchCommandRequest) => {
        if (!['hold', 'restart', 'stop', 'abort'].includes(req?.command)) throw refused(`unknown batch command ${req?.command}`);
        if (!req.reason?.trim()) throw refused('a batch command needs a reason');
        const refusal = commandRefusal(req.command);
        if (refusal) throw invalidTransition(refusal);
      },
    },
  );

  /** Passes a batch command to a running equipment phase; a phase that cannot take it is left as it is. */
  async function passCommand(s: StepState, command: BatchCommand): Promise<void> {
    if (s.step.kind !== 'equipment') return;
    const unit = input.units[s.step.unitProcedureId];
    try {
      await CancellationScope.nonCancellable(() => commands.commandEquipmentPhase({ unit, phase: s.step.kind === 'equipment' ? s.step.phase : '', command, commandId: commandIdOf(s) }));
    } catch {
      // Recorded by the activity's failure in history; the phase's own state decides what happens next.
    }
  }

  const commandIdOf = (s: StepState) => `${workflowId}/${s.step.id}${s.reruns > 0 ? `/rerun-${s.reruns}` : ''}`;

  // ---- running the plan ---------------------------------------------------------------------------

  /**
   * Runs one step. With `pending` (the unit procedure's held-back step end), the previous step's end is
   * written together with this step's start, and this step's end is held back in turn.
   */
  async function runStep(s: StepState, pending?: PendingEnd): Promise<void> {
    // A batch held between two steps: the step that ended is recorded now, not at the restart.
    if (pending && pending.ended.length > 0 && status !== 'running' && ending === null) await flush(pending);
    await condition(() => status === 'running' || ending !== null);
    if (ending) return;
    const step = s.step;
    const operatorStep = step.kind !== 'equipment' && step.kind !== 'hold';
    // An operator step is waiting for its operator from the moment it starts: one write says both.
    s.status = operatorStep ? 'awaiting-input' : 'active';
    if (operatorStep) s.readyAt = Date.now();
    const started = stamp([{ kind: 'step-started', stepId: step.id, data: { number: step.number, name: step.name, kind: step.kind, unitProcedure: step.unitProcedureId, operation: step.operation.name } }], [projection(s)]);
    if (pending) await flush(pending, [started]);
    else await write([started]);
    // This step's entries not written yet, to go with its end.
    let held: Stamped[] = [];
    switch (step.kind) {
      case 'equipment': {
        const results = await runEquipment(s, step);
        // With nothing to wait for after the phase, its results go with the step's end (and the next step's
        // start), taken in the same turn; a step that awaits a signature shows them at once, to whoever signs.
        if (pending && resultsWithStepEnd && !step.signatures.performed && !step.signatures.verified) held = [results];
        else await write([results]);
        if (step.signatures.performed) await awaitOperator(s);
        else if (step.signatures.verified && patched(VERIFIED_EQUIPMENT_AWAITS_VERIFICATION)) await awaitVerifier(s);
        break;
      }
      case 'hold':
        await sleep(step.durationMs);
        break;
      default:
        await condition(() => s.status !== 'awaiting-input' || s.handedOver !== undefined);
    }
    if (step.signatures.verified) await condition(() => s.status === 'done' || s.handedOver !== undefined);
    // The operator's last entry, if it was handed over, goes into the same write as the step's end.
    const last = takeHandedOver(s);
    s.status = 'done';
    const ended = stamp([{ kind: 'step-completed', stepId: step.id, data: { performedBy: s.performedBy?.fullName ?? null, verifiedBy: s.verifiedBy?.fullName ?? null } }], [projection(s)]);
    if (pending) pending.ended = [...held, ...last, ended];
    else await write([...held, ...last, ended]);
  }

  async function awaitOperator(s: StepState): Promise<void> {
    s.status = 'awaiting-input';
    s.readyAt = Date.now();
    await record([], [projection(s)]);
    await condition(() => s.status !== 'awaiting-input' || s.handedOver !== undefined);
  }

  /** An equipment phase that is verified but performed by no one: a second person checks what the equipment did. */
  async function awaitVerifier(s: StepState): Promise<void> {
    s.status = 'awaiting-verification';
    await record([], [projection(s)]);
  }

  /**
   * Runs an equipment phase; a failure holds the batch until an operator restarts (the phase runs again) or ends it.
   * Returns the phase's parameters and reports (and their deviations) as entries for the caller to write.
   */
  async function runEquipment(s: StepState, step: Extract<PlanStep, { kind: 'equipment' }>): Promise<Stamped> {
    const unit = input.units[step.unitProcedureId];
    for (;;) {
      try {
        const result = await equipment.runEquipmentPhase({ batchId: input.batchId, unit, step, commandId: commandIdOf(s), onCancel: input.onCancel ?? 'stop' });
        const found = reportDeviations(step, result.reports);
        deviations.push(...found);
        if (yieldPlan?.stepId === step.id && 'report' in yieldPlan.source) {
          const report = yieldPlan.source.report;
          measuredYield = result.reports.find((r) => r.id === report)?.value ?? null;
        }
        // Only an interrupted phase asks for the patch: every other history stays as it was.
        const interrupted = result.interruption && patched(RECORD_INTERRUPTED_PHASES) ? [{ kind: 'phase-interrupted' as const, stepId: step.id, data: { unit: unit.code, phase: step.phase, commandId: commandIdOf(s), ...result.interruption } }] : [];
        return stamp([
          ...interrupted,
          { kind: 'equipment-parameters', stepId: step.id, data: { unit: unit.code, phase: step.phase, commandId: commandIdOf(s), parameters: result.parameters, reconciled: result.reconciled } },
          { kind: 'equipment-reports', stepId: step.id, data: { unit: unit.code, phase: step.phase, reports: result.reports } },
          ...found.map((d) => ({ kind: 'deviation' as const, stepId: step.id, data: { ...d } })),
        ]);
      } catch (err) {
        if (isCancellation(err) || ending) throw err;
        const failure = err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;
        s.status = 'failed';
        // A phase taken up again after an interruption, then failed: the failure says so too (since RECORD_INTERRUPTED_PHASES).
        const interruption = (failure?.details?.[0] as { interruption?: object } | undefined)?.interruption;
        const interrupted = interruption && patched(RECORD_INTERRUPTED_PHASES) ? { interruption } : {};
        await record([{ kind: 'step-failed', stepId: step.id, data: { type: failure?.type ?? 'unknown', message: failure?.message ?? String(err), ...interrupted } }], [projection(s)]);
        await setStatus('held', { reason: `step ${step.id} failed: ${failure?.message ?? String(err)}` });
        await condition(() => status === 'running' || ending !== null);
        if (ending) throw err;
        s.reruns++;
        s.status = 'active';
        await record([{ kind: 'step-started', stepId: step.id, data: { rerun: s.reruns } }], [projection(s)]);
      }
    }
  }

  async function runUnitProcedure(up: PlanUnitProcedure): Promise<void> {
    if (!patched(ONE_WRITE_BETWEEN_STEPS)) {
      for (const id of up.steps) await runStep(steps.get(id)!);
      return;
    }
    const pending: PendingEnd = { ended: [] };
    pendingEnds.add(pending);
    for (const id of up.steps) await runStep(steps.get(id)!, pending);
    await flush(pending);
    pendingEnds.delete(pending);
  }

  /**
   * Waits for every update handler to finish before the workflow returns. An entry accepted just before the
   * end — its lots consumed after the last step runner had gone — is handed over with no runner to take it:
   * it is written here (the lots were taken; the record says so), and its handler answered.
   */
  async function settleHandlers(): Promise<void> {
    for (;;) {
      await condition(() => allHandlersFinished() || [...steps.values()].some((s) => s.handedOver !== undefined));
      const late = [...steps.values()].flatMap(takeHandedOver);
      if (late.length === 0) return;
      await write(late);
    }
  }

  // ---- the batch ----------------------------------------------------------------------------------

  upsertSearchAttributes([{ key: StatusKey, value: 'running' }]);
  await record([{ kind: 'batch-started', data: { batch: input.batchNumber, recipe: input.plan.recipe, product: input.plan.product, batchSize: input.plan.scaling.batchSize, planHash: input.planHash, units: Object.fromEntries(Object.entries(input.units).map(([up, u]) => [up, u.code])) }, user: input.launchedBy }], input.plan.steps.map((st) => ({ stepId: st.id, status: 'pending', awaitingRoles: [] })), 'running');

  try {
    await scope.run(async () => {
      for (const stage of input.plan.stages) await Promise.all(stage.unitProcedures.map(runUnitProcedure));
    });
  } catch (err) {
    if (!ending && !isCancellation(err)) throw err;
    const end = ending === 'abort' ? 'aborted' : 'stopped';
    // Entries handed over just before the end, to step runners cancelled before they took them: recorded, and
    // their steps count as done.
    const untaken = [...steps.values()].flatMap(takeHandedOver);
    const cancelled = [...steps.values()].filter((s) => s.status !== 'done');
    for (const s of cancelled) s.status = 'cancelled';
    await CancellationScope.nonCancellable(async () => {
      for (const pending of pendingEnds) await flush(pending);
      if (untaken.length > 0) await write(untaken);
      await record([], cancelled.map(projection));
      await records.releaseUnits({ batchId: input.batchId, units: Object.values(input.units).map((u) => u.code) });
      await setStatus(end);
    });
    if (serialisedCommands) await CancellationScope.nonCancellable(settleHandlers);
    return { status: end, outputLot: null, deviations: deviations.length };
  }

  // What the batch gave: the measured yield where the plan names how it is measured (judged against the
  // theoretical, and recorded), else, as before, the nominal batch size.
  let quantity: { value: number; unit: string } = input.plan.scaling.batchSize;
  if (yieldPlan && patched(MEASURED_YIELD)) {
    const judged = judgeYield(yieldPlan, measuredYield ?? null);
    deviations.push(...judged.deviations);
    await record([{ kind: 'yield', data: judged.entry }, ...judged.deviations.map((d) => ({ kind: 'deviation' as const, stepId: yieldPlan.stepId, data: { ...d } }))]);
    quantity = judged.quantity;
  }
  const produced = await records.produceOutputLot({
    batchId: input.batchId,
    batchNumber: input.batchNumber,
    workflowId,
    material: input.outputLot.material,
    lotNumber: input.outputLot.lotNumber,
    quantity,
    expiryDate: input.outputLot.expiryDate,
  });
  await record([{ kind: 'output-lot', data: { ...produced } }]);
  await records.releaseUnits({ batchId: input.batchId, units: Object.values(input.units).map((u) => u.code) });
  await setStatus('complete', { deviations: deviations.length });
  if (serialisedCommands) await settleHandlers();
  return { status: 'complete', outputLot: { lotId: produced.lotId, lotNumber: produced.lotNumber }, deviations: deviations.length };
}
