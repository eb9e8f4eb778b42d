/**
 * The batch workflow's messages: the state query, and the Updates for an operator's entry, a verification and
 * a batch command. Validators refuse at once what is not allowed — typed (`domain/batch/failures.ts`) so that
 * the API answers each with its problem; they never run on replay, so what they refuse leaves no trace in the
 * history and they may change freely. Handlers change the batch, and are replayed: a change to one goes
 * behind a patch.
 */
import { lotsConsumedSummary } from '../../domain/batch/workflow-metadata';
import { ApplicationFailure, patched, setHandler } from '@temporalio/workflow';
import type { Mutex } from 'async-mutex';
import { checkCompletion, checkVerification } from '../../domain/batch/completion';
import { REFUSALS } from '../../domain/batch/failures';
import type {
  BatchCommandRequest,
  BatchStatus,
  StepCompletion,
  StepOutcome,
  StepStatus,
  StepVerification,
} from '../../domain/batch/types';
import { localWrites } from './activity-proxies';
import { PATCHES } from './patches';
import { batchCommandUpdate, batchStateQuery, completeStepUpdate, verifyStepUpdate } from './messages';
import type { PlanRunner } from './plan-runner';
import type { RecordItem, RecordWriter } from './record-writer';
import { handOver, type BatchState } from './state';

const notAwaited = (message: string) =>
  ApplicationFailure.create({ type: REFUSALS.stepNotAwaited, message, nonRetryable: true });
const refused = (message: string) =>
  ApplicationFailure.create({ type: REFUSALS.stepRefused, message, nonRetryable: true });
const invalidTransition = (message: string) =>
  ApplicationFailure.create({ type: REFUSALS.invalidTransition, message, nonRetryable: true });

/** How this run handles its messages, decided once at its start (see `patches.ts`). */
export interface HandlerOptions {
  /** Since `one-write-per-entry`: an entry that ends its step is handed to the step's runner. */
  entriesEndSteps: boolean;
  /** Since `serialised-commands`: commands take turns, each checked again when its turn comes. */
  serialisedCommands: boolean;
  commandTurns: Mutex;
  /** Ends the plan's run: a Stop or Abort was given. */
  end(): void;
}

const today = () => new Date().toISOString().slice(0, 10);

