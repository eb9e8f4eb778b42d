/**
 * Deviations through their life (domain/batch/deviations.ts): raised by the batch record or by a person, taken
 * up by QA with a severity, investigated (root cause, corrective and preventive action), submitted for approval,
 * returned or closed with a QA signature by someone other than who submitted it. Every change is audited in its
 * transaction, with the old and new values and the reason.
 */
import type { Knex } from 'knex';
import { AuditTrail, changedFields } from '../audit/audit-trail';
import { NO_STATION, SYSTEM_ACTOR, type ChangeContext, type UserActor } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { BatchRecord, EbrRow } from '../../db/stores/batch-store';
import type { DeviationChange, DeviationQuery, DeviationRecord } from '../../db/stores/deviation-store';
import {
  DEVIATION_ACTIONS,
  describeExcursion,
  deviationNumber,
  editable,
  missingFindings,
  transitionRefusal,
  type DeviationAction,
  type Findings,
  type Severity,
} from '../../domain/batch/deviations';
import type { Deviation } from '../../domain/batch/types';
import type { HistoryArchive } from '../batches/history-archive';
import { Problem, notFound } from '../http/problems';
import {
  signatureCovers,
  toManifestation,
  type SignatureManifestation,
  type SignatureService,
  type VerifiedSigner,
} from '../signatures/signature-service';

export interface DeviationView extends Omit<DeviationRecord, 'raisedAt' | 'submittedAt' | 'closedAt' | 'updatedAt'> {
  raisedAt: string;
  submittedAt: string | null;
  closedAt: string | null;
  updatedAt: string;
  /** The QA signature that closed it (printed name, UTC time, meaning). */
  closeSignature: SignatureManifestation | null;
}

/** What an investigator may set while the deviation is open or under investigation. */
export type FindingsChange = Partial<Omit<Findings, 'severity'> & { severity: Severity; description: string }>;

const FINDINGS: readonly (keyof DeviationRecord)[] = [
  'description',
  'severity',
  'rootCause',
  'correctiveAction',
  'preventiveAction',
];

