/** The archive of batches' workflow histories (`batch_histories`): one row per run, append-only. */
import type { Knex } from 'knex';

export interface ArchivedRun {
  batchId: string;
  runNo: number;
  workflowId: string;
  runId: string;
  events: number;
  /** Temporal's JSON format, the exact bytes exported. */
  historyJson: string;
  sha256: string;
  archivedAt: Date;
}

export type NewArchivedRun = Omit<ArchivedRun, 'archivedAt'>;

export class HistoryStore {
  /** A batch's archived runs, oldest first (none until its workflow has closed and been archived). */
  async runs(db: Knex | Knex.Transaction, batchId: string): Promise<ArchivedRun[]> {
    return (await db('batch_histories').where('batch_id', batchId).orderBy('run_no')).map(toRun);
  }

  async add(trx: Knex.Transaction, runs: NewArchivedRun[]): Promise<void> {
    if (runs.length === 0) return;
    await trx('batch_histories').insert(
      runs.map((r) => ({
        batch_id: r.batchId,
        run_no: r.runNo,
        workflow_id: r.workflowId,
        run_id: r.runId,
        events: r.events,
        history_json: r.historyJson,
        sha256: r.sha256,
      })),
    );
  }

  /** Closed batches (their workflow's part is over) whose history is not archived yet, oldest first, but `except`. */
  async unarchived(db: Knex, limit: number, except: string[] = []): Promise<{ id: string; number: string }[]> {
    const q = db('batches as b')
      .select('b.id', 'b.number')
      .whereIn('b.status', ['complete', 'stopped', 'aborted', 'reviewed', 'released', 'rejected'])
      .whereNotExists(db('batch_histories as h').select(db.raw('1')).whereRaw('h.batch_id = b.id'))
      .orderBy('b.created_at')
      .limit(limit);
    if (except.length > 0) void q.whereNotIn('b.id', except);
    return q;
  }
}

function toRun(r: Record<string, unknown>): ArchivedRun {
  return {
    batchId: r.batch_id as string,
    runNo: r.run_no as number,
    workflowId: r.workflow_id as string,
    runId: r.run_id as string,
    events: r.events as number,
    historyJson: r.history_json as string,
    sha256: r.sha256 as string,
    archivedAt: r.archived_at as Date,
  };
}
