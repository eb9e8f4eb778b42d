/**
 * The batch workflow's side effects, built by `createActivities(deps)`: writing the batch record,
 * running and commanding equipment phases over OPC UA, consuming lots and producing the output lot.
 * Each is idempotent — keyed by the workflow id and step, never by the attempt — so a retry after a
 * crash does nothing twice. Business refusals become non-retryable ApplicationFailures with a type.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Metrics } from '../composition/metrics';
import { SYSTEM_ACTOR, type ChangeContext } from '../db/change-context';
import { UnitStatusKeeper } from '../api/equipment/unit-status';
import { Inventory, InventoryError } from '../api/lots/inventory';
import type { Stores } from '../db/stores';
import type { NewEbrEntry } from '../db/stores/batch-store';
import type { NewSignature } from '../db/stores/signature-store';
import { canonicalHash } from '../domain/canonical-hash';
import { ACTIVITY_FAILURES, BATCH_MISSING } from '../domain/batch/failures';
import { recordEvents } from '../domain/integration/record-events';
import type {
  AssignedUnit,
  BatchCommand,
  BatchStatus,
  EbrEntryInput,
  RecordWriteOutcome,
  StepProjection,
} from '../domain/batch/types';
import type { PlanStep } from '../domain/recipe/plan';
import { AuditTrail } from '../api/audit/audit-trail';
import { raiseFromRecord } from '../api/deviations/deviation-service';
import type { PhaseDriver } from '../equipment/driver/phase-driver';
import { PhaseFailure } from '../equipment/errors';
import { UnitConversionError, fromController, toController } from '../equipment/parameters';

export interface ActivityDeps {
  db: Knex;
  stores: Stores;
  driver: PhaseDriver;
  log?: Logger;
  metrics?: Metrics;
}

const STATION = { clientAddress: null, userAgent: 'ampoule worker', requestId: null };

/** Business refusals as non-retryable failures the workflow (and the batch record) can name. */
function asFailure(err: unknown): unknown {
  if (err instanceof PhaseFailure)
    return ApplicationFailure.create({
      message: err.message,
      type: err.type,
      nonRetryable: true,
      details: [err.details],
    });
  if (err instanceof UnitConversionError)
    return ApplicationFailure.create({
      message: err.message,
      type: ACTIVITY_FAILURES.unitConversion,
      nonRetryable: true,
    });
  if (err instanceof InventoryError) {
    const type = err.code === 'lot-unusable' ? ACTIVITY_FAILURES.lotUnusable : ACTIVITY_FAILURES.inventory;
    return ApplicationFailure.create({
      message: err.message,
      type,
      nonRetryable: true,
      details: [{ code: err.code, problems: err.problems }],
    });
  }
  return err;
}

