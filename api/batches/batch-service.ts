/**
 * Batches over HTTP. Launch turns an Effective recipe version into a batch row and its workflow
 * `batch-<number>`; operators complete and verify steps through the workflow's Updates, after the API
 * has re-authenticated their signature and looked up their lots; QA reviews the batch by exception and
 * releases or rejects it (never someone who performed a step), which releases or rejects its output lot.
 */
import { WorkflowClient, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { Knex } from 'knex';
import { AuditTrail } from '../../db/audit-trail';
import type { ChangeContext, Station, UserActor } from '../../db/change-context';
import { UnitStatusKeeper } from '../../db/equipment-status';
import { Inventory } from '../../db/inventory';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import type { EquipmentUnitRecord } from '../../db/stores/equipment-store';
import { brokenEbrLink } from '../../domain/batch/ebr';
import { ACTIVITY_FAILURES, REFUSALS } from '../../domain/batch/failures';
import { checkCompletion, checkVerification, completionMeaning } from '../../domain/batch/completion';
import type { AssignedUnit, BatchCommand, BatchInput, FieldValue, LiveState, LotUse, Signer, StepCompletion, StepOutcome } from '../../domain/batch/types';
import { canonicalHash } from '../../domain/canonical-hash';
import { effectiveStatus } from '../../domain/materials/lots';
import type { PlanStep } from '../../domain/recipe/plan';
import { convert } from '../../domain/units';
import type { Anchors } from '../audit/anchors';
import { Problem, notFound } from '../http/problems';
import { ServerTiming } from '../http/server-timing';
import type { RecipeService } from '../recipes/recipe-service';
import { toManifestation, type SignatureInput, type SignatureManifestation, type SignatureService, type VerifiedSigner } from '../signatures/signature-service';
import { BATCH_SEARCH_ATTRIBUTES as SA, BATCH_WORKFLOW, batchCommandUpdate, batchStateQuery, completeStepUpdate, verifyStepUpdate } from '../../workflows/batch/messages';

export interface TemporalAccess {
  client: Client;
  taskQueue: string;
}

export interface LaunchRequest {
  recipe: string;
  version?: number;
  batchSize: number;
  unit?: string;
  number?: string;
  outputLotNumber?: string;
  outputExpiryDate?: string | null;
  plannedStart?: string;
  /** Unit procedure id → equipment unit code; unit procedures not named get the first clean, available unit of their class. */
  units?: Record<string, string>;
}

/**
 * How long a reader waits for a batch's live state before being shown the recorded one. The worker may
 * drop a query now and then (the SDK core discards all but one of the queries that reach a workflow while
 * it is being evicted, e.g. just after it ends); nobody should wait a minute for a screen because of it.
 */
const LIVE_STATE_WAIT_MS = 3_000;

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

/** What each disposition makes of the batch. */
const DISPOSITIONS = { review: 'reviewed', release: 'released', reject: 'rejected' } as const;

export class BatchService {
  private readonly audit: AuditTrail;
  private readonly inventory: Inventory;
  private readonly units: UnitStatusKeeper;
  /** Asks running workflows only: a closed batch's state is what was recorded, no worker need replay it. */
  private liveQueries: WorkflowClient | undefined;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly recipes: RecipeService,
    private readonly signatures: SignatureService,
    private readonly anchors: Anchors,
    private readonly temporal: TemporalAccess | undefined,
  ) {
    this.audit = new AuditTrail(stores.audit);
    this.inventory = new Inventory(stores);
    this.units = new UnitStatusKeeper(stores);
  }

  // ---- launch ---------------------------------------------------------------------------------------

  /**
   * Creates the batch and starts its workflow, in the caller's transaction: the workflow is started
   * before the commit, and its first activity waits until the batch row is visible. A failed start rolls
   * everything back; a failed commit leaves a workflow whose first activity gives up after five minutes.
   */
  async launch(ctx: ChangeContext & { actor: UserActor }, r: LaunchRequest): Promise<BatchRecord> {
    this.requireTemporal();
    const recipe = await this.recipes.get(r.recipe, ctx.trx);
    const version = r.version ?? recipe.effectiveVersion;
    if (!version) throw new Problem('invalid-transition', `recipe ${recipe.code} has no effective version: only an effective version launches batches`);
    const { versionId, plan } = await this.recipes.launchPlan(recipe.code, version, { value: r.batchSize, unit: r.unit }, ctx.trx);
    const today = await this.inventory.today(ctx.trx);
    const number = r.number ?? (await this.nextFreeNumber(ctx, Number(today.slice(0, 4))));
    const existing = await this.stores.batches.find(ctx.trx, number);
    if (existing) throw new Problem('conflict', `batch ${number} exists already (it is ${existing.status})`, { batch: existing.number });
    const material = await this.stores.masterData.material(ctx.trx, plan.product.code);
    if (!material) throw new Problem('unprocessable', `the product ${plan.product.code} is not a material: its output lot cannot be recorded`);
    const outputLotNumber = r.outputLotNumber ?? number;
    if (await this.stores.lots.byNumber(ctx.trx, outputLotNumber)) throw new Problem('code-taken', `the lot number ${outputLotNumber} is taken`);
    const units = await this.allocate(ctx, plan.stages.flatMap((s) => s.unitProcedures), r.units ?? {}, number);

    const batch = await this.stores.batches.create(ctx.trx, {
      number,
      workflowId: `batch-${number}`,
      recipeId: recipe.id,
      recipeVersionId: versionId,
      recipeCode: recipe.code,
      recipeVersion: version,
      productCode: plan.product.code,
      batchSize: plan.scaling.batchSize.value,
      batchUnit: plan.scaling.batchSize.unit,
      outputLotNumber,
      outputMaterial: material.code,
      plannedStart: r.plannedStart ? new Date(r.plannedStart) : null,
      plan,
      planHash: canonicalHash(plan),
      units,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'launch',
      entityType: 'batch',
      entityId: batch.id,
      newValue: { number, recipe: recipe.code, version, batchSize: plan.scaling.batchSize, outputLot: outputLotNumber, units: Object.fromEntries(Object.entries(units).map(([up, u]) => [up, u.code])), planHash: batch.planHash },
    });
    await this.start(batch, ctx.actor);
    return batch;
  }

  /**
   * The counter's next batch number that is free. The counter is taken in the launch's transaction, so a
   * refused launch gives its number back; a number taken meanwhile by a batch launched with that number given
   * explicitly is passed over (it is used: no gap); a number whose workflow exists without a batch — started
   * by a launch whose commit then failed — is voided with that reason (the gap is accounted for) and passed over.
   */
  private async nextFreeNumber(ctx: ChangeContext & { actor: UserActor }, year: number): Promise<string> {
    for (;;) {
      const number = await this.stores.batches.nextNumber(ctx.trx, year);
      if (await this.stores.batches.find(ctx.trx, number)) continue;
      if (!(await this.workflowExists(`batch-${number}`))) return number;
      const reason = `a workflow batch-${number} exists but no batch: a launch started it and did not commit`;
      await this.stores.batches.voidNumber(ctx.trx, number, reason, ctx.actor.userId);
      await this.audit.record(ctx, { action: 'void', entityType: 'batch-number', entityId: number, newValue: { number, voided: true, reason } });
    }
  }

  private async workflowExists(workflowId: string): Promise<boolean> {
    try {
      await this.requireTemporal().client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw new Problem('temporal-unavailable', `Temporal could not be asked whether ${workflowId} exists, so nothing was recorded: ${(err as Error).message}`);
    }
  }

  /** Starts the batch's workflow; a workflow already started for it is fine (a retried launch). */
  async start(batch: BatchRecord, launchedBy: UserActor, expiryDate: string | null = null): Promise<void> {
    const temporal = this.requireTemporal();
    const input: BatchInput = {
      batchId: batch.id,
      batchNumber: batch.number,
      plan: batch.plan,
      planHash: batch.planHash,
      units: batch.units,
      outputLot: { lotNumber: batch.outputLotNumber, material: batch.outputMaterial, expiryDate },
      launchedBy: { userId: launchedBy.userId, fullName: launchedBy.fullName },
    };
    try {
      await temporal.client.workflow.start(BATCH_WORKFLOW, {
        workflowId: batch.workflowId,
        taskQueue: temporal.taskQueue,
        args: [input],
        typedSearchAttributes: new TypedSearchAttributes([
          { key: SA.batch, value: batch.number },
          { key: SA.recipe, value: `${batch.recipeCode}/v${batch.recipeVersion}` },
          { key: SA.product, value: batch.productCode },
          { key: SA.status, value: 'created' },
        ]),
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Problem('conflict', `a workflow ${batch.workflowId} exists already`);
      throw new Problem('temporal-unavailable', `the workflow of batch ${batch.number} could not be started, so nothing was recorded: ${(err as Error).message}`);
    }
  }

  /**
   * Gives each unit procedure a unit: the one asked for, or the first clean, available unit of its class.
   * Each is claimed with a guarded update (available and clean, or not at all), so two launches never get
   * the same unit: the one that comes second tries the next candidate, and is refused (409) when none is left.
   */
  private async allocate(ctx: ChangeContext, ups: { id: string; equipmentClass: string }[], asked: Record<string, string>, number: string): Promise<Record<string, AssignedUnit>> {
    for (const up of Object.keys(asked)) if (!ups.some((u) => u.id === up)) throw new Problem('unprocessable', `the recipe has no unit procedure ${up}`);
    const all = await this.stores.equipment.list(ctx.trx);
    const taken = new Set<string>();
    const out: Record<string, AssignedUnit> = {};
    for (const up of ups) {
      const code = asked[up.id];
      const candidates = all.filter((u) => u.classCode === up.equipmentClass && !taken.has(u.code) && (code ? u.code === code.toUpperCase() : true) && u.status === 'available' && u.cleanliness === 'clean');
      let unit: EquipmentUnitRecord | undefined;
      for (const c of candidates) {
        // Not waiting for a unit another launch is claiming: two launches never wait for each other's units.
        unit = await this.units.change(ctx, c.code, { status: 'in-use', heldByBatch: number }, { expect: { status: 'available', cleanliness: 'clean', heldByBatch: null }, batch: number, skipLocked: true });
        if (unit) break;
      }
      if (!unit) {
        const why = code ? `unit ${code} is not a clean, available ${up.equipmentClass}` : `no clean, available ${up.equipmentClass} is left`;
        throw new Problem('conflict', `unit procedure ${up.id}: ${why}`);
      }
      taken.add(unit.code);
      const cls = await this.stores.masterData.equipmentClass(ctx.trx, unit.classCode);
      out[up.id] = { code: unit.code, endpointUrl: unit.endpointUrl, securityMode: unit.securityMode, securityPolicy: unit.securityPolicy, binding: unit.binding, interfaces: cls?.interfaces ?? {} };
    }
    return out;
  }

  // ---- reading ------------------------------------------------------------------------------------

  list(q: { status?: BatchRecord['status']; limit: number }): Promise<BatchRecord[]> {
    return this.stores.batches.list(this.db, q);
  }

  async get(idOrNumber: string): Promise<BatchRecord> {
    const b = await this.stores.batches.find(this.db, idOrNumber);
    if (!b) throw notFound(`batch ${idOrNumber}`);
    return b;
  }

  /**
   * The live state from the workflow (what each step awaits, from whom), or the recorded one when the workflow
   * has closed; each active equipment phase with the state its controller last reported.
   */
  async live(batch: BatchRecord): Promise<LiveState> {
    return this.withEquipmentStates(batch, await this.workflowState(batch));
  }

  private async workflowState(batch: BatchRecord): Promise<LiveState> {
    if (this.temporal && ['running', 'held', 'created'].includes(batch.status)) {
      try {
        const { client } = this.temporal;
        this.liveQueries ??= new WorkflowClient({ connection: client.connection, namespace: client.options.namespace, queryRejectCondition: 'NOT_OPEN' });
        const handle = this.liveQueries.getHandle(batch.workflowId);
        return await client.connection.withDeadline(Date.now() + LIVE_STATE_WAIT_MS, () => handle.query(batchStateQuery));
      } catch {
        // Closed, slow or not reachable: the recorded projection below says the same, a moment late.
      }
    }
    const steps = await this.stores.batches.steps(this.db, batch.id);
    return {
      batchNumber: batch.number,
      status: batch.status,
      deviations: (await this.stores.batches.ebr(this.db, batch.id)).filter((e) => e.kind === 'deviation').length,
      steps: steps.map((s) => ({ id: s.stepId, number: s.number, name: s.name, kind: s.kind, unitProcedureId: s.unitProcedureId, status: s.status })),
    };
  }

  /** Adds to each active (or failed) equipment step the last state its unit reported for this batch's command. */
  private async withEquipmentStates(batch: BatchRecord, live: LiveState): Promise<LiveState> {
    const running = live.steps.filter((s) => s.kind === 'equipment' && (s.status === 'active' || s.status === 'failed'));
    if (running.length === 0) return live;
    const byUnit = new Map<string, Awaited<ReturnType<Stores['equipment']['latestPhaseStates']>>>();
    for (const step of running) {
      const planned = batch.plan.steps.find((p) => p.id === step.id);
      const unit = batch.units[step.unitProcedureId]?.code;
      if (planned?.kind !== 'equipment' || !unit) continue;
      if (!byUnit.has(unit)) byUnit.set(unit, await this.stores.equipment.latestPhaseStates(this.db, unit));
      const command = `${batch.workflowId}/${step.id}`;
      const last = byUnit.get(unit)!.find((h) => h.phase === planned.phase && (h.commandId === command || h.commandId?.startsWith(`${command}/rerun-`)));
      if (last) step.equipment = { unit, phase: planned.phase, state: last.state, commandId: last.commandId, since: last.sourceTimestamp.toISOString() };
    }
    return live;
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
      .map((s) => ({ batch: s.batchNumber, batchStatus: s.batchStatus, recipe: s.recipeCode, product: s.productCode, stepId: s.stepId, number: s.number, name: s.name, kind: s.kind, awaiting: s.status === 'awaiting-input' ? 'input' : 'verification', roles: s.awaitingRoles, since: s.updatedAt }));
  }

  // ---- operators ------------------------------------------------------------------------------------

  async complete(
    actor: UserActor,
    station: Station,
    idOrNumber: string,
    stepId: string,
    body: { values: Record<string, FieldValue>; lots?: { lot: string; quantity: number }[]; deviationComments?: Record<string, string>; comment?: string; lateEntry?: { performedAt: string; reason: string }; signature?: SignatureInput },
    timing = new ServerTiming(),
  ): Promise<StepOutcome & { signature: SignatureManifestation | null }> {
    const batch = await this.get(idOrNumber);
    const step = this.stepOf(batch, stepId);
    // The state first (a conflict, 409), from the recorded projection: the workflow's validator has the last word anyway.
    if (batch.status !== 'running') throw new Problem('step-not-awaited', `batch ${batch.number} is ${batch.status}: ${STEP_ENTRY_REFUSED[batch.status]}`);
    const recorded = (await this.stores.batches.steps(this.db, batch.id)).find((s) => s.stepId === stepId);
    if (recorded?.status !== 'awaiting-input') throw new Problem('step-not-awaited', `step ${stepId} of batch ${batch.number} is ${recorded?.status ?? 'pending'}, not awaiting input`);
    const verified = await timing.measure('signature', 're-authentication', () => this.signatures.verify(actor, body.signature, { meaning: completionMeaning(step), roles: step.performedBy }, station));
    const today = await this.inventory.today(this.db);
    const lots = body.lots ? await this.lotFacts(step, body.lots, today) : undefined;
    if (body.lateEntry && Date.parse(body.lateEntry.performedAt) > Date.now()) throw new Problem('step-refused', 'a late entry cannot be performed in the future');
    const completion: StepCompletion = { stepId, signer: signerOf(verified), values: body.values, lots, deviationComments: body.deviationComments, comment: body.comment, lateEntry: body.lateEntry };
    const { problems } = checkCompletion(step, recorded.status, completion, today);
    if (problems.length > 0) throw new Problem('step-refused', problems.join('; '), { problems });
    const outcome = await timing.measure(UPDATE_TIMING, UPDATE_TIMING_DESCRIPTION, () =>
      this.update(batch, () => this.requireTemporal().client.workflow.getHandle(batch.workflowId).executeUpdate(completeStepUpdate, { args: [completion] })),
    );
    return { ...outcome, signature: await this.signatureOf(batch, outcome.signatureEntry) };
  }

  async verify(actor: UserActor, station: Station, idOrNumber: string, stepId: string, signature: SignatureInput | undefined, timing = new ServerTiming()): Promise<StepOutcome & { signature: SignatureManifestation | null }> {
    const batch = await this.get(idOrNumber);
    const step = this.stepOf(batch, stepId);
    // A held batch's steps may still be verified: the check of what was done does not wait for the restart.
    if (batch.status !== 'running' && batch.status !== 'held') throw new Problem('step-not-awaited', `batch ${batch.number} is ${batch.status}: ${STEP_ENTRY_REFUSED[batch.status]}`);
    const recorded = (await this.stores.batches.steps(this.db, batch.id)).find((s) => s.stepId === stepId);
    if (recorded?.status !== 'awaiting-verification') throw new Problem('step-not-awaited', `step ${stepId} of batch ${batch.number} is ${recorded?.status ?? 'pending'}, not awaiting verification`);
    const verified = await timing.measure('signature', 're-authentication', () => this.signatures.verify(actor, signature, { meaning: 'verified', roles: step.signatures.verifiedBy }, station));
    const v = { stepId, signer: signerOf(verified) };
    const { problems } = checkVerification(step, recorded.status, recorded.performedBy ?? undefined, v);
    if (problems.length > 0) throw new Problem('step-refused', problems.join('; '), { problems });
    const outcome = await timing.measure(UPDATE_TIMING, UPDATE_TIMING_DESCRIPTION, () =>
      this.update(batch, () => this.requireTemporal().client.workflow.getHandle(batch.workflowId).executeUpdate(verifyStepUpdate, { args: [v] })),
    );
    return { ...outcome, signature: await this.signatureOf(batch, outcome.signatureEntry) };
  }

  /** Hold, Restart, Stop or Abort, checked by the workflow against the ISA-88 table. */
  async command(actor: UserActor, idOrNumber: string, command: BatchCommand, reason: string): Promise<{ status: string }> {
    const batch = await this.get(idOrNumber);
    if (!['running', 'held'].includes(batch.status)) throw new Problem('invalid-transition', `batch ${batch.number} is ${batch.status}: it takes no more commands`);
    return this.update(batch, () =>
      this.requireTemporal().client.workflow.getHandle(batch.workflowId).executeUpdate(batchCommandUpdate, { args: [{ command, reason, by: { userId: actor.userId, fullName: actor.fullName, roles: actor.roles } }] }),
    );
  }

  // ---- the record and QA ----------------------------------------------------------------------------

  async ebr(idOrNumber: string) {
    const batch = await this.get(idOrNumber);
    const rows = await this.stores.batches.ebr(this.db, batch.id);
    const signatures = new Map<string, SignatureManifestation>();
    for (const id of rows.map((r) => r.signatureId).filter((x): x is string => x !== null)) {
      const s = await this.stores.signatures.byId(this.db, id);
      if (s) signatures.set(id, toManifestation(s));
    }
    const broken = brokenEbrLink(rows);
    // A chain that recomputes can still have been rewritten whole: its anchors, kept outside the database, tell.
    const anchors = await this.anchors.verifyBatches(this.db, batch.id);
    const anchored = !anchors.firstMismatch && anchors.unverifiable === 0;
    return {
      batch: header(batch),
      chain: broken ? { ok: false, firstBreak: broken, anchors } : { ok: anchored, entries: rows.length, lastHash: rows[rows.length - 1]?.hash ?? null, anchors },
      entries: rows.map((r) => ({ ...r, signature: r.signatureId ? (signatures.get(r.signatureId) ?? null) : null })),
    };
  }

  /**
   * What QA reviews by exception: deviations, failed steps, commands, comments, late entries, equipment phases
   * that were interrupted and taken up again, the yield, and the chain's and audit trail's state.
   */
  async reviewReport(idOrNumber: string) {
    const record = await this.ebr(idOrNumber);
    const batch = await this.get(idOrNumber);
    const audit = await this.stores.audit.find(this.db, { entityType: 'batch', entityId: batch.id, limit: 10_000 });
    const pick = (kinds: string[]) => record.entries.filter((e) => kinds.includes(e.kind));
    return {
      batch: record.batch,
      chain: record.chain,
      deviations: pick(['deviation']).map((e) => ({ seq: e.seq, stepId: e.stepId, ...(e.data as object), by: e.userName, at: e.occurredAt })),
      failedSteps: pick(['step-failed']).map((e) => ({ seq: e.seq, stepId: e.stepId, ...(e.data as object), at: e.occurredAt })),
      commands: pick(['batch-command']).filter((e) => (e.data as { command?: string }).command).map((e) => ({ seq: e.seq, ...(e.data as object), by: e.userName, at: e.occurredAt })),
      comments: pick(['values-entered']).filter((e) => (e.data as { comment?: string | null }).comment).map((e) => ({ seq: e.seq, stepId: e.stepId, comment: (e.data as { comment: string }).comment, by: e.userName })),
      lateEntries: pick(['values-entered']).filter((e) => (e.data as { lateEntry?: unknown }).lateEntry).map((e) => ({ seq: e.seq, stepId: e.stepId, ...(e.data as { lateEntry: object }).lateEntry })),
      interruptedPhases: [
        ...pick(['phase-interrupted']).map((e) => ({ seq: e.seq, stepId: e.stepId, ...(e.data as object), at: e.occurredAt })),
        ...pick(['step-failed'])
          .filter((e) => (e.data as { interruption?: object }).interruption)
          .map((e) => ({ seq: e.seq, stepId: e.stepId, ...(e.data as { interruption: object }).interruption, failed: true, at: e.occurredAt })),
      ].sort((a, b) => a.seq - b.seq),
      yield: pick(['yield']).map((e) => ({ seq: e.seq, ...(e.data as object) }))[0] ?? null,
      auditTrail: { entries: audit.length },
    };
  }

  /**
   * QA's review, signed "reviewed", affirming the batch's audit trail was reviewed; then release or
   * rejection, signed. None of the three by anyone who performed, verified or approved a step of the batch:
   * whoever executed a batch does not judge it.
   */
  async disposition(ctx: ChangeContext & { actor: UserActor }, signer: VerifiedSigner, idOrNumber: string, action: 'review' | 'release' | 'reject'): Promise<BatchRecord> {
    const batch = await this.stores.batches.find(ctx.trx, idOrNumber, true);
    if (!batch) throw notFound(`batch ${idOrNumber}`);
    const next = DISPOSITIONS[action];
    const from = { review: ['complete'], release: ['reviewed'], reject: ['reviewed', 'complete', 'stopped', 'aborted'] }[action];
    if (!from.includes(batch.status)) throw new Problem('invalid-transition', `batch ${batch.number} is ${batch.status}: it cannot be ${next} (only from ${from.join(' or ')})`);
    const record = await this.stores.batches.ebr(ctx.trx, batch.id);
    const steps = await this.stores.batches.steps(ctx.trx, batch.id);
    // Everyone who signed an entry of the record (performed, verified, approved a step), and the projections' performers and verifiers.
    const executors = [...record.filter((e) => e.signatureId !== null).map((e) => e.userId), ...steps.flatMap((s) => [s.performedBy, s.verifiedBy])].filter((x): x is string => x !== null);
    const content = { batch: batch.number, action, planHash: batch.planHash, ebrHead: record[record.length - 1]?.hash ?? null };
    const rule = `whoever performed, verified or approved a step of the batch cannot ${action} it`;
    const manifestation = await this.signatures.record(ctx, signer, { entityType: 'batch', entityId: batch.id, content }, [{ userIds: executors, rule }]);
    await this.stores.batches.setStatus(ctx.trx, batch.id, next);
    await this.audit.record(ctx, { action, entityType: 'batch', entityId: batch.id, oldValue: { status: batch.status }, newValue: { status: next, signature: manifestation.id } });
    if (action !== 'review') {
      const lot = await this.stores.lots.byNumber(ctx.trx, batch.outputLotNumber);
      if (lot) await this.inventory.changeStatus({ ...ctx, reason: ctx.reason ?? `batch ${batch.number} ${next}` }, lot.id, next === 'released' ? 'released' : 'rejected', manifestation.id);
    }
    return (await this.stores.batches.find(ctx.trx, batch.id))!;
  }

  /** QA's signatures on the batch as a whole (reviewed, released, rejected), oldest first, as their manifestations. */
  async dispositionSignatures(batch: BatchRecord, db: Knex | Knex.Transaction = this.db): Promise<SignatureManifestation[]> {
    return (await this.stores.signatures.forEntity(db, 'batch', batch.id)).map(toManifestation);
  }

  // ---- helpers --------------------------------------------------------------------------------------

  private stepOf(batch: BatchRecord, stepId: string): PlanStep {
    const step = batch.plan.steps.find((s) => s.id === stepId);
    if (!step) throw notFound(`step ${stepId} of batch ${batch.number}`);
    return step;
  }

  /** The lots an operator names, as the workflow's validator needs them: status, expiry and amounts in the step's unit. */
  private async lotFacts(step: PlanStep, lots: { lot: string; quantity: number }[], today: string): Promise<LotUse[]> {
    if (step.kind !== 'material') throw new Problem('step-refused', `step ${step.id} uses no material`);
    const out: LotUse[] = [];
    for (const l of lots) {
      const lot = /^[0-9a-f-]{36}$/i.test(l.lot) ? await this.stores.lots.byId(this.db, l.lot) : await this.stores.lots.byNumber(this.db, l.lot);
      if (!lot) throw new Problem('step-refused', `no lot ${l.lot}`);
      const available = convert(lot.quantity, lot.unit, step.quantity.unit);
      if (available === undefined) throw new Problem('step-refused', `lot ${lot.lotNumber} is counted in ${lot.unit}, which cannot be converted to ${step.quantity.unit}`);
      out.push({ lotId: lot.id, lotNumber: lot.lotNumber, material: lot.materialCode, status: effectiveStatus(lot, today), expiryDate: lot.expiryDate, available: Number(available.toPrecision(12)), quantity: l.quantity });
    }
    return out;
  }

  private async signatureOf(batch: BatchRecord, entry: number): Promise<SignatureManifestation | null> {
    const s = await this.stores.signatures.ofEbrEntry(this.db, `${batch.workflowId}/${entry}`);
    return s ? toManifestation(s) : null;
  }

  /**
   * Runs an Update; a refusal by the workflow's validator or handler is a clear problem, not an error: a
   * conflict with the step's or batch's state is 409, a rule the entry breaks is 422 (`domain/batch/failures.ts`).
   */
  private async update<T>(batch: BatchRecord, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const failure = err.cause;
        // A refusal by an activity the handler ran (consuming a lot) is the activity failure's cause.
        const inner = failure instanceof ActivityFailure ? failure.cause : undefined;
        if (inner instanceof ApplicationFailure && (inner.type === ACTIVITY_FAILURES.lotUnusable || inner.type === ACTIVITY_FAILURES.inventory)) throw new Problem('lot-unusable', inner.message);
        const type = failure instanceof ApplicationFailure ? failure.type : undefined;
        const message = failure?.message ?? err.message;
        if (type === REFUSALS.stepNotAwaited) throw new Problem('step-not-awaited', message);
        if (type === REFUSALS.invalidTransition) throw new Problem('invalid-transition', message);
        throw new Problem('step-refused', message);
      }
      throw new Problem('temporal-unavailable', `batch ${batch.number}: ${(err as Error).message}`);
    }
  }

  private requireTemporal(): TemporalAccess {
    if (!this.temporal) throw new Problem('temporal-unavailable', 'this API process has no connection to Temporal');
    return this.temporal;
  }
}

function signerOf(v: VerifiedSigner): Signer {
  return { userId: v.userId, username: v.username, fullName: v.fullName, roles: v.roles, meaning: v.meaning, comment: v.comment };
}

export function header(b: BatchRecord) {
  return {
    id: b.id,
    number: b.number,
    workflowId: b.workflowId,
    recipe: { code: b.recipeCode, version: b.recipeVersion, name: b.plan.recipe.name },
    product: b.plan.product,
    batchSize: { value: b.batchSize, unit: b.batchUnit },
    outputLot: b.outputLotNumber,
    units: Object.fromEntries(Object.entries(b.units).map(([up, u]) => [up, u.code])),
    planHash: b.planHash,
    status: b.status,
    plannedStart: b.plannedStart,
    startedAt: b.startedAt,
    endedAt: b.endedAt,
    createdAt: b.createdAt,
  };
}
