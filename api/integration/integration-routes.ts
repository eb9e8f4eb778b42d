/** Enterprise integration under `/api/integration`: ISA-95 documents (B2MML V0600) from and to the ERP. */
import type { RouteSpec } from '../http/route';
import { route } from '../http/route';
import type { Services } from '../services';
import { z } from 'zod';
import { Problem } from '../http/problems';
import {
  B2MML_NS,
  acknowledgeProductionSchedule,
  productionPerformance,
  readProductionSchedule,
  schemaRefusal,
} from './b2mml';
import { mesaSchemaErrors } from './mesa-schemas';
import { batchProductionRecord } from './batchml';

/** A batch whose record QA has dispositioned: final, and what a BatchML batch production record exports. */
const DISPOSITIONED = new Set(['released', 'rejected']);

export function integrationRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/batches/:id/b2mml/production-performance',
      tag: 'integration',
      summary: 'A batch’s B2MML ProductionPerformance: what it made and used, for the ERP',
      description: `The batch’s ProductionResponse (ProductionPerformance, B2MML V0600): the production order it answers (\`ProductionRequestID\`), its start and end, its state (ISA-95 V0600 words: Ready, Running, Holding, Completed, Aborted; a stopped batch as Other with OtherValue), and each lot it produced and consumed with the quantity as the lots’ ledgers hold it, in the ERP’s unit codes (README: Integration). Namespace ${B2MML_NS}.`,
      access: 'batches.read',
      params: z.strictObject({ id: z.string().min(1).max(64).describe('batch id or number') }),
      responses: { 200: { description: 'The ProductionPerformance', contentType: 'application/xml' } },
      handler: async ({ params }) => {
        const batch = await s.batches.records.get(params.id);
        const order = batch.orderId ? await s.stores.orders.byId(s.db, batch.orderId) : undefined;
        const movements = await s.stores.lots.movementsOfBatch(s.db, batch.number);
        const of = (kind: 'consumption' | 'production') =>
          movements.filter((m) => m.kind === kind).map(({ kind: _, ...m }) => m);
        return {
          text: {
            contentType: 'application/xml; charset=utf-8',
            content: productionPerformance(
              {
                batch: batch.number,
                order: order?.number ?? null,
                unitProcedure: Object.keys(batch.units).join(' ') || batch.recipeCode,
                status: batch.status,
                startedAt: batch.startedAt,
                endedAt: batch.endedAt,
                produced: of('production'),
                consumed: of('consumption'),
              },
              new Date(),
            ),
          },
        };
      },
    }),
    route({
      method: 'get',
      path: '/batches/:id/batchml',
      tag: 'integration',
      summary: 'A released batch’s record as a BatchML BatchProductionRecord',
      description: `The batch record QA released (or rejected) as a BatchML \`BatchProductionRecord\` (ISA-88.00.04, B2MML V0600 namespace ${B2MML_NS}): each record entry an \`Event\` in the record’s order (time, step as unit procedure/operation/step, unit, values with their UCUM units, who), each signature a \`PersonnelIdentificationManifest\` naming the entry or record it signs and the SHA-256 it signs, each sample’s results a \`Sample\` with its tests against their limits; the record’s chain head in its Description. Before QA’s disposition the record is not final: 409; a record whose hash chain or anchors do not hold is not exported: 409 \`record-broken\`. Valid against MESA’s V0600 schema.`,
      access: 'batches.read',
      params: z.strictObject({ id: z.string().min(1).max(64).describe('batch id or number') }),
      responses: { 200: { description: 'The BatchProductionRecord', contentType: 'application/xml' } },
      problems: ['invalid-transition', 'record-broken'],
      handler: async ({ params }) => {
        const batch = await s.batches.records.get(params.id);
        if (!DISPOSITIONED.has(batch.status))
          throw new Problem(
            'invalid-transition',
            `batch ${batch.number} is ${batch.status}: its record is exported as BatchML once QA has released (or rejected) it`,
          );
        const ebr = await s.batches.records.ebr(batch.number);
        // A record changed behind Ampoule's back is not sent on as if it were the released one.
        if (!ebr.chain.ok)
          throw new Problem(
            'record-broken',
            `batch ${batch.number}'s record is not intact (its hash chain or its anchors): it is not exported as it stands`,
          );
        return {
          text: {
            contentType: 'application/xml; charset=utf-8',
            content: batchProductionRecord(
              {
                batch,
                entries: ebr.entries,
                dispositions: await s.batches.records.dispositionSignatures(batch),
                recordHead: ebr.entries[ebr.entries.length - 1]?.hash ?? null,
              },
              new Date(),
            ),
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/integration/b2mml',
      tag: 'integration',
      summary: 'Receive a B2MML ProcessProductionSchedule: production orders from the ERP',
      description: `Each \`ProductionRequest\` becomes a planned production order (as \`POST /api/orders\` creates one, source \`b2mml\`): its \`ID\` the order number, \`ProductProductionRuleID\` the recipe, \`StartTime\`/\`EndTime\` the requested window, its one \`MaterialProducedRequirement\` the product and quantity, each \`MaterialConsumedRequirement\` a required material. Units are ERP codes mapped to UCUM by Ampoule's table (README: Integration); one not in it is refused, never guessed. All the orders or none: a problem (\`invalid-document\`, or the order's own) names where in the document, as \`xpath\`. Answered with an \`AcknowledgeProductionSchedule\`. Validated against Ampoule's schema of what it reads (XPaths), then against MESA's B2MML V0600 XSD (\`xpath\` as \`//Element\`, with its \`line\`). Namespace ${B2MML_NS}.`,
      access: 'orders.plan',
      xmlBody: { description: `A ProcessProductionSchedule in the B2MML V0600 namespace (${B2MML_NS})` },
      responses: {
        200: { description: 'The AcknowledgeProductionSchedule', contentType: 'application/xml' },
      },
      problems: ['invalid-document', 'code-taken', 'unprocessable'],
      // Validated before the change's transaction: MESA's schema takes a moment, and holds no connection meanwhile.
      transaction: false,
      handler: async ({ xml, actor, station }) => {
        // What Ampoule reads, where it reads it (precise XPaths); then all of it against MESA's schema.
        const doc = readProductionSchedule(xml!);
        const schemaErrors = await mesaSchemaErrors(xml!, 'B2MML-V0600-ProductionSchedule.xsd');
        if (schemaErrors.length > 0) throw schemaRefusal(schemaErrors);
        const orders = await s.db.transaction((trx) =>
          s.orders.importSchedule(
            {
              trx,
              actor: actor!,
              station,
              reason: `B2MML ProcessProductionSchedule ${doc.scheduleId ?? '(no ID)'} from the ERP`,
            },
            doc,
          ),
        );
        return {
          text: {
            contentType: 'application/xml; charset=utf-8',
            content: acknowledgeProductionSchedule(doc, orders, new Date()),
          },
        };
      },
    }),
  ];
}
