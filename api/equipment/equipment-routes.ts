/** Equipment per the API contract: units with their OPC UA binding, status, and state history. */
import type { Knex } from 'knex';
import { z } from 'zod';
import { unitBindingSchema } from '../../domain/equipment';
import { listOf, listQuery, pageOfAll } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';
import { SECURITY_POLICY_URIS } from './equipment-service';

const unitSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    classCode: z.string(),
    endpointUrl: z.string(),
    securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']),
    securityPolicy: z.string(),
    binding: z.unknown(),
    status: z.enum(['available', 'in-use', 'maintenance']),
    cleanliness: z.enum(['clean', 'dirty']),
    heldByBatch: z.string().nullable().describe('the batch that claimed the unit and holds it while in use'),
    createdAt: z.iso.datetime(),
    createdBy: z.uuid().nullable(),
    rowVersion: z.int().describe('how many times the unit changed; the ETag is "v<rowVersion>"'),
  })
  .meta({ id: 'EquipmentUnit' });
const historySchema = z.object({
  id: z.int(),
  unitCode: z.string(),
  phase: z.string().nullable(),
  state: z.string(),
  commandId: z.string().nullable(),
  sourceTimestamp: z.iso.datetime(),
  recordedAt: z.iso.datetime(),
});
const codeParams = z.strictObject({ id: z.string().min(1).max(64).describe('unit code') });
const endpoint = {
  endpointUrl: z.string().regex(/^opc\.tcp:\/\/[^\s]+$/, 'expected opc.tcp://host:port'),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']),
  securityPolicy: z.enum(SECURITY_POLICY_URIS as [string, ...string[]]),
  binding: unitBindingSchema,
};

export function equipmentRoutes(s: Services): RouteSpec[] {
  /** Changes to a unit honour If-Match against its row version. */
  const lockUnit = {
    lock: (p: Record<string, unknown>, trx: Knex.Transaction) => s.equipment.lockedVersion(trx, p.id as string),
  };
  return [
    route({
      method: 'get',
      path: '/equipment',
      tag: 'equipment',
      summary: 'List equipment units',
      access: 'equipment.read',
      responses: { 200: { description: 'Every unit', schema: listOf(unitSchema) } },
      query: z.strictObject(listQuery()),
      handler: async ({ query }) => ({ body: pageOfAll(await s.equipment.list(), query) }),
    }),
    route({
      method: 'post',
      path: '/equipment',
      tag: 'equipment',
      summary: 'Register an equipment unit',
      description:
        'Its class, its controller’s OPC UA endpoint and security, and the binding: where each phase interface lives in the controller’s address space (node ids or browse paths). Security mode None only where the server is configured to allow it.',
      access: 'equipment.configure',
      reason: 'required',
      idempotent: true,
      body: z.strictObject({
        code: z
          .string()
          .regex(/^[A-Z0-9][A-Z0-9._-]{0,63}$/, 'expected upper-case letters, digits, dots, dashes and underscores'),
        name: z.string().trim().min(1).max(200),
        classCode: z.string().min(1).max(64),
        ...endpoint,
      }),
      responses: { 201: { description: 'Registered', schema: unitSchema } },
      location: (u: { code: string }) => `/equipment/${encodeURIComponent(u.code)}`,
      handler: async ({ body, change }) => ({ status: 201, body: await s.equipment.create(change(), body) }),
    }),
    route({
      method: 'get',
      path: '/equipment/:id',
      tag: 'equipment',
      summary: 'One equipment unit',
      access: 'equipment.read',
      params: codeParams,
      responses: {
        200: { description: 'The unit; its `ETag` is what a change sends as `If-Match`', schema: unitSchema },
      },
      versioned: {},
      handler: async ({ params }) => ({ body: await s.equipment.get(params.id) }),
    }),
    route({
      method: 'patch',
      path: '/equipment/:id',
      tag: 'equipment',
      summary: 'Change a unit’s configuration',
      access: 'equipment.configure',
      reason: 'required',
      params: codeParams,
      body: z.strictObject({ name: z.string().trim().min(1).max(200), ...endpoint }).partial(),
      responses: { 200: { description: 'The unit, with its new `ETag`', schema: unitSchema } },
      problems: ['precondition-failed'],
      versioned: lockUnit,
      handler: async ({ params, body, change }) => ({ body: await s.equipment.configure(change(), params.id, body) }),
    }),
    route({
      method: 'post',
      path: '/equipment/:id/status',
      tag: 'equipment',
      summary: 'Set a unit’s status or cleanliness',
      description:
        'Available or maintenance; clean or dirty. Each change is audited and enters the state history. In use is set by the launch that claims the unit and cleared at its batch’s end: the status of a unit a batch holds changes only with `force: true`, by QA, which frees it of its batch with the reason on the record.',
      access: 'equipment.status',
      reason: 'required',
      params: codeParams,
      body: z.strictObject({
        status: z.enum(['available', 'in-use', 'maintenance']).optional(),
        cleanliness: z.enum(['clean', 'dirty']).optional(),
        force: z.literal(true).optional().describe('free a unit a batch holds (QA)'),
      }),
      responses: { 200: { description: 'The unit, with its new `ETag`', schema: unitSchema } },
      problems: ['precondition-failed', 'conflict'],
      versioned: lockUnit,
      handler: async ({ params, body, change, actor }) => ({
        body: await s.equipment.setStatus({ ...change(), actor: actor! }, params.id, body),
      }),
    }),
    route({
      method: 'get',
      path: '/equipment/:id/state',
      tag: 'equipment',
      summary: 'A unit’s state and state history',
      description:
        'The unit, the last recorded state of each phase, and the history of phase and unit state changes with their source timestamps (newest first).',
      access: 'equipment.read',
      params: codeParams,
      query: z.strictObject({
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(200),
      }),
      responses: {
        200: {
          description: 'State',
          schema: z.object({ unit: unitSchema, phases: z.array(historySchema), history: z.array(historySchema) }),
        },
      },
      handler: async ({ params, query }) => ({
        body: await s.equipment.state(params.id, {
          from: query.from ? new Date(query.from) : undefined,
          to: query.to ? new Date(query.to) : undefined,
          limit: query.limit,
        }),
      }),
    }),
  ];
}
