/**
 * The impact query of an investigation (21 CFR 211.192: "the investigation shall extend to other batches … that may
 * have been associated with the specific failure or discrepancy"): the batches that share a lot (consumed it, or
 * produced it), an equipment unit, a recipe version or an operator (who performed, verified or signed an entry of
 * their record) with the batch under investigation — any of the criteria given, each batch saying which it shares —
 * within a time window (a batch counts when its run overlaps it; one created and never started, from its creation
 * on). One statement: each batch in the window is tested against each criterion by an indexed lookup.
 */
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import { Problem, notFound } from '../http/problems';
import { isUuid } from '../../domain/identity';

export interface ImpactCriteria {
  lot?: string;
  unit?: string;
  /** `<recipe code>:<version>`, e.g. `PBS-1X:3`. */
  recipeVersion?: string;
  /** Username or user id. */
  operator?: string;
  from?: Date;
  to?: Date;
  /** The batch under investigation, left out of the answer. */
  excluding?: string;
  limit: number;
}

export type SharedCriterion = 'lot' | 'unit' | 'recipeVersion' | 'operator';

export interface ImpactedBatch {
  number: string;
  status: string;
  recipe: { code: string; version: number };
  product: string;
  startedAt: string | null;
  endedAt: string | null;
  shares: SharedCriterion[];
}

export class ImpactService {
  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
  ) {}

  async impact(c: ImpactCriteria): Promise<{ batches: ImpactedBatch[]; truncated: boolean }> {
    if (!c.lot && !c.unit && !c.recipeVersion && !c.operator)
      throw new Problem('validation-failed', 'name at least one of lot, unit, recipeVersion and operator', {
        errors: [{ in: 'query', pointer: '', message: 'name at least one of lot, unit, recipeVersion and operator' }],
      });
    const recipe = c.recipeVersion ? parseRecipeVersion(c.recipeVersion) : undefined;
    const operatorId = await this.mustExist(c, recipe);
    const conditions: { name: SharedCriterion; sql: string; bindings: Knex.RawBinding[] }[] = [];
    if (c.lot)
      conditions.push({
        name: 'lot',
        sql: `exists (select 1 from lot_transactions t join lots l on l.id = t.lot_id
                       where t.batch_id = b.number and t.kind in ('consumption', 'production')
                         and (l.lot_number = ? or l.id::text = ?))`,
        bindings: [c.lot, c.lot],
      });
    if (c.unit)
      conditions.push({
        name: 'unit',
        sql: `exists (select 1 from jsonb_each(b.units) u where u.value->>'code' = ?)`,
        bindings: [c.unit],
      });
    if (recipe)
      conditions.push({
        name: 'recipeVersion',
        sql: `(b.recipe_code = ? and b.recipe_version = ?)`,
        bindings: [recipe.code, recipe.version],
      });
    if (operatorId)
      conditions.push({
        name: 'operator',
        sql: `exists (select 1 from ebr_entries e where e.user_id = ? and e.batch_id = b.id)`,
        bindings: [operatorId],
      });
    const shares = conditions.map((k) => `case when ${k.sql} then '${k.name}' end`).join(', ');
    const bindings: Knex.RawBinding[] = conditions.flatMap((k) => k.bindings);
    const window: string[] = [];
    if (c.from) {
      window.push(`coalesce(b.ended_at, now()) >= ?`);
      bindings.push(c.from);
    }
    if (c.to) {
      window.push(`coalesce(b.started_at, b.created_at) < ?`);
      bindings.push(c.to);
    }
    if (c.excluding) {
      window.push(`b.number <> ? and b.id::text <> ?`);
      bindings.push(c.excluding, c.excluding);
    }
    bindings.push(c.limit + 1);
    const { rows } = await this.db.raw(
      `select * from (
         select b.number, b.status, b.recipe_code, b.recipe_version, b.product_code, b.started_at, b.ended_at,
                b.created_at, array_remove(array[${shares}]::text[], null) as shares
           from batches b
          ${window.length > 0 ? `where ${window.join(' and ')}` : ''}
       ) x
       where cardinality(x.shares) > 0
       order by coalesce(x.started_at, x.created_at) desc, x.number
       limit ?`,
      bindings,
    );
    const batches = (rows as Record<string, unknown>[]).map((r) => ({
      number: r.number as string,
      status: r.status as string,
      recipe: { code: r.recipe_code as string, version: r.recipe_version as number },
      product: r.product_code as string,
      startedAt: r.started_at ? (r.started_at as Date).toISOString() : null,
      endedAt: r.ended_at ? (r.ended_at as Date).toISOString() : null,
      shares: r.shares as SharedCriterion[],
    }));
    return { batches: batches.slice(0, c.limit), truncated: batches.length > c.limit };
  }

  /**
   * Each thing named exists: a typo must not read as "no other batch affected" (a false negative in an
   * investigation), so an unknown lot, unit, recipe version or operator is 404. Returns the operator's user id.
   */
  private async mustExist(
    c: ImpactCriteria,
    recipe: { code: string; version: number } | undefined,
  ): Promise<string | undefined> {
    const operator = c.operator
      ? isUuid(c.operator)
        ? await this.stores.users.byId(this.db, c.operator)
        : await this.stores.users.byUsername(this.db, c.operator)
      : undefined;
    if (c.operator && !operator) throw notFound(`user ${c.operator}`);
    if (c.lot) {
      const q = this.db('lots').where('lot_number', c.lot);
      if (isUuid(c.lot)) void q.orWhere('id', c.lot);
      if (!(await q.first('id'))) throw notFound(`lot ${c.lot}`);
    }
    if (c.unit && !(await this.db('equipment_units').where('code', c.unit).first('code')))
      throw notFound(`equipment unit ${c.unit}`);
    if (
      recipe &&
      !(await this.db('recipe_versions as v')
        .join('recipes as r', 'r.id', 'v.recipe_id')
        .where({ 'r.code': recipe.code, 'v.version': recipe.version })
        .first('v.id'))
    )
      throw notFound(`recipe version ${c.recipeVersion}`);
    return operator?.id;
  }
}

/** `<recipe code>:<version>`, e.g. `PBS-1X:3` (400 otherwise). */
function parseRecipeVersion(text: string): { code: string; version: number } {
  const m = /^(.+):(\d{1,9})$/.exec(text);
  if (!m)
    throw new Problem('validation-failed', 'recipeVersion is <recipe code>:<version>, e.g. PBS-1X:3', {
      errors: [{ in: 'query', pointer: '/recipeVersion', message: 'expected <recipe code>:<version>' }],
    });
  return { code: m[1], version: Number(m[2]) };
}
