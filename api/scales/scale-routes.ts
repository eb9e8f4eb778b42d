/**
 * Scales per the API contract: their range and daily-check weights, qualification (calibrations, daily checks),
 * the live reading and the terminal's tare and zero; and, under a batch's step, the dispensing that holds one.
 */
import { z } from 'zod';
import { listOf, listQuery, pageOfAll } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { signatureManifestationSchema } from '../signatures/signature-service';

const checkPointSchema = z.strictObject({
  nominal: z.number().positive().describe('the test weight, in the scale’s unit'),
  tolerance: z.number().positive().describe('how far the reading may lie from it'),
});

export const scaleSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    unit: z.enum(['kg', 'g', 'mg']),
    capacity: z.number(),
    minimumWeight: z.number().describe('the smallest net weight it weighs to the required accuracy'),
    readability: z.number(),
    checkPoints: z.array(checkPointSchema),
    calibrationDue: z.iso.date().nullable(),
    checksToday: z.array(
      z.object({ nominal: z.number(), net: z.number(), passed: z.boolean(), checkedAt: z.iso.datetime() }),
    ),
    usable: z.boolean().describe('whether a dispensing may use it today'),
    problem: z.string().nullable().describe('why not'),
    heldFor: z
      .object({ batch: z.string(), step: z.string(), since: z.iso.datetime() })
      .nullable()
      .describe('the dispensing that holds it'),
    rowVersion: z.int(),
  })
  .meta({ id: 'Scale' });

export const scaleReadingSchema = z
  .object({
    reading: z.object({
      scale: z.string(),
      gross: z.number(),
      tare: z.number(),
      net: z.number(),
      unit: z.string().describe('UCUM, from the terminal’s EngineeringUnits'),
      stable: z.boolean(),
      status: z.string().describe('ok, overload, underload or error'),
      quality: z.string().describe('the OPC UA StatusCode of the weights: Good, or an Uncertain… or Bad… name'),
      sourceTimestamp: z.iso.datetime(),
    }),
    refusal: z.string().nullable().describe('why a dispensing would not take this reading now, or null'),
  })
  .meta({ id: 'ScaleReading' });

const codeParams = z.strictObject({ code: z.string().min(1).max(64).describe('the scale’s unit code') });
const recordParams = codeParams.extend({ id: z.string().min(1).max(64) });

const calibrationSchema = z
  .object({
    id: z.uuid(),
    unitCode: z.string(),
    calibratedOn: z.iso.date(),
    dueOn: z.iso.date(),
    certificate: z.string(),
    signatureId: z.uuid(),
    recordedBy: z.uuid(),
    recordedAt: z.iso.datetime(),
  })
  .meta({ id: 'ScaleCalibration' });

const checkSchema = z
  .object({
    id: z.uuid(),
    unitCode: z.string(),
    checkDate: z.iso.date(),
    nominal: z.number(),
    low: z.number(),
    high: z.number(),
    reading: z.object({}).loose().describe('the terminal’s whole reading'),
    passed: z.boolean(),
    signatureId: z.uuid(),
    checkedBy: z.uuid(),
    checkedAt: z.iso.datetime(),
  })
  .meta({ id: 'ScaleCheck' });
const terminalProblems = ['weight-not-taken', 'scale-unusable', 'equipment-unavailable'] as const;

