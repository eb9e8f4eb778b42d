/**
 * Writing the batch record. Entries are taken down as they happen — with the history event that caused them
 * and the workflow time — then written, numbered in order, by one local activity per write (the numbers make a
 * write idempotent). Writes are few by design: a step's end waits to be written with the next step's start
 * (a held-back end), and an operator's entry that ends a step is written with that end.
 */
import { recordWriteSummary } from '../../domain/batch/workflow-metadata';
import { CancellationScope, proxySinks, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type {
  BatchInput,
  BatchStatus,
  EbrEntryInput,
  EbrKind,
  RecordWriteOutcome,
  Signer,
  StepProjection,
} from '../../domain/batch/types';
import { firstWrite, localWrites } from './activity-proxies';
import { BATCH_SEARCH_ATTRIBUTES, type BatchSinks } from './messages';
import type { BatchState } from './state';

export interface RecordItem {
  kind: EbrKind;
  stepId?: string | null;
  data: Record<string, unknown>;
  user?: { userId: string; fullName: string } | null;
  signature?: Signer;
}

/** Entries taken down as they happened (the causing history event, the time), not yet numbered nor written. */
export interface Entries {
  items: (RecordItem & { eventId: number; occurredAt: string })[];
  projections: StepProjection[];
  /** Told the numbers its entries were given, once they are written. */
  onWritten?: (numbers: number[]) => void;
}

/** A unit procedure's last step end (with the entry that ended it), held back to be written with its next step's start. */
export interface HeldBackEnd {
  ended: Entries[];
}

const sinks = proxySinks<BatchSinks>();

/** The entries of a write with the event and time the record holds them with (an earlier attempt's, if it stored them). */
function asRecorded(entries: EbrEntryInput[], earlier: NonNullable<RecordWriteOutcome['earlier']>): EbrEntryInput[] {
  if (earlier.length === 0) return entries;
  const stored = new Map(earlier.map((e) => [e.no, e]));
  return entries.map((e) => {
    const s = stored.get(e.no);
    // The same entry, as the earlier attempt numbered it: else the cross-check shows what differs.
    return s && s.kind === e.kind && s.stepId === e.stepId ? { ...e, eventId: s.eventId, occurredAt: s.occurredAt } : e;
  });
}

export class RecordWriter {
  /** The last entry number given. */
  private numbered = 0;
  private written = false;
  /** Step ends held back by running unit procedures; a stop or abort writes them before anything else. */
  readonly heldBack = new Set<HeldBackEnd>();

  constructor(
    private readonly input: BatchInput,
    private readonly state: BatchState,
  ) {}

  /** Takes down entries (and step projections) as of now: the history event that caused them and the time. */
  entries(items: RecordItem[], projections: StepProjection[] = []): Entries {
    const eventId = workflowInfo().historyLength;
    const occurredAt = new Date().toISOString();
    return { items: items.map((i) => ({ ...i, eventId, occurredAt })), projections };
  }

  /** Writes entries taken down before into the batch record, in one local activity, numbering them as it goes. */
  async write(parts: Entries[], batchStatus?: BatchStatus): Promise<number[]> {
    const { workflowId, runId } = workflowInfo();
    const batch: EbrEntryInput[] = parts.flatMap((p) =>
      p.items.map((i) => ({
        no: ++this.numbered,
        kind: i.kind,
        stepId: i.stepId ?? null,
        data: i.data,
        eventId: i.eventId,
        occurredAt: i.occurredAt,
        user: i.user ?? null,
        signature: i.signature,
      })),
    );
    const steps = parts.flatMap((p) => p.projections);
    const activities = this.written ? localWrites : firstWrite;
    const outcome = await CancellationScope.nonCancellable(() =>
      activities.recordEbr.executeWithOptions({ summary: recordWriteSummary(batch) }, [
        { batchId: this.input.batchId, workflowId, runId, entries: batch, steps, batchStatus },
      ]),
    );
    // Told once written (a write that failed wrote nothing), for a replay to rebuild the record: as the record holds
    // them. An entry an earlier attempt of this workflow task stored (its completion was lost) keeps that attempt's
    // event and time; the outcome, in the history's marker, says so, and a replay reads it from there.
    sinks.record.written(asRecorded(batch, outcome.earlier ?? []));
    this.written = true;
    let next = 0;
    for (const p of parts) {
      const numbers = batch.slice(next, next + p.items.length).map((e) => e.no);
      next += p.items.length;
      p.onWritten?.(numbers);
    }
    return batch.map((e) => e.no);
  }

  /** Takes down entries (and step projections) and writes them now. */
  async writeNow(
    items: RecordItem[],
    projections: StepProjection[] = [],
    batchStatus?: BatchStatus,
  ): Promise<number[]> {
    return this.write([this.entries(items, projections)], batchStatus);
  }

  /** Writes a held-back step end (with `alongWith`), if there is one; it is taken before the write starts, so it is written once. */
  async writeHeldBack(pending: HeldBackEnd, alongWith: Entries[] = []): Promise<void> {
    const parts = [...pending.ended, ...alongWith];
    pending.ended = [];
    if (parts.length > 0) await this.write(parts);
  }

  /**
   * Records the batch's new status, then takes it. The change comes after the write, never before: code
   * waiting on the status (a step about to start) must not run while this write is still pending, or its
   * writes and these would interleave differently on replay.
   */
  async writeStatus(
    next: BatchStatus,
    data: Record<string, unknown> = {},
    user: { userId: string; fullName: string } | null = null,
  ): Promise<void> {
    await this.writeNow(
      [
        {
          kind: next === 'complete' || next === 'stopped' || next === 'aborted' ? 'batch-ended' : 'batch-command',
          data: { status: next, ...data },
          user,
        },
      ],
      [],
      next,
    );
    this.state.status = next;
    upsertSearchAttributes([{ key: BATCH_SEARCH_ATTRIBUTES.status, value: next }]);
  }
}
