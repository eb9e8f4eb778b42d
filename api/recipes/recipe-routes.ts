/**
 * Recipe control per the API contract: recipes and versions, the lifecycle actions (submit, approve and
 * reject are electronically signed), the compiled plan, the diff between versions, export and import.
 */
import type { Knex } from 'knex';
import { z } from 'zod';
import { RECIPE_STATUSES, type RecipeAction } from '../../domain/recipe/lifecycle';
import type { Permission } from '../auth/permissions';
import { listOf, listQuery, pageOfAll } from '../http/list';
import { route, type RouteSpec } from '../http/route';
import { signatureManifestationSchema, type SignatureRequirement } from '../signatures/signature-service';
import type { Services } from '../services';
import { RECIPE_FILE_FORMAT } from './recipe-service';

const recipeParams = z.strictObject({ id: z.string().min(1).max(64).describe('recipe id or code') });
const versionParams = z.strictObject({
  id: z.string().min(1).max(64).describe('recipe id or code'),
  v: z.coerce.number().int().min(1).max(1_000_000),
});
const definition = z
  .unknown()
  .describe('the recipe definition (see the example recipes); validated with every problem named by its JSON pointer');

const summarySchema = z.object({
  version: z.int(),
  id: z.uuid(),
  status: z.enum(RECIPE_STATUSES),
  planHash: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  submittedAt: z.iso.datetime().nullable(),
  approvedAt: z.iso.datetime().nullable(),
  effectiveAt: z.iso.datetime().nullable(),
  supersededAt: z.iso.datetime().nullable(),
  retiredAt: z.iso.datetime().nullable(),
  rowVersion: z.int().describe('how many times the version changed; its ETag is "v<rowVersion>"'),
});
const recipeSchema = z
  .object({
    id: z.uuid(),
    code: z.string(),
    name: z.string(),
    createdAt: z.iso.datetime(),
    effectiveVersion: z.int().nullable(),
    versions: z.array(summarySchema),
  })
  .meta({ id: 'Recipe' });
const versionSchema = summarySchema
  .extend({
    recipe: z.object({ id: z.uuid(), code: z.string(), name: z.string() }),
    definition: z.unknown(),
    signatures: z.array(
      signatureManifestationSchema.extend({
        covers: z.boolean().describe('false once the record no longer matches what was signed'),
      }),
    ),
  })
  .meta({ id: 'RecipeVersion' });

/** Where a created recipe version lives. */
const versionLocation = (v: { recipe: { code: string }; version: number }) =>
  `/recipes/${encodeURIComponent(v.recipe.code)}/versions/${v.version}`;
export const recipeFileSchema = z
  .strictObject({
    format: z.literal(RECIPE_FILE_FORMAT),
    code: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected letters, digits, dots, dashes and underscores'),
    name: z.string().trim().min(1).max(200),
    version: z.int().optional(),
    status: z.string().optional(),
    planHash: z.string().nullable().optional(),
    definition,
  })
  .meta({ id: 'RecipeFile', description: 'A recipe exported to (or to be imported from) a JSON file.' });

/**
 * Who may take each step of a version's lifecycle, whether it needs a reason, and the signature it needs: the API's
 * routes and the pages both declare their steps from this one table.
 */
export const RECIPE_STEPS = {
  submit: {
    access: 'recipes.author',
    reason: 'optional',
    signature: { meaning: 'authored', roles: ['planner', 'qa'] },
  },
  approve: { access: 'recipes.review', reason: 'optional', signature: { meaning: 'approved', roles: ['qa'] } },
  reject: { access: 'recipes.review', reason: 'required', signature: { meaning: 'rejected', roles: ['qa'] } },
  'make-effective': { access: 'recipes.release', reason: 'required' },
  retire: { access: 'recipes.release', reason: 'required' },
} as const satisfies Record<
  Exclude<RecipeAction, 'edit'>,
  { access: Permission; reason: 'required' | 'optional'; signature?: SignatureRequirement }
>;
export type RecipeStep = keyof typeof RECIPE_STEPS;