export function scaleRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/scales',
      tag: 'scales',
      summary: 'List scales',
      description: 'Each scale unit with its range, its qualification today and the dispensing that holds it.',
      access: 'equipment.read',
      query: z.strictObject(listQuery()),
      responses: { 200: { description: 'Every scale', schema: listOf(scaleSchema) } },
      handler: async ({ query }) => ({ body: pageOfAll(await s.scales.list(), query) }),
    }),
    route({
      method: 'get',
      path: '/scales/:code',
      tag: 'scales',
      summary: 'One scale',
      access: 'equipment.read',
      params: codeParams,
      responses: { 200: { description: 'The scale', schema: scaleSchema } },
      handler: async ({ params }) => ({ body: await s.scales.get(params.code) }),
    }),
    route({
      method: 'put',
      path: '/scales/:code',
      tag: 'scales',
      summary: 'Register or change a scale’s range',
      description:
        'For an equipment unit whose binding has a `scale` (its terminal): the unit it weighs in, capacity, minimum weight, readability and the test weights of its daily check. Audited with the reason.',
      access: 'equipment.configure',
      reason: 'required',
      params: codeParams,
      body: z.strictObject({
        unit: z.enum(['kg', 'g', 'mg']),
        capacity: z.number().positive(),
        minimumWeight: z.number().nonnegative(),
        readability: z.number().positive(),
        checkPoints: z.array(checkPointSchema).min(1).max(10),
      }),
      responses: { 200: { description: 'The scale', schema: scaleSchema } },
      problems: ['unprocessable'],
      handler: async ({ params, body, change }) => ({ body: await s.scales.configure(change(), params.code, body) }),
    }),
    route({
      method: 'post',
      path: '/scales/:code/calibrations',
      tag: 'scales',
      summary: 'Record a calibration',
      description:
        'The day it was calibrated, the day it runs out and the certificate; signed **approved** by QA. Past its due day the scale cannot be used.',
      access: 'scales.calibrate',
      reason: 'optional',
      signature: { meaning: 'approved', roles: ['qa'] },
      params: codeParams,
      body: z.strictObject({
        calibratedOn: z.iso.date(),
        dueOn: z.iso.date(),
        certificate: z.string().trim().min(1).max(200),
      }),
      responses: {
        201: {
          description: 'The calibration, the scale and the signature',
          schema: z.object({
            calibration: calibrationSchema,
            scale: scaleSchema,
            signature: signatureManifestationSchema,
          }),
        },
      },
      location: (b: { calibration: { unitCode: string; id: string } }) =>
        `/scales/${encodeURIComponent(b.calibration.unitCode)}/calibrations/${b.calibration.id}`,
      problems: ['unprocessable'],
      handler: async ({ params, body, change, signer }) => ({
        status: 201,
        body: await s.scales.calibrate(change(), params.code, body, signer!),
      }),
    }),
    route({
      method: 'post',
      path: '/scales/:code/checks',
      tag: 'scales',
      summary: 'Check a test weight (daily check)',
      description:
        'With the test weight `nominal` (one of the scale’s check points) on the platform: Ampoule reads it from the scale — it must be stable and Good — judges it against nominal ± tolerance and records it, passed or failed, signed **performed**. A scale is usable on a day once every check point passed that day since its latest calibration; a failed check bars it until a calibration is recorded after it. Not while a dispensing holds the scale.',
      access: 'scales.check',
      reason: 'optional',
      // The scale is read before anything is locked; the check is recorded in a transaction of its own.
      transaction: false,
      signature: { meaning: 'performed', roles: ['operator', 'qa'] },
      params: codeParams,
      body: z.strictObject({ nominal: z.number().positive() }),
      responses: {
        201: {
          description: 'The check, the scale and the signature',
          schema: z.object({ check: checkSchema, scale: scaleSchema, signature: signatureManifestationSchema }),
        },
      },
      location: (b: { check: { unitCode: string; id: string } }) =>
        `/scales/${encodeURIComponent(b.check.unitCode)}/checks/${b.check.id}`,
      problems: ['unprocessable', ...terminalProblems],
      handler: async ({ params, body, actor, station, reason, signer }) => ({
        status: 201,
        body: await s.scales.check({ actor: actor!, station, reason }, params.code, body.nominal, signer!),
      }),
    }),
    route({
      method: 'get',
      path: '/scales/:code/calibrations/:id',
      tag: 'scales',
      summary: 'A calibration of a scale',
      access: 'equipment.read',
      params: recordParams,
      responses: { 200: { description: 'The calibration', schema: calibrationSchema } },
      handler: async ({ params }) => ({ body: await s.scales.calibration(params.code, params.id) }),
    }),
    route({
      method: 'get',
      path: '/scales/:code/checks/:id',
      tag: 'scales',
      summary: 'A daily check of a scale',
      access: 'equipment.read',
      params: recordParams,
      responses: { 200: { description: 'The check, with the reading it judged', schema: checkSchema } },
      handler: async ({ params }) => ({ body: await s.scales.checkRecord(params.code, params.id) }),
    }),
    route({
      method: 'get',
      path: '/scales/:code/reading',
      tag: 'scales',
      summary: 'The scale’s weight now',
      description:
        'Gross, tare and net as the terminal shows them, with stability, status, quality and time, and why a dispensing would refuse them now. Read over OPC UA at each request (the dispensing page asks about twice a second).',
      access: 'equipment.read',
      params: codeParams,
      responses: { 200: { description: 'The reading', schema: scaleReadingSchema } },
      problems: ['scale-unusable', 'equipment-unavailable'],
      handler: async ({ params }) => ({ body: await s.scales.reading(params.code) }),
    }),
    route({
      method: 'post',
      path: '/scales/:code/tare',
      tag: 'scales',
      summary: 'Tare the scale',
      description:
        'The weight on it becomes its tare; a terminal refuses while the weight moves (409). A scale held for a dispensing is tared only by whoever holds it, and not once tared with the step’s weight on it (409 `weight-on-scale`: the tare would discard the weighed portion).',
      access: 'scales.operate',
      transaction: false,
      params: codeParams,
      responses: { 200: { description: 'The reading after the tare', schema: scaleReadingSchema } },
      problems: [...terminalProblems, 'weight-on-scale'],
      handler: async ({ params, actor }) => ({ body: await s.batches.dispensing.tare(params.code, actor!.userId) }),
    }),
    route({
      method: 'post',
      path: '/scales/:code/zero',
      tag: 'scales',
      summary: 'Zero the empty scale',
      access: 'scales.operate',
      transaction: false,
      params: codeParams,
      responses: { 200: { description: 'The reading after zeroing', schema: scaleReadingSchema } },
      problems: [...terminalProblems],
      handler: async ({ params, actor }) => ({ body: await s.scales.zero(params.code, actor!.userId) }),
    }),
  ];
}
