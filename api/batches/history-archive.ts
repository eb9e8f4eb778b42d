/**
 * Each batch's workflow history, kept with its record (`batch_histories`). Once the batch's workflow has closed,
 * every run of its chain is archived in Temporal's JSON format, append-only, and the SHA-256 of each run's
 * document is written into the batch record (a `history-archived` entry, chained like the others) and the audit
 * trail, in the same transaction. A sweep archives closed batches a few seconds after they close; a reader who
 * needs the history first (QA's review, an export, a replay) archives it on the spot. Investigations read the
 * archive, so they outlive the Temporal namespace's retention; a batch still running is read from Temporal.
 */
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { optionalTsToDate } from '@temporalio/common/lib/time';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { SYSTEM_ACTOR } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import type { ArchivedRun } from '../../db/stores/history-store';
import { sha256Hex } from '../../domain/canonical-hash';
import { AuditTrail } from '../audit/audit-trail';
import { Problem } from '../http/problems';
import type { BatchTemporalGateway } from './temporal-gateway';

/** One run of a batch's workflow, as investigations read it. */
export interface HistoryRun {
  runNo: number;
  runId: string;
  events: number;
  /** The run's history in Temporal's JSON format: the bytes exported, and hashed. */
  json: string;
  sha256: string;
  history: History;
}

export interface BatchHistory {
  /**
   * `archive`: kept with the record; `temporal`: read from Temporal (the workflow is still running, not archived);
   * `file`: an exported history given to an investigation (`bin/ampoule investigate --history`).
   */
  source: 'archive' | 'temporal' | 'file';
  runs: HistoryRun[];
}

/** Statuses after which the workflow has nothing more to do (its close follows its last write). */
const CLOSED_STATUSES = new Set(['complete', 'stopped', 'aborted', 'reviewed', 'released', 'rejected']);
/** How long a reader waits for a workflow whose batch is closed to close itself (its last write came just before). */
const CLOSE_WAIT_MS = 10_000;
/** How long the sweep leaves a batch it could not archive before it tries again. */
const SET_ASIDE_MS = 10 * 60_000;
/** How long the sweep leaves a batch whose archiving failed. */
const RETRY_MS = 60_000;

export class HistoryArchive {
  private readonly audit: AuditTrail;
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<unknown> | undefined;
  private stopping = false;
  /** Batches the sweep could not archive, and until when it leaves them alone. */
  private readonly setAside = new Map<string, number>();

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly temporal: BatchTemporalGateway,
    private readonly log?: Logger,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  /** The batch's history: archived (archiving it first if its workflow has closed), or live from Temporal. */
  async read(batch: BatchRecord): Promise<BatchHistory> {
    const archived = await this.archive(batch);
    if (archived) return { source: 'archive', runs: archived.map(fromArchive) };
    const chain = await this.temporal.historyChain(batch.workflowId);
    if (!chain)
      throw new Problem(
        'history-unavailable',
        `batch ${batch.number} has no archived history and Temporal no longer has its workflow`,
      );
    return { source: 'temporal', runs: chain.runs.map((r, i) => toRun(i + 1, r.runId, r.history)) };
  }

