/** Dispensing a weighed material step at a scale: which scale the step holds, taking one, letting it go. */
import { z } from 'zod';
import { route, type RouteSpec } from '../http/route';
import { scaleSchema } from '../scales/scale-routes';
import type { Services } from '../services';

const stepParams = z.strictObject({
  id: z.string().min(1).max(64).describe('batch id or number'),
  stepId: z.string().min(1).max(64),
});

const dispensingSchema = z
  .object({
    batch: z.string(),
    stepId: z.string(),
    material: z.string(),
    target: z.object({ value: z.number(), unit: z.string() }),
    acceptance: z.object({ low: z.number(), high: z.number(), unit: z.string() }),
    scale: scaleSchema.nullable().describe('the scale held for the step, if any'),
    onScale: z
      .object({ target: z.number(), low: z.number(), high: z.number(), unit: z.string() })
      .nullable()
      .describe('target and window in the held scale’s unit, as its terminal shows them'),
  })
  .meta({ id: 'Dispensing' });

export function dispensingRoutes(s: Services): RouteSpec[] {
  const path = '/batches/:id/steps/:stepId/dispensing';
  return [
    route({
      method: 'get',
      path,
      tag: 'batches',
      summary: 'A weighed step’s dispensing',
      description: 'Its target and acceptance window, and the scale held for it (with that scale’s qualification).',
      access: 'batches.read',
      params: stepParams,
      responses: { 200: { description: 'The dispensing', schema: dispensingSchema } },
      problems: ['step-refused'],
      handler: async ({ params }) => ({
        body: await s.batches.dispensing.view(await s.batches.records.get(params.id), params.stepId),
      }),
    }),
    route({
      method: 'post',
      path,
      tag: 'batches',
      summary: 'Begin a dispensing at a scale',
      description:
        'Holds a scale for the weighed step, which must await its input: `scale` if named, else the free, usable scale with the smallest capacity that covers the step’s acceptance window. A scale whose calibration ran out, whose daily check is missing or failed, whose range does not suit, or which another step’s dispensing holds is refused (409 `scale-unusable`, each reason listed). The step’s target is shown on the scale’s terminal. Audited.',
      access: 'batches.execute',
      reason: 'optional',
      params: stepParams,
      body: z.strictObject({ scale: z.string().min(1).max(64).optional() }),
      responses: { 200: { description: 'The dispensing, with its scale', schema: dispensingSchema } },
      problems: ['step-refused', 'step-not-awaited', 'scale-unusable'],
      handler: async ({ params, body, change }) => {
        const ctx = change();
        const batch = await s.batches.dispensing.batch(ctx.trx, params.id);
        const began = await s.batches.dispensing.begin(ctx, batch, params.stepId, body.scale);
        return { body: began.view, afterCommit: () => s.batches.dispensing.showOnTerminals(began) };
      },
    }),
    route({
      method: 'get',
      path: '/batches/:id/steps/:stepId/label.pdf',
      tag: 'batches',
      summary: 'The label of a dispensed container',
      description:
        'A 100 × 70 mm PDF for the container the step’s latest weighing filled: material, source lot, net weight, batch, step, container, scale (or manual weighing), who dispensed it and when, and a GS1 DataMatrix of the dispensing’s reference (AI 91: batch/step/container), the source lot (AI 92) and the net weight (AI 93) — company-internal AIs, as Ampoule’s materials carry no GTIN. 404 before the step is weighed.',
      access: 'batches.read',
      params: stepParams,
      responses: { 200: { description: 'The label', contentType: 'application/pdf' } },
      problems: ['step-refused'],
      handler: async ({ params }) => {
        const batch = await s.batches.records.get(params.id);
        return {
          text: { contentType: 'application/pdf', content: await s.batches.dispensing.label(batch, params.stepId) },
        };
      },
    }),
    route({
      method: 'delete',
      path,
      tag: 'batches',
      summary: 'Let the step’s scale go',
      description: 'The scale is free for other dispensings (a completion lets it go by itself). Audited.',
      access: 'batches.execute',
      reason: 'optional',
      params: stepParams,
      responses: { 200: { description: 'The dispensing, without a scale', schema: dispensingSchema } },
      problems: ['step-refused'],
      handler: async ({ params, change }) => {
        const ctx = change();
        const batch = await s.batches.dispensing.batch(ctx.trx, params.id);
        await s.batches.dispensing.end(ctx, batch, params.stepId);
        return { body: await s.batches.dispensing.view(batch, params.stepId, ctx.trx) };
      },
    }),
  ];
}
