/** Batches per the API contract: launch, state, commands, operator steps, the work queue, the record, and QA's disposition. */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { signatureInputSchema, signatureManifestationSchema } from '../signatures/signature-service';
import { decodeCursor, listOf, listQuery, pageOfAll, pageOfKeyset } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import { ServerTiming } from '../http/server-timing';
import type { Services } from '../services';
import { Problem, notFound } from '../http/problems';
import { rolesGrant } from '../auth/permissions';
import { renderEbrPdf, type RecordInvestigation } from './ebr-pdf';
import { disposeBatch } from './disposition-flow';
import { readablePayloads } from './history-json';
import { replayAuditEntry, replayVerdict } from './investigation-service';
import { batchHeaderSchema, header } from './record-service';
import {
  crossCheckSchema,
  dispositionSchema,
  ebrSchema,
  impactSchema,
  replayVerdictSchema,
  reviewReportSchema,
} from './record-schemas';

const batchParams = z.strictObject({ id: z.string().min(1).max(64).describe('batch id or number') });
const stepParams = batchParams.extend({ stepId: z.string().min(1).max(64) });
const fieldValue = z.union([z.number(), z.string().max(5000), z.boolean()]);

const STEP_STATUSES = [
  'pending',
  'active',
  'awaiting-input',
  'awaiting-verification',
  'done',
  'failed',
  'cancelled',
] as const;

/** A step as the live state shows it. */
const liveStepSchema = z
  .object({
    id: z.string(),
    number: z.int(),
    name: z.string(),
    kind: z.string(),
    unitProcedureId: z.string(),
    status: z.enum(STEP_STATUSES),
    awaiting: z
      .object({ what: z.enum(['input', 'verification']), roles: z.array(z.string()), notBy: z.string().optional() })
      .optional(),
    equipmentState: z.string().optional(),
    equipment: z
      .object({
        unit: z.string(),
        phase: z.string(),
        state: z.string(),
        commandId: z.string().nullable(),
        since: z.iso.datetime(),
      })
      .optional()
      .describe('an active equipment phase’s state as its controller last reported it'),
    equipmentProblem: z
      .object({ message: z.string(), attempt: z.int() })
      .optional()
      .describe('why its equipment phase is being retried, and the attempt under way'),
    performedBy: z.string().optional(),
  })
  .meta({ id: 'LiveStep' });

/** What a completion or verification did: the step's status, the deviations it raised, and the signature. */
const stepOutcomeSchema = z
  .object({
    stepId: z.string(),
    status: z.enum(STEP_STATUSES),
    deviations: z.array(
      z.object({
        stepId: z.string(),
        field: z.string(),
        value: z.number().nullable(),
        unit: z.string(),
        low: z.number().optional(),
        high: z.number().optional(),
        comment: z.string().nullable(),
        source: z.enum(['operator', 'equipment']),
      }),
    ),
    signatureEntry: z.int(),
    signature: signatureManifestationSchema.nullable(),
  })
  .meta({ id: 'StepOutcome' });

/** A step waiting for the caller (the work queue). */
const workQueueItemSchema = z
  .object({
    batch: z.string(),
    batchStatus: z.string(),
    recipe: z.string(),
    product: z.string(),
    stepId: z.string(),
    number: z.int(),
    name: z.string(),
    kind: z.string(),
    awaiting: z.enum(['input', 'verification']),
    unit: z.string().nullable().describe('the equipment unit of its unit procedure'),
    roles: z.array(z.string()),
    since: z.iso.datetime(),
  })
  .meta({ id: 'WorkQueueItem' });

