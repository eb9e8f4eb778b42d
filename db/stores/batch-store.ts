/** Batches', their steps' and their batch record's SQL. */
import type { Knex } from 'knex';
import type { AssignedUnit, BatchStatus, StepProjection, StepStatus } from '../../domain/batch/types';
import { EBR_GENESIS, ebrEntryHash, type StoredEbrEntry } from '../../domain/batch/ebr';
import type { ScaledPlan } from '../../domain/recipe/plan';
import { signatureRow, type NewSignature } from './signature-store';
import { isUuid } from '../../domain/identity';

export interface BatchRecord {
  id: string;
  number: string;
  workflowId: string;
  recipeId: string;
  recipeVersionId: string;
  recipeCode: string;
  recipeVersion: number;
  productCode: string;
  batchSize: number;
  batchUnit: string;
  outputLotNumber: string;
  outputMaterial: string;
  plannedStart: Date | null;
  plan: ScaledPlan;
  planHash: string;
  units: Record<string, AssignedUnit>;
  status: BatchStatus;
  startedAt: Date | null;
  endedAt: Date | null;
  createdAt: Date;
  /** The production order it was launched for. */
  orderId: string | null;
  createdBy: string | null;
}

export interface BatchStepRecord {
  batchId: string;
  stepId: string;
  number: number;
  name: string;
  kind: string;
  unitProcedureId: string;
  status: StepStatus;
  awaitingRoles: string[];
  performedBy: string | null;
  verifiedBy: string | null;
  updatedAt: Date;
}

export interface EbrRow extends StoredEbrEntry {
  prevHash: string;
  hash: string;
  recordedAt: Date;
}

export type NewEbrEntry = Omit<StoredEbrEntry, 'seq' | 'batchId'>;

/**
 * A batch-record write under way: the batch (locked), the chain's head, and the entries of the write already stored
 * (by an earlier attempt), by key, with what they are and the history event and time they were stored with.
 */
export interface RecordWriteStart {
  batch: BatchRecord;
  head: { seq: number; hash: string };
  stored: Map<string, { kind: string; stepId: string | null; eventId: number; occurredAt: string }>;
}

export class BatchStore {
  /**
   * The next batch number of `year` (B<year>-<n>), taken in the caller's transaction: the counter's row stays
   * locked until it ends, so a rolled-back launch gives its number back and concurrent launches take turns.
   */
  async nextNumber(trx: Knex.Transaction, year: number): Promise<string> {
    const { rows } = await trx.raw(
      `insert into batch_number_counters (year, last) values (?, 1)
       on conflict (year) do update set last = batch_number_counters.last + 1
       returning last`,
      [year],
    );
    return `B${year}-${String(rows[0].last).padStart(5, '0')}`;
  }

  /** Records that `number` was given but will never be a batch, and why. */
  async voidNumber(trx: Knex.Transaction, number: string, reason: string, by: string | null): Promise<void> {
    await trx('batch_number_voids').insert({ number, reason, voided_by: by });
  }

  async voidedNumbers(
    db: Knex | Knex.Transaction,
  ): Promise<{ number: string; reason: string; voidedAt: Date; voidedBy: string | null }[]> {
    return (await db('batch_number_voids').orderBy('voided_at')).map((r) => ({
      number: r.number,
      reason: r.reason,
      voidedAt: r.voided_at,
      voidedBy: r.voided_by,
    }));
  }

