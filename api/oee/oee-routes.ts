/** OEE per ISO 22400-2 over HTTP: a unit's time elements, quantities and KPIs, by shift, day or batch. */
import { z } from 'zod';
import { Problem } from '../http/problems';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import type { OeeFigures } from '../../domain/oee/oee';

const seconds = (ms: number) => ms / 1000;

/** Figures as the API answers them: times in seconds (ISO 22400 element names), KPIs as ratios. */
function answer(f: OeeFigures & { label?: string }) {
  return {
    ...(f.label ? { label: f.label } : {}),
    from: new Date(f.from).toISOString(),
    to: new Date(f.to).toISOString(),
    time: Object.fromEntries(Object.entries(f.time).map(([k, v]) => [k, seconds(v)])),
    microStops: { count: f.microStops.count, duration: seconds(f.microStops.duration) },
    stops: f.stops.map((s) => ({
      start: new Date(s.start).toISOString(),
      end: new Date(s.end).toISOString(),
      duration: seconds(s.end - s.start),
      condition: s.condition,
    })),
    plannedRuntime: seconds(f.plannedRuntime),
    PRU: f.PRU === null ? null : seconds(f.PRU),
    quantities: f.quantities,
    batches: f.batches,
    availability: f.availability,
    effectiveness: f.effectiveness,
    qualityRatio: f.qualityRatio,
    oee: f.oee,
  };
}

export function oeeRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/oee',
      tag: 'oee',
      summary: 'OEE of a unit (ISO 22400-2)',
      description:
        'The time elements in seconds — calendar, notScheduled, POT (the shifts), PDOT (planned breaks, maintenance), PBT = POT − PDOT = APT + AUST + ADET + ADOT exactly — small stops (shorter than the unit’s micro-stop threshold: production time with a performance loss) and the longer stops (ADET, each to be given a reason), the planned runtime of what was produced (PRU × PQ, from the recipes’ `plannedDuration`), quantities PQ, GQ (released), SQ (rejected) and pending (not yet disposed of by QA), and availability APT/PBT, effectiveness PRU×PQ/APT, quality ratio GQ/PQ over what QA disposed of, and OEE (null where a ratio has nothing to divide by). By `shift` (the site calendar), `day` (UTC) or `batch`, with the whole window as `total`. A window that reaches into the future ends now.',
      access: 'oee.read',
      query: z.strictObject({
        unit: z.string().min(1).max(64),
        from: z.iso.datetime({ offset: true }),
        to: z.iso.datetime({ offset: true }),
        by: z.enum(['shift', 'day', 'batch', 'whole']).default('whole'),
      }),
      responses: { 200: { description: 'The figures' } },
      handler: async ({ query }) => {
        const from = new Date(query.from);
        const to = new Date(query.to);
        if (!(to > from)) throw new Problem('unprocessable', '`to` must be after `from`');
        if (to.getTime() - from.getTime() > 366 * 86_400_000)
          throw new Problem('unprocessable', 'a window of at most 366 days');
        const r = await s.oee.report({ unit: query.unit, from, to, by: query.by });
        return {
          body: {
            unit: r.unit,
            by: r.by,
            timeUnit: 's',
            microStopThreshold: seconds(r.microStopMs),
            total: answer(r.total),
            periods: r.periods.map(answer),
          },
        };
      },
    }),
  ];
}
