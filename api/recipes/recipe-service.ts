/**
 * Recipe control: master recipes and their versions through the lifecycle. Every edit and transition is
 * audited with its reason in the transaction of the change; submission, approval and rejection are
 * electronically signed over the version's content; approval compiles the version into its execution
 * plan, stored once and for good. Nothing here can change a version that has left Draft: the database
 * refuses it too.
 */
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import type { RecipeRecord, RecipeVersionRecord } from '../../db/stores/recipe-store';
import { BatchSizeOutOfRange, compilePlan, planHash, scalePlan } from '../../domain/recipe/compile';
import type { RecipeDefinition } from '../../domain/recipe/definition';
import { diffRecipes, type RecipeChange } from '../../domain/recipe/diff';
import { OPEN_STATUSES, launchable, transition, type RecipeAction } from '../../domain/recipe/lifecycle';
import type { ExecutionPlan, ScaledPlan } from '../../domain/recipe/plan';
import { validateRecipe } from '../../domain/recipe/validate';
import { canonicalHash } from '../../domain/canonical-hash';
import { convert } from '../../domain/units';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext } from '../../db/change-context';
import { Problem, notFound } from '../http/problems';
import type { MasterDataService } from '../master-data/master-data-service';
import {
  signatureCovers,
  toManifestation,
  type SignatureManifestation,
  type SignatureService,
  type VerifiedSigner,
} from '../signatures/signature-service';

export const RECIPE_FILE_FORMAT = 'ampoule-recipe/1';

/** A recipe as exported to, and imported from, a JSON file. */
export interface RecipeFile {
  format: typeof RECIPE_FILE_FORMAT;
  code: string;
  name: string;
  version?: number;
  status?: string;
  planHash?: string | null;
  definition: unknown;
}

export interface VersionSummary {
  version: number;
  id: string;
  status: RecipeVersionRecord['status'];
  planHash: string | null;
  createdAt: Date;
  updatedAt: Date;
  submittedAt: Date | null;
  approvedAt: Date | null;
  effectiveAt: Date | null;
  supersededAt: Date | null;
  retiredAt: Date | null;
  /** How many times the version changed: its ETag. */
  rowVersion: number;
}

export interface RecipeView {
  id: string;
  code: string;
  name: string;
  createdAt: Date;
  effectiveVersion: number | null;
  versions: VersionSummary[];
}

export interface VersionView extends VersionSummary {
  recipe: { id: string; code: string; name: string };
  definition: unknown;
  /** Each signature, and whether it still covers the version as it is now. */
  signatures: (SignatureManifestation & { covers: boolean })[];
}

const ENTITY = 'recipe-version';

/** What a signature on a version signs: the recipe, the version and its definition (and, once approved, its plan). */
function signedContent(recipe: RecipeRecord, v: RecipeVersionRecord, planHashValue?: string | null) {
  return {
    recipe: recipe.code,
    version: v.version,
    definition: v.definition,
    ...(planHashValue ? { planHash: planHashValue } : {}),
  };
}

