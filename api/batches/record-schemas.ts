/**
 * The shapes of what the batch record, its review and its investigation answer, for the OpenAPI document (and the
 * test harness, which holds every answer in the suite against them). The entries' `data` is the workflow's, by
 * kind: documented as an object, not field by field.
 */
import { z } from 'zod';
import { signatureManifestationSchema } from '../signatures/signature-service';
import { batchHeaderSchema } from './record-service';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

const ebrAnchorsSchema = z
  .object({
    checked: z.int(),
    unverifiable: z.int(),
    firstMismatch: z.object({}).loose().optional(),
  })
  .loose()
  .describe('the record’s chain against the heads anchored outside the database');

const chainSchema = z.union([
  z.object({ ok: z.boolean(), entries: z.int(), lastHash: z.string().nullable(), anchors: ebrAnchorsSchema }),
  z.object({
    ok: z.literal(false),
    firstBreak: z.object({}).loose().describe('the first entry whose hash or link does not hold'),
    anchors: ebrAnchorsSchema,
  }),
]);

export const ebrEntrySchema = z
  .object({
    batchId: z.uuid(),
    seq: z.int(),
    entryKey: z.string(),
    kind: z.string(),
    stepId: z.string().nullable(),
    data: z.unknown().describe('what the workflow recorded, by kind'),
    workflowId: z.string(),
    runId: z.string(),
    eventId: z.int().describe('the workflow history event the entry was decided in'),
    occurredAt: z.iso.datetime(),
    userId: z.uuid().nullable(),
    userName: z.string().nullable(),
    signatureId: z.uuid().nullable(),
    signature: signatureManifestationSchema.nullable(),
    prevHash: z.string(),
    hash: z.string(),
    recordedAt: z.iso.datetime(),
  })
  .meta({ id: 'EbrEntry' });

export const ebrSchema = z.object({ batch: batchHeaderSchema, chain: chainSchema, entries: z.array(ebrEntrySchema) });

const entryVerdict = z.enum(['match', 'missing-in-record', 'extra-in-record', 'differs']);
const entryCheckSchema = z.object({
  entryKey: z.string(),
  seq: z.int().nullable(),
  stepId: z.string().nullable(),
  kind: z.string(),
  verdict: entryVerdict,
  fields: z.array(z.string()).optional().describe('for `differs`: the fields that disagree'),
});
const counts = z.record(entryVerdict, z.int());

export const crossCheckSchema = z.object({
  verdict: z.enum(['match', 'mismatch']),
  counts,
  entries: z.array(entryCheckSchema),
  steps: z.array(
    z.object({
      stepId: z.string().nullable().describe('null: entries of the batch as a whole'),
      verdict: entryVerdict,
      entries: z.int(),
      mismatches: z.int(),
    }),
  ),
  deterministic: z.boolean(),
  historyIntact: z.boolean().nullable(),
  historySha256: sha256,
});

export const replayVerdictSchema = z
  .object({
    verdict: z.enum(['pass', 'fail']),
    deterministic: z.boolean().describe('the workflow code reproduces the history'),
    error: z.object({ name: z.string(), message: z.string() }).optional(),
    historySha256: sha256,
    bundleSha256: sha256.describe('the workflow code that judged'),
    events: z.int(),
    durationMs: z.number(),
    source: z.enum(['archive', 'temporal', 'file']),
    historyIntact: z
      .boolean()
      .nullable()
      .describe('the archived history still has the SHA-256 the record holds (null: not archived yet)'),
    runs: z.array(z.object({ runId: z.string(), events: z.int(), sha256 })),
    crossCheck: z.object({ verdict: z.enum(['match', 'mismatch']), counts, mismatches: z.array(entryCheckSchema) }),
  })
  .meta({ id: 'ReplayVerdict' });

export const impactSchema = z.object({
  batches: z.array(
    z.object({
      number: z.string(),
      status: z.string(),
      recipe: z.object({ code: z.string(), version: z.int() }),
      product: z.string(),
      startedAt: z.iso.datetime().nullable(),
      endedAt: z.iso.datetime().nullable(),
      shares: z.array(z.enum(['lot', 'unit', 'recipeVersion', 'operator'])),
    }),
  ),
  truncated: z.boolean(),
});

/** An exception of the review: its entry's place in the record and what the workflow recorded. */
const exception = z.object({ seq: z.int(), stepId: z.string().nullable().optional() }).loose();

export const reviewReportSchema = z.object({
  batch: batchHeaderSchema,
  chain: chainSchema,
  deviations: z.array(exception),
  failedSteps: z.array(exception),
  commands: z.array(exception),
  comments: z.array(exception),
  lateEntries: z.array(exception),
  interruptedPhases: z.array(exception),
  yield: exception.nullable(),
  auditTrail: z.object({ entries: z.int() }),
  deviationRecords: z.array(z.object({}).loose()).describe('each deviation as a record with its state (Deviation)'),
  investigation: z
    .union([replayVerdictSchema, z.object({ unavailable: z.string() })])
    .optional()
    .describe('for QA: the history replayed and the record held against it'),
});

export const dispositionSchema = batchHeaderSchema.extend({
  signatures: z.array(signatureManifestationSchema).describe('QA’s signatures on the batch, oldest first'),
});
