/** Deviations under `/api/deviations`: raised, taken up, investigated, submitted, returned, closed (signed). */
import type { Knex } from 'knex';
import { z } from 'zod';
import { DEVIATION_CATEGORIES, DEVIATION_STATES, SEVERITIES } from '../../domain/batch/deviations';
import { decodeCursor, listOf, listQuery, pageOfKeyset } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { signatureManifestationSchema } from '../signatures/signature-service';

const deviationParams = z.strictObject({
  id: z.string().min(1).max(80).describe('deviation id or number (B2026-00001-D01)'),
});
const text = (max: number) => z.string().trim().min(1).max(max);
const findings = {
  rootCause: text(5000).optional(),
  correctiveAction: text(5000).optional(),
  preventiveAction: text(5000).optional(),
};

const deviationSchema = z
  .object({
    id: z.uuid(),
    number: z.string(),
    batchId: z.uuid(),
    batchNumber: z.string(),
    stepId: z.string().nullable(),
    category: z.enum(DEVIATION_CATEGORIES),
    sourceEntryKey: z.string().nullable().describe('the batch record entry that raised it; null when a person did'),
    runId: z.string().nullable(),
    eventId: z.int().nullable().describe('the workflow history event that caused it (with runId)'),
    unitCode: z.string().nullable(),
    lots: z.array(z.object({ lotId: z.uuid(), lotNumber: z.string() })),
    details: z.record(z.string(), z.unknown()).describe('what was found against its limits'),
    title: z.string(),
    description: z.string().nullable(),
    severity: z.enum(SEVERITIES).nullable().describe('set when QA takes it up'),
    state: z.enum(DEVIATION_STATES),
    rootCause: z.string().nullable(),
    correctiveAction: z.string().nullable(),
    preventiveAction: z.string().nullable(),
    raisedBy: z.uuid().nullable(),
    raisedAt: z.iso.datetime(),
    submittedBy: z.uuid().nullable(),
    submittedAt: z.iso.datetime().nullable(),
    closedBy: z.uuid().nullable(),
    closedAt: z.iso.datetime().nullable(),
    closeSignature: signatureManifestationSchema.nullable().describe('the manifestation of QA’s closing signature'),
    updatedAt: z.iso.datetime(),
    rowVersion: z.int(),
  })
  .meta({ id: 'Deviation' });

