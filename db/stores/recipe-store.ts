/** Recipes', recipe versions' and execution plans' SQL. */
import type { Knex } from 'knex';
import type { ExecutionPlan } from '../../domain/recipe/plan';
import type { RecipeStatus } from '../../domain/recipe/lifecycle';
import { isUuid } from '../../domain/identity';

export interface RecipeRecord {
  id: string;
  code: string;
  name: string;
  createdAt: Date;
  createdBy: string | null;
}

export interface RecipeVersionRecord {
  id: string;
  recipeId: string;
  version: number;
  status: RecipeStatus;
  /** As stored: validated when it was saved. */
  definition: unknown;
  authors: string[];
  planHash: string | null;
  createdAt: Date;
  createdBy: string | null;
  updatedAt: Date;
  submittedAt: Date | null;
  approvedAt: Date | null;
  effectiveAt: Date | null;
  supersededAt: Date | null;
  retiredAt: Date | null;
  /** How many times the row changed: the version's ETag. */
  rowVersion: number;
}

/** The timestamp column a status sets when a version enters it. */
const ENTERED_AT: Partial<Record<RecipeStatus, string>> = {
  'in-review': 'submitted_at',
  approved: 'approved_at',
  effective: 'effective_at',
  superseded: 'superseded_at',
  retired: 'retired_at',
};

export class RecipeStore {
  async createRecipe(
    trx: Knex.Transaction,
    r: { code: string; name: string; createdBy: string | null },
  ): Promise<RecipeRecord> {
    const [row] = await trx('recipes').insert({ code: r.code, name: r.name, created_by: r.createdBy }).returning('*');
    return toRecipe(row);
  }

  /** A recipe by its id or by its code. */
  async recipe(db: Knex | Knex.Transaction, idOrCode: string): Promise<RecipeRecord | undefined> {
    const row = await db('recipes')
      .where(isUuid(idOrCode) ? { id: idOrCode } : { code: idOrCode.toUpperCase() })
      .first();
    return row ? toRecipe(row) : undefined;
  }

  async recipes(db: Knex): Promise<RecipeRecord[]> {
    return (await db('recipes').orderBy('code')).map(toRecipe);
  }

  async createVersion(
    trx: Knex.Transaction,
    v: { recipeId: string; version: number; definition: unknown; createdBy: string | null },
  ): Promise<RecipeVersionRecord> {
    const [row] = await trx('recipe_versions')
      .insert({
        recipe_id: v.recipeId,
        version: v.version,
        status: 'draft',
        definition: JSON.stringify(v.definition),
        authors: v.createdBy ? [v.createdBy] : [],
        created_by: v.createdBy,
      })
      .returning('*');
    return toVersion(row);
  }

  async versions(db: Knex | Knex.Transaction, recipeIds: string[]): Promise<RecipeVersionRecord[]> {
    if (recipeIds.length === 0) return [];
    return (await db('recipe_versions').whereIn('recipe_id', recipeIds).orderBy(['recipe_id', 'version'])).map(
      toVersion,
    );
  }

  async version(
    db: Knex | Knex.Transaction,
    recipeId: string,
    version: number,
    forUpdate = false,
  ): Promise<RecipeVersionRecord | undefined> {
    const q = db('recipe_versions').where({ recipe_id: recipeId, version }).first();
    if (forUpdate) q.forUpdate();
    const row = await q;
    return row ? toVersion(row) : undefined;
  }

  async latestVersion(db: Knex | Knex.Transaction, recipeId: string): Promise<RecipeVersionRecord | undefined> {
    const row = await db('recipe_versions').where({ recipe_id: recipeId }).orderBy('version', 'desc').first();
    return row ? toVersion(row) : undefined;
  }

  async effectiveVersion(
    db: Knex | Knex.Transaction,
    recipeId: string,
    forUpdate = false,
  ): Promise<RecipeVersionRecord | undefined> {
    const q = db('recipe_versions').where({ recipe_id: recipeId, status: 'effective' }).first();
    if (forUpdate) q.forUpdate();
    const row = await q;
    return row ? toVersion(row) : undefined;
  }

  /** Replaces a Draft's definition; `author` (null for Ampoule itself) joins the authors. */
  async updateDefinition(
    trx: Knex.Transaction,
    id: string,
    definition: unknown,
    author: string | null,
  ): Promise<RecipeVersionRecord> {
    const values: Record<string, unknown> = { definition: JSON.stringify(definition), updated_at: trx.fn.now() };
    if (author) values.authors = trx.raw('array(select distinct unnest(authors || ?::uuid))', [author]);
    const [row] = await trx('recipe_versions').where('id', id).update(values).returning('*');
    return toVersion(row);
  }

  /** Moves a version to `status`, stamping when it entered it; `author` joins the authors (a submitter). */
  async setStatus(
    trx: Knex.Transaction,
    id: string,
    status: RecipeStatus,
    extra: { planHash?: string; author?: string } = {},
  ): Promise<RecipeVersionRecord> {
    const values: Record<string, unknown> = { status, updated_at: trx.fn.now() };
    const stamp = ENTERED_AT[status];
    if (stamp) values[stamp] = trx.fn.now();
    if (extra.planHash) values.plan_hash = extra.planHash;
    if (extra.author) values.authors = trx.raw('array(select distinct unnest(authors || ?::uuid))', [extra.author]);
    const [row] = await trx('recipe_versions').where('id', id).update(values).returning('*');
    return toVersion(row);
  }

  async savePlan(trx: Knex.Transaction, hash: string, versionId: string, plan: ExecutionPlan): Promise<void> {
    await trx('execution_plans').insert({ hash, recipe_version_id: versionId, plan: JSON.stringify(plan) });
  }

  async plan(db: Knex | Knex.Transaction, hash: string): Promise<ExecutionPlan | undefined> {
    const row = await db('execution_plans').where('hash', hash).first();
    return row?.plan;
  }
}

function toRecipe(r: Record<string, unknown>): RecipeRecord {
  return {
    id: r.id as string,
    code: r.code as string,
    name: r.name as string,
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
  };
}

function toVersion(r: Record<string, unknown>): RecipeVersionRecord {
  return {
    id: r.id as string,
    recipeId: r.recipe_id as string,
    version: r.version as number,
    status: r.status as RecipeStatus,
    definition: r.definition,
    authors: r.authors as string[],
    planHash: (r.plan_hash as string | null) ?? null,
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
    updatedAt: r.updated_at as Date,
    submittedAt: (r.submitted_at as Date | null) ?? null,
    approvedAt: (r.approved_at as Date | null) ?? null,
    effectiveAt: (r.effective_at as Date | null) ?? null,
    supersededAt: (r.superseded_at as Date | null) ?? null,
    retiredAt: (r.retired_at as Date | null) ?? null,
    rowVersion: r.row_version as number,
  };
}
