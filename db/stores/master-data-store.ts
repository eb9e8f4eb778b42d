/** Equipment classes' and materials' SQL. */
import type { Knex } from 'knex';
import type { PhaseInterface } from '../../domain/equipment';

export interface EquipmentClassRecord {
  code: string;
  name: string;
  phases: string[];
  interfaces: Record<string, PhaseInterface>;
  createdAt: Date;
  createdBy: string | null;
}

export type MaterialType = 'raw' | 'intermediate' | 'product';

export interface MaterialRecord {
  code: string;
  name: string;
  type: MaterialType;
  baseUnit: string;
  createdAt: Date;
  createdBy: string | null;
}

export class MasterDataStore {
  async createEquipmentClass(
    trx: Knex.Transaction,
    c: Omit<EquipmentClassRecord, 'createdAt'>,
  ): Promise<EquipmentClassRecord> {
    const [row] = await trx('equipment_classes')
      .insert({
        code: c.code,
        name: c.name,
        phases: c.phases,
        phase_interfaces: JSON.stringify(c.interfaces),
        created_by: c.createdBy,
      })
      .returning('*');
    return toClass(row);
  }

  async equipmentClasses(db: Knex | Knex.Transaction): Promise<EquipmentClassRecord[]> {
    return (await db('equipment_classes').orderBy('code')).map(toClass);
  }

  async equipmentClass(db: Knex | Knex.Transaction, code: string): Promise<EquipmentClassRecord | undefined> {
    const row = await db('equipment_classes').where('code', code).first();
    return row ? toClass(row) : undefined;
  }

  async createMaterial(trx: Knex.Transaction, m: Omit<MaterialRecord, 'createdAt'>): Promise<MaterialRecord> {
    const [row] = await trx('materials')
      .insert({ code: m.code, name: m.name, type: m.type, base_unit: m.baseUnit, created_by: m.createdBy })
      .returning('*');
    return toMaterial(row);
  }

  async materials(db: Knex | Knex.Transaction): Promise<MaterialRecord[]> {
    return (await db('materials').orderBy('code')).map(toMaterial);
  }

  async material(db: Knex | Knex.Transaction, code: string): Promise<MaterialRecord | undefined> {
    const row = await db('materials').where('code', code).first();
    return row ? toMaterial(row) : undefined;
  }
}

function toClass(r: Record<string, unknown>): EquipmentClassRecord {
  return {
    code: r.code as string,
    name: r.name as string,
    phases: r.phases as string[],
    interfaces: (r.phase_interfaces as Record<string, PhaseInterface>) ?? {},
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
  };
}

function toMaterial(r: Record<string, unknown>): MaterialRecord {
  return {
    code: r.code as string,
    name: r.name as string,
    type: r.type as MaterialType,
    baseUnit: r.base_unit as string,
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
  };
}
