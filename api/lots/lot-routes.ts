/** Lots per the API contract: receipt, disposition, adjustments, the ledger, genealogy and recall impact. */
import { z } from 'zod';
import { LOT_STATUSES, signatureFor, type LotStatus } from '../../domain/materials/lots';
import { decodeCursor, listOf, listQuery, pageOfKeyset } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { signatureManifestationSchema, type SignatureRequirement } from '../signatures/signature-service';

const lotParams = z.strictObject({ id: z.string().min(1).max(64).describe('lot id or lot number') });
const isoDate = z.iso.date().describe('YYYY-MM-DD');
const amount = {
  quantity: z.number().describe('a finite number'),
  unit: z.string().min(1).max(64).describe('UCUM code'),
};

const lotSchema = z
  .object({
    id: z.uuid(),
    lotNumber: z.string(),
    materialCode: z.string(),
    unit: z.string(),
    quantity: z.number(),
    status: z.enum(LOT_STATUSES),
    effectiveStatus: z.enum(LOT_STATUSES).describe('expired once past the expiry date, whatever status says'),
    expiryDate: isoDate.nullable(),
    supplier: z.string().nullable(),
    supplierLot: z.string().nullable(),
    receivedDate: isoDate.nullable(),
    producedByBatch: z.string().nullable(),
    createdAt: z.iso.datetime(),
    createdBy: z.uuid().nullable(),
  })
  .meta({ id: 'Lot' });

/** A lot's ledger: each receipt, consumption, production and adjustment, signed quantity in the lot's unit. */
const lotTransactionSchema = z
  .object({
    id: z.int(),
    lotId: z.uuid(),
    kind: z.enum(['receipt', 'consumption', 'production', 'adjustment']),
    quantity: z.number().describe('signed: negative for a consumption'),
    enteredQuantity: z.number().describe('as entered, in enteredUnit'),
    enteredUnit: z.string(),
    batchId: z.string().nullable(),
    stepId: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    reason: z.string().nullable(),
    at: z.iso.datetime(),
    userId: z.uuid().nullable(),
    userName: z.string(),
  })
  .meta({ id: 'LotTransaction' });

const lotStatusChangeSchema = z
  .object({
    fromStatus: z.enum(LOT_STATUSES).nullable(),
    toStatus: z.enum(LOT_STATUSES),
    reason: z.string(),
    signatureId: z.uuid().nullable(),
    at: z.iso.datetime(),
    userId: z.uuid().nullable(),
    userName: z.string(),
    signature: signatureManifestationSchema.nullable().describe('release and reject are signed'),
  })
  .meta({ id: 'LotStatusChange' });

/** A quantity in a genealogy: in the lot's unit. */
const genealogyAmount = z.object({ value: z.number(), unit: z.string() });

/** What a genealogy shows of each lot it reaches. */
const genealogyLot = {
  id: z.uuid(),
  lotNumber: z.string(),
  material: z.string(),
  quantity: z.number(),
  unit: z.string(),
  status: z.enum(LOT_STATUSES),
  effectiveStatus: z.enum(LOT_STATUSES),
  repeated: z.literal(true).optional().describe('reached again: its branches are where it first appears'),
};

/** The trees' nodes, typed for their recursive schemas (a schema cannot infer its own type through itself). */
type GenealogyAmountJson = z.infer<typeof genealogyAmount>;
type GenealogyLotJson = z.infer<z.ZodObject<typeof genealogyLot>>;
interface BackwardNodeJson extends GenealogyLotJson {
  producedBy: { batchId: string; produced: GenealogyAmountJson; inputs: BackwardNodeJson[] }[];
  consumed?: GenealogyAmountJson;
}
interface ForwardNodeJson extends GenealogyLotJson {
  consumedBy: { batchId: string; consumed: GenealogyAmountJson; outputs: ForwardNodeJson[] }[];
  produced?: GenealogyAmountJson;
}

const backwardNodeSchema: z.ZodType<BackwardNodeJson> = z
  .lazy(() =>
    z.object({
      ...genealogyLot,
      producedBy: z.array(
        z.object({ batchId: z.string(), produced: genealogyAmount, inputs: z.array(backwardNodeSchema) }),
      ),
      consumed: genealogyAmount.optional().describe('what the batch above consumed of this lot (not at the root)'),
    }),
  )
  .meta({ id: 'GenealogyBackwardNode' });

const forwardNodeSchema: z.ZodType<ForwardNodeJson> = z
  .lazy(() =>
    z.object({
      ...genealogyLot,
      consumedBy: z.array(
        z.object({ batchId: z.string(), consumed: genealogyAmount, outputs: z.array(forwardNodeSchema) }),
      ),
      produced: genealogyAmount.optional().describe('what the batch above produced of this lot (not at the root)'),
    }),
  )
  .meta({ id: 'GenealogyForwardNode' });

/** A receipt, as the API and the pages take one. */
export const receiveLotSchema = z.strictObject({
  material: z.string().min(1).max(64),
  lotNumber: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/, 'expected letters, digits, dots, dashes, slashes and underscores')
    .optional(),
  ...amount,
  expiryDate: isoDate.nullable(),
  supplier: z.string().trim().min(1).max(200),
  supplierLot: z.string().trim().min(1).max(64),
  receivedDate: isoDate.optional().describe('defaults to today'),
});

/** The signature a change of a lot's status to `to` needs (release and reject: QA's), or none. */
export function lotStatusSignature(to: LotStatus): SignatureRequirement | undefined {
  const meaning = signatureFor(to);
  return meaning ? { meaning, roles: ['qa'] } : undefined;
}