export function recipeRoutes(s: Services): RouteSpec[] {
  /** A version's lifecycle and edits honour If-Match against its row version. */
  const lockVersion = {
    lock: (p: Record<string, unknown>, trx: Knex.Transaction) =>
      s.recipes.lockedVersion(trx, p.id as string, p.v as number),
  };
  const versionAction = (
    action: 'make-effective' | 'retire',
    summary: string,
    description: string,
    run: typeof s.recipes.retire,
  ) =>
    route({
      method: 'post',
      path: `/recipes/:id/versions/:v/${action}`,
      tag: 'recipes',
      summary,
      description,
      ...RECIPE_STEPS[action],
      params: versionParams,
      responses: { 200: { description: 'The version after the action', schema: versionSchema } },
      versioned: lockVersion,
      handler: async ({ params, change }) => ({ body: await run.call(s.recipes, change(), params.id, params.v) }),
    });

  return [
    route({
      method: 'get',
      path: '/recipes',
      tag: 'recipes',
      summary: 'List recipes',
      access: 'recipes.read',
      responses: { 200: { description: 'Every recipe with its versions', schema: listOf(recipeSchema) } },
      query: z.strictObject(listQuery()),
      handler: async ({ query }) => ({ body: pageOfAll(await s.recipes.list(), query) }),
    }),
    route({
      method: 'post',
      path: '/recipes',
      tag: 'recipes',
      summary: 'Create a recipe',
      description: 'Creates the master recipe and its version 1 as a Draft.',
      access: 'recipes.author',
      reason: 'required',
      idempotent: true,
      body: z.strictObject({
        code: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected letters, digits, dots, dashes and underscores'),
        name: z.string().trim().min(1).max(200),
        definition,
      }),
      responses: { 201: { description: 'Created', schema: versionSchema } },
      location: versionLocation,
      handler: async ({ body, change }) => ({ status: 201, body: await s.recipes.create(change(), body) }),
    }),
    route({
      method: 'post',
      path: '/recipes/import',
      tag: 'recipes',
      summary: 'Import a recipe file',
      description: 'A file of a new code creates the recipe; a file of a known code becomes a new Draft version of it.',
      access: 'recipes.author',
      reason: 'required',
      idempotent: true,
      body: z.strictObject({ file: recipeFileSchema }),
      responses: { 201: { description: 'The Draft version created', schema: versionSchema } },
      location: versionLocation,
      handler: async ({ body, change }) => ({ status: 201, body: await s.recipes.importFile(change(), body.file) }),
    }),
    route({
      method: 'get',
      path: '/recipes/:id',
      tag: 'recipes',
      summary: 'One recipe with its versions',
      access: 'recipes.read',
      params: recipeParams,
      responses: { 200: { description: 'The recipe', schema: recipeSchema } },
      handler: async ({ params }) => ({ body: await s.recipes.get(params.id) }),
    }),
    route({
      method: 'post',
      path: '/recipes/:id/versions',
      tag: 'recipes',
      summary: 'Start a new version',
      description:
        'A new Draft, as a copy of the latest version. A recipe has at most one Draft or In-review version at a time.',
      access: 'recipes.author',
      reason: 'required',
      idempotent: true,
      params: recipeParams,
      responses: { 201: { description: 'The new Draft', schema: versionSchema } },
      location: versionLocation,
      handler: async ({ params, change }) => ({ status: 201, body: await s.recipes.newVersion(change(), params.id) }),
    }),
    route({
      method: 'get',
      path: '/recipes/:id/versions/:v',
      tag: 'recipes',
      summary: 'One version, with its definition and signatures',
      access: 'recipes.read',
      params: versionParams,
      responses: {
        200: { description: 'The version; its `ETag` is what a change sends as `If-Match`', schema: versionSchema },
      },
      versioned: {},
      handler: async ({ params }) => ({ body: await s.recipes.getVersion(params.id, params.v) }),
    }),
    route({
      method: 'put',
      path: '/recipes/:id/versions/:v',
      tag: 'recipes',
      summary: 'Edit a Draft',
      description:
        'Replaces the definition of a Draft version (only a Draft can be edited); the audit trail keeps every change. Send the `ETag` you read as `If-Match`: if someone changed the version since, the edit is refused (412) and changes nothing.',
      access: 'recipes.author',
      reason: 'required',
      params: versionParams,
      body: z.strictObject({ definition }),
      responses: { 200: { description: 'The edited version, with its new `ETag`', schema: versionSchema } },
      problems: ['precondition-failed', 'invalid-transition', 'recipe-invalid'],
      versioned: lockVersion,
      handler: async ({ params, body, change }) => ({
        body: await s.recipes.edit(change(), params.id, params.v, body.definition),
      }),
    }),
    route({
      method: 'post',
      path: '/recipes/:id/versions/:v/submit',
      tag: 'recipes',
      summary: 'Submit a Draft for review',
      ...RECIPE_STEPS.submit,
      params: versionParams,
      responses: { 200: { description: 'The version, now in review', schema: versionSchema } },
      versioned: lockVersion,
      handler: async ({ params, signer, change }) => ({
        body: await s.recipes.submit(change(), signer!, params.id, params.v),
      }),
    }),
    route({
      method: 'post',
      path: '/recipes/:id/versions/:v/approve',
      tag: 'recipes',
      summary: 'Approve a version in review',
      description:
        'Never by one of its authors. Compiles the version into its execution plan, stored under its SHA-256.',
      ...RECIPE_STEPS.approve,
      params: versionParams,
      responses: { 200: { description: 'The approved version', schema: versionSchema } },
      versioned: lockVersion,
      handler: async ({ params, signer, change }) => ({
        body: await s.recipes.approve(change(), signer!, params.id, params.v),
      }),
    }),
    route({
      method: 'post',
      path: '/recipes/:id/versions/:v/reject',
      tag: 'recipes',
      summary: 'Reject a version in review',
      description: 'Sends it back to Draft; never by one of its authors.',
      ...RECIPE_STEPS.reject,
      params: versionParams,
      responses: { 200: { description: 'The version, a Draft again', schema: versionSchema } },
      versioned: lockVersion,
      handler: async ({ params, signer, change }) => ({
        body: await s.recipes.reject(change(), signer!, params.id, params.v),
      }),
    }),
    versionAction(
      'make-effective',
      'Make an approved version effective',
      'Batches launch from it from now on; the version that was effective is superseded.',
      s.recipes.makeEffective,
    ),
    versionAction('retire', 'Retire a version', 'A retired version never launches again.', s.recipes.retire),
    route({
      method: 'get',
      path: '/recipes/:id/versions/:v/plan',
      tag: 'recipes',
      summary: 'The compiled execution plan',
      description:
        'The plan the version compiled into at approval, its hash checked against its content (`verified`). With `batchSize`, scaled to that batch (`unit` defaults to the recipe’s).',
      access: 'recipes.read',
      params: versionParams,
      query: z.strictObject({
        batchSize: z.coerce.number().positive().optional(),
        unit: z.string().max(64).optional(),
      }),
      responses: {
        200: {
          description: 'The plan',
          schema: z.object({ hash: z.string(), verified: z.boolean(), plan: z.unknown() }),
        },
      },
      handler: async ({ params, query }) => ({
        body: await s.recipes.plan(
          params.id,
          params.v,
          query.batchSize === undefined ? undefined : { value: query.batchSize, unit: query.unit },
        ),
      }),
    }),
    route({
      method: 'get',
      path: '/recipes/:id/versions/:v/diff/:w',
      tag: 'recipes',
      summary: 'What changed between two versions',
      access: 'recipes.read',
      params: versionParams.extend({ w: z.coerce.number().int().min(1).max(1_000_000) }),
      responses: {
        200: {
          description: 'The changes from version v to version w',
          schema: z.object({
            from: z.int(),
            to: z.int(),
            changes: z.array(
              z.object({
                kind: z.enum(['added', 'removed', 'changed', 'moved']),
                path: z.string(),
                where: z.string(),
                before: z.unknown(),
                after: z.unknown(),
              }),
            ),
          }),
        },
      },
      handler: async ({ params }) => ({ body: await s.recipes.diff(params.id, params.v, params.w) }),
    }),
    route({
      method: 'get',
      path: '/recipes/:id/versions/:v/export',
      tag: 'recipes',
      summary: 'Export a version as a recipe file',
      access: 'recipes.read',
      params: versionParams,
      responses: { 200: { description: 'The file', schema: recipeFileSchema } },
      handler: async ({ params }) => {
        const file = await s.recipes.exportFile(params.id, params.v);
        return {
          body: file,
          headers: { 'Content-Disposition': `attachment; filename="${file.code}-v${file.version}.json"` },
        };
      },
    }),
  ];
}
