/**
 * QA's review by exception and the disposition (review, release, reject), through the same flow as the API's; and
 * the investigation of a batch (its history replayed, the record held against it, the timeline by step).
 */
import type { Request, Router } from 'express';
import { disposeBatch, mismatchDetail } from '../../api/batches/disposition-flow';
import { replayAuditEntry, replayVerdict } from '../../api/batches/investigation-service';
import { Problem } from '../../api/http/problems';
import { stationOf } from '../../api/http/station';
import { historyTimeline, type HistoryJsonEvent } from '../../domain/batch/history-timeline';
import { errorPage } from '../layout';
import { investigationPage } from '../pages/investigation';
import { reviewPage, type ReviewView } from '../pages/review';
import type { Form, PageKit } from '../page-kit';

export function reviewRoutes(router: Router, k: PageKit): void {
  const { s } = k;
  const reviewView = async (req: Request, extra: { problem?: string; done?: string } = {}) => {
    const batch = await s.batches.records.get(String(req.params.batch));
    let investigation: ReviewView['investigation'];
    if (k.may(req, 'batches.investigate'))
      try {
        const v = replayVerdict(await s.batches.investigations.investigate(batch));
        investigation = {
          verdict: v.verdict,
          text:
            v.verdict === 'pass'
              ? `the archived history replays against this Ampoule’s workflow code, and the record matches it entry for entry (${v.crossCheck.counts.match} entries).`
              : mismatchDetail(v),
        };
      } catch (err) {
        // As the API's review does: the page still shows what there is (the failure is logged).
        if (!(err instanceof Problem)) req.log?.error({ err }, 'the investigation of a batch for its review failed');
        investigation = {
          unavailable: err instanceof Problem ? (err.detail ?? err.title) : 'the investigation failed (see the log)',
        };
      }
    return reviewPage(k.context(req), {
      report: await s.batches.records.reviewReport(batch.number),
      status: batch.status,
      deviations: await s.deviations.list({ batch: batch.id, limit: 1000 }),
      investigation,
      signatures: await s.batches.records.dispositionSignatures(batch),
      mayDispose: k.may(req, 'batches.disposition'),
      ...extra,
    });
  };
  router.get('/batches/:batch/review', k.requireLogin, k.requirePermission('batches.read'), async (req, res) => {
    const batch = req.query.disposed ? await s.batches.records.get(String(req.params.batch)) : undefined;
    return k.html(res, await reviewView(req, batch ? { done: `Batch ${batch.number} is ${batch.status}.` } : {}));
  });
  router.get(
    '/batches/:batch/investigation',
    k.requireLogin,
    k.requirePermission('batches.investigate'),
    // Each look replays the history (costly) and is audited: limited per user as signing is.
    k.signLimiter,
    async (req, res) => {
      const batch = await s.batches.records.get(String(req.params.batch));
      const investigation = await s.batches.investigations.investigate(batch);
      const verdict = replayVerdict(investigation);
      // As the API's replay: who judged the batch, when, and what the verdict was, is in the audit trail.
      await s.db.transaction((trx) =>
        s.audit.record(
          { trx, actor: req.actor!, station: stationOf(req), reason: null },
          replayAuditEntry(batch, verdict),
        ),
      );
      const runs = investigation.history.runs.map((r) => ({
        runNo: r.runNo,
        runId: r.runId,
        ...historyTimeline((JSON.parse(r.json) as { events: HistoryJsonEvent[] }).events),
      }));
      return k.html(
        res,
        investigationPage(k.context(req), {
          batch,
          verdict,
          runs,
          steps: investigation.crossCheck.steps,
          deviations: await s.deviations.list({ batch: batch.id, limit: 1000 }),
        }),
      );
    },
  );
  router.post('/batches/:batch/:action', k.requireLogin, k.signLimiter, k.requireCsrf, async (req, res, next) => {
    const action = req.params.action;
    if (action !== 'review' && action !== 'release' && action !== 'reject') return next();
    if (!k.may(req, 'batches.disposition'))
      return k.html(res, errorPage('None of your roles may do this (batches.disposition).'), 403);
    const form = req.body as Form;
    const meaning = ({ review: 'reviewed', release: 'released', reject: 'rejected' } as const)[action];
    try {
      if (action === 'review' && form.auditTrailReviewed !== 'yes')
        throw new Problem('unprocessable', 'a review affirms that the batch’s audit trail was reviewed');
      const reason = k.reasonOf(form.reason);
      if (action === 'reject' && !reason) throw new Problem('reason-required', 'a rejection needs a reason');
      const station = stationOf(req);
      const signer = await s.signatures.verify(
        req.actor!,
        k.signatureOf(req, form, meaning),
        { meaning, roles: ['qa'] },
        station,
      );
      const { batch, anchor } = await disposeBatch(
        s,
        { actor: req.actor!, station, reason },
        signer,
        String(req.params.batch),
        action,
      );
      await anchor?.().catch((err: unknown) => req.log?.error({ err }, 'anchoring a final batch record failed'));
      // Post/Redirect/Get: a reload does not sign again.
      return res.redirect(303, `/batches/${encodeURIComponent(batch.number)}/review?disposed=1`);
    } catch (err) {
      if (!(err instanceof Problem)) throw err;
      return k.html(res, await reviewView(req, { problem: await k.refusal(req, err) }), err.status);
    }
  });
}