export function lotRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/lots',
      tag: 'lots',
      summary: 'List lots',
      description: 'In lot-number order, a page at a time (`next` goes back as `cursor`).',
      access: 'lots.read',
      query: z.strictObject({
        material: z.string().max(64).optional(),
        status: z.enum(LOT_STATUSES).optional(),
        ...listQuery(),
      }),
      responses: { 200: { description: 'Lots', schema: listOf(lotSchema) } },
      handler: async ({ query }) => {
        const after = decodeCursor(query.cursor, z.object({ lot: z.string() }))?.lot;
        const rows = await s.lots.list({
          material: query.material,
          status: query.status,
          after,
          limit: query.limit + 1,
        });
        return { body: pageOfKeyset(rows, query.limit, (l) => ({ lot: l.lotNumber })) };
      },
    }),
    route({
      method: 'post',
      path: '/lots',
      tag: 'lots',
      summary: 'Receive a lot',
      description:
        'The lot starts in Quarantine with one receipt transaction. The quantity may be given in any unit of the material’s kind; it is kept in the material’s base unit. Without `lotNumber`, one is assigned.',
      access: 'lots.receive',
      reason: 'optional',
      idempotent: true,
      body: receiveLotSchema,
      responses: { 201: { description: 'The lot, in Quarantine', schema: lotSchema } },
      problems: ['code-taken', 'unprocessable'],
      location: (l: { id: string }) => `/lots/${l.id}`,
      handler: async ({ body, change }) => ({
        status: 201,
        body: await s.lots.receive(change(), { ...body, quantity: { value: body.quantity, unit: body.unit } }),
      }),
    }),
    route({
      method: 'get',
      path: '/lots/:id',
      tag: 'lots',
      summary: 'One lot, with its ledger and status history',
      access: 'lots.read',
      params: lotParams,
      responses: {
        200: {
          description: 'The lot',
          schema: lotSchema.extend({
            transactions: z.array(lotTransactionSchema),
            statusHistory: z.array(lotStatusChangeSchema),
          }),
        },
      },
      handler: async ({ params }) => ({ body: await s.lots.get(params.id) }),
    }),
    route({
      method: 'post',
      path: '/lots/:id/status',
      tag: 'lots',
      summary: 'Change a lot’s status (QA disposition)',
      description:
        'Quarantine → Released or Rejected; Released → Quarantine (on hold) or Rejected; any → Expired. Always with a reason.',
      access: 'lots.disposition',
      reason: 'required',
      signature: {
        when: (body) => lotStatusSignature(body.status as LotStatus),
        describe:
          'Releasing needs an electronic signature meaning **released**, rejecting one meaning **rejected**, by qa.',
      },
      params: lotParams,
      body: z.strictObject({ status: z.enum(LOT_STATUSES) }),
      responses: { 200: { description: 'The lot', schema: lotSchema } },
      problems: ['invalid-transition', 'lot-expired', 'lot-unusable', 'unprocessable'],
      handler: async ({ params, body, signer, change }) => ({
        body: await s.lots.changeStatus(change(), params.id, body.status, signer),
      }),
    }),
    route({
      method: 'post',
      path: '/lots/:id/adjustments',
      tag: 'lots',
      summary: 'Adjust a lot’s quantity',
      description: 'A signed change (negative to reduce), with a reason; a lot never goes below zero.',
      access: 'lots.adjust',
      reason: 'required',
      params: lotParams,
      body: z.strictObject(amount),
      responses: { 200: { description: 'The lot', schema: lotSchema } },
      problems: ['lot-unusable', 'unprocessable'],
      handler: async ({ params, body, change }) => ({
        body: await s.lots.adjust(change(), params.id, { value: body.quantity, unit: body.unit }),
      }),
    }),
    route({
      method: 'get',
      path: '/lots/:id/genealogy',
      tag: 'lots',
      summary: 'Genealogy of a lot',
      description:
        'Backward: the batches that produced the lot and the lots they consumed, to any depth (`producedBy[].inputs[]`). Forward: the batches that consumed it and the lots they produced (`consumedBy[].outputs[]`). Quantities in each lot’s unit. A lot reached twice is expanded once (`repeated: true` elsewhere).',
      access: 'lots.read',
      params: lotParams,
      query: z.strictObject({ direction: z.enum(['backward', 'forward']).default('backward') }),
      responses: {
        200: {
          description: 'The tree',
          schema: z.object({
            direction: z.enum(['backward', 'forward']),
            lots: z.int().describe('distinct lots in the tree, the root included'),
            batches: z.int().describe('distinct batches between them'),
            root: z.union([backwardNodeSchema, forwardNodeSchema]).describe('the tree of the direction asked'),
          }),
        },
      },
      handler: async ({ params, query }) => ({ body: await s.lots.genealogy(params.id, query.direction) }),
    }),
    route({
      method: 'get',
      path: '/lots/:id/recall-impact',
      tag: 'lots',
      summary: 'Recall impact of a lot',
      description:
        'Every lot downstream of this one, nearest first, with the batches it came through, and how many still hold material.',
      access: 'lots.read',
      params: lotParams,
      responses: {
        200: {
          description: 'The affected lots',
          schema: z.object({
            lot: z.object({ id: z.uuid(), lotNumber: z.string(), material: z.string() }),
            batches: z.array(z.string()).describe('every batch downstream of the lot'),
            affectedLots: z.array(
              z.object({
                ...genealogyLot,
                depth: z.int().min(1).describe('batches between it and the recalled lot, on the shortest way'),
                viaBatches: z.array(z.string()).describe('the batches that made it from the lots above it'),
              }),
            ),
            stillAvailable: z.int(),
          }),
        },
      },
      handler: async ({ params }) => ({ body: await s.lots.recallImpact(params.id) }),
    }),
  ];
}