  async create(
    trx: Knex.Transaction,
    b: Omit<BatchRecord, 'id' | 'status' | 'startedAt' | 'endedAt' | 'createdAt'>,
  ): Promise<BatchRecord> {
    const [row] = await trx('batches')
      .insert({
        number: b.number,
        workflow_id: b.workflowId,
        recipe_id: b.recipeId,
        recipe_version_id: b.recipeVersionId,
        recipe_code: b.recipeCode,
        recipe_version: b.recipeVersion,
        product_code: b.productCode,
        batch_size: b.batchSize,
        batch_unit: b.batchUnit,
        output_lot_number: b.outputLotNumber,
        output_material: b.outputMaterial,
        planned_start: b.plannedStart,
        plan: JSON.stringify(b.plan),
        plan_hash: b.planHash,
        units: JSON.stringify(b.units),
        order_id: b.orderId,
        created_by: b.createdBy,
      })
      .returning('*');
    await trx('batch_steps').insert(
      b.plan.steps.map((s) => ({
        batch_id: row.id,
        step_id: s.id,
        number: s.number,
        name: s.name,
        kind: s.kind,
        unit_procedure_id: s.unitProcedureId,
      })),
    );
    return toBatch(row);
  }

  async find(db: Knex | Knex.Transaction, idOrNumber: string, forUpdate = false): Promise<BatchRecord | undefined> {
    const q = db('batches')
      .where(isUuid(idOrNumber) ? { id: idOrNumber } : { number: idOrNumber })
      .first();
    if (forUpdate) q.forUpdate();
    const row = await q;
    return row ? toBatch(row) : undefined;
  }

  /**
   * Newest first; `before`: the batches after that one (keyset on its creation time and id, read from the row itself,
   * so that microseconds a cursor would round away cannot skip a batch).
   */
  async list(db: Knex, q: { status?: BatchStatus; limit: number; before?: { id: string } }): Promise<BatchRecord[]> {
    const query = db('batches').orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
    query.limit(q.limit);
    if (q.status) query.where('status', q.status);
    if (q.before)
      query.whereRaw('(created_at, id) < (select b.created_at, b.id from batches b where b.id = ?::uuid)', [
        q.before.id,
      ]);
    return (await query).map(toBatch);
  }

  /** Batches on a unit that had started before `to` and had not ended before `from` (OEE's sources). */
  async onUnitBetween(db: Knex, unitCode: string, from: Date, to: Date): Promise<BatchRecord[]> {
    return (
      await db('batches')
        .whereRaw(`exists (select 1 from jsonb_each(units::jsonb) u where u.value->>'code' = ?)`, [unitCode])
        .whereNotNull('started_at')
        .where('started_at', '<', to)
        .where((w) => w.whereNull('ended_at').orWhere('ended_at', '>=', from))
        .orderBy('started_at')
    ).map(toBatch);
  }

  async setStatus(trx: Knex.Transaction, id: string, status: BatchStatus): Promise<void> {
    const values: Record<string, unknown> = { status };
    if (status === 'running') values.started_at = trx.raw('coalesce(started_at, now())');
    if (status === 'complete' || status === 'stopped' || status === 'aborted')
      values.ended_at = trx.raw('coalesce(ended_at, now())');
    await trx('batches').where('id', id).update(values);
  }

  async steps(db: Knex | Knex.Transaction, batchId: string): Promise<BatchStepRecord[]> {
    return (await db('batch_steps').where('batch_id', batchId).orderBy('number')).map(toStep);
  }

  /** Steps waiting for any of `roles`, oldest first, with their batch and the unit their unit procedure runs on. */
  async waiting(
    db: Knex,
    roles: string[],
  ): Promise<
    (BatchStepRecord & {
      batchNumber: string;
      batchStatus: BatchStatus;
      recipeCode: string;
      productCode: string;
      unitCode: string | null;
    })[]
  > {
    const rows = await db('batch_steps as s')
      .join('batches as b', 'b.id', 's.batch_id')
      .whereIn('s.status', ['awaiting-input', 'awaiting-verification'])
      .whereIn('b.status', ['running', 'held'])
      .whereRaw('s.awaiting_roles && ?::text[]', [roles])
      .orderBy('s.updated_at')
      .select(
        's.*',
        'b.number as batch_number',
        'b.status as batch_status',
        'b.recipe_code',
        'b.product_code',
        'b.units as batch_units',
      );
    return rows.map((r) => ({
      ...toStep(r),
      batchNumber: r.batch_number,
      batchStatus: r.batch_status,
      recipeCode: r.recipe_code,
      productCode: r.product_code,
      unitCode: (r.batch_units as Record<string, AssignedUnit> | null)?.[r.unit_procedure_id as string]?.code ?? null,
    }));
  }