export function batchRoutes(s: Services): RouteSpec[] {
  /**
   * The record held against its history, for the PDF's cover: for QA, what a review would find (the replay and the
   * cross-check), or why it cannot; for others, only the archived history's SHA-256 — a replay is QA's, and costs.
   */
  const recordInvestigation = async (
    batch: Awaited<ReturnType<Services['batches']['records']['get']>>,
    forQa: boolean,
    onError: (err: unknown) => void,
  ): Promise<RecordInvestigation> => {
    if (!forQa) {
      const runs = await s.stores.histories.runs(s.db, batch.id);
      if (runs.length === 0)
        return { available: false, reason: 'not archived yet (the replay and cross-check are QA’s)' };
      return {
        available: true,
        source: 'archive',
        runs: runs.map((r) => ({ runId: r.runId, events: r.events, sha256: r.sha256 })),
        historyIntact: null,
      };
    }
    try {
      const v = replayVerdict(await s.batches.investigations.investigate(batch));
      return {
        available: true,
        source: v.source,
        runs: v.runs,
        historyIntact: v.historyIntact,
        verdicts: {
          deterministic: v.deterministic,
          ...(v.error ? { error: v.error.message } : {}),
          crossCheck: { verdict: v.crossCheck.verdict, counts: v.crossCheck.counts },
        },
      };
    } catch (err) {
      // A GMP document carries no stack's words: an unexpected failure is logged, and named as such.
      if (!(err instanceof Problem)) onError(err);
      const reason = err instanceof Problem ? (err.detail ?? err.title) : 'the investigation failed (see the log)';
      const { valid } = await s.deviations.historyExceptionOf(s.db, batch.id);
      return { available: false, reason, ...(valid ? { exception: valid.number } : {}) };
    }
  };
  const disposition = (
    action: 'review' | 'release' | 'reject',
    meaning: 'reviewed' | 'released' | 'rejected',
    summary: string,
    description: string,
  ) =>
    route({
      method: 'post',
      path: `/batches/:id/${action}`,
      tag: 'batches',
      summary,
      description,
      access: 'batches.disposition',
      reason: action === 'reject' ? 'required' : 'optional',
      signature: { meaning, roles: ['qa'] },
      params: batchParams,
      body:
        action === 'review'
          ? z.strictObject({
              auditTrailReviewed: z.literal(true).describe('the reviewer affirms the batch’s audit trail was reviewed'),
            })
          : undefined,
      responses: {
        200: {
          description: 'The batch, with the manifestations of QA’s signatures on it (printed name, UTC time, meaning)',
          schema: dispositionSchema,
        },
      },
      problems: [
        'invalid-transition',
        'segregation-of-duties',
        'record-mismatch',
        'history-unavailable',
        'deviations-open',
        'temporal-unavailable',
      ],
      // Its own transaction, after the investigation (a replay takes a moment, and reads on its own connection).
      transaction: false,
      handler: async ({ params, signer, actor, station, reason }) => {
        const { batch, signatures, anchor } = await disposeBatch(
          s,
          { actor: actor!, station, reason },
          signer!,
          params.id,
          action,
        );
        // A released or rejected record is final: its chain and the audit trail's are anchored once committed.
        const afterCommit = anchor;
        return { body: { ...header(batch), signatures }, afterCommit };
      },
    });

  return [
    route({
      method: 'post',
      path: '/batches',
      tag: 'batches',
      summary: 'Launch a batch',
      description:
        'From an Effective recipe version (by default the recipe’s effective one), scaled to the batch size. Creates the batch and starts its workflow `batch-<number>`. A number already used is refused (409); with the same Idempotency-Key a launch is answered once. With `order`, a released production order is launched: the recipe and batch size default to the order’s, the recipe must make the order’s product, and the order becomes launched, with this batch, in the same transaction.',
      access: 'batches.launch',
      reason: 'optional',
      idempotent: true,
      body: z.strictObject({
        order: z
          .string()
          .min(1)
          .max(64)
          .optional()
          .describe('a released production order (number or id): its recipe and quantity unless given'),
        recipe: z.string().min(1).max(64).optional().describe('recipe code or id (required without an order)'),
        version: z.int().min(1).optional(),
        batchSize: z.number().positive().optional().describe('required without an order'),
        unit: z.string().max(64).optional().describe('UCUM; defaults to the recipe’s batch size unit'),
        number: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
          .optional(),
        outputLotNumber: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/)
          .optional(),
        plannedStart: z.iso.datetime({ offset: true }).optional(),
        units: z.record(z.string(), z.string().max(64)).optional().describe('unit procedure id → equipment unit code'),
      }),
      responses: { 201: { description: 'The batch, its workflow started', schema: batchHeaderSchema } },
      problems: [
        'conflict',
        'invalid-transition',
        'plan-integrity',
        'batch-size-out-of-range',
        'code-taken',
        'unprocessable',
        'temporal-unavailable',
      ],
      location: (b: { number: string }) => `/batches/${encodeURIComponent(b.number)}`,
      handler: async ({ body, actor, change }) => ({
        status: 201,
        body: header(await s.batches.launch.launch({ ...change(), actor: actor! }, body)),
      }),
    }),
    route({
      method: 'get',
      path: '/batches',
      tag: 'batches',
      summary: 'List batches',
      access: 'batches.read',
      query: z.strictObject({
        status: z
          .enum(['created', 'running', 'held', 'complete', 'stopped', 'aborted', 'reviewed', 'released', 'rejected'])
          .optional(),
        ...listQuery(),
      }),
      responses: { 200: { description: 'Newest first', schema: listOf(batchHeaderSchema) } },
      handler: async ({ query }) => {
        const before = decodeCursor(query.cursor, z.object({ id: z.uuid() }));
        const rows = await s.batches.records.list({ status: query.status, limit: query.limit + 1, before });
        const page = pageOfKeyset(rows, query.limit, (b) => ({ id: b.id }));
        return { body: { items: page.items.map(header), next: page.next } };
      },
    }),
    route({
      method: 'get',
      path: '/batches/:id',
      tag: 'batches',
      summary: 'A batch and its live state',
      access: 'batches.read',
      params: batchParams,
      responses: {
        200: {
          description:
            'The batch, what each step is doing or waiting for, and QA’s signatures on it (reviewed, released, rejected) as manifestations',
          schema: batchHeaderSchema.extend({
            live: z.object({
              batchNumber: z.string(),
              status: batchHeaderSchema.shape.status,
              steps: z.array(liveStepSchema),
              deviations: z.int(),
            }),
            signatures: z.array(signatureManifestationSchema),
          }),
        },
      },
      handler: async ({ params }) => {
        const batch = await s.batches.records.get(params.id);
        return {
          body: {
            ...header(batch),
            live: await s.batches.execution.live(batch),
            signatures: await s.batches.records.dispositionSignatures(batch),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/batches/:id/steps',
      tag: 'batches',
      summary: 'The batch’s steps',
      description: 'Each step of the plan with its status, what it awaits and from whom.',
      access: 'batches.read',
      params: batchParams,
      responses: {
        200: {
          description: 'Steps in order',
          // The plan's step as compiled (its kind's own fields besides), with its live state.
          schema: z.array(
            z.looseObject({
              id: z.string(),
              number: z.int(),
              name: z.string(),
              kind: z.string(),
              live: liveStepSchema.nullable(),
            }),
          ),
        },
      },
      handler: async ({ params }) => {
        const batch = await s.batches.records.get(params.id);
        const live = await s.batches.execution.live(batch);
        return {
          body: batch.plan.steps.map((step) => ({ ...step, live: live.steps.find((x) => x.id === step.id) ?? null })),
        };
      },
    }),
    route({
      method: 'post',
      path: '/batches/:id/commands',
      tag: 'batches',
      summary: 'Hold, restart, stop or abort a batch',
      description:
        'Checked against the ISA-88 state table by the batch workflow and passed to the running equipment phases. Refused (409 `invalid-transition`) when not valid in the batch’s state (Restart while Running, Hold while Held, anything once the batch has ended). Commands sent together are carried out one after another, each checked when its turn comes.',
      access: 'batches.command',
      params: batchParams,
      transaction: false,
      body: z.strictObject({
        command: z.enum(['hold', 'restart', 'stop', 'abort']),
        reason: z.string().trim().min(1).max(2000),
      }),
      responses: {
        200: {
          description: 'The batch’s status after the command',
          schema: z.object({ status: batchHeaderSchema.shape.status }),
        },
      },
      problems: ['invalid-transition', 'temporal-unavailable'],
      handler: async ({ params, body, actor }) => ({
        body: await s.batches.execution.command(actor!, params.id, body.command, body.reason),
      }),
    }),
    route({
      method: 'post',
      path: '/batches/:id/steps/:stepId/complete',
      tag: 'batches',
      summary: 'Complete an operator step',
      description:
        'Values for the step’s fields, the lots used for a material step (quantities in the step’s unit), a comment for each value outside its limits, and an electronic signature: meaning **performed** (or the approval step’s own meaning) by a role the step allows. The workflow refuses at once what is not allowed: a step that does not await input, or a batch that is held or ended, is a conflict (409 `step-not-awaited`); a value, lot or late entry that breaks the step’s rules is 422 `step-refused`. A late entry’s `performedAt` must lie between the moment the step became ready and now.',
      access: 'batches.execute',
      transaction: false,
      rateLimit: 'sign',
      params: stepParams,
      body: z.strictObject({
        values: z.record(z.string().max(64), fieldValue).default({}),
        lots: z
          .array(
            z.strictObject({
              lot: z.string().min(1).max(64).describe('lot id or number'),
              quantity: z
                .number()
                .optional()
                .describe('in the step’s unit; none for a weighed step: the scale gives it'),
            }),
          )
          .max(50)
          .optional(),
        container: z
          .string()
          .trim()
          .min(1)
          .max(100)
          .optional()
          .describe('a weighed step: the container dispensed into, as scanned'),
        manualWeighing: z
          .strictObject({
            quantity: z.number().positive(),
            unit: z.string().min(1).max(16),
            reason: z.string().trim().min(1).max(2000),
          })
          .optional()
          .describe(
            'a weighed step whose scale is down: the weight typed, and why; the record marks it manual and the step then awaits a second person’s verification',
          ),
        deviationComments: z.record(z.string().max(64), z.string().trim().min(1).max(2000)).optional(),
        comment: z.string().trim().max(2000).optional(),
        lateEntry: z
          .strictObject({ performedAt: z.iso.datetime({ offset: true }), reason: z.string().trim().min(1).max(2000) })
          .optional()
          .describe('when the step was really performed, and why it is recorded late: the record marks it late'),
        signature: signatureInputSchema,
      }),
      responses: {
        200: {
          description:
            'The step’s outcome, its deviations and the signature’s manifestation; the `Server-Timing` header gives the re-authentication’s and the workflow Update’s durations',
          schema: stepOutcomeSchema,
        },
      },
      problems: [
        'step-not-awaited',
        'step-refused',
        'lot-unusable',
        'scale-unusable',
        'weight-not-taken',
        'equipment-unavailable',
        'temporal-unavailable',
      ],
      handler: async ({ params, body, actor, station }) => {
        const timing = new ServerTiming();
        const outcome = await s.batches.execution.complete(actor!, station, params.id, params.stepId, body, timing);
        return { body: outcome, headers: { 'Server-Timing': timing.header() } };
      },
    }),
    route({
      method: 'post',
      path: '/batches/:id/steps/:stepId/verify',
      tag: 'batches',
      summary: 'Verify a step (second person)',
      description: 'An electronic signature meaning **verified**, by someone other than the step’s performer.',
      access: 'batches.execute',
      transaction: false,
      rateLimit: 'sign',
      params: stepParams,
      body: z.strictObject({ signature: signatureInputSchema }),
      responses: {
        200: {
          description: 'The step’s outcome and the signature’s manifestation; `Server-Timing` as for completion',
          schema: stepOutcomeSchema,
        },
      },
      problems: ['step-not-awaited', 'step-refused', 'temporal-unavailable'],
      handler: async ({ params, body, actor, station }) => {
        const timing = new ServerTiming();
        const outcome = await s.batches.execution.verify(
          actor!,
          station,
          params.id,
          params.stepId,
          body.signature,
          timing,
        );
        return { body: outcome, headers: { 'Server-Timing': timing.header() } };
      },
    }),
    route({
      method: 'get',
      path: '/work-queue',
      tag: 'batches',
      summary: 'Steps waiting for me',
      description:
        'Every step of a running batch that waits for input or verification from one of the caller’s roles (not the verification of a step the caller performed).',
      access: 'authenticated',
      query: z.strictObject(listQuery(1000)),
      responses: { 200: { description: 'Oldest first', schema: listOf(workQueueItemSchema) } },
      handler: async ({ actor, query }) => ({ body: pageOfAll(await s.batches.execution.workQueue(actor!), query) }),
    }),
    route({
      method: 'get',
      path: '/batches/:id/ebr',
      tag: 'batches',
      summary: 'The electronic batch record',
      description:
        'Every entry in order, with the workflow id, run id and history event that caused it, its signature’s manifestation, and whether the hash chain is whole.',
      access: 'batches.read',
      params: batchParams,
      responses: { 200: { description: 'The record', schema: ebrSchema } },
      handler: async ({ params }) => ({ body: await s.batches.records.ebr(params.id) }),
    }),
    route({
      method: 'get',
      path: '/batches/:id/ebr.pdf',
      tag: 'batches',
      summary: 'The batch record as PDF',
      access: 'batches.read',
      params: batchParams,
      responses: { 200: { description: 'The batch record as PDF/A-2b', contentType: 'application/pdf' } },
      handler: async ({ params, res, req, actor }) => {
        const batch = await s.batches.records.get(params.id);
        const investigation = await recordInvestigation(batch, rolesGrant(actor!.roles, 'batches.investigate'), (err) =>
          req.log?.error({ err }, 'the investigation of a batch for its PDF failed'),
        );
        const record = await s.batches.records.ebr(params.id);
        // The trail as it stands, each entry in its place in the chain (entries are sealed a moment after commit).
        await s.auditSealer.sealNow();
        const deviations = await s.deviations.list({ batch: batch.id, limit: 1000 });
        const audit = (
          await Promise.all(
            // Ampoule's entries, and the database's traces of changes made outside it (named by the table).
            [
              { entityType: 'batch', entityId: batch.id },
              { entityType: 'batches', entityId: batch.id },
              ...deviations.flatMap((x) => [
                { entityType: 'deviation', entityId: x.id },
                { entityType: 'deviations', entityId: x.id },
              ]),
            ].map((q) => s.stores.audit.find(s.db, { ...q, limit: 10_000 })),
          )
        )
          .flat()
          .sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
        const signatures = await s.batches.records.dispositionSignatures(batch);
        const pdf = await renderEbrPdf({
          batch: { ...record.batch, startedAt: batch.startedAt, endedAt: batch.endedAt },
          unitInterfaces: batch.units,
          plan: batch.plan,
          chain: record.chain,
          entries: record.entries,
          audit,
          signatures,
          deviations,
          investigation,
          generatedAt: new Date(),
          generator: `Ampoule ${s.version}`,
        });
        res.setHeader('Content-Disposition', `inline; filename="batch-record-${batch.number}.pdf"`);
        return { text: { contentType: 'application/pdf', content: pdf } };
      },
    }),
    route({
      method: 'get',
      path: '/batches/:id/history',
      tag: 'investigations',
      summary: 'The batch’s workflow history',
      description:
        'One run of the batch’s workflow history (the last by default; `run` names another) in Temporal’s JSON format, the one the Temporal CLI (`temporal workflow show --output json`) and UI export and the SDKs’ replayers read — byte for byte the document archived with the record once the workflow closed, whose SHA-256 the `Ampoule-History-Sha256` header and the record’s `history-archived` entry give (`Repr-Digest` is the digest of the body sent). While the batch runs, the history comes from Temporal (`Ampoule-History-Source: temporal`). `payloads=readable` decodes JSON payloads into values (for reading; it no longer replays).',
      access: 'batches.history',
      params: batchParams,
      query: z.strictObject({
        run: z.string().min(1).max(64).optional().describe('a run id of the batch’s workflow chain'),
        payloads: z.enum(['encoded', 'readable']).default('encoded'),
      }),
      responses: {
        200: {
          description: 'temporal.api.history.v1.History as Temporal JSON',
          contentType: 'application/json',
          schema: z.object({ events: z.array(z.object({ eventId: z.string(), eventType: z.string() }).loose()) }),
        },
      },
      problems: ['history-unavailable', 'temporal-unavailable'],
      handler: async ({ params, query }) => {
        const batch = await s.batches.records.get(params.id);
        const history = await s.batches.histories.read(batch);
        const run = query.run ? history.runs.find((r) => r.runId === query.run) : history.runs[history.runs.length - 1];
        if (!run) throw notFound(`run ${query.run} of batch ${batch.number}`);
        const content = query.payloads === 'readable' ? readablePayloads(run.json) : run.json;
        return {
          text: { contentType: 'application/json', content },
          headers: {
            // The digest of what is sent; the archived document's SHA-256 (the one the record holds) apart.
            'Repr-Digest': `sha-256=:${createHash('sha256').update(content, 'utf8').digest('base64')}:`,
            'Ampoule-History-Sha256': run.sha256,
            'Ampoule-History-Source': history.source,
            'Ampoule-History-Run': `${run.runNo} of ${history.runs.length}; ${run.runId}`,
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/batches/:id/replay',
      tag: 'investigations',
      summary: 'Replay the batch’s history',
      description:
        'Replays the batch’s workflow history (from the archive once the workflow has closed) against the workflow code this Ampoule runs, and holds the batch record against the entries the replay rebuilds. `verdict` is `pass` only when the code reproduces the history (`deterministic`), the archived history still has the SHA-256 the record holds (`historyIntact`), and the record matches the history entry for entry (`crossCheck`). `bundleSha256` names the workflow code that judged. Audited.',
      access: 'batches.investigate',
      reason: 'optional',
      params: batchParams,
      transaction: false,
      responses: { 200: { description: 'The replay’s verdict', schema: replayVerdictSchema } },
      problems: ['history-unavailable', 'temporal-unavailable'],
      handler: async ({ params, actor, station, reason }) => {
        const batch = await s.batches.records.get(params.id);
        const verdict = replayVerdict(await s.batches.investigations.investigate(batch));
        await s.db.transaction((trx) =>
          s.audit.record({ trx, actor: actor!, station, reason }, replayAuditEntry(batch, verdict)),
        );
        return { body: verdict };
      },
    }),
    route({
      method: 'get',
      path: '/batches/:id/cross-check',
      tag: 'investigations',
      summary: 'The batch record against its history, entry by entry',
      description:
        'Every entry the batch’s workflow wrote, rebuilt by replaying its history, against the stored record: `match`, `missing-in-record`, `extra-in-record` or `differs` (with the fields), per entry and per step.',
      access: 'batches.investigate',
      params: batchParams,
      responses: { 200: { description: 'The cross-check', schema: crossCheckSchema } },
      problems: ['history-unavailable', 'temporal-unavailable'],
      handler: async ({ params }) => {
        const i = await s.batches.investigations.investigate(await s.batches.records.get(params.id));
        const { deterministic, historyIntact, historySha256 } = replayVerdict(i);
        return { body: { ...i.crossCheck, deterministic, historyIntact, historySha256 } };
      },
    }),
    route({
      method: 'get',
      path: '/investigations/impact',
      tag: 'investigations',
      summary: 'The other batches an investigation extends to',
      description:
        'The batches that share a lot (consumed or produced it), an equipment unit, a recipe version (`CODE:version`) or an operator (who performed, verified or signed an entry of their record) — any of those given; each says which it shares — and whose run overlaps `from`–`to`. 21 CFR 211.192: an investigation extends to other batches that may be associated with the discrepancy. Newest first.',
      access: 'batches.investigate',
      query: z.strictObject({
        lot: z.string().min(1).max(64).optional().describe('lot number or id'),
        unit: z.string().min(1).max(64).optional().describe('equipment unit code'),
        recipeVersion: z.string().min(3).max(80).optional().describe('<recipe code>:<version>'),
        operator: z.string().min(1).max(64).optional().describe('username or user id'),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
        excluding: z.string().min(1).max(64).optional().describe('the batch under investigation, left out'),
        limit: z.coerce.number().int().min(1).max(1000).default(200),
      }),
      responses: { 200: { description: 'The batches, newest first', schema: impactSchema } },
      problems: ['not-found'],
      handler: async ({ query }) => ({
        body: await s.batches.impact.impact({
          ...query,
          from: query.from ? new Date(query.from) : undefined,
          to: query.to ? new Date(query.to) : undefined,
        }),
      }),
    }),
    route({
      method: 'get',
      path: '/batches/:id/review',
      tag: 'batches',
      summary: 'The review by exception',
      description:
        'What QA must look at: deviations (and, in `deviationRecords`, each as a record with its state: a release waits until all are closed), failed steps, batch commands, comments, late entries, equipment phases interrupted (a worker or the whole process died mid-phase) and how they were taken up again, the yield against the theoretical, the record’s integrity and the size of the batch’s audit trail — and the investigation: the batch’s history replayed and the record held against it (as `POST …/replay` answers; a review or release is refused while it fails).',
      access: 'batches.read',
      params: batchParams,
      responses: { 200: { description: 'The exceptions', schema: reviewReportSchema } },
      handler: async ({ params, actor, req }) => {
        const report = {
          ...(await s.batches.records.reviewReport(params.id)),
          // Each deviation as a record with a life: a release waits until every one is closed.
          deviationRecords: await s.deviations.list({ batch: params.id, limit: 1000 }),
        };
        // For QA, the record held against its history: what a review or release will insist on.
        if (!rolesGrant(actor!.roles, 'batches.investigate')) return { body: report };
        let investigation: ReturnType<typeof replayVerdict> | { unavailable: string };
        try {
          investigation = replayVerdict(
            await s.batches.investigations.investigate(await s.batches.records.get(params.id)),
          );
        } catch (err) {
          if (!(err instanceof Problem)) req.log?.error({ err }, 'the investigation of a batch failed');
          investigation = { unavailable: (err as Error).message };
        }
        return { body: { ...report, investigation } };
      },
    }),
    disposition(
      'review',
      'reviewed',
      'Review a complete batch',
      'QA signs **reviewed**, affirming the batch’s audit trail was reviewed (`auditTrailReviewed: true`).',
    ),
    disposition(
      'release',
      'released',
      'Release a reviewed batch',
      'QA signs **released**, never someone who performed or verified a step; the output lot is released.',
    ),
    disposition(
      'reject',
      'rejected',
      'Reject a batch',
      'QA signs **rejected** with a reason, never someone who performed or verified a step; the output lot is rejected.',
    ),
  ];
}
