/** Equipment units' and their state history's SQL. */
import type { Knex } from 'knex';
import type { UnitBinding } from '../../domain/equipment';

export type UnitStatus = 'available' | 'in-use' | 'maintenance';
export type Cleanliness = 'clean' | 'dirty';
export type SecurityMode = 'None' | 'Sign' | 'SignAndEncrypt';

export interface EquipmentUnitRecord {
  code: string;
  name: string;
  classCode: string;
  endpointUrl: string;
  securityMode: SecurityMode;
  securityPolicy: string;
  binding: UnitBinding;
  status: UnitStatus;
  cleanliness: Cleanliness;
  /** The batch (number) that claimed the unit and holds it while in use. */
  heldByBatch: string | null;
  createdAt: Date;
  createdBy: string | null;
  /** How many times the unit changed: its ETag. */
  rowVersion: number;
}

export interface StateHistoryEntry {
  id: number;
  unitCode: string;
  /** null for a change of the unit's own status. */
  phase: string | null;
  state: string;
  commandId: string | null;
  sourceTimestamp: Date;
  recordedAt: Date;
}

/** What a status change sets or expects: status, cleanliness, and the batch holding the unit (null: none). */
export interface UnitCondition {
  status?: UnitStatus;
  cleanliness?: Cleanliness;
  heldByBatch?: string | null;
}

const UNIT_CONDITION_COLUMNS = [
  ['status', 'status'],
  ['cleanliness', 'cleanliness'],
  ['heldByBatch', 'held_by_batch'],
] as const;

const COLUMNS: Record<string, string> = {
  name: 'name',
  endpointUrl: 'endpoint_url',
  securityMode: 'security_mode',
  securityPolicy: 'security_policy',
  status: 'status',
  cleanliness: 'cleanliness',
};

export class EquipmentStore {
  async create(
    trx: Knex.Transaction,
    u: Omit<EquipmentUnitRecord, 'createdAt' | 'status' | 'cleanliness' | 'heldByBatch' | 'rowVersion'>,
  ): Promise<EquipmentUnitRecord> {
    const [row] = await trx('equipment_units')
      .insert({
        code: u.code,
        name: u.name,
        class_code: u.classCode,
        endpoint_url: u.endpointUrl,
        security_mode: u.securityMode,
        security_policy: u.securityPolicy,
        binding: JSON.stringify(u.binding),
        created_by: u.createdBy,
      })
      .returning('*');
    return toUnit(row);
  }

  async byCode(db: Knex | Knex.Transaction, code: string, forUpdate = false): Promise<EquipmentUnitRecord | undefined> {
    const q = db('equipment_units').where('code', code.toUpperCase()).first();
    if (forUpdate) q.forUpdate();
    const row = await q;
    return row ? toUnit(row) : undefined;
  }

  async list(db: Knex | Knex.Transaction): Promise<EquipmentUnitRecord[]> {
    return (await db('equipment_units').orderBy('code')).map(toUnit);
  }

  async update(
    trx: Knex.Transaction,
    code: string,
    changes: Partial<
      Pick<
        EquipmentUnitRecord,
        'name' | 'endpointUrl' | 'securityMode' | 'securityPolicy' | 'binding' | 'status' | 'cleanliness'
      >
    >,
  ): Promise<EquipmentUnitRecord> {
    const values: Record<string, unknown> = {};
    for (const [k, column] of Object.entries(COLUMNS)) {
      const v = changes[k as keyof typeof changes];
      if (v !== undefined) values[column] = v;
    }
    if (changes.binding !== undefined) values.binding = JSON.stringify(changes.binding);
    const [row] = await trx('equipment_units').where('code', code).update(values).returning('*');
    return toUnit(row);
  }

  /**
   * Sets a unit's status, cleanliness and holding batch if it stands as `expect` says (a field not given is
   * not checked; `heldByBatch: null` expects none), in one statement that locks the row and re-checks it: of two
   * transactions guarded alike, the second waits for the first and, once it commits, no longer finds the unit
   * as expected. With `skipLocked` it does not wait: a unit another transaction is changing counts as not
   * standing so (a launch then tries the next; no two launches wait for each other's units). Returns the unit
   * before and after the change, or undefined if there is no such unit standing so.
   */
  async setStatusIf(
    trx: Knex.Transaction,
    code: string,
    to: UnitCondition,
    expect: UnitCondition = {},
    skipLocked = false,
  ): Promise<{ before: Required<UnitCondition>; after: EquipmentUnitRecord } | undefined> {
    const where = ['code = ?'];
    const bindings: Knex.RawBinding[] = [code.toUpperCase()];
    const sets: string[] = [];
    const values: Knex.RawBinding[] = [];
    for (const [key, column] of UNIT_CONDITION_COLUMNS) {
      const expected = expect[key];
      if (expected === null) where.push(`${column} is null`);
      else if (expected !== undefined) {
        where.push(`${column} = ?`);
        bindings.push(expected);
      }
      if (to[key] !== undefined) {
        sets.push(`${column} = ?`);
        values.push(to[key]);
      }
    }
    if (sets.length === 0) throw new Error('setStatusIf: nothing to set');
    const { rows } = await trx.raw(
      `with before as (select code, status, cleanliness, held_by_batch from equipment_units where ${where.join(' and ')} for update${skipLocked ? ' skip locked' : ''})
       update equipment_units u set ${sets.join(', ')}
         from before
        where u.code = before.code
       returning before.status as before_status, before.cleanliness as before_cleanliness, before.held_by_batch as before_held_by_batch, u.*`,
      [...bindings, ...values],
    );
    if (rows.length === 0) return undefined;
    return {
      before: {
        status: rows[0].before_status,
        cleanliness: rows[0].before_cleanliness,
        heldByBatch: rows[0].before_held_by_batch,
      },
      after: toUnit(rows[0]),
    };
  }

