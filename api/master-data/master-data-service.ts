/**
 * Equipment classes and materials: the master data recipes refer to. Created by administrators, audited,
 * and offered to recipe validation as its catalogue.
 */
import type { Knex } from 'knex';
import type { Stores } from '../../db/stores';
import type { EquipmentClassRecord, MaterialRecord, MaterialType } from '../../db/stores/master-data-store';
import type { PhaseInterface } from '../../domain/equipment';
import type { RecipeCatalogue } from '../../domain/recipe/validate';
import { QUANTITY_KINDS, unitKindProblem, type QuantityKind } from '../../domain/units';
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext } from '../../db/change-context';
import { Problem, notFound, validationFailed, type FieldError } from '../http/problems';

export class MasterDataService {
  private readonly audit: AuditTrail;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
  ) {
    this.audit = new AuditTrail(stores.audit);
  }

  equipmentClasses(): Promise<EquipmentClassRecord[]> {
    return this.stores.masterData.equipmentClasses(this.db);
  }

  async createEquipmentClass(
    ctx: ChangeContext,
    c: { code: string; name: string; phases: string[]; interfaces?: Record<string, PhaseInterface> },
  ): Promise<EquipmentClassRecord> {
    const interfaces = c.interfaces ?? {};
    const problems: FieldError[] = [];
    for (const [phase, contract] of Object.entries(interfaces)) {
      if (!c.phases.includes(phase))
        problems.push({
          in: 'body',
          pointer: `/interfaces/${phase}`,
          message: `${phase} is not one of the class's phases`,
        });
      for (const [kind, signals] of [
        ['parameters', contract.parameters],
        ['reports', contract.reports],
      ] as const) {
        for (const [id, s] of Object.entries(signals)) {
          const p = unitKindProblem(s.unit, s.quantity);
          if (p) problems.push({ in: 'body', pointer: `/interfaces/${phase}/${kind}/${id}/unit`, message: p });
        }
      }
    }
    if (problems.length > 0) throw validationFailed(problems);
    if (await this.stores.masterData.equipmentClass(ctx.trx, c.code))
      throw new Problem('code-taken', `the equipment class ${c.code} exists already`);
    const created = await this.stores.masterData.createEquipmentClass(ctx.trx, {
      code: c.code,
      name: c.name,
      phases: [...new Set(c.phases)],
      interfaces,
      createdBy: ctx.actor.userId,
    });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: 'equipment-class',
      entityId: created.code,
      newValue: { code: created.code, name: created.name, phases: created.phases, interfaces },
    });
    return created;
  }

  materials(): Promise<MaterialRecord[]> {
    return this.stores.masterData.materials(this.db);
  }

  async material(code: string): Promise<MaterialRecord> {
    const m = await this.stores.masterData.material(this.db, code);
    if (!m) throw notFound(`material ${code}`);
    return m;
  }

  async createMaterial(
    ctx: ChangeContext,
    m: { code: string; name: string; type: MaterialType; baseUnit: string },
  ): Promise<MaterialRecord> {
    const countable: QuantityKind[] = ['mass', 'volume', 'amount'];
    if (countable.every((k) => unitKindProblem(m.baseUnit, k))) {
      throw validationFailed([
        {
          in: 'body',
          pointer: '/baseUnit',
          message: `"${m.baseUnit}" is not a UCUM unit of ${countable.join(', ')} (for example ${countable.map((k) => QUANTITY_KINDS[k].example).join(', ')})`,
        },
      ]);
    }
    if (await this.stores.masterData.material(ctx.trx, m.code))
      throw new Problem('code-taken', `the material ${m.code} exists already`);
    const created = await this.stores.masterData.createMaterial(ctx.trx, { ...m, createdBy: ctx.actor.userId });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: 'material',
      entityId: created.code,
      newValue: { code: created.code, name: created.name, type: created.type, baseUnit: created.baseUnit },
    });
    return created;
  }

  /** What recipe validation may refer to, as it is in this transaction. */
  async catalogue(db: Knex | Knex.Transaction = this.db): Promise<RecipeCatalogue> {
    const [classes, materials] = [
      await this.stores.masterData.equipmentClasses(db),
      await this.stores.masterData.materials(db),
    ];
    return {
      equipmentClasses: new Map(classes.map((c) => [c.code, { phases: c.phases, interfaces: c.interfaces }])),
      materials: new Map(materials.map((m) => [m.code, { baseUnit: m.baseUnit }])),
    };
  }
}
