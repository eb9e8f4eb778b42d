/**
 * The batch record held against its workflow's history. A replay of the history rebuilds every entry the
 * workflow wrote (what it handed to `recordEbr`: step starts and ends, values, lots, signatures, deviations,
 * commands, equipment parameters and reports — `workflows/batch/messages.ts`, `BatchSinks`); each is compared with
 * the stored entry of the same key. An entry rebuilt but not stored is `missing-in-record`, one stored that the
 * workflow never wrote `extra-in-record`, one whose fields disagree `differs` (which fields). Two independent
 * sources — the Temporal history and the record's tables — so a row changed, added or deleted outside the workflow
 * shows, even where the record's hash chain was recomputed over it.
 */
import { canonicalHash, canonicalJson } from '../canonical-hash';
import type { EbrEntryInput } from './types';

/** An entry as the workflow wrote it, rebuilt from the history of run `runId`. */
export interface RebuiltEntry extends EbrEntryInput {
  runId: string;
}

/** An entry as the record stores it, with its signature's stored fields. */
export interface RecordedEntry {
  seq: number;
  entryKey: string;
  kind: string;
  stepId: string | null;
  data: unknown;
  runId: string;
  eventId: number;
  occurredAt: string;
  userId: string | null;
  userName: string | null;
  signature: {
    signerId: string;
    username: string;
    printedName: string;
    meaning: string;
    comment: string | null;
    contentHash: string;
  } | null;
}

export type EntryVerdict = 'match' | 'missing-in-record' | 'extra-in-record' | 'differs';

export interface EntryCheck {
  entryKey: string;
  seq: number | null;
  stepId: string | null;
  kind: string;
  verdict: EntryVerdict;
  /** For `differs`: the fields that disagree. */
  fields?: string[];
}

export interface StepCheck {
  /** null: entries of the batch as a whole (its start, commands, end). */
  stepId: string | null;
  verdict: EntryVerdict;
  entries: number;
  mismatches: number;
}

export interface CrossCheckReport {
  verdict: 'match' | 'mismatch';
  counts: Record<EntryVerdict, number>;
  entries: EntryCheck[];
  steps: StepCheck[];
}

/**
 * The one entry Ampoule itself adds to a record (not the workflow): the archived history's hashes, under the key
 * `<workflowId>/history`, by no user and unsigned — left out of the comparison (the investigation checks its hashes
 * against the archive). Any other entry, of whatever kind, is the workflow's or extra.
 */
export function isHistoryArchivedEntry(workflowId: string, r: RecordedEntry): boolean {
  return (
    r.entryKey === `${workflowId}/history` && r.kind === 'history-archived' && r.userId === null && r.signature === null
  );
}

/** The key the activities store a workflow's entry under (activities/index.ts). */
export function entryKeyOf(workflowId: string, no: number): string {
  return `${workflowId}/${no}`;
}

export function crossCheck(
  batch: { number: string; workflowId: string },
  rebuilt: RebuiltEntry[],
  recorded: RecordedEntry[],
): CrossCheckReport {
  const stored = new Map(
    recorded.filter((r) => !isHistoryArchivedEntry(batch.workflowId, r)).map((r) => [r.entryKey, r] as const),
  );
  const entries: EntryCheck[] = [];
  for (const e of rebuilt) {
    const key = entryKeyOf(batch.workflowId, e.no);
    const r = stored.get(key);
    stored.delete(key);
    if (!r) {
      entries.push({ entryKey: key, seq: null, stepId: e.stepId, kind: e.kind, verdict: 'missing-in-record' });
      continue;
    }
    const fields = differingFields(batch.number, key, e, r);
    entries.push({
      entryKey: key,
      seq: r.seq,
      stepId: r.stepId,
      kind: r.kind,
      verdict: fields.length === 0 ? 'match' : 'differs',
      ...(fields.length > 0 ? { fields } : {}),
    });
  }
  for (const r of stored.values())
    entries.push({ entryKey: r.entryKey, seq: r.seq, stepId: r.stepId, kind: r.kind, verdict: 'extra-in-record' });

  const counts: Record<EntryVerdict, number> = { match: 0, 'missing-in-record': 0, 'extra-in-record': 0, differs: 0 };
  for (const e of entries) counts[e.verdict]++;
  return {
    verdict: entries.every((e) => e.verdict === 'match') ? 'match' : 'mismatch',
    counts,
    entries,
    steps: byStep(entries),
  };
}

/** The fields of a stored entry that disagree with the entry the workflow wrote. */
function differingFields(batch: string, key: string, e: RebuiltEntry, r: RecordedEntry): string[] {
  const fields: string[] = [];
  const same = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
  // As JSON stores it: no undefined members.
  const data = JSON.parse(JSON.stringify(e.data)) as unknown;
  if (r.kind !== e.kind) fields.push('kind');
  if (r.stepId !== e.stepId) fields.push('stepId');
  if (!same(r.data, data)) fields.push('data');
  if (r.runId !== e.runId) fields.push('runId');
  if (r.eventId !== e.eventId) fields.push('eventId');
  if (Date.parse(r.occurredAt) !== Date.parse(e.occurredAt)) fields.push('occurredAt');
  if (r.userId !== (e.user?.userId ?? null) || r.userName !== (e.user?.fullName ?? null)) fields.push('user');
  const s = e.signature;
  const signatureMatches =
    s === undefined
      ? r.signature === null
      : r.signature !== null &&
        r.signature.signerId === s.userId &&
        r.signature.username === s.username &&
        r.signature.printedName === s.fullName &&
        r.signature.meaning === s.meaning &&
        r.signature.comment === s.comment &&
        // The signature is bound to what the entry records (activities/index.ts, recordEbr).
        r.signature.contentHash === canonicalHash({ batch, step: e.stepId, entry: key, data });
  if (!signatureMatches) fields.push('signature');
  return fields;
}

const SEVERITY: EntryVerdict[] = ['match', 'differs', 'extra-in-record', 'missing-in-record'];

function byStep(entries: EntryCheck[]): StepCheck[] {
  const steps = new Map<string | null, StepCheck>();
  for (const e of entries) {
    const s = steps.get(e.stepId) ?? { stepId: e.stepId, verdict: 'match', entries: 0, mismatches: 0 };
    s.entries++;
    if (e.verdict !== 'match') {
      s.mismatches++;
      if (SEVERITY.indexOf(e.verdict) > SEVERITY.indexOf(s.verdict)) s.verdict = e.verdict;
    }
    steps.set(e.stepId, s);
  }
  return [...steps.values()];
}