export function deviationRoutes(s: Services): RouteSpec[] {
  const lockDeviation = {
    lock: async (params: Record<string, unknown>, trx: Knex.Transaction) =>
      (await s.stores.deviations.find(trx, params.id as string, true))?.rowVersion,
  };
  const one = { 200: { description: 'The deviation, with its new `ETag`', schema: deviationSchema } };
  return [
    route({
      method: 'get',
      path: '/deviations',
      tag: 'deviations',
      summary: 'List deviations',
      description: 'In number order (batch, then its count), a page at a time (`next` goes back as `cursor`).',
      access: 'deviations.read',
      query: z.strictObject({
        batch: z.string().max(64).optional().describe('batch id or number'),
        state: z.enum(DEVIATION_STATES).optional(),
        severity: z.enum(SEVERITIES).optional(),
        open: z.enum(['true']).optional().describe('only those not closed'),
        ...listQuery(),
      }),
      responses: { 200: { description: 'Deviations', schema: listOf(deviationSchema) } },
      handler: async ({ query }) => {
        const { cursor, ...q } = query;
        const after = decodeCursor(cursor, z.object({ number: z.string() }))?.number;
        const rows = await s.deviations.list({ ...q, after, limit: q.limit + 1, open: q.open === 'true' });
        return { body: pageOfKeyset(rows, q.limit, (d) => ({ number: d.number })) };
      },
    }),
    route({
      method: 'get',
      path: '/deviations/:id',
      tag: 'deviations',
      summary: 'One deviation',
      access: 'deviations.read',
      params: deviationParams,
      responses: {
        200: { description: 'The deviation; its `ETag` is what a change sends as `If-Match`', schema: deviationSchema },
      },
      versioned: {},
      handler: async ({ params }) => ({ body: await s.deviations.get(params.id) }),
    }),
    route({
      method: 'post',
      path: '/deviations',
      tag: 'deviations',
      summary: 'Raise a deviation',
      description:
        'A deviation the batch record cannot see (`reported`: an observation on the floor), by an operator or QA; or, by QA, for a batch whose workflow history was never archived and is gone from Temporal (`history-unavailable`): closed and signed, it stands in for the investigation at review and release. Limit excursions are raised by the batch record itself.',
      access: 'deviations.raise',
      reason: 'optional',
      body: z.strictObject({
        batch: z.string().min(1).max(64).describe('batch id or number'),
        step: z.string().min(1).max(64).optional(),
        category: z.enum(['reported', 'history-unavailable']).default('reported'),
        title: text(500),
        description: text(5000).optional(),
        severity: z.enum(SEVERITIES).optional(),
      }),
      responses: { 201: { description: 'The deviation, Open', schema: deviationSchema } },
      problems: ['unprocessable', 'forbidden', 'invalid-transition', 'history-unavailable', 'temporal-unavailable'],
      // Its own transaction, after checking (for a history-unavailable deviation) that the history is gone.
      transaction: false,
      location: (d: { number: string }) => `/deviations/${encodeURIComponent(d.number)}`,
      handler: async ({ body, actor, station, reason }) => ({
        status: 201,
        body: await s.deviations.raise({ actor: actor!, station, reason }, body),
      }),
    }),
    route({
      method: 'patch',
      path: '/deviations/:id',
      tag: 'deviations',
      summary: 'Change a deviation’s findings',
      description:
        'Its description, severity, root cause, corrective and preventive action — while it is Open or Under investigation.',
      access: 'deviations.investigate',
      reason: 'required',
      params: deviationParams,
      body: z.strictObject({ description: text(5000), severity: z.enum(SEVERITIES), ...findings }).partial(),
      responses: one,
      problems: ['invalid-transition', 'unprocessable', 'precondition-failed'],
      versioned: lockDeviation,
      handler: async ({ params, body, change }) => ({ body: await s.deviations.change(change(), params.id, body) }),
    }),
    route({
      method: 'post',
      path: '/deviations/:id/investigate',
      tag: 'deviations',
      summary: 'Take a deviation up (Open → Under investigation)',
      description: 'QA classifies it: a severity (minor, major, critical) is needed, given here or before.',
      access: 'deviations.investigate',
      reason: 'optional',
      params: deviationParams,
      body: z.strictObject({ severity: z.enum(SEVERITIES).optional() }),
      responses: one,
      problems: ['invalid-transition', 'unprocessable', 'precondition-failed'],
      versioned: lockDeviation,
      handler: async ({ params, body, change, actor }) => ({
        body: await s.deviations.move({ ...change(), actor: actor! }, params.id, 'investigate', body),
      }),
    }),
    route({
      method: 'post',
      path: '/deviations/:id/submit',
      tag: 'deviations',
      summary: 'Submit a deviation for approval (Under investigation → Pending approval)',
      description: 'With its severity, root cause, corrective and preventive action, given here or before.',
      access: 'deviations.investigate',
      reason: 'optional',
      params: deviationParams,
      body: z.strictObject(findings),
      responses: one,
      problems: ['invalid-transition', 'unprocessable', 'precondition-failed'],
      versioned: lockDeviation,
      handler: async ({ params, body, change, actor }) => ({
        body: await s.deviations.move({ ...change(), actor: actor! }, params.id, 'submit', body),
      }),
    }),
    route({
      method: 'post',
      path: '/deviations/:id/return',
      tag: 'deviations',
      summary: 'Return a deviation to its investigation (Pending approval → Under investigation)',
      access: 'deviations.approve',
      reason: 'required',
      params: deviationParams,
      responses: one,
      problems: ['invalid-transition', 'precondition-failed'],
      versioned: lockDeviation,
      handler: async ({ params, change, actor }) => ({
        body: await s.deviations.move({ ...change(), actor: actor! }, params.id, 'return'),
      }),
    }),
    route({
      method: 'post',
      path: '/deviations/:id/close',
      tag: 'deviations',
      summary: 'Close a deviation (Pending approval → Closed)',
      description:
        'QA signs **approved** the deviation as it stands (its findings and what raised it), never whoever submitted it for approval. A closed deviation is final.',
      access: 'deviations.approve',
      reason: 'optional',
      signature: { meaning: 'approved', roles: ['qa'] },
      params: deviationParams,
      responses: one,
      problems: ['invalid-transition', 'segregation-of-duties', 'precondition-failed'],
      versioned: lockDeviation,
      handler: async ({ params, signer, change }) => ({
        body: await s.deviations.close(change(), signer!, params.id),
      }),
    }),
  ];
}