  /**
   * Opens a write to a batch's record: the batch, locked (one writer per batch at a time, so parallel steps'
   * entries take turns and the chain never forks); then, read after the lock is held (a statement of its
   * own, so it sees what the writer before committed), the chain's head and which of `entryKeys` are stored
   * already (a retried write stores nothing twice).
   */
  async lockForRecord(
    trx: Knex.Transaction,
    batchId: string,
    entryKeys: string[],
  ): Promise<RecordWriteStart | undefined> {
    const batch = await this.find(trx, batchId, true);
    if (!batch) return undefined;
    const { rows } = await trx.raw(
      `select (select json_build_object('seq', seq, 'hash', hash) from ebr_entries where batch_id = ? order by seq desc limit 1) as head,
              (select coalesce(json_agg(json_build_object('key', entry_key, 'kind', kind, 'stepId', step_id, 'eventId', event_id, 'occurredAt', occurred_at)), '[]')
                 from ebr_entries where entry_key = any(?::text[])) as stored`,
      [batch.id, entryKeys],
    );
    const head = rows[0].head as { seq: number; hash: string } | null;
    const stored = rows[0].stored as {
      key: string;
      kind: string;
      stepId: string | null;
      eventId: number;
      occurredAt: string;
    }[];
    return {
      batch,
      head: head ?? { seq: 0, hash: EBR_GENESIS },
      stored: new Map(
        stored.map((e) => [
          e.key,
          {
            kind: e.kind,
            stepId: e.stepId,
            eventId: Number(e.eventId),
            occurredAt: new Date(e.occurredAt).toISOString(),
          },
        ]),
      ),
    };
  }

  /**
   * Appends `entries` after the head `start` found (chaining each to the one before), with the signatures
   * they carry, and sets the step projections (a step named twice takes its last) — all in one statement, the
   * write's one round trip after `lockForRecord`'s two. Returns how many entries were written.
   */
  async writeRecord(
    trx: Knex.Transaction,
    start: RecordWriteStart,
    w: { signatures: NewSignature[]; entries: NewEbrEntry[]; steps?: StepProjection[] },
  ): Promise<number> {
    const batchId = start.batch.id;
    let { seq, hash: prev } = start.head;
    const rows = w.entries.map((e) => {
      seq++;
      // As JSON stores it (no undefined members), so the hash recomputes from the stored row.
      const stored: StoredEbrEntry = { ...e, data: JSON.parse(JSON.stringify(e.data)), batchId, seq };
      const hash = ebrEntryHash(prev, stored);
      const row = {
        batch_id: batchId,
        seq,
        entry_key: e.entryKey,
        kind: e.kind,
        step_id: e.stepId,
        data: JSON.stringify(stored.data),
        workflow_id: e.workflowId,
        run_id: e.runId,
        event_id: e.eventId,
        occurred_at: e.occurredAt,
        user_id: e.userId,
        user_name: e.userName,
        signature_id: e.signatureId,
        prev_hash: prev,
        hash,
      };
      prev = hash;
      return row;
    });
    // Data-modifying CTEs: the signatures, the entries bound to them (the foreign key is checked at the
    // statement's end, when both are in) and the projections the work queue reads.
    const ctes: string[] = [];
    const bindings: Knex.RawBinding[] = [];
    const add = (name: string, q: Knex.Sql) => {
      ctes.push(`${name} as (${q.sql})`);
      bindings.push(...(q.bindings as Knex.RawBinding[]));
    };
    if (w.signatures.length > 0)
      add('new_signatures', trx('signatures').insert(w.signatures.map(signatureRow)).toSQL());
    if (rows.length > 0) add('new_entries', trx('ebr_entries').insert(rows).toSQL());
    const latest = [...new Map((w.steps ?? []).map((s) => [s.stepId, s])).values()];
    let main = 'select 1';
    if (latest.length > 0) {
      main = `update batch_steps as s
                 set status = v.status, awaiting_roles = v.awaiting_roles, performed_by = v.performed_by, verified_by = v.verified_by, updated_at = clock_timestamp()
                from (values ${latest.map(() => '(?, ?, ?::text[], ?::uuid, ?::uuid)').join(', ')}) as v (step_id, status, awaiting_roles, performed_by, verified_by)
               where s.batch_id = ? and s.step_id = v.step_id`;
      bindings.push(
        ...latest.flatMap((s) => [s.stepId, s.status, s.awaitingRoles, s.performedBy ?? null, s.verifiedBy ?? null]),
        batchId,
      );
    }
    if (ctes.length === 0 && latest.length === 0) return 0;
    await trx.raw(`${ctes.length > 0 ? `with ${ctes.join(', ')} ` : ''}${main}`, bindings);
    return rows.length;
  }