  /**
   * Archives the batch's history if its workflow has closed and it is not archived yet; returns the archived
   * runs, or undefined while the workflow runs (or when Temporal no longer has it and nothing was archived).
   */
  async archive(batch: BatchRecord, waitForClose = true): Promise<ArchivedRun[] | undefined> {
    const existing = await this.stores.histories.runs(this.db, batch.id);
    if (existing.length > 0) return existing;
    if (!this.temporal.available()) return undefined;
    let closed = await this.temporal.isClosed(batch.workflowId);
    // The batch's last write comes just before its workflow closes: a reader right after it waits for the close.
    if (waitForClose && closed === false && CLOSED_STATUSES.has(batch.status))
      for (const until = Date.now() + CLOSE_WAIT_MS; closed === false && Date.now() < until;) {
        await new Promise((r) => setTimeout(r, 100));
        closed = await this.temporal.isClosed(batch.workflowId);
      }
    if (!closed) return undefined;
    const chain = await this.temporal.historyChain(batch.workflowId);
    if (!chain?.closed) return undefined;
    const runs = chain.runs.map((r, i) => toRun(i + 1, r.runId, r.history));
    await this.db.transaction(async (trx) => {
      const key = `${batch.workflowId}/history`;
      // The batch locked: one archiver at a time, and its record entry chained after the last.
      const start = await this.stores.batches.lockForRecord(trx, batch.id, [key]);
      if (!start || (await this.stores.histories.runs(trx, batch.id)).length > 0) return;
      await this.stores.histories.add(
        trx,
        runs.map((r) => ({
          batchId: batch.id,
          runNo: r.runNo,
          workflowId: batch.workflowId,
          runId: r.runId,
          events: r.events,
          historyJson: r.json,
          sha256: r.sha256,
        })),
      );
      const summary = { runs: runs.map((r) => ({ runId: r.runId, events: r.events, sha256: r.sha256 })) };
      const last = runs[runs.length - 1];
      const lastEvent = last.history.events?.[last.history.events.length - 1];
      // A released or rejected record is final: the history of a batch closed before archiving existed is
      // archived all the same, its hash in the audit trail only.
      const inRecord = start.batch.status !== 'released' && start.batch.status !== 'rejected';
      if (inRecord)
        await this.stores.batches.writeRecord(trx, start, {
          signatures: [],
          entries: [
            {
              entryKey: key,
              kind: 'history-archived',
              stepId: null,
              data: summary,
              workflowId: batch.workflowId,
              runId: last.runId,
              eventId: Number(lastEvent?.eventId ?? 0),
              occurredAt: (optionalTsToDate(lastEvent?.eventTime) ?? new Date()).toISOString(),
              userId: null,
              userName: null,
              signatureId: null,
            },
          ],
        });
      await this.audit.record(
        {
          trx,
          actor: SYSTEM_ACTOR,
          station: { clientAddress: null, userAgent: 'ampoule history archive', requestId: null },
          reason: 'the batch’s workflow closed: its history is kept with the record',
        },
        {
          action: 'history-archived',
          entityType: 'batch',
          entityId: batch.id,
          // `inRecord: false`: the record was final, the hashes are here only.
          newValue: { ...summary, inRecord },
        },
      );
    });
    return this.stores.histories.runs(this.db, batch.id);
  }

  /**
   * Archives the histories of closed batches not archived yet; returns how many batches it archived. A batch whose
   * workflow has not closed yet is taken by a later sweep; one Temporal no longer has (a batch closed before
   * archiving existed, past its retention: its record says what it can) is set aside for ten minutes, one whose
   * archiving failed for one, so that neither holds up the batches after it.
   */
  async sweep(limit = 20): Promise<number> {
    let archived = 0;
    const now = Date.now();
    for (const [id, until] of this.setAside) if (until <= now) this.setAside.delete(id);
    for (const { id } of await this.stores.histories.unarchived(this.db, limit, [...this.setAside.keys()])) {
      if (this.stopping) break;
      try {
        const batch = await this.stores.batches.find(this.db, id);
        if (!batch) continue;
        const closed = await this.temporal.isClosed(batch.workflowId);
        // Its last write just committed, its close about to follow: the next sweep takes it.
        if (closed === false) continue;
        if (closed === undefined) this.setAside.set(id, now + SET_ASIDE_MS);
        else if (await this.archive(batch, false)) archived++;
      } catch (err) {
        // One batch that fails (Temporal unreachable, a history too large) never holds up the others.
        this.log?.warn({ err, batch: id }, 'archiving a batch history failed; trying again later');
        this.setAside.set(id, now + RETRY_MS);
      }
    }
    return archived;
  }

  /** Sweeps every `intervalMs` (never two sweeps at once); a failed sweep is logged and tried again. */
  start(intervalMs = 5_000): void {
    if (this.timer || !this.temporal.available()) return;
    this.stopping = false;
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .catch((err: unknown) => this.log?.warn({ err }, 'archiving batch histories failed; trying again'))
        .finally(() => (this.sweeping = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }
}

export function toRun(runNo: number, runId: string, history: History): HistoryRun {
  const json = historyToJSON(history);
  return { runNo, runId, events: history.events?.length ?? 0, json, sha256: sha256Hex(json), history };
}

function fromArchive(r: ArchivedRun): HistoryRun {
  return {
    runNo: r.runNo,
    runId: r.runId,
    events: r.events,
    json: r.historyJson,
    sha256: r.sha256,
    history: historyFromJSON(JSON.parse(r.historyJson)),
  };
}