export function installHandlers(state: BatchState, writer: RecordWriter, runner: PlanRunner, o: HandlerOptions): void {
  const { input, workflowId } = state;

  setHandler(batchStateQuery, () => state.live());

  setHandler(
    completeStepUpdate,
    async (c: StepCompletion): Promise<StepOutcome> => {
      const s = state.steps.get(c.stepId)!;
      s.busy = true;
      try {
        const verdict = checkCompletion(s.step, s.status, c, today());
        if (c.lateEntry && Date.parse(c.lateEntry.performedAt) > Date.now())
          throw ApplicationFailure.nonRetryable('a late entry cannot be performed in the future', REFUSALS.stepRefused);
        if (s.step.kind === 'material' && c.lots) {
          await localWrites.consumeLots.executeWithOptions(
            {
              summary: lotsConsumedSummary(
                s.step,
                c.lots.map((l) => l.lotNumber),
              ),
            },
            [
              {
                batchId: input.batchId,
                batchNumber: input.batchNumber,
                workflowId,
                stepId: s.step.id,
                material: s.step.material,
                unit: s.step.quantity.unit,
                lots: c.lots.map((l) => ({ lotId: l.lotId, quantity: l.quantity })),
              },
            ],
          );
        }
        // Only an entry with a weighing asks for the patch (every earlier history stays as it was). A typed weight
        // stands only once a second person has verified it, whatever the recipe says.
        const weighing = c.weighing && patched(PATCHES.weighingsRecorded.id) ? c.weighing : undefined;
        const manualWeighing = weighing?.source === 'manual';
        const next: StepStatus = s.step.signatures.verified || manualWeighing ? 'awaiting-verification' : 'done';
        const user = { userId: c.signer.userId, fullName: c.signer.fullName };
        const items: RecordItem[] = [
          {
            kind: 'values-entered',
            stepId: s.step.id,
            data: {
              values: c.values,
              comment: c.comment ?? null,
              ...(c.lots ? { lots: c.lots } : {}),
              ...(c.lateEntry ? { lateEntry: c.lateEntry } : {}),
            },
            user,
            signature: c.signer,
          },
          ...(weighing
            ? [
                {
                  kind: 'weighing' as const,
                  stepId: s.step.id,
                  data: {
                    ...weighing,
                    material: s.step.kind === 'material' ? s.step.material : null,
                    lot: c.lots?.[0]?.lotNumber ?? null,
                  },
                  user,
                },
              ]
            : []),
          ...(c.lots
            ? [
                {
                  kind: 'lots-consumed' as const,
                  stepId: s.step.id,
                  data: {
                    material: s.step.kind === 'material' ? s.step.material : null,
                    lots: c.lots.map((l) => ({ lotId: l.lotId, lotNumber: l.lotNumber, quantity: l.quantity })),
                  },
                  user,
                },
              ]
            : []),
          ...verdict.deviations.map((d) => ({ kind: 'deviation' as const, stepId: s.step.id, data: { ...d }, user })),
        ];
        const apply = () => {
          s.performedBy = c.signer;
          s.status = next;
          if (manualWeighing) s.verificationRequired = true;
          state.deviations.push(...verdict.deviations);
          state.noteYieldValues(s.step.id, c.values);
        };
        if (o.entriesEndSteps && next === 'done') {
          // No projection of its own: the step's end, written with it, projects the step as done.
          const [signed] = await handOver(s, writer.entries(items), apply);
          return { stepId: s.step.id, status: 'done', deviations: verdict.deviations, signatureEntry: signed };
        }
        // As for a status: write first, then change the state the step's own code is waiting on.
        const [signed] = await writer.writeNow(items, [
          state.projection({ ...s, status: next, performedBy: c.signer }),
        ]);
        apply();
        return { stepId: s.step.id, status: s.status, deviations: verdict.deviations, signatureEntry: signed };
      } finally {
        s.busy = false;
      }
    },
    {
      validator: (c: StepCompletion) => {
        const s = state.steps.get(c?.stepId);
        if (!s) throw refused(`this batch has no step ${c?.stepId}`);
        if (s.busy) throw notAwaited(`step ${s.step.id} is being completed by someone else`);
        if (state.status !== 'running') throw notAwaited(`the batch is ${state.status}: no step can be completed`);
        if (state.ending) throw notAwaited(`the batch is ${state.endingWord}: no step can be completed`);
        const verdict = checkCompletion(
          s.step,
          s.status,
          c,
          today(),
          s.readyAt === undefined ? undefined : { readyAt: s.readyAt, now: Date.now() },
        );
        if (verdict.notAwaited) throw notAwaited(verdict.notAwaited);
        if (verdict.problems.length > 0) throw refused(verdict.problems.join('; '));
      },
    },
  );

  setHandler(
    verifyStepUpdate,
    async (v: StepVerification): Promise<StepOutcome> => {
      const s = state.steps.get(v.stepId)!;
      s.busy = true;
      try {
        const items: RecordItem[] = [
          {
            kind: 'verification',
            stepId: s.step.id,
            data: { performedBy: s.performedBy?.fullName ?? null },
            user: { userId: v.signer.userId, fullName: v.signer.fullName },
            signature: v.signer,
          },
        ];
        const apply = () => {
          s.verifiedBy = v.signer;
          s.status = 'done';
        };
        if (o.entriesEndSteps) {
          const [signed] = await handOver(s, writer.entries(items), apply);
          return { stepId: s.step.id, status: 'done', deviations: [], signatureEntry: signed };
        }
        const [signed] = await writer.writeNow(items, [
          state.projection({ ...s, status: 'done', verifiedBy: v.signer }),
        ]);
        apply();
        return { stepId: s.step.id, status: s.status, deviations: [], signatureEntry: signed };
      } finally {
        s.busy = false;
      }
    },
    {
      validator: (v: StepVerification) => {
        const s = state.steps.get(v?.stepId);
        if (!s) throw refused(`this batch has no step ${v?.stepId}`);
        if (s.busy) throw notAwaited(`step ${s.step.id} is being recorded by someone else`);
        if (state.ending) throw notAwaited(`the batch is ${state.endingWord}: no step can be verified`);
        const verdict = checkVerification(s.step, s.status, s.performedBy?.userId, v);
        if (verdict.notAwaited) throw notAwaited(verdict.notAwaited);
        if (verdict.problems.length > 0) throw refused(verdict.problems.join('; '));
      },
    },
  );

  setHandler(
    batchCommandUpdate,
    async (req: BatchCommandRequest): Promise<{ status: BatchStatus }> => {
      const carryOut = async (): Promise<{ status: BatchStatus }> => {
        // Its turn may come after another command changed the batch: the table is asked again.
        const refusal = o.serialisedCommands ? state.commandRefusal(req.command) : undefined;
        if (refusal) throw invalidTransition(refusal);
        const by = { userId: req.by.userId, fullName: req.by.fullName };
        await writer.writeNow([
          { kind: 'batch-command', data: { command: req.command, reason: req.reason, from: state.status }, user: by },
        ]);
        const active = [...state.steps.values()].filter((s) => s.step.kind === 'equipment' && s.status === 'active');
        await Promise.all(active.map((s) => runner.passCommand(s, req.command)));
        if (req.command === 'hold') await writer.writeStatus('held', { reason: req.reason }, by);
        if (req.command === 'restart') await writer.writeStatus('running', { reason: req.reason }, by);
        if (req.command === 'stop' || req.command === 'abort') {
          state.ending = req.command;
          o.end();
        }
        return { status: state.status };
      };
      return o.serialisedCommands ? o.commandTurns.runExclusive(carryOut) : carryOut();
    },
    {
      validator: (req: BatchCommandRequest) => {
        if (!['hold', 'restart', 'stop', 'abort'].includes(req?.command))
          throw refused(`unknown batch command ${req?.command}`);
        if (!req.reason?.trim()) throw refused('a batch command needs a reason');
        const refusal = state.commandRefusal(req.command);
        if (refusal) throw invalidTransition(refusal);
      },
    },
  );
}