export function createActivities(deps: ActivityDeps) {
  const { db, stores, driver } = deps;
  const inventory = new Inventory(stores);
  const audit = new AuditTrail(stores.audit);
  const units = new UnitStatusKeeper(stores);
  const asSystem = (trx: Knex.Transaction, reason: string | null = null): ChangeContext => ({
    trx,
    actor: SYSTEM_ACTOR,
    station: STATION,
    reason,
  });

  return {
    /**
     * Writes entries into the batch record (each once, by its key), the signatures they carry, the step
     * projection the work queue reads, and the batch's status — all in one transaction.
     */
    async recordEbr(req: {
      batchId: string;
      workflowId: string;
      runId: string;
      entries: EbrEntryInput[];
      steps?: StepProjection[];
      batchStatus?: BatchStatus;
    }): Promise<RecordWriteOutcome> {
      let completedKinds: string[] = [];
      const outcome = await db.transaction(async (trx) => {
        const keyOf = (no: number) => `${req.workflowId}/${no}`;
        const start = await stores.batches.lockForRecord(
          trx,
          req.batchId,
          req.entries.map((e) => keyOf(e.no)),
        );
        // Retryable: the launch starts the workflow just before it commits the batch.
        if (!start) throw ApplicationFailure.create({ message: `no batch ${req.batchId} (yet)`, type: BATCH_MISSING });
        const { batch } = start;
        const earlier: RecordWriteOutcome['earlier'] = [];
        const signatures: NewSignature[] = [];
        const entries: NewEbrEntry[] = [];
        for (const e of req.entries) {
          // Written before this attempt: nothing of it again; the workflow is told what it was recorded with.
          const stored = start.stored.get(keyOf(e.no));
          if (stored) {
            earlier.push({ no: e.no, ...stored });
            continue;
          }
          let signatureId: string | null = null;
          if (e.signature) {
            // The signature is bound to what this entry records, in this batch, at this step.
            signatureId = randomUUID();
            signatures.push({
              id: signatureId,
              signerId: e.signature.userId,
              username: e.signature.username,
              printedName: e.signature.fullName,
              meaning: e.signature.meaning,
              comment: e.signature.comment,
              entityType: 'batch-step',
              entityId: `${batch.number}/${e.stepId}`,
              contentHash: canonicalHash({ batch: batch.number, step: e.stepId, entry: keyOf(e.no), data: e.data }),
              clientAddress: null,
              requestId: null,
            });
          }
          entries.push({
            entryKey: keyOf(e.no),
            kind: e.kind,
            stepId: e.stepId,
            data: e.data,
            workflowId: req.workflowId,
            runId: req.runId,
            eventId: e.eventId,
            occurredAt: e.occurredAt,
            userId: e.user?.userId ?? null,
            userName: e.user?.fullName ?? null,
            signatureId,
          });
        }
        const written = await stores.batches.writeRecord(trx, start, { signatures, entries, steps: req.steps });
        completedKinds = entries
          .filter((e) => e.kind === 'step-completed')
          .map((e) => batch.plan.steps.find((st) => st.id === e.stepId)?.kind ?? 'unknown');
        // What the record now holds, told to subscribed systems in its transaction and in the record's order:
        // phases' states, samples' results — and each limit excursion, a deviation to investigate, raised with it.
        let told = 0;
        const tell = async (upTo: number) => {
          const events = recordEvents(batch, entries.slice(told, upTo));
          await stores.outbox.emitMany(
            trx,
            events.map((e) => ({ type: e.type, subject: batch.number, payload: e.payload })),
          );
          told = upTo;
        };
        for (const [i, e] of entries.entries())
          if (e.kind === 'deviation') {
            await tell(i + 1);
            await raiseFromRecord(stores, asSystem(trx, 'raised by the batch record'), batch, [e]);
          }
        await tell(entries.length);
        if (req.batchStatus && req.batchStatus !== batch.status) {
          await stores.batches.setStatus(trx, req.batchId, req.batchStatus);
          await stores.outbox.emit(trx, 'batch.status', batch.number, {
            batch: batch.number,
            from: batch.status,
            to: req.batchStatus,
          });
          await audit.record(asSystem(trx, 'the batch workflow'), {
            action: 'status',
            entityType: 'batch',
            entityId: batch.id,
            oldValue: { status: batch.status },
            newValue: { status: req.batchStatus },
          });
        }
        return { written, earlier };
      });
      // Counted once committed (a retried write stores, and counts, nothing twice).
      for (const kind of completedKinds) deps.metrics?.stepsCompleted.inc({ kind });
      return outcome;
    },

    /**
     * Runs an equipment phase through the handshake, heartbeating; cancellation sends Stop (or Abort). An
     * attempt after one that was cut off (a worker or the whole process died mid-phase) says how the phase was
     * taken up again: reconciled (found running or done, watched on) or restarted (the controller had lost it,
     * so it ran again from the start — its state history shows it running twice under one command id).
     */
    async runEquipmentPhase(req: {
      batchId: string;
      unit: AssignedUnit;
      step: Extract<PlanStep, { kind: 'equipment' }>;
      commandId: string;
      onCancel: 'stop' | 'abort';
    }) {
      const ctx = Context.current();
      // The step this attempt serves, in its heartbeat details: Temporal keeps them with the activity's last failure,
      // so the API can say on the step why its equipment cannot be reached (`BatchTemporalGateway.equipmentProblems`).
      const beat = (d: object = {}) => ctx.heartbeat({ ...d, stepId: req.step.id });
      beat();
      const earlierRuns =
        ctx.info.attempt > 1 ? await stores.equipment.runsOf(db, req.unit.code, req.step.phase, req.commandId) : 0;
      const contract = req.unit.interfaces[req.step.phase];
      // Only a cancellation the workflow asked for ends the phase; a worker shutting down (or a timeout)
      // only stops watching it: the next attempt reconciles and watches on.
      const stopPhase = new AbortController();
      const abandon = new AbortController();
      ctx.cancellationSignal.addEventListener(
        'abort',
        () => (ctx.cancellationDetails?.cancelRequested ? stopPhase : abandon).abort(ctx.cancellationSignal.reason),
        { once: true },
      );
      try {
        const parameters = toController(req.step.setpoints, contract);
        const outcome = await driver.run({
          unit: req.unit,
          phase: req.step.phase,
          commandId: req.commandId,
          parameters,
          heartbeat: (d) => beat(d),
          signal: stopPhase.signal,
          abandon: abandon.signal,
          onCancel: req.onCancel,
          onStateChange: async (c) => {
            await stores.equipment.addStateChange(db, {
              unitCode: c.unit,
              phase: c.phase,
              state: c.state,
              commandId: c.commandId,
              sourceTimestamp: c.sourceTimestamp,
            });
          },
        });
        const interrupted = ctx.info.attempt > 1 && (earlierRuns > 0 || outcome.reconciled);
        return {
          parameters,
          reports: fromController(outcome.reports, req.step.reports, contract),
          reconciled: outcome.reconciled,
          ...(interrupted
            ? {
                interruption: {
                  attempt: ctx.info.attempt,
                  resumed: outcome.reconciled ? ('reconciled' as const) : ('restarted' as const),
                  earlierRuns,
                },
              }
            : {}),
        };
      } catch (err) {
        // A phase taken up again that then failed (stopped, aborted, refused): its failure says it was interrupted
        // too, and whether it had run again from the start by then.
        if (err instanceof PhaseFailure && ctx.info.attempt > 1 && earlierRuns > 0) {
          const runsNow = await stores.equipment.runsOf(db, req.unit.code, req.step.phase, req.commandId);
          err.details.interruption = {
            attempt: ctx.info.attempt,
            resumed: runsNow > earlierRuns ? 'restarted' : 'reconciled',
            earlierRuns,
          };
        }
        throw asFailure(err);
      }
    },

    /** Passes a batch command (hold, restart, stop, abort) to an equipment phase. */
    async commandEquipmentPhase(req: {
      unit: AssignedUnit;
      phase: string;
      command: BatchCommand;
      commandId: string;
    }): Promise<void> {
      try {
        await driver.command(req.unit, req.phase, req.command, req.commandId);
      } catch (err) {
        throw asFailure(err);
      }
    },

    /** Consumes the lots of a material step, each once per `<workflowId>/<stepId>/<lot>`. */
    async consumeLots(req: {
      batchId: string;
      batchNumber: string;
      workflowId: string;
      stepId: string;
      material: string;
      unit: string;
      lots: { lotId: string; quantity: number }[];
    }) {
      try {
        return await db.transaction(async (trx) => {
          const out = [];
          for (const l of req.lots) {
            const r = await inventory.consume(asSystem(trx), {
              lotId: l.lotId,
              batchId: req.batchNumber,
              stepId: req.stepId,
              material: req.material,
              quantity: { value: l.quantity, unit: req.unit },
              key: `${req.workflowId}/${req.stepId}/${l.lotId}`,
            });
            out.push({
              lotId: l.lotId,
              lotNumber: r.lot.lotNumber,
              consumed: -r.transaction.quantity,
              unit: r.lot.unit,
              replayed: r.replayed,
            });
          }
          return out;
        });
      } catch (err) {
        throw asFailure(err);
      }
    },

    /** Creates the batch's output lot in Quarantine, once. */
    async produceOutputLot(req: {
      batchId: string;
      batchNumber: string;
      workflowId: string;
      material: string;
      lotNumber: string;
      quantity: { value: number; unit: string };
      expiryDate: string | null;
    }) {
      try {
        return await db.transaction(async (trx) => {
          const { lot } = await inventory.produce(asSystem(trx, `output of batch ${req.batchNumber}`), {
            batchId: req.batchNumber,
            stepId: null,
            material: req.material,
            lotNumber: req.lotNumber,
            quantity: req.quantity,
            expiryDate: req.expiryDate,
            key: `${req.workflowId}/output`,
          });
          return {
            lotId: lot.id,
            lotNumber: lot.lotNumber,
            quantity: lot.quantity,
            unit: lot.unit,
            status: lot.status,
          };
        });
      } catch (err) {
        throw asFailure(err);
      }
    },

    /**
     * Gives the batch's units back: available again, and dirty until cleaned. Only a unit this batch still
     * holds: one forced free meanwhile (and perhaps claimed by another batch) is no longer its to give back.
     */
    async releaseUnits(req: { batchId: string; units: string[] }): Promise<void> {
      await db.transaction(async (trx) => {
        const batch = await stores.batches.find(trx, req.batchId);
        const number = batch?.number ?? req.batchId;
        const ctx = asSystem(trx, `batch ${number} ended`);
        for (const code of new Set(req.units)) {
          await units.change(
            ctx,
            code,
            { status: 'available', cleanliness: 'dirty', heldByBatch: null },
            { expect: { status: 'in-use', heldByBatch: number }, batch: number },
          );
        }
      });
    },
  };
}

export type BatchActivities = ReturnType<typeof createActivities>;
