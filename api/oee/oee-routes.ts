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

const ratio = z.number().min(0).nullable();
const stopSchema = z.object({
  start: z.iso.datetime(),
  end: z.iso.datetime(),
  duration: z.number().describe('seconds'),
  condition: z.string(),
});
/** One period's figures (the whole window's, a shift's, a day's, a batch's). */
const figuresSchema = z
  .object({
    label: z.string().optional(),
    from: z.iso.datetime(),
    to: z.iso.datetime(),
    time: z
      .object({
        calendar: z.number(),
        notScheduled: z.number(),
        POT: z.number(),
        PDOT: z.number(),
        PBT: z.number(),
        APT: z.number(),
        AUST: z.number(),
        ADET: z.number(),
        ADOT: z.number(),
      })
      .describe('ISO 22400-2 time elements, in seconds'),
    microStops: z.object({ count: z.int(), duration: z.number() }),
    stops: z.array(stopSchema),
    plannedRuntime: z.number(),
    PRU: z.number().nullable().describe('planned runtime per unit produced, seconds'),
    quantities: z.array(
      z.object({ unit: z.string(), PQ: z.number(), GQ: z.number(), SQ: z.number(), pending: z.number() }),
    ),
    batches: z.object({ produced: z.int(), released: z.int(), rejected: z.int(), pending: z.int() }),
    availability: ratio,
    effectiveness: ratio,
    qualityRatio: ratio,
    oee: ratio,
  })
  .meta({ id: 'OeeFigures' });

const window = {
  unit: z.string().min(1).max(64),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }),
};

/** The window asked for, checked: `to` after `from`, at most a year. */
function windowOf(q: { from: string; to: string }): { from: Date; to: Date } {
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (!(to > from)) throw new Problem('unprocessable', '`to` must be after `from`');
  if (to.getTime() - from.getTime() > 366 * 86_400_000)
    throw new Problem('unprocessable', 'a window of at most 366 days');
  return { from, to };
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
      query: z.strictObject({ ...window, by: z.enum(['shift', 'day', 'batch', 'whole']).default('whole') }),
      responses: {
        200: {
          description: 'The figures',
          schema: z.object({
            unit: z.string(),
            by: z.enum(['shift', 'day', 'batch', 'whole']),
            timeUnit: z.literal('s'),
            microStopThreshold: z.number(),
            total: figuresSchema,
            periods: z.array(figuresSchema),
          }),
        },
      },
      handler: async ({ query }) => {
        const r = await s.oee.report({ unit: query.unit, ...windowOf(query), by: query.by });
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
    route({
      method: 'get',
      path: '/oee/losses',
      tag: 'oee',
      summary: 'The losses of a unit, as a Pareto',
      description:
        'Where the time went that was not production at the planned rate, largest first, in seconds: the stops by the reason given (`<loss>/<reason>`, the six big losses on top; a stop without one as `unqualified`), small stops, setup (AUST), and the planned runtime of batches QA rejected; and each stop that needs a reason, with the reason given if any.',
      access: 'oee.read',
      query: z.strictObject(window),
      responses: {
        200: {
          description: 'The Pareto and the stops',
          schema: z.object({
            unit: z.string(),
            timeUnit: z.literal('s'),
            lines: z.array(z.object({ reason: z.string(), loss: z.string(), duration: z.number(), count: z.int() })),
            stops: z.array(stopSchema.extend({ reason: z.string().nullable() })),
          }),
        },
      },
      handler: async ({ query }) => {
        const l = await s.oee.losses({ unit: query.unit, ...windowOf(query) });
        return {
          body: {
            unit: l.report.unit,
            timeUnit: 's',
            lines: l.lines.map((x) => ({ ...x, duration: seconds(x.duration) })),
            stops: l.stops.map((st) => ({
              start: new Date(st.start).toISOString(),
              end: new Date(st.end).toISOString(),
              duration: seconds(st.end - st.start),
              condition: st.condition,
              reason: st.reason ?? null,
            })),
          },
        };
      },
    }),
    route({
      method: 'post',
      path: '/oee/stops',
      tag: 'oee',
      summary: 'Give a stop its reason',
      description:
        'A stop at or over its unit’s micro-stop threshold needs a reason from the loss tree (`<loss>/<reason>`, e.g. `breakdowns/equipment-failure`); giving another later adds to the record (the latest counts). Audited.',
      access: 'oee.qualify',
      reason: 'optional',
      // The stop is looked up first; the reason is written in a transaction of its own.
      transaction: false,
      body: z.strictObject({
        unit: z.string().min(1).max(64),
        start: z.iso.datetime({ offset: true }).describe('the stop’s start, as GET /oee/losses gives it'),
        stopReason: z.string().min(1).max(128),
        comment: z.string().trim().min(1).max(2000).optional(),
      }),
      responses: {
        201: {
          description: 'The reason, recorded',
          schema: z.object({
            unitCode: z.string(),
            stopStart: z.iso.datetime(),
            stopEnd: z.iso.datetime(),
            reason: z.string(),
            comment: z.string().nullable(),
            userId: z.uuid().nullable(),
            userName: z.string(),
            recordedAt: z.iso.datetime(),
          }),
        },
      },
      problems: ['not-found', 'unprocessable'],
      // The stop, with the reason now given, is seen among its unit's losses.
      location: (r: { unitCode: string; stopStart: string; stopEnd: string }) =>
        `/oee/losses?unit=${encodeURIComponent(r.unitCode)}&from=${r.stopStart}&to=${r.stopEnd}`,
      handler: async ({ body, actor, station, reason }) => {
        const r = await s.oee.qualify(
          { actor: actor!, station, reason },
          {
            unit: body.unit,
            start: new Date(body.start),
            reason: body.stopReason,
            ...(body.comment ? { comment: body.comment } : {}),
          },
        );
        return { status: 201, body: { ...r, stopStart: r.stopStart.toISOString(), stopEnd: r.stopEnd.toISOString() } };
      },
    }),
  ];
}
