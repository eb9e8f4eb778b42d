/** Deviations' SQL (`deviations`): raised once, then moved along their life; never deleted. */
import type { Knex } from 'knex';
import type { DeviationCategory, DeviationState, Findings, Severity } from '../../domain/batch/deviations';
import { isUuid } from '../../domain/identity';

export interface DeviationLot {
  lotId: string;
  lotNumber: string;
}

export interface DeviationRecord extends Findings {
  id: string;
  number: string;
  batchId: string;
  batchNumber: string;
  stepId: string | null;
  category: DeviationCategory;
  /** The batch record entry that raised it (null: raised by a person). */
  sourceEntryKey: string | null;
  runId: string | null;
  eventId: number | null;
  unitCode: string | null;
  lots: DeviationLot[];
  details: Record<string, unknown>;
  title: string;
  description: string | null;
  state: DeviationState;
  raisedBy: string | null;
  raisedAt: Date;
  submittedBy: string | null;
  submittedAt: Date | null;
  closedBy: string | null;
  closedAt: Date | null;
  closeSignatureId: string | null;
  updatedAt: Date;
  rowVersion: number;
}

export type NewDeviation = Pick<
  DeviationRecord,
  | 'batchId'
  | 'stepId'
  | 'category'
  | 'sourceEntryKey'
  | 'runId'
  | 'eventId'
  | 'unitCode'
  | 'lots'
  | 'details'
  | 'title'
  | 'description'
  | 'severity'
  | 'raisedBy'
> & { number: string };

/** What a change of a deviation may set (the rest is what raised it, fixed; the database sets when it was submitted and closed). */
export type DeviationChange = Partial<
  Pick<
    DeviationRecord,
    | 'description'
    | 'severity'
    | 'state'
    | 'rootCause'
    | 'correctiveAction'
    | 'preventiveAction'
    | 'submittedBy'
    | 'closedBy'
    | 'closeSignatureId'
  >
>;

const COLUMNS: Record<keyof DeviationChange, string> = {
  description: 'description',
  severity: 'severity',
  state: 'state',
  rootCause: 'root_cause',
  correctiveAction: 'corrective_action',
  preventiveAction: 'preventive_action',
  submittedBy: 'submitted_by',
  closedBy: 'closed_by',
  closeSignatureId: 'close_signature_id',
};

export interface DeviationQuery {
  batchId?: string;
  state?: DeviationState;
  severity?: Severity;
  /** Only those not closed yet. */
  open?: boolean;
  limit: number;
  /** The last number of the page before. */
  after?: string;
}

export class DeviationStore {
  /** How many deviations the batch has: the next one's ordinal is this plus one (the caller holds the batch's lock). */
  async countForBatch(trx: Knex.Transaction, batchId: string): Promise<number> {
    const [{ n }] = await trx('deviations').where('batch_id', batchId).count<{ n: string }[]>({ n: '*' });
    return Number(n);
  }

  async insert(trx: Knex.Transaction, d: NewDeviation): Promise<DeviationRecord> {
    const [row] = await trx('deviations')
      .insert({
        number: d.number,
        batch_id: d.batchId,
        step_id: d.stepId,
        category: d.category,
        source_entry_key: d.sourceEntryKey,
        run_id: d.runId,
        event_id: d.eventId,
        unit_code: d.unitCode,
        lots: JSON.stringify(d.lots),
        details: JSON.stringify(d.details),
        title: d.title,
        description: d.description,
        severity: d.severity,
        raised_by: d.raisedBy,
      })
      .returning('id');
    return (await this.find(trx, row.id))!;
  }

  async find(db: Knex | Knex.Transaction, idOrNumber: string, forUpdate = false): Promise<DeviationRecord | undefined> {
    const q = this.select(db)
      .where(isUuid(idOrNumber) ? { 'd.id': idOrNumber } : { 'd.number': idOrNumber })
      .first();
    if (forUpdate) q.forUpdate('d');
    const row = await q;
    return row ? toDeviation(row) : undefined;
  }

  async list(db: Knex | Knex.Transaction, q: DeviationQuery): Promise<DeviationRecord[]> {
    const query = this.select(db).orderBy('d.number').limit(q.limit);
    if (q.batchId) query.where('d.batch_id', q.batchId);
    if (q.state) query.where('d.state', q.state);
    if (q.severity) query.where('d.severity', q.severity);
    if (q.open) query.whereNot('d.state', 'closed');
    if (q.after) query.where('d.number', '>', q.after);
    return (await query).map(toDeviation);
  }

  async update(trx: Knex.Transaction, id: string, change: DeviationChange): Promise<void> {
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(change)) {
      if (value !== undefined) values[COLUMNS[key as keyof DeviationChange]] = value;
    }
    if (Object.keys(values).length > 0) await trx('deviations').where('id', id).update(values);
  }

  /** The record's `deviation` entries no deviation was raised from (written before deviations were records). */
  async unraisedEntries(db: Knex | Knex.Transaction, limit: number): Promise<{ batchId: string; entryKey: string }[]> {
    return (
      await db('ebr_entries as e')
        .leftJoin('deviations as d', 'd.source_entry_key', 'e.entry_key')
        .where('e.kind', 'deviation')
        .whereNull('d.id')
        .orderBy(['e.batch_id', 'e.seq'])
        .limit(limit)
        .select('e.batch_id', 'e.entry_key')
    ).map((r) => ({ batchId: r.batch_id, entryKey: r.entry_key }));
  }

  private select(db: Knex | Knex.Transaction) {
    return db('deviations as d').join('batches as b', 'b.id', 'd.batch_id').select('d.*', 'b.number as batch_number');
  }
}

function toDeviation(r: Record<string, unknown>): DeviationRecord {
  return {
    id: r.id as string,
    number: r.number as string,
    batchId: r.batch_id as string,
    batchNumber: r.batch_number as string,
    stepId: (r.step_id as string | null) ?? null,
    category: r.category as DeviationCategory,
    sourceEntryKey: (r.source_entry_key as string | null) ?? null,
    runId: (r.run_id as string | null) ?? null,
    eventId: r.event_id === null || r.event_id === undefined ? null : Number(r.event_id),
    unitCode: (r.unit_code as string | null) ?? null,
    lots: r.lots as DeviationLot[],
    details: r.details as Record<string, unknown>,
    title: r.title as string,
    description: (r.description as string | null) ?? null,
    severity: (r.severity as Severity | null) ?? null,
    state: r.state as DeviationState,
    rootCause: (r.root_cause as string | null) ?? null,
    correctiveAction: (r.corrective_action as string | null) ?? null,
    preventiveAction: (r.preventive_action as string | null) ?? null,
    raisedBy: (r.raised_by as string | null) ?? null,
    raisedAt: r.raised_at as Date,
    submittedBy: (r.submitted_by as string | null) ?? null,
    submittedAt: (r.submitted_at as Date | null) ?? null,
    closedBy: (r.closed_by as string | null) ?? null,
    closedAt: (r.closed_at as Date | null) ?? null,
    closeSignatureId: (r.close_signature_id as string | null) ?? null,
    updatedAt: r.updated_at as Date,
    rowVersion: r.row_version as number,
  };
}
