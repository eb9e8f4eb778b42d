/** OEE's stop reasons (append-only: the latest given for a stop counts). */
import type { Knex } from 'knex';

export interface StopReasonRecord {
  unitCode: string;
  stopStart: Date;
  stopEnd: Date;
  reason: string;
  comment: string | null;
  userId: string | null;
  userName: string;
  recordedAt: Date;
}

export class OeeStore {
  async addReason(trx: Knex.Transaction, r: Omit<StopReasonRecord, 'recordedAt'>): Promise<StopReasonRecord> {
    const [row] = await trx('oee_stop_reasons')
      .insert({
        unit_code: r.unitCode,
        stop_start: r.stopStart,
        stop_end: r.stopEnd,
        reason: r.reason,
        comment: r.comment,
        user_id: r.userId,
        user_name: r.userName,
      })
      .returning('*');
    return toRecord(row as Record<string, unknown>);
  }

  /** The reason that counts for each stop of a unit starting in [from, to), by its start (ms). */
  async latestReasons(
    db: Knex | Knex.Transaction,
    unitCode: string,
    from: Date,
    to: Date,
  ): Promise<Map<number, StopReasonRecord>> {
    const rows = await db('oee_stop_reasons')
      .where('unit_code', unitCode)
      .where('stop_start', '>=', from)
      .where('stop_start', '<', to)
      .orderBy('id');
    const latest = new Map<number, StopReasonRecord>();
    for (const r of rows as Record<string, unknown>[]) {
      const rec = toRecord(r);
      latest.set(rec.stopStart.getTime(), rec);
    }
    return latest;
  }
}

function toRecord(r: Record<string, unknown>): StopReasonRecord {
  return {
    unitCode: r.unit_code as string,
    stopStart: r.stop_start as Date,
    stopEnd: r.stop_end as Date,
    reason: r.reason as string,
    comment: (r.comment as string | null) ?? null,
    userId: (r.user_id as string | null) ?? null,
    userName: r.user_name as string,
    recordedAt: r.recorded_at as Date,
  };
}