  /** Records a state change once: the same observation recorded twice (an activity retried) is stored once. */
  async addStateChange(
    db: Knex | Knex.Transaction,
    c: { unitCode: string; phase: string | null; state: string; commandId: string | null; sourceTimestamp: Date },
  ): Promise<boolean> {
    const dedupeKey = `${c.unitCode}/${c.phase ?? '-'}/${c.commandId ?? '-'}/${c.state}/${c.sourceTimestamp.toISOString()}`;
    const rows = await db('equipment_state_history')
      .insert({
        unit_code: c.unitCode,
        phase: c.phase,
        state: c.state,
        command_id: c.commandId,
        source_timestamp: c.sourceTimestamp,
        dedupe_key: dedupeKey,
      })
      .onConflict('dedupe_key')
      .ignore()
      .returning('id');
    return rows.length > 0;
  }

  /** How often a phase was seen starting to run under a command id: more than once means it ran again from the start. */
  async runsOf(db: Knex | Knex.Transaction, unitCode: string, phase: string, commandId: string): Promise<number> {
    const [{ n }] = await db('equipment_state_history')
      .where({ unit_code: unitCode, phase, command_id: commandId, state: 'running' })
      .count({ n: '*' });
    return Number(n);
  }

  async history(
    db: Knex,
    unitCode: string,
    q: { from?: Date; to?: Date; limit: number },
  ): Promise<StateHistoryEntry[]> {
    const query = db('equipment_state_history')
      .where('unit_code', unitCode)
      .orderBy([
        { column: 'source_timestamp', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(q.limit);
    if (q.from) query.where('source_timestamp', '>=', q.from);
    if (q.to) query.where('source_timestamp', '<', q.to);
    return (await query).map(toEntry);
  }

  /**
   * A unit's state history in a window, oldest first, with what held when it opened: the last row before it of
   * each phase, of the unit's status and of its cleanliness (OEE's sources).
   */
  async historyForWindow(db: Knex, unitCode: string, from: Date, to: Date): Promise<StateHistoryEntry[]> {
    const before = await db
      .select('*')
      .from(
        db('equipment_state_history')
          .select(
            '*',
            db.raw(
              `row_number() over (partition by coalesce(phase, case when state in ('clean', 'dirty') then ':cleanliness' else ':status' end) order by source_timestamp desc, id desc) as n`,
            ),
          )
          .where('unit_code', unitCode)
          .where('source_timestamp', '<', from)
          .as('h'),
      )
      .where('n', 1);
    const within = await db('equipment_state_history')
      .where('unit_code', unitCode)
      .where('source_timestamp', '>=', from)
      .where('source_timestamp', '<', to)
      .orderBy([
        { column: 'source_timestamp', order: 'asc' },
        { column: 'id', order: 'asc' },
      ]);
    return [
      ...before.map(toEntry).sort((a, b) => a.sourceTimestamp.getTime() - b.sourceTimestamp.getTime()),
      ...within.map(toEntry),
    ];
  }

  /** The last recorded state of each phase of a unit. */
  async latestPhaseStates(db: Knex, unitCode: string): Promise<StateHistoryEntry[]> {
    const rows = await db
      .select('*')
      .from(
        db('equipment_state_history')
          .select('*', db.raw('row_number() over (partition by phase order by source_timestamp desc, id desc) as n'))
          .where('unit_code', unitCode)
          .whereNotNull('phase')
          .as('h'),
      )
      .where('n', 1)
      .orderBy('phase');
    return rows.map(toEntry);
  }
}

function toUnit(r: Record<string, unknown>): EquipmentUnitRecord {
  return {
    code: r.code as string,
    name: r.name as string,
    classCode: r.class_code as string,
    endpointUrl: r.endpoint_url as string,
    securityMode: r.security_mode as SecurityMode,
    securityPolicy: r.security_policy as string,
    binding: r.binding as UnitBinding,
    status: r.status as UnitStatus,
    cleanliness: r.cleanliness as Cleanliness,
    heldByBatch: (r.held_by_batch as string | null) ?? null,
    createdAt: r.created_at as Date,
    createdBy: (r.created_by as string | null) ?? null,
    rowVersion: r.row_version as number,
  };
}

function toEntry(r: Record<string, unknown>): StateHistoryEntry {
  return {
    id: Number(r.id),
    unitCode: r.unit_code as string,
    phase: (r.phase as string | null) ?? null,
    state: r.state as string,
    commandId: (r.command_id as string | null) ?? null,
    sourceTimestamp: r.source_timestamp as Date,
    recordedAt: r.recorded_at as Date,
  };
}
