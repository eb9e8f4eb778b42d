/** Equipment classes and materials: read by everyone, created by administrators with a reason. */
import { z } from 'zod';
import { phaseInterfacesSchema } from '../../domain/equipment';
import { notFound } from '../http/problems';
import { listOf, listQuery, pageOfAll } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import type { Services } from '../services';

const equipmentClassSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    phases: z.array(z.string()),
    interfaces: z.record(z.string(), z.unknown()),
    createdAt: z.iso.datetime(),
    createdBy: z.uuid().nullable(),
  })
  .meta({ id: 'EquipmentClass' });
const materialSchema = z
  .object({
    code: z.string(),
    name: z.string(),
    type: z.enum(['raw', 'intermediate', 'product']),
    baseUnit: z.string(),
    createdAt: z.iso.datetime(),
    createdBy: z.uuid().nullable(),
  })
  .meta({ id: 'Material' });

export function masterDataRoutes(s: Services): RouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/equipment-classes',
      tag: 'master data',
      summary: 'List equipment classes',
      access: 'master-data.read',
      responses: { 200: { description: 'All equipment classes', schema: listOf(equipmentClassSchema) } },
      query: z.strictObject(listQuery()),
      handler: async ({ query }) => ({ body: pageOfAll(await s.masterData.equipmentClasses(), query) }),
    }),
    route({
      method: 'get',
      path: '/equipment-classes/:code',
      tag: 'master data',
      summary: 'One equipment class',
      access: 'master-data.read',
      params: z.strictObject({ code: z.string().max(64) }),
      responses: {
        200: { description: 'The equipment class, with its phase interfaces', schema: equipmentClassSchema },
      },
      handler: async ({ params }) => {
        const found = (await s.masterData.equipmentClasses()).find((c) => c.code === params.code);
        if (!found) throw notFound(`equipment class ${params.code}`);
        return { body: found };
      },
    }),
    route({
      method: 'post',
      path: '/equipment-classes',
      tag: 'master data',
      summary: 'Create an equipment class',
      access: 'master-data.write',
      reason: 'required',
      idempotent: true,
      body: z.strictObject({
        code: z
          .string()
          .regex(/^[A-Z][A-Z0-9_-]{0,63}$/, 'expected upper-case letters, digits, dashes and underscores'),
        name: z.string().trim().min(1).max(200),
        phases: z
          .array(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'expected an equipment phase name such as HEAT'))
          .max(100)
          .default([]),
        interfaces: phaseInterfacesSchema
          .optional()
          .describe('per phase: its parameters and reports, each with quantity kind and controller unit'),
      }),
      responses: { 201: { description: 'Created', schema: equipmentClassSchema } },
      location: (c: { code: string }) => `/equipment-classes/${encodeURIComponent(c.code)}`,
      handler: async ({ body, change }) => ({
        status: 201,
        body: await s.masterData.createEquipmentClass(change(), body),
      }),
    }),
    route({
      method: 'get',
      path: '/materials',
      tag: 'master data',
      summary: 'List materials',
      access: 'master-data.read',
      responses: { 200: { description: 'All materials', schema: listOf(materialSchema) } },
      query: z.strictObject(listQuery()),
      handler: async ({ query }) => ({ body: pageOfAll(await s.masterData.materials(), query) }),
    }),
    route({
      method: 'get',
      path: '/materials/:code',
      tag: 'master data',
      summary: 'One material',
      access: 'master-data.read',
      params: z.strictObject({ code: z.string().max(64) }),
      responses: { 200: { description: 'The material', schema: materialSchema } },
      handler: async ({ params }) => ({ body: await s.masterData.material(params.code) }),
    }),
    route({
      method: 'post',
      path: '/materials',
      tag: 'master data',
      summary: 'Create a material',
      access: 'master-data.write',
      reason: 'required',
      idempotent: true,
      body: z.strictObject({
        code: z
          .string()
          .regex(/^[A-Z0-9][A-Z0-9._-]{0,63}$/, 'expected upper-case letters, digits, dots, dashes and underscores'),
        name: z.string().trim().min(1).max(200),
        type: z.enum(['raw', 'intermediate', 'product']),
        baseUnit: z.string().min(1).max(64).describe('UCUM code of mass, volume or amount, e.g. kg or L'),
      }),
      responses: { 201: { description: 'Created', schema: materialSchema } },
      location: (m: { code: string }) => `/materials/${encodeURIComponent(m.code)}`,
      handler: async ({ body, change }) => ({ status: 201, body: await s.masterData.createMaterial(change(), body) }),
    }),
  ];
}