export class RecipeService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly masterData: MasterDataService,
    private readonly signatures: SignatureService,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  async list(): Promise<RecipeView[]> {
    const recipes = await this.stores.recipes.recipes(this.db);
    const versions = await this.stores.recipes.versions(
      this.db,
      recipes.map((r) => r.id),
    );
    return recipes.map((r) =>
      view(
        r,
        versions.filter((v) => v.recipeId === r.id),
      ),
    );
  }

  /** `db`: the caller's transaction, when it has one (PGlite has a single connection to share). */
  async get(idOrCode: string, db: Knex | Knex.Transaction = this.db): Promise<RecipeView> {
    const recipe = await this.recipe(db, idOrCode);
    return view(recipe, await this.stores.recipes.versions(db, [recipe.id]));
  }

  async getVersion(idOrCode: string, version: number): Promise<VersionView> {
    const recipe = await this.recipe(this.db, idOrCode);
    return this.viewIn(this.db, recipe, await this.version(this.db, recipe, version));
  }

  /** Creates a master recipe with its first version, a Draft. */
  async create(ctx: ChangeContext, input: { code: string; name: string; definition: unknown }): Promise<VersionView> {
    const code = input.code.toUpperCase();
    if (await this.stores.recipes.recipe(ctx.trx, code))
      throw new Problem('code-taken', `the recipe ${code} exists already; import or add a version to it instead`);
    const definition = await this.validated(ctx.trx, input.definition);
    const recipe = await this.stores.recipes.createRecipe(ctx.trx, {
      code,
      name: input.name,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: 'recipe',
      entityId: recipe.id,
      newValue: { code, name: input.name },
    });
    const v = await this.stores.recipes.createVersion(ctx.trx, {
      recipeId: recipe.id,
      version: 1,
      definition,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: ENTITY,
      entityId: v.id,
      newValue: { recipe: code, version: 1, status: 'draft', definition },
    });
    return this.viewIn(ctx.trx, recipe, v);
  }

  /** Starts a new Draft version as a copy of the latest one (or of `definition`, as an import does). */
  async newVersion(ctx: ChangeContext, idOrCode: string, definition?: unknown): Promise<VersionView> {
    const recipe = await this.recipe(ctx.trx, idOrCode);
    const versions = await this.stores.recipes.versions(ctx.trx, [recipe.id]);
    const open = versions.find((v) => OPEN_STATUSES.includes(v.status));
    if (open)
      throw new Problem(
        'invalid-transition',
        `version ${open.version} of ${recipe.code} is still ${open.status}: finish or retire it before starting another`,
      );
    const latest = versions[versions.length - 1];
    const content = definition === undefined ? latest.definition : await this.validated(ctx.trx, definition);
    const v = await this.stores.recipes.createVersion(ctx.trx, {
      recipeId: recipe.id,
      version: latest.version + 1,
      definition: content,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: ENTITY,
      entityId: v.id,
      newValue: {
        recipe: recipe.code,
        version: v.version,
        status: 'draft',
        basedOn: latest.version,
        definition: content,
      },
    });
    return this.viewIn(ctx.trx, recipe, v);
  }

  /** Replaces a Draft's definition; the audit entry keeps the changes, field by field. */
  async edit(ctx: ChangeContext, idOrCode: string, version: number, definition: unknown): Promise<VersionView> {
    const { recipe, v } = await this.forAction(ctx, idOrCode, version, 'edit');
    const next = await this.validated(ctx.trx, definition);
    const changes = diffRecipes(v.definition as RecipeDefinition, next);
    const after = await this.stores.recipes.updateDefinition(ctx.trx, v.id, next, ctx.actor.userId);
    await this.audit.record(ctx, {
      action: 'update',
      entityType: ENTITY,
      entityId: v.id,
      oldValue: { changes: changes.map((c) => ({ path: c.path, kind: c.kind, value: c.before })) },
      newValue: { changes: changes.map((c) => ({ path: c.path, kind: c.kind, value: c.after })) },
    });
    return this.viewIn(ctx.trx, recipe, after);
  }

  /** The author submits a Draft for review, signing it "authored". */
  async submit(ctx: ChangeContext, signer: VerifiedSigner, idOrCode: string, version: number): Promise<VersionView> {
    const { recipe, v } = await this.forAction(ctx, idOrCode, version, 'submit');
    await this.validated(ctx.trx, v.definition);
    await this.signatures.record(ctx, signer, {
      entityType: ENTITY,
      entityId: v.id,
      content: signedContent(recipe, v),
    });
    const after = await this.stores.recipes.setStatus(ctx.trx, v.id, 'in-review', { author: signer.userId });
    await this.recordTransition(ctx, v, after);
    return this.viewIn(ctx.trx, recipe, after);
  }

  /**
   * QA approves a version in review, signing it "approved" — never one of its authors. The version is
   * validated against today's master data and compiled; the plan is stored under its hash.
   */
  async approve(ctx: ChangeContext, signer: VerifiedSigner, idOrCode: string, version: number): Promise<VersionView> {
    const { recipe, v } = await this.forAction(ctx, idOrCode, version, 'approve');
    const definition = await this.validated(ctx.trx, v.definition);
    const plan = compilePlan(definition, { code: recipe.code, name: recipe.name, version: v.version, versionId: v.id });
    const hash = planHash(plan);
    await this.signatures.record(
      ctx,
      signer,
      { entityType: ENTITY, entityId: v.id, content: signedContent(recipe, v, hash) },
      [{ userIds: v.authors, rule: 'the author of a recipe version cannot approve it' }],
    );
    await this.stores.recipes.savePlan(ctx.trx, hash, v.id, plan);
    const after = await this.stores.recipes.setStatus(ctx.trx, v.id, 'approved', { planHash: hash });
    await this.recordTransition(ctx, v, after);
    return this.viewIn(ctx.trx, recipe, after);
  }

  /** QA sends a version in review back to Draft, signing "rejected" with a reason. */
  async reject(ctx: ChangeContext, signer: VerifiedSigner, idOrCode: string, version: number): Promise<VersionView> {
    const { recipe, v } = await this.forAction(ctx, idOrCode, version, 'reject');
    await this.signatures.record(
      ctx,
      signer,
      { entityType: ENTITY, entityId: v.id, content: signedContent(recipe, v) },
      [{ userIds: v.authors, rule: 'the author of a recipe version cannot reject it' }],
    );
    const after = await this.stores.recipes.setStatus(ctx.trx, v.id, 'draft');
    await this.recordTransition(ctx, v, after);
    return this.viewIn(ctx.trx, recipe, after);
  }

  /** Makes an Approved version the one batches launch from; the version that was Effective is Superseded. */
  async makeEffective(ctx: ChangeContext, idOrCode: string, version: number): Promise<VersionView> {
    const { recipe, v } = await this.forAction(ctx, idOrCode, version, 'make-effective');
    const previous = await this.stores.recipes.effectiveVersion(ctx.trx, recipe.id, true);
    if (previous) {
      const superseded = await this.stores.recipes.setStatus(ctx.trx, previous.id, 'superseded');
      await this.recordTransition(ctx, previous, superseded, { supersededBy: v.version });
    }
    const after = await this.stores.recipes.setStatus(ctx.trx, v.id, 'effective');
    await this.recordTransition(ctx, v, after, previous ? { supersedes: previous.version } : {});
    return this.viewIn(ctx.trx, recipe, after);
  }

  async retire(ctx: ChangeContext, idOrCode: string, version: number): Promise<VersionView> {
    const { recipe, v } = await this.forAction(ctx, idOrCode, version, 'retire');
    const after = await this.stores.recipes.setStatus(ctx.trx, v.id, 'retired');
    await this.recordTransition(ctx, v, after);
    return this.viewIn(ctx.trx, recipe, after);
  }

  /**
   * The approved version's execution plan, its hash checked against its content; scaled to `batchSize`
   * (in `unit`, by default the recipe's) when asked.
   */
  async plan(
    idOrCode: string,
    version: number,
    batchSize?: { value: number; unit?: string },
    db: Knex | Knex.Transaction = this.db,
  ): Promise<{ hash: string; verified: boolean; plan: ExecutionPlan | ScaledPlan }> {
    const recipe = await this.recipe(db, idOrCode);
    const v = await this.version(db, recipe, version);
    if (!v.planHash)
      throw new Problem(
        'invalid-transition',
        `version ${v.version} of ${recipe.code} is ${v.status}: it has no execution plan until it is approved`,
      );
    const plan = await this.stores.recipes.plan(db, v.planHash);
    if (!plan) throw new Error(`the execution plan ${v.planHash} of ${recipe.code} v${v.version} is missing`);
    const verified = canonicalHash(plan) === v.planHash;
    if (!batchSize) return { hash: v.planHash, verified, plan };
    return { hash: v.planHash, verified, plan: scaleTo(plan, v.planHash, batchSize) };
  }

  /**
   * The plan a batch launches with: the Effective version's, scaled. Refuses any other version (a Draft,
   * a Retired one) and a size outside the recipe's range. For the batch feature.
   */
  async launchPlan(
    idOrCode: string,
    version: number,
    batchSize: { value: number; unit?: string },
    db: Knex | Knex.Transaction = this.db,
  ): Promise<{ versionId: string; plan: ScaledPlan }> {
    const recipe = await this.recipe(db, idOrCode);
    const v = await this.version(db, recipe, version);
    if (!launchable(v.status))
      throw new Problem(
        'invalid-transition',
        `version ${v.version} of ${recipe.code} is ${v.status}: only an effective version launches batches`,
      );
    const { plan, verified } = await this.plan(idOrCode, version, batchSize, db);
    if (!verified) {
      const refusal = new Problem(
        'plan-integrity',
        `the execution plan of ${recipe.code} v${v.version} no longer matches the hash it was approved with (${v.planHash}): it was changed outside Ampoule, and no batch launches from it`,
      );
      refusal.securityEvent = {
        kind: 'plan_integrity_failed',
        detail: { recipe: recipe.code, version: v.version, planHash: v.planHash },
      };
      throw refusal;
    }
    return { versionId: v.id, plan: plan as ScaledPlan };
  }

  async diff(
    idOrCode: string,
    from: number,
    to: number,
  ): Promise<{ from: number; to: number; changes: RecipeChange[] }> {
    const recipe = await this.recipe(this.db, idOrCode);
    const [a, b] = [await this.version(this.db, recipe, from), await this.version(this.db, recipe, to)];
    return { from, to, changes: diffRecipes(a.definition as RecipeDefinition, b.definition as RecipeDefinition) };
  }

  async exportFile(idOrCode: string, version: number): Promise<RecipeFile> {
    const recipe = await this.recipe(this.db, idOrCode);
    const v = await this.version(this.db, recipe, version);
    return {
      format: RECIPE_FILE_FORMAT,
      code: recipe.code,
      name: recipe.name,
      version: v.version,
      status: v.status,
      planHash: v.planHash,
      definition: v.definition,
    };
  }

  /** Imports a recipe file: a new recipe, or a new Draft version of the recipe with that code. */
  async importFile(ctx: ChangeContext, file: RecipeFile): Promise<VersionView> {
    const existing = await this.stores.recipes.recipe(ctx.trx, file.code);
    if (!existing) return this.create(ctx, { code: file.code, name: file.name, definition: file.definition });
    return this.newVersion(ctx, existing.id, file.definition);
  }

  // ---- helpers ---------------------------------------------------------------------------------------------

  /** The version's row version, the row locked for a change: what an If-Match is checked against. */
  async lockedVersion(trx: Knex.Transaction, idOrCode: string, version: number): Promise<number | undefined> {
    const recipe = await this.stores.recipes.recipe(trx, idOrCode);
    return recipe ? (await this.stores.recipes.version(trx, recipe.id, version, true))?.rowVersion : undefined;
  }

  private async recipe(db: Knex | Knex.Transaction, idOrCode: string): Promise<RecipeRecord> {
    const r = await this.stores.recipes.recipe(db, idOrCode);
    if (!r) throw notFound(`recipe ${idOrCode}`);
    return r;
  }

  private async version(
    db: Knex | Knex.Transaction,
    recipe: RecipeRecord,
    version: number,
    forUpdate = false,
  ): Promise<RecipeVersionRecord> {
    const v = await this.stores.recipes.version(db, recipe.id, version, forUpdate);
    if (!v) throw notFound(`version ${version} of recipe ${recipe.code}`);
    return v;
  }

  /** The version, locked for the change, if `action` is allowed from its status. */
  private async forAction(ctx: ChangeContext, idOrCode: string, version: number, action: RecipeAction) {
    const recipe = await this.recipe(ctx.trx, idOrCode);
    const v = await this.version(ctx.trx, recipe, version, true);
    const t = transition(v.status, action);
    if (!t.ok)
      throw new Problem('invalid-transition', `${recipe.code} v${v.version}: ${t.reason}`, { versionStatus: v.status });
    return { recipe, v };
  }

  private async validated(db: Knex | Knex.Transaction, definition: unknown): Promise<RecipeDefinition> {
    const r = validateRecipe(definition, await this.masterData.catalogue(db));
    if (!r.ok) {
      const first = r.problems[0];
      throw new Problem(
        'recipe-invalid',
        r.problems.length === 1 ? `${first.path}: ${first.message}` : `${r.problems.length} problems; see problems`,
        { problems: r.problems },
      );
    }
    return r.definition;
  }

  private async recordTransition(
    ctx: ChangeContext,
    before: RecipeVersionRecord,
    after: RecipeVersionRecord,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await this.audit.record(ctx, {
      action: 'transition',
      entityType: ENTITY,
      entityId: before.id,
      oldValue: { status: before.status },
      newValue: {
        status: after.status,
        ...(after.planHash && !before.planHash ? { planHash: after.planHash } : {}),
        ...extra,
      },
    });
  }

  private async viewIn(
    db: Knex | Knex.Transaction,
    recipe: RecipeRecord,
    v: RecipeVersionRecord,
  ): Promise<VersionView> {
    const content = signedContent(recipe, v, v.planHash);
    const withoutPlan = signedContent(recipe, v);
    const signatures = (await this.stores.signatures.forEntity(db, ENTITY, v.id)).map((s) => ({
      ...toManifestation(s),
      // An approval signs the plan too; a submission signed the version before it had one.
      covers: signatureCovers(s, content) || signatureCovers(s, withoutPlan),
    }));
    return {
      ...summary(v),
      recipe: { id: recipe.id, code: recipe.code, name: recipe.name },
      definition: v.definition,
      signatures,
    };
  }
}

