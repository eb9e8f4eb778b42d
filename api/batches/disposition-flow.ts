/**
 * QA's disposition of a batch as both the API and the pages carry it out: the cheap refusals first (the batch's
 * status, the deviations not closed), then — for a review or a release — the investigation the record must pass
 * (its archived history replayed and the record held against it, or a closed history-unavailable deviation
 * standing in), then the signed disposition in its own transaction, tied to the record's head as investigated.
 * A release or rejection makes the record final: the caller anchors it once committed (`anchor`).
 */
import type { ChangeContext, UserActor } from '../../db/change-context';
import type { BatchRecord } from '../../db/stores/batch-store';
import { Problem } from '../http/problems';
import type { Services } from '../services';
import type { VerifiedSigner } from '../signatures/signature-service';
import { checkDeviationsClosed, checkDispositionAllowed, type Disposition } from './disposition-service';
import { replayVerdict } from './investigation-service';

export async function disposeBatch(
  s: Services,
  who: Omit<ChangeContext, 'trx'> & { actor: UserActor },
  signer: VerifiedSigner,
  idOrNumber: string,
  action: Disposition,
) {
  let investigatedHead: string | null | undefined;
  if (action !== 'reject') {
    // Nobody reviews or releases a record its own archived history contradicts; a rejection stays possible.
    // The cheap refusals first: a replay takes a moment.
    const batch = await s.batches.records.get(idOrNumber);
    checkDispositionAllowed(batch, action);
    if (action === 'release') await checkDeviationsClosed(s.stores, s.db, batch);
    investigatedHead = await investigatedRecordHead(s, batch);
  }
  const { batch, signatures } = await s.db.transaction(async (trx) => {
    const b = await s.batches.disposition.disposition({ ...who, trx }, signer, idOrNumber, action, investigatedHead);
    return { batch: b, signatures: await s.batches.records.dispositionSignatures(b, trx) };
  });
  const anchor =
    action === 'review'
      ? undefined
      : () => s.anchors.anchorDisposition(batch.id, `batch ${batch.number} ${batch.status}`);
  return { batch, signatures, anchor };
}

/**
 * The record's head once its history replayed and matched it — what a review or release is then tied to; for a
 * batch whose history was never archived and is gone from Temporal, the head of the record a closed, signed
 * deviation of category `history-unavailable` covers, standing in for the investigation.
 */
async function investigatedRecordHead(s: Services, batch: BatchRecord): Promise<string | null> {
  let investigation;
  try {
    investigation = await s.batches.investigations.investigate(batch);
  } catch (err) {
    if (err instanceof Problem && err.slug === 'history-unavailable') {
      const exception = await s.deviations.historyExceptionOf(s.db, batch.id);
      if (exception.valid) {
        // Standing in for the cross-check, the exception covers the record as QA closed it: it must still be
        // that record, whole and matching its anchors.
        const { chain } = await s.batches.records.ebr(batch.id);
        if (!chain.ok)
          throw new Problem(
            'record-mismatch',
            `batch ${batch.number}'s record is not whole or no longer matches its anchors (GET /api/batches/${batch.number}/ebr)`,
          );
        // The disposition is then tied to this record, as to an investigated one.
        return 'lastHash' in chain ? (chain.lastHash ?? null) : null;
      }
      throw new Problem(
        'history-unavailable',
        exception.stale.length > 0
          ? `${err.detail}, and its record changed after deviation ${exception.stale.map((d) => d.number).join(', ')} was closed: a closed deviation of category history-unavailable covers the record as it was when closed`
          : `${err.detail}: the record cannot be held against it (a closed deviation of category history-unavailable, signed by QA, would stand in for the investigation)`,
      );
    }
    throw err;
  }
  if (investigation.history.source !== 'archive')
    throw new Problem(
      'history-unavailable',
      'the batch’s workflow has not closed yet: its history is archived, and the record can be judged, once it has',
    );
  const verdict = replayVerdict(investigation);
  if (verdict.verdict !== 'pass') throw new Problem('record-mismatch', mismatchDetail(verdict));
  return investigation.recordHead;
}

/** Why a record fails its investigation, in a sentence. */
export function mismatchDetail(v: ReturnType<typeof replayVerdict>): string {
  if (!v.deterministic) return `its history does not replay against the workflow code: ${v.error?.message ?? ''}`;
  if (v.historyIntact === false) return 'its archived history is not the one whose SHA-256 the record holds';
  const c = v.crossCheck.counts;
  return `the record differs from its history: ${c.differs} entries differ, ${c['missing-in-record']} missing in the record, ${c['extra-in-record']} not written by the workflow (GET /api/batches/:id/cross-check)`;
}