export class DeviationService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly signatures: SignatureService,
    private readonly histories: Pick<HistoryArchive, 'read'>,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  async list(q: Omit<DeviationQuery, 'batchId'> & { batch?: string }): Promise<DeviationView[]> {
    let batchId: string | undefined;
    if (q.batch) {
      const batch = await this.stores.batches.find(this.db, q.batch);
      if (!batch) throw notFound(`batch ${q.batch}`);
      batchId = batch.id;
    }
    const rows = await this.stores.deviations.list(this.db, { ...q, batchId });
    return Promise.all(rows.map((d) => this.view(this.db, d)));
  }

  async get(idOrNumber: string, db: Knex | Knex.Transaction = this.db): Promise<DeviationView> {
    const d = await this.stores.deviations.find(db, idOrNumber);
    if (!d) throw notFound(`deviation ${idOrNumber}`);
    return this.view(db, d);
  }

  /** The batch's deviations not closed yet: a release waits for them. */
  async notClosed(trx: Knex | Knex.Transaction, batchId: string): Promise<DeviationRecord[]> {
    return this.stores.deviations.list(trx, { batchId, open: true, limit: 1000 });
  }

  /**
   * A deviation raised by a person: something the record cannot see (an observation on the floor), or — by QA,
   * for a batch whose history was never archived and is gone from Temporal — the history being unavailable.
   */
  async raise(
    who: Omit<ChangeContext, 'trx'> & { actor: UserActor },
    r: {
      batch: string;
      step?: string;
      title: string;
      description?: string;
      severity?: Severity;
      category: 'reported' | 'history-unavailable';
    },
  ): Promise<DeviationView> {
    // Before the change's transaction: reading the history may archive it, in a transaction of its own.
    if (r.category === 'history-unavailable') await this.checkHistoryGone(who.actor, r.batch);
    return this.db.transaction((trx) => this.raiseIn({ ...who, trx }, r));
  }

  private async raiseIn(
    ctx: ChangeContext & { actor: UserActor },
    r: Parameters<DeviationService['raise']>[1],
  ): Promise<DeviationView> {
    if (r.severity && !ctx.actor.roles.includes('qa'))
      throw new Problem('forbidden', 'QA classifies a deviation: raise it without a severity');
    const batch = await this.stores.batches.find(ctx.trx, r.batch, true);
    if (!batch) throw notFound(`batch ${r.batch}`);
    const step = r.step ? batch.plan.steps.find((s) => s.id === r.step) : undefined;
    if (r.step && !step) throw new Problem('unprocessable', `batch ${batch.number} has no step ${r.step}`);
    const d = await raiseDeviation(this.stores, this.audit, ctx, batch, {
      stepId: step?.id ?? null,
      category: r.category,
      sourceEntryKey: null,
      runId: null,
      eventId: null,
      unitCode: step ? (batch.units[step.unitProcedureId]?.code ?? null) : null,
      lots: step ? lotsOfStep(await this.stores.batches.ebr(ctx.trx, batch.id), step.id) : [],
      details: {},
      title: r.title,
      description: r.description ?? null,
      severity: r.severity ?? null,
      raisedBy: ctx.actor.userId,
    });
    return this.view(ctx.trx, d);
  }

  /** Sets findings (and the severity) while the deviation is open or under investigation; audited with a reason. */
  async change(ctx: ChangeContext, idOrNumber: string, change: FindingsChange): Promise<DeviationView> {
    if (Object.values(change).every((v) => v === undefined))
      throw new Problem('unprocessable', 'nothing to change: give at least one of the findings');
    const d = await this.locked(ctx, idOrNumber);
    if (!editable(d.state))
      throw new Problem(
        'invalid-transition',
        `deviation ${d.number} is ${d.state}: its findings can change only while it is open or under investigation`,
      );
    await this.apply(ctx, d, change, 'change');
    return this.get(d.id, ctx.trx);
  }

  /**
   * Moves a deviation on: `investigate` (QA takes it up; it needs a severity), `submit` (for approval: severity,
   * root cause, corrective and preventive action all given), `return` (back to the investigator, with a reason).
   */
  async move(
    ctx: ChangeContext & { actor: UserActor },
    idOrNumber: string,
    action: Exclude<DeviationAction, 'close'>,
    change: FindingsChange = {},
  ): Promise<DeviationView> {
    const d = await this.locked(ctx, idOrNumber);
    refuseTransition(d, action);
    const next: DeviationChange = { ...change, state: DEVIATION_ACTIONS[action].to };
    const merged = { ...d, ...change };
    if (action === 'investigate' && !merged.severity)
      throw new Problem(
        'unprocessable',
        `deviation ${d.number} needs a severity (minor, major or critical) to be investigated`,
      );
    if (action === 'submit') {
      const missing = missingFindings(merged);
      if (missing.length > 0)
        throw new Problem(
          'unprocessable',
          `deviation ${d.number} cannot go for approval without ${missing.join(', ')}`,
        );
      next.submittedBy = ctx.actor.userId; // and the database sets when
    }
    await this.apply(ctx, d, next, action);
    return this.get(d.id, ctx.trx);
  }

  /**
   * Closes a deviation pending approval with QA's signature — never by whoever took part in its investigation (took
   * it up, changed its findings, submitted it), nor, for a history said to be unavailable, by who said so.
   */
  async close(ctx: ChangeContext, signer: VerifiedSigner, idOrNumber: string): Promise<DeviationView> {
    const d = await this.locked(ctx, idOrNumber);
    refuseTransition(d, 'close');
    const investigators = (
      await this.stores.audit.find(ctx.trx, { entityType: 'deviation', entityId: d.id, limit: 10_000 })
    )
      .filter((a) => INVESTIGATION_ACTIONS.has(a.action) && a.userId !== null)
      .map((a) => a.userId!);
    const excluded = [
      { userIds: investigators, rule: 'whoever investigated or submitted a deviation cannot close it' },
      ...(d.category === 'history-unavailable' && d.raisedBy
        ? [{ userIds: [d.raisedBy], rule: 'whoever said a batch’s history is unavailable cannot close that deviation' }]
        : []),
    ];
    const manifestation = await this.signatures.record(
      ctx,
      signer,
      { entityType: 'deviation', entityId: d.id, content: await this.closeContent(ctx.trx, d) },
      excluded,
    );
    await this.apply(ctx, d, { state: 'closed', closedBy: signer.userId, closeSignatureId: manifestation.id }, 'close');
    return this.get(d.id, ctx.trx);
  }

  /**
   * What QA approves when closing: the deviation as it stands, its findings and what raised it; for a history
   * said to be unavailable, also the batch record as it is (its last entry's hash) — the exception covers that
   * record, not one changed after it.
   */
  private async closeContent(db: Knex | Knex.Transaction, d: DeviationRecord) {
    const record = d.category === 'history-unavailable' ? await this.stores.batches.ebr(db, d.batchId) : [];
    return {
      deviation: d.number,
      batch: d.batchNumber,
      step: d.stepId,
      title: d.title,
      severity: d.severity,
      rootCause: d.rootCause,
      correctiveAction: d.correctiveAction,
      preventiveAction: d.preventiveAction,
      ...(d.category === 'history-unavailable' ? { recordHead: record[record.length - 1]?.hash ?? null } : {}),
    };
  }

  /**
   * The batch's closed deviation that stands in for its unavailable history: the last one closed whose signature
   * still covers the record as it is now (`stale`: those closed before the record changed).
   */
  async historyExceptionOf(
    db: Knex | Knex.Transaction,
    batchId: string,
  ): Promise<{ valid?: DeviationRecord; stale: DeviationRecord[] }> {
    const closed = (await this.stores.deviations.list(db, { batchId, state: 'closed', limit: 1000 })).filter(
      (d) => d.category === 'history-unavailable' && d.closeSignatureId,
    );
    const stale: DeviationRecord[] = [];
    for (const d of closed.reverse()) {
      const sig = await this.stores.signatures.byId(db, d.closeSignatureId!);
      if (sig && signatureCovers(sig, await this.closeContent(db, d))) return { valid: d, stale };
      stale.push(d);
    }
    return { stale };
  }

  /**
   * Raises the deviations of record entries written before deviations were records with a life (a database
   * migrated from an earlier Ampoule); returns how many. Each batch in a transaction of its own, locked as a
   * record write locks it.
   */
  async raiseUnraised(): Promise<number> {
    let total = 0;
    for (;;) {
      const pending = await this.stores.deviations.unraisedEntries(this.db, 100);
      if (pending.length === 0) return total;
      for (const batchId of new Set(pending.map((p) => p.batchId)))
        total += await this.db.transaction(async (trx) => {
          const batch = (await this.stores.batches.find(trx, batchId, true))!;
          const raised = new Set(
            (await this.stores.deviations.list(trx, { batchId, limit: 10_000 })).map((d) => d.sourceEntryKey),
          );
          const unraised = (await this.stores.batches.ebr(trx, batchId)).filter(
            (e) => e.kind === 'deviation' && !raised.has(e.entryKey),
          );
          const ctx = {
            trx,
            actor: SYSTEM_ACTOR,
            station: NO_STATION,
            reason: 'raised from the batch record, written before deviations were records',
          };
          return raiseFromRecord(this.stores, ctx, batch, unraised);
        });
    }
  }

  /**
   * Only QA says a batch's history is unavailable, and only when it is: the batch ended, nothing archived, and
   * Temporal no longer has its workflow.
   */
  private async checkHistoryGone(actor: UserActor, idOrNumber: string): Promise<void> {
    if (!actor.roles.includes('qa'))
      throw new Problem('forbidden', 'only QA raises a deviation for a batch’s unavailable history');
    const batch = await this.stores.batches.find(this.db, idOrNumber);
    if (!batch) throw notFound(`batch ${idOrNumber}`);
    if (!ENDED.has(batch.status))
      throw new Problem(
        'invalid-transition',
        `batch ${batch.number} is ${batch.status}: its history is still being written`,
      );
    try {
      await this.histories.read(batch);
    } catch (err) {
      if (err instanceof Problem && err.slug === 'history-unavailable') return;
      throw err;
    }
    throw new Problem(
      'unprocessable',
      `batch ${batch.number}'s history is available: investigate it (POST /api/batches/${batch.number}/replay) instead`,
    );
  }

  private async locked(ctx: ChangeContext, idOrNumber: string): Promise<DeviationRecord> {
    const d = await this.stores.deviations.find(ctx.trx, idOrNumber, true);
    if (!d) throw notFound(`deviation ${idOrNumber}`);
    return d;
  }

  private async apply(ctx: ChangeContext, d: DeviationRecord, change: DeviationChange, action: string): Promise<void> {
    await this.stores.deviations.update(ctx.trx, d.id, change);
    const after = { ...d, ...change };
    if (change.state === 'closed') {
      // The batch's row locked, as its record writes lock it: the batch's events are written (numbered) in the
      // order they commit, so a receiver gets them in that order.
      await this.stores.batches.find(ctx.trx, d.batchId, true);
      await this.stores.outbox.emit(ctx.trx, 'deviation.closed', d.batchNumber, {
        deviation: d.number,
        batch: d.batchNumber,
        step: d.stepId,
        category: d.category,
        severity: after.severity,
        rootCause: after.rootCause,
        correctiveAction: after.correctiveAction,
        preventiveAction: after.preventiveAction,
        closedBy: ctx.actor.fullName,
      });
    }
    const changed = changedFields(d, after, [...FINDINGS, 'state', 'closeSignatureId']);
    await this.audit.record(ctx, {
      action: `deviation-${action}`,
      entityType: 'deviation',
      entityId: d.id,
      oldValue: { number: d.number, ...changed?.oldValue },
      newValue: { number: d.number, ...changed?.newValue },
    });
  }

  private async view(db: Knex | Knex.Transaction, d: DeviationRecord): Promise<DeviationView> {
    const sig = d.closeSignatureId ? await this.stores.signatures.byId(db, d.closeSignatureId) : undefined;
    return {
      ...d,
      raisedAt: d.raisedAt.toISOString(),
      submittedAt: d.submittedAt?.toISOString() ?? null,
      closedAt: d.closedAt?.toISOString() ?? null,
      updatedAt: d.updatedAt.toISOString(),
      closeSignature: sig ? toManifestation(sig) : null,
    };
  }
}

