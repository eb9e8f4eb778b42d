/**
 * Executing batches: operators complete and verify steps — the API re-authenticates their signature, looks
 * up their lots and checks what it can from the recorded state, then sends the entry to the batch's workflow,
 * which has the last word — and give batch commands; the work queue lists what each can do now; a batch's
 * live state comes from its workflow, or the record once it has closed.
 */
import type { Metrics } from '../../composition/metrics';
import type { Knex } from 'knex';
import type { Station, UserActor } from '../../db/change-context';
import { Inventory } from '../lots/inventory';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import { checkCompletion, checkVerification, completionMeaning } from '../../domain/batch/completion';
import type {
  BatchCommand,
  FieldValue,
  LiveState,
  LotUse,
  Signer,
  StepCompletion,
  StepOutcome,
} from '../../domain/batch/types';
import { effectiveStatus } from '../../domain/materials/lots';
import type { PlanStep } from '../../domain/recipe/plan';
import { convert } from '../../domain/units';
import { Problem, notFound } from '../http/problems';
import { ServerTiming } from '../http/server-timing';
import {
  toManifestation,
  type SignatureInput,
  type SignatureManifestation,
  type SignatureService,
  type VerifiedSigner,
} from '../signatures/signature-service';
import type { BatchRecordService } from './record-service';
import type { DispensingService, WeighingInput } from './dispensing-service';
import type { BatchTemporalGateway } from './temporal-gateway';

/**
 * The Server-Timing name of an operator entry's Update. The batch workflow (since its patch
 * `one-write-per-entry`) answers it only once the entry is written together with what it made ready (the
 * next step, or the step's verification): its round trip bounds the time from Update sent to next step ready.
 */
export const UPDATE_TIMING = 'update';
const UPDATE_TIMING_DESCRIPTION = 'workflow Update, until the entry and the next step are recorded';

/** Why a batch in each status takes no operator entry. */
const STEP_ENTRY_REFUSED: Record<BatchRecord['status'], string> = {
  created: 'it has not started yet',
  running: 'its step does not await this entry',
  held: 'no step can be completed until it is restarted',
  complete: 'its steps take no more entries',
  stopped: 'its steps take no more entries',
  aborted: 'its steps take no more entries',
  reviewed: 'its steps take no more entries',
  released: 'its steps take no more entries',
  rejected: 'its steps take no more entries',
};

export interface CompletionBody extends WeighingInput {
  values: Record<string, FieldValue>;
  /** The lots used; for a weighed step without quantities (the scale gives it). */
  lots?: { lot: string; quantity?: number }[];
  deviationComments?: Record<string, string>;
  comment?: string;
  lateEntry?: { performedAt: string; reason: string };
  signature?: SignatureInput;
}