  async ebr(db: Knex | Knex.Transaction, batchId: string): Promise<EbrRow[]> {
    return (await db('ebr_entries').where('batch_id', batchId).orderBy('seq')).map(toEbrRow);
  }

  /** The records of several batches in one query, each in its order. */
  async ebrOfBatches(db: Knex | Knex.Transaction, batchIds: readonly string[]): Promise<Map<string, EbrRow[]>> {
    const out = new Map<string, EbrRow[]>(batchIds.map((id) => [id, []]));
    if (batchIds.length === 0) return out;
    const rows = await db('ebr_entries')
      .whereIn('batch_id', [...batchIds])
      .orderBy([{ column: 'batch_id' }, { column: 'seq' }]);
    for (const r of rows) out.get(r.batch_id as string)!.push(toEbrRow(r));
    return out;
  }
}

function toEbrRow(r: Record<string, unknown>): EbrRow {
  return {
    batchId: r.batch_id as string,
    seq: r.seq as number,
    entryKey: r.entry_key as string,
    kind: r.kind as EbrRow['kind'],
    stepId: r.step_id as string | null,
    data: r.data,
    workflowId: r.workflow_id as string,
    runId: r.run_id as string,
    eventId: Number(r.event_id),
    occurredAt: (r.occurred_at as Date).toISOString(),
    userId: r.user_id as string | null,
    userName: r.user_name as string | null,
    signatureId: r.signature_id as string | null,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
    recordedAt: r.recorded_at as Date,
  };
}

function toBatch(r: Record<string, unknown>): BatchRecord {
  return {
    id: r.id as string,
    number: r.number as string,
    workflowId: r.workflow_id as string,
    recipeId: r.recipe_id as string,
    recipeVersionId: r.recipe_version_id as string,
    recipeCode: r.recipe_code as string,
    recipeVersion: r.recipe_version as number,
    productCode: r.product_code as string,
    batchSize: Number(r.batch_size),
    batchUnit: r.batch_unit as string,
    outputLotNumber: r.output_lot_number as string,
    outputMaterial: r.output_material as string,
    plannedStart: (r.planned_start as Date | null) ?? null,
    plan: r.plan as ScaledPlan,
    planHash: r.plan_hash as string,
    units: r.units as Record<string, AssignedUnit>,
    status: r.status as BatchStatus,
    startedAt: (r.started_at as Date | null) ?? null,
    endedAt: (r.ended_at as Date | null) ?? null,
    createdAt: r.created_at as Date,
    orderId: (r.order_id as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
  };
}

function toStep(r: Record<string, unknown>): BatchStepRecord {
  return {
    batchId: r.batch_id as string,
    stepId: r.step_id as string,
    number: r.number as number,
    name: r.name as string,
    kind: r.kind as string,
    unitProcedureId: r.unit_procedure_id as string,
    status: r.status as StepStatus,
    awaitingRoles: r.awaiting_roles as string[],
    performedBy: (r.performed_by as string | null) ?? null,
    verifiedBy: (r.verified_by as string | null) ?? null,
    updatedAt: r.updated_at as Date,
  };
}