/** What taking part in a deviation's investigation is, in the audit trail. */
const INVESTIGATION_ACTIONS = new Set(['deviation-investigate', 'deviation-change', 'deviation-submit']);

/** A batch whose workflow has ended (its history complete). */
const ENDED = new Set(['complete', 'stopped', 'aborted', 'reviewed', 'released', 'rejected']);

function refuseTransition(d: DeviationRecord, action: DeviationAction): void {
  const refusal = transitionRefusal(d.state, action);
  if (refusal) throw new Problem('invalid-transition', `${d.number}: ${refusal}`);
}

/** The lots a step consumed, as its record says. */
function lotsOfStep(record: EbrRow[], stepId: string): { lotId: string; lotNumber: string }[] {
  return record
    .filter((e) => e.kind === 'lots-consumed' && e.stepId === stepId)
    .flatMap((e) => (e.data as { lots: { lotId: string; lotNumber: string }[] }).lots)
    .map((l) => ({ lotId: l.lotId, lotNumber: l.lotNumber }));
}

/** Raises a deviation of `batch` (locked by the caller), numbered within the batch, audited. */
async function raiseDeviation(
  stores: Stores,
  audit: AuditTrail,
  ctx: ChangeContext,
  batch: BatchRecord,
  d: Omit<Parameters<Stores['deviations']['insert']>[1], 'batchId' | 'number'>,
): Promise<DeviationRecord> {
  const number = deviationNumber(batch.number, (await stores.deviations.countForBatch(ctx.trx, batch.id)) + 1);
  const raised = await stores.deviations.insert(ctx.trx, { ...d, batchId: batch.id, number });
  await stores.outbox.emit(ctx.trx, 'deviation.opened', batch.number, {
    deviation: number,
    batch: batch.number,
    step: d.stepId,
    category: d.category,
    title: d.title,
    severity: d.severity,
    unit: d.unitCode,
    lots: d.lots.map((l) => l.lotNumber),
  });
  await audit.record(ctx, {
    action: 'deviation-raise',
    entityType: 'deviation',
    entityId: raised.id,
    newValue: {
      number,
      batch: batch.number,
      step: d.stepId,
      category: d.category,
      title: d.title,
      severity: d.severity,
      ...(d.sourceEntryKey ? { entry: d.sourceEntryKey } : {}),
    },
  });
  return raised;
}

