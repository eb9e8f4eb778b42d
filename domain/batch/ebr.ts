/**
 * The batch record's hash chain: each entry's hash is SHA-256 over the previous entry's hash and the
 * RFC 8785 canonical JSON of the entry as stored, so any change, removal or reordering shows.
 */
import { canonicalJson, sha256Hex } from '../canonical-hash';

export const EBR_GENESIS = '0'.repeat(64);

/** An entry as stored: what its hash covers. */
export interface StoredEbrEntry {
  batchId: string;
  seq: number;
  entryKey: string;
  kind: string;
  stepId: string | null;
  data: unknown;
  workflowId: string;
  runId: string;
  eventId: number;
  /** ISO 8601, millisecond precision (workflow time). */
  occurredAt: string;
  userId: string | null;
  userName: string | null;
  signatureId: string | null;
}

export function ebrEntryHash(prevHash: string, e: StoredEbrEntry): string {
  return sha256Hex(prevHash + canonicalJson(e));
}

/** The first entry whose link or hash does not hold, or undefined if the chain is whole. */
export function brokenEbrLink(
  entries: readonly (StoredEbrEntry & { prevHash: string; hash: string })[],
): { seq: number; problem: string } | undefined {
  let prev = EBR_GENESIS;
  for (const [i, e] of entries.entries()) {
    if (e.seq !== i + 1) return { seq: e.seq, problem: 'entries are missing before this one' };
    if (e.prevHash !== prev) return { seq: e.seq, problem: 'previous hash does not match the entry before' };
    if (ebrEntryHash(prev, storedPart(e)) !== e.hash) return { seq: e.seq, problem: 'hash does not match the entry' };
    prev = e.hash;
  }
  return undefined;
}

/** Exactly the fields a hash covers, whatever else a row carries. */
function storedPart(e: StoredEbrEntry): StoredEbrEntry {
  return {
    batchId: e.batchId,
    seq: e.seq,
    entryKey: e.entryKey,
    kind: e.kind,
    stepId: e.stepId,
    data: e.data,
    workflowId: e.workflowId,
    runId: e.runId,
    eventId: e.eventId,
    occurredAt: e.occurredAt,
    userId: e.userId,
    userName: e.userName,
    signatureId: e.signatureId,
  };
}