function scaleTo(plan: ExecutionPlan, hash: string, batchSize: { value: number; unit?: string }): ScaledPlan {
  const unit = batchSize.unit ?? plan.batchSize.unit;
  const size = convert(batchSize.value, unit, plan.batchSize.unit);
  if (size === undefined)
    throw new Problem(
      'batch-size-out-of-range',
      `a batch size in ${unit} cannot be converted to the recipe's ${plan.batchSize.unit}`,
    );
  try {
    return scalePlan(plan, hash, size);
  } catch (err) {
    if (err instanceof BatchSizeOutOfRange)
      throw new Problem('batch-size-out-of-range', err.message, {
        min: plan.batchSize.min,
        max: plan.batchSize.max,
        unit: plan.batchSize.unit,
      });
    throw err;
  }
}

function summary(v: RecipeVersionRecord): VersionSummary {
  return {
    version: v.version,
    id: v.id,
    status: v.status,
    planHash: v.planHash,
    createdAt: v.createdAt,
    updatedAt: v.updatedAt,
    submittedAt: v.submittedAt,
    approvedAt: v.approvedAt,
    effectiveAt: v.effectiveAt,
    supersededAt: v.supersededAt,
    retiredAt: v.retiredAt,
    rowVersion: v.rowVersion,
  };
}

function view(r: RecipeRecord, versions: RecipeVersionRecord[]): RecipeView {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    createdAt: r.createdAt,
    effectiveVersion: versions.find((v) => v.status === 'effective')?.version ?? null,
    versions: versions.map(summary),
  };
}