/**
 * Raises a deviation for each `deviation` entry of the batch record just written (`batch` locked by the record
 * write, in its transaction): linked to the step, the workflow run and history event, the step's unit and the
 * lots it consumed. The record write's caller is the batch workflow's activity; the one whose entry it was is
 * named as raising it.
 */
export async function raiseFromRecord(
  stores: Stores,
  ctx: ChangeContext,
  batch: BatchRecord,
  written: readonly Pick<EbrRow, 'entryKey' | 'kind' | 'stepId' | 'data' | 'runId' | 'eventId' | 'userId'>[],
): Promise<number> {
  const excursions = written.filter((e) => e.kind === 'deviation');
  if (excursions.length === 0) return 0;
  const audit = new AuditTrail(stores.audit);
  const record = await stores.batches.ebr(ctx.trx, batch.id);
  for (const e of excursions) {
    const found = e.data as Deviation;
    const step = batch.plan.steps.find((s) => s.id === e.stepId);
    await raiseDeviation(stores, audit, ctx, batch, {
      stepId: e.stepId,
      category: 'limit-excursion',
      sourceEntryKey: e.entryKey,
      runId: e.runId,
      eventId: e.eventId,
      unitCode: step ? (batch.units[step.unitProcedureId]?.code ?? null) : null,
      lots: e.stepId ? lotsOfStep(record, e.stepId) : [],
      details: { ...found },
      title: describeExcursion(found).slice(0, 500),
      description: found.comment,
      severity: null,
      raisedBy: e.userId,
    });
  }
  return excursions.length;
}
