/**
 * QA's investigation of a batch from two independent sources: its workflow history (archived with the record)
 * replayed against the workflow code this Ampoule runs, and the batch record held against the entries that
 * replay rebuilds. A replay passes only when the code reproduces the history, the archived history is the one
 * whose hash the record holds, and the record matches the history entry for entry.
 */
import type { Knex } from 'knex';
import type { AuditedChange } from '../audit/audit-trail';
import type { Stores } from '../../db/stores';
import type { BatchRecord } from '../../db/stores/batch-store';
import {
  crossCheck,
  isHistoryArchivedEntry,
  type CrossCheckReport,
  type RecordedEntry,
} from '../../domain/batch/cross-check';
import type { BatchReplayer, ReplayOutcome } from '../../worker/replayer';
import { sha256Hex } from '../../domain/canonical-hash';
import type { BatchHistory, HistoryArchive } from './history-archive';

export interface Investigation {
  history: BatchHistory;
  replay: ReplayOutcome;
  /**
   * The archived history is the one archived: each run's document still hashes to the SHA-256 stored with it
   * and written into the batch record (for an exported file: it has the SHA-256 the record holds). null while the
   * history is read from Temporal (not archived yet), or for a file when the record holds no hash yet.
   */
  historyIntact: boolean | null;
  crossCheck: CrossCheckReport;
  /** The hash of the record's last entry when it was read: what the verdict is about. */
  recordHead: string | null;
}

export class InvestigationService {
  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly archive: HistoryArchive,
    private readonly replayer: BatchReplayer,
  ) {}

  /**
   * Replays the batch's history and holds its record against it: the archived history (or Temporal's, while the
   * batch runs), or `exported`, a history read from a file.
   */
  async investigate(batch: BatchRecord, exported?: BatchHistory): Promise<Investigation> {
    const history = exported ?? (await this.archive.read(batch));
    const replay = await this.replayer.replay(
      batch.workflowId,
      history.runs.map((r) => ({ runId: r.runId, history: r.history })),
    );
    const rows = await this.stores.batches.ebr(this.db, batch.id);
    const recorded: RecordedEntry[] = [];
    for (const r of rows) {
      const s = r.signatureId ? await this.stores.signatures.byId(this.db, r.signatureId) : undefined;
      recorded.push({
        seq: r.seq,
        entryKey: r.entryKey,
        kind: r.kind,
        stepId: r.stepId,
        data: r.data,
        runId: r.runId,
        eventId: r.eventId,
        occurredAt: r.occurredAt,
        userId: r.userId,
        userName: r.userName,
        signature: s
          ? {
              signerId: s.signerId,
              username: s.username,
              printedName: s.printedName,
              meaning: s.meaning,
              comment: s.comment,
              contentHash: s.contentHash,
            }
          : null,
      });
    }
    const rebuilt = replay.written.flatMap((w) => w.entries.map((e) => ({ ...e, runId: w.runId })));
    const recordedHashes = await this.recordedHashes(batch, recorded);
    const sameRuns = (runs: { runId: string; sha256: string }[]) =>
      recordedHashes !== undefined &&
      recordedHashes.length === runs.length &&
      runs.every((run) => recordedHashes.some((h) => h.runId === run.runId && h.sha256 === run.sha256));
    let historyIntact: boolean | null = null;
    // The archive as archived: each run's document hashes to the SHA-256 stored with it, and the runs and hashes
    // are exactly those the record (or, for a record final before archiving existed, the audit trail) holds.
    if (history.source === 'archive')
      historyIntact = history.runs.every((run) => sha256Hex(run.json) === run.sha256) && sameRuns(history.runs);
    // An exported file is the archived history when its runs have the hashes the record holds.
    else if (history.source === 'file' && recordedHashes !== undefined) historyIntact = sameRuns(history.runs);
    return {
      history,
      replay,
      historyIntact,
      crossCheck: crossCheck(batch, rebuilt, recorded),
      recordHead: rows[rows.length - 1]?.hash ?? null,
    };
  }

  /** The runs and hashes written when the history was archived: in the record's entry, else in the audit trail. */
  private async recordedHashes(
    batch: BatchRecord,
    recorded: RecordedEntry[],
  ): Promise<{ runId: string; sha256: string }[] | undefined> {
    const entry = recorded.find((r) => isHistoryArchivedEntry(batch.workflowId, r));
    if (entry) return (entry.data as { runs: { runId: string; sha256: string }[] }).runs;
    const [audited] = await this.stores.audit.find(this.db, {
      entityType: 'batch',
      entityId: batch.id,
      action: 'history-archived',
      limit: 1,
    });
    // Only for a record that was final when archived: otherwise a missing entry is itself a finding.
    const value = audited?.newValue as { runs: { runId: string; sha256: string }[]; inRecord?: boolean } | undefined;
    return value?.inRecord === false ? value.runs : undefined;
  }
}

/** The SHA-256 that names a batch's whole history: its one run's document's, or that of its runs' documents joined by newlines. */
export function historySha256(history: BatchHistory): string {
  return history.runs.length === 1 ? history.runs[0].sha256 : sha256Hex(history.runs.map((r) => r.json).join('\n'));
}

/** The replay's verdict as the API answers it: a pass needs the code, the archive and the record all to agree. */
export function replayVerdict(i: Investigation) {
  const deterministic = i.replay.deterministic;
  return {
    verdict: deterministic && i.historyIntact !== false && i.crossCheck.verdict === 'match' ? 'pass' : 'fail',
    deterministic,
    ...(i.replay.error ? { error: i.replay.error } : {}),
    historySha256: historySha256(i.history),
    bundleSha256: i.replay.bundleSha256,
    events: i.history.runs.reduce((n, r) => n + r.events, 0),
    durationMs: i.replay.durationMs,
    source: i.history.source,
    historyIntact: i.historyIntact,
    runs: i.history.runs.map((r) => ({ runId: r.runId, events: r.events, sha256: r.sha256 })),
    crossCheck: {
      verdict: i.crossCheck.verdict,
      counts: i.crossCheck.counts,
      mismatches: i.crossCheck.entries.filter((e) => e.verdict !== 'match'),
    },
  } as const;
}

/** What the audit trail keeps of a replay: who judged the batch (the change context), and the verdict. */
export function replayAuditEntry(batch: BatchRecord, verdict: ReturnType<typeof replayVerdict>): AuditedChange {
  return {
    action: 'replay',
    entityType: 'batch',
    entityId: batch.id,
    newValue: {
      verdict: verdict.verdict,
      deterministic: verdict.deterministic,
      historyIntact: verdict.historyIntact,
      crossCheck: verdict.crossCheck.counts,
      historySha256: verdict.historySha256,
      bundleSha256: verdict.bundleSha256,
    },
  };
}