export class ExecutionService {
  private readonly inventory: Inventory;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly records: BatchRecordService,
    private readonly signatures: SignatureService,
    private readonly temporal: BatchTemporalGateway,
    private readonly dispensing: DispensingService,
    private readonly metrics?: Metrics,
  ) {
    this.inventory = new Inventory(stores);
  }

  async complete(
    actor: UserActor,
    station: Station,
    idOrNumber: string,
    stepId: string,
    body: CompletionBody,
    timing = new ServerTiming(),
  ): Promise<StepOutcome & { signature: SignatureManifestation | null }> {
    const received = performance.now();
    const batch = await this.records.get(idOrNumber);
    const step = stepOf(batch, stepId);
    // The state first (a conflict, 409), from the recorded projection: the workflow's validator has the last word anyway.
    if (batch.status !== 'running')
      throw new Problem(
        'step-not-awaited',
        `batch ${batch.number} is ${batch.status}: ${STEP_ENTRY_REFUSED[batch.status]}`,
      );
    const recorded = (await this.stores.batches.steps(this.db, batch.id)).find((s) => s.stepId === stepId);
    if (recorded?.status !== 'awaiting-input')
      throw new Problem(
        'step-not-awaited',
        `step ${stepId} of batch ${batch.number} is ${recorded?.status ?? 'pending'}, not awaiting input`,
      );
    const verified = await timing.measure('signature', 're-authentication', () =>
      this.signatures.verify(
        actor,
        body.signature,
        { meaning: completionMeaning(step), roles: step.performedBy },
        station,
      ),
    );
    const today = await this.inventory.today(this.db);
    // A weighed step's quantity is the scale's, read now (or a manual weighing's): never one the request states.
    const weighed = await timing.measure('scale', 'the scale read', () =>
      this.dispensing.weighing(batch, step, body, actor.userId),
    );
    if (weighed && body.lots?.some((l) => l.quantity !== undefined))
      throw new Problem(
        'step-refused',
        `step ${stepId} is weighed: its quantity comes from the scale, not the request`,
      );
    if (!weighed && body.lots?.some((l) => l.quantity === undefined))
      throw new Problem('step-refused', 'each lot needs the quantity taken from it');
    const lots = body.lots
      ? await this.lotFacts(
          step,
          body.lots.map((l) => ({ lot: l.lot, quantity: weighed?.quantity ?? l.quantity! })),
          today,
        )
      : undefined;
    if (body.lateEntry && Date.parse(body.lateEntry.performedAt) > Date.now())
      throw new Problem('step-refused', 'a late entry cannot be performed in the future');
    const completion: StepCompletion = {
      stepId,
      signer: signerOf(verified),
      values: body.values,
      lots,
      deviationComments: body.deviationComments,
      comment: body.comment,
      lateEntry: body.lateEntry,
      weighing: weighed?.weighing,
    };
    const { problems } = checkCompletion(step, recorded.status, completion, today);
    if (problems.length > 0) throw new Problem('step-refused', problems.join('; '), { problems });
    const outcome = await timing.measure(UPDATE_TIMING, UPDATE_TIMING_DESCRIPTION, () =>
      this.temporal.complete(batch.workflowId, completion),
    );
    this.metrics?.stepReadyLatency.observe({ action: 'complete' }, (performance.now() - received) / 1000);
    if (weighed)
      await this.dispensing.finish(
        (trx) => ({ trx, actor, station, reason: `step ${stepId} of batch ${batch.number} dispensed` }),
        batch,
        stepId,
      );
    return { ...outcome, signature: await this.signatureOf(batch, outcome.signatureEntry) };
  }

  async verify(
    actor: UserActor,
    station: Station,
    idOrNumber: string,
    stepId: string,
    signature: SignatureInput | undefined,
    timing = new ServerTiming(),
  ): Promise<StepOutcome & { signature: SignatureManifestation | null }> {
    const received = performance.now();
    const batch = await this.records.get(idOrNumber);
    const step = stepOf(batch, stepId);
    // A held batch's steps may still be verified: the check of what was done does not wait for the restart.
    if (batch.status !== 'running' && batch.status !== 'held')
      throw new Problem(
        'step-not-awaited',
        `batch ${batch.number} is ${batch.status}: ${STEP_ENTRY_REFUSED[batch.status]}`,
      );
    const recorded = (await this.stores.batches.steps(this.db, batch.id)).find((s) => s.stepId === stepId);
    if (recorded?.status !== 'awaiting-verification')
      throw new Problem(
        'step-not-awaited',
        `step ${stepId} of batch ${batch.number} is ${recorded?.status ?? 'pending'}, not awaiting verification`,
      );
    const verified = await timing.measure('signature', 're-authentication', () =>
      this.signatures.verify(actor, signature, { meaning: 'verified', roles: step.signatures.verifiedBy }, station),
    );
    const v = { stepId, signer: signerOf(verified) };
    const { problems } = checkVerification(step, recorded.status, recorded.performedBy ?? undefined, v);
    if (problems.length > 0) throw new Problem('step-refused', problems.join('; '), { problems });
    const outcome = await timing.measure(UPDATE_TIMING, UPDATE_TIMING_DESCRIPTION, () =>
      this.temporal.verify(batch.workflowId, v),
    );
    this.metrics?.stepReadyLatency.observe({ action: 'verify' }, (performance.now() - received) / 1000);
    return { ...outcome, signature: await this.signatureOf(batch, outcome.signatureEntry) };
  }

  /** Hold, Restart, Stop or Abort, checked by the workflow against the ISA-88 table. */
  async command(
    actor: UserActor,
    idOrNumber: string,
    command: BatchCommand,
    reason: string,
  ): Promise<{ status: string }> {
    const batch = await this.records.get(idOrNumber);
    if (!['running', 'held'].includes(batch.status))
      throw new Problem('invalid-transition', `batch ${batch.number} is ${batch.status}: it takes no more commands`);
    return this.temporal.command(batch.workflowId, {
      command,
      reason,
      by: { userId: actor.userId, fullName: actor.fullName, roles: actor.roles },
    });
  }

  /**
   * Steps waiting for the caller's roles, in any running or held batch, with the batch's status: only what
   * can be done now — a step the caller performed is not theirs to verify, and a held batch's steps await no
   * input until it is restarted (their verification may go on).
   */
  async workQueue(actor: UserActor) {
    const waiting = await this.stores.batches.waiting(this.db, actor.roles);
    return waiting
      .filter((s) => !(s.status === 'awaiting-verification' && s.performedBy === actor.userId))
      .filter((s) => !(s.status === 'awaiting-input' && s.batchStatus !== 'running'))
      .map((s) => ({
        batch: s.batchNumber,
        batchStatus: s.batchStatus,
        recipe: s.recipeCode,
        product: s.productCode,
        stepId: s.stepId,
        number: s.number,
        name: s.name,
        kind: s.kind,
        awaiting: s.status === 'awaiting-input' ? 'input' : 'verification',
        unit: s.unitCode,
        roles: s.awaitingRoles,
        since: s.updatedAt,
      }));
  }

  /**
   * The live state from the workflow (what each step awaits, from whom), or the recorded one when the workflow
   * has closed; each active equipment phase with the state its controller last reported.
   */
  async live(batch: BatchRecord): Promise<LiveState> {
    const open = ['running', 'held', 'created'].includes(batch.status);
    // Closed, slow or not reachable: the recorded projection says the same, a moment late.
    const live =
      (open ? await this.temporal.liveState(batch.workflowId) : undefined) ?? (await this.recordedState(batch));
    return this.withEquipmentStates(batch, live);
  }

  private async recordedState(batch: BatchRecord): Promise<LiveState> {
    const steps = await this.stores.batches.steps(this.db, batch.id);
    return {
      batchNumber: batch.number,
      status: batch.status,
      deviations: (await this.stores.batches.ebr(this.db, batch.id)).filter((e) => e.kind === 'deviation').length,
      steps: steps.map((s) => ({
        id: s.stepId,
        number: s.number,
        name: s.name,
        kind: s.kind,
        unitProcedureId: s.unitProcedureId,
        status: s.status,
      })),
    };
  }

  /** Adds to each active (or failed) equipment step the last state its unit reported for this batch's command. */
  private async withEquipmentStates(batch: BatchRecord, live: LiveState): Promise<LiveState> {
    const running = live.steps.filter(
      (s) => s.kind === 'equipment' && (s.status === 'active' || s.status === 'failed'),
    );
    if (running.length === 0) return live;
    const problems = ['running', 'held'].includes(batch.status)
      ? await this.temporal.equipmentProblems(batch.workflowId)
      : new Map<string, { message: string; attempt: number }>();
    for (const step of running) {
      const problem = problems.get(step.id);
      if (problem) step.equipmentProblem = problem;
    }
    const byUnit = new Map<string, Awaited<ReturnType<Stores['equipment']['latestPhaseStates']>>>();
    for (const step of running) {
      const planned = batch.plan.steps.find((p) => p.id === step.id);
      const unit = batch.units[step.unitProcedureId]?.code;
      if (planned?.kind !== 'equipment' || !unit) continue;
      if (!byUnit.has(unit)) byUnit.set(unit, await this.stores.equipment.latestPhaseStates(this.db, unit));
      const command = `${batch.workflowId}/${step.id}`;
      const last = byUnit
        .get(unit)!
        .find(
          (h) => h.phase === planned.phase && (h.commandId === command || h.commandId?.startsWith(`${command}/rerun-`)),
        );
      if (last)
        step.equipment = {
          unit,
          phase: planned.phase,
          state: last.state,
          commandId: last.commandId,
          since: last.sourceTimestamp.toISOString(),
        };
    }
    return live;
  }

  /** The lots an operator names, as the workflow's validator needs them: status, expiry and amounts in the step's unit. */
  private async lotFacts(step: PlanStep, lots: { lot: string; quantity: number }[], today: string): Promise<LotUse[]> {
    if (step.kind !== 'material') throw new Problem('step-refused', `step ${step.id} uses no material`);
    const out: LotUse[] = [];
    for (const l of lots) {
      const lot = /^[0-9a-f-]{36}$/i.test(l.lot)
        ? await this.stores.lots.byId(this.db, l.lot)
        : await this.stores.lots.byNumber(this.db, l.lot);
      if (!lot) throw new Problem('step-refused', `no lot ${l.lot}`);
      const available = convert(lot.quantity, lot.unit, step.quantity.unit);
      if (available === undefined)
        throw new Problem(
          'step-refused',
          `lot ${lot.lotNumber} is counted in ${lot.unit}, which cannot be converted to ${step.quantity.unit}`,
        );
      out.push({
        lotId: lot.id,
        lotNumber: lot.lotNumber,
        material: lot.materialCode,
        status: effectiveStatus(lot, today),
        expiryDate: lot.expiryDate,
        available: Number(available.toPrecision(12)),
        quantity: l.quantity,
      });
    }
    return out;
  }

  private async signatureOf(batch: BatchRecord, entry: number): Promise<SignatureManifestation | null> {
    const s = await this.stores.signatures.ofEbrEntry(this.db, `${batch.workflowId}/${entry}`);
    return s ? toManifestation(s) : null;
  }
}

function stepOf(batch: BatchRecord, stepId: string): PlanStep {
  const step = batch.plan.steps.find((s) => s.id === stepId);
  if (!step) throw notFound(`step ${stepId} of batch ${batch.number}`);
  return step;
}

function signerOf(v: VerifiedSigner): Signer {
  return {
    userId: v.userId,
    username: v.username,
    fullName: v.fullName,
    roles: v.roles,
    meaning: v.meaning,
    comment: v.comment,
  };
}
