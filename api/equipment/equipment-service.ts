/**
 * Equipment units: their OPC UA endpoint and binding (configuration, by administrators), their status
 * and cleanliness (kept by operators and QA, through `api/equipment/unit-status.ts` like every status change), and
 * their state history. Every change is audited with its reason; a status change is also a row of the state
 * history.
 */
import type { Knex } from 'knex';
import { AuditTrail, changedFields } from '../audit/audit-trail';
import type { ChangeContext, UserActor } from '../../db/change-context';
import { UnitStatusKeeper } from './unit-status';
import type { Stores } from '../../db/stores';
import type { Cleanliness, EquipmentUnitRecord, StateHistoryEntry, UnitStatus } from '../../db/stores/equipment-store';
import { Problem, notFound, validationFailed, type FieldError } from '../http/problems';

/** What registering a unit sets: its identity, class, OPC UA endpoint, security and binding. */
export type UnitConfig = Pick<
  EquipmentUnitRecord,
  'code' | 'name' | 'classCode' | 'endpointUrl' | 'securityMode' | 'securityPolicy' | 'binding'
>;

const SECURITY_POLICIES = {
  None: 'http://opcfoundation.org/UA/SecurityPolicy#None',
  Basic256Sha256: 'http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256',
  Aes128_Sha256_RsaOaep: 'http://opcfoundation.org/UA/SecurityPolicy#Aes128_Sha256_RsaOaep',
  Aes256_Sha256_RsaPss: 'http://opcfoundation.org/UA/SecurityPolicy#Aes256_Sha256_RsaPss',
} as const;
export const SECURITY_POLICY_URIS = Object.values(SECURITY_POLICIES);

const CONFIG_FIELDS = ['name', 'endpointUrl', 'securityMode', 'securityPolicy', 'binding'] as const;

export class EquipmentService {
  private readonly audit: AuditTrail;
  private readonly units: UnitStatusKeeper;

  constructor(
    private readonly db: Knex,
    private readonly stores: Stores,
    private readonly allowSecurityNone: boolean,
  ) {
    this.audit = new AuditTrail(stores.audit);
    this.units = new UnitStatusKeeper(stores);
  }

  list(): Promise<EquipmentUnitRecord[]> {
    return this.stores.equipment.list(this.db);
  }

  async get(code: string): Promise<EquipmentUnitRecord> {
    const u = await this.stores.equipment.byCode(this.db, code);
    if (!u) throw notFound(`equipment unit ${code}`);
    return u;
  }

  /** The unit's row version, the row locked for a change: what an If-Match is checked against. */
  async lockedVersion(trx: Knex.Transaction, code: string): Promise<number | undefined> {
    return (await this.stores.equipment.byCode(trx, code, true))?.rowVersion;
  }

  async create(ctx: ChangeContext, c: UnitConfig): Promise<EquipmentUnitRecord> {
    await this.check(ctx.trx, c);
    if (await this.stores.equipment.byCode(ctx.trx, c.code))
      throw new Problem('code-taken', `the equipment unit ${c.code} exists already`);
    const unit = await this.stores.equipment.create(ctx.trx, { ...c, createdBy: ctx.actor.userId });
    await this.audit.record(ctx, {
      action: 'create',
      entityType: 'equipment-unit',
      entityId: unit.code,
      newValue: { ...c },
    });
    await this.stores.equipment.addStateChange(ctx.trx, {
      unitCode: unit.code,
      phase: null,
      state: unit.status,
      commandId: null,
      sourceTimestamp: await this.now(ctx.trx),
    });
    return unit;
  }

  /** Changes the configuration: endpoint, security, binding, name. */
  async configure(
    ctx: ChangeContext,
    code: string,
    changes: Partial<Omit<UnitConfig, 'code' | 'classCode'>>,
  ): Promise<EquipmentUnitRecord> {
    const before = await this.locked(ctx.trx, code);
    await this.check(ctx.trx, { ...before, ...changes });
    const after = await this.stores.equipment.update(ctx.trx, before.code, changes);
    const diff = changedFields(before, after, CONFIG_FIELDS);
    if (diff)
      await this.audit.record(ctx, { action: 'update', entityType: 'equipment-unit', entityId: before.code, ...diff });
    return after;
  }

  /**
   * Sets the unit's status (available, maintenance) and cleanliness; each change enters the state history.
   * In use is a batch's doing: a launch claims the unit, the batch's end gives it back. A unit a batch holds
   * changes status only when forced (`force`, QA), which frees it of its batch with the reason on the record.
   */
  async setStatus(
    ctx: ChangeContext & { actor: UserActor },
    code: string,
    s: { status?: UnitStatus; cleanliness?: Cleanliness; force?: boolean },
  ): Promise<EquipmentUnitRecord> {
    if (s.status === undefined && s.cleanliness === undefined)
      throw validationFailed([{ in: 'body', pointer: '', message: 'give status or cleanliness' }]);
    if (s.status === 'in-use')
      throw new Problem('conflict', `a unit is put in use only by the launch that claims it for its batch`);
    const unit = await this.locked(ctx.trx, code);
    const freeing = s.status !== undefined && unit.heldByBatch !== null;
    if (freeing && !s.force) {
      throw new Problem(
        'conflict',
        `unit ${unit.code} is in use by batch ${unit.heldByBatch}: it is given back when the batch ends (QA may force it free, with the reason on the record)`,
        { heldByBatch: unit.heldByBatch },
      );
    }
    if (freeing && !ctx.actor.roles.includes('qa'))
      throw new Problem('forbidden', `forcing unit ${unit.code} free of batch ${unit.heldByBatch} is for QA`);
    const to = { status: s.status, cleanliness: s.cleanliness, ...(freeing ? { heldByBatch: null } : {}) };
    return (await this.units.change(ctx, unit.code, to, freeing ? { batch: unit.heldByBatch!, forced: true } : {}))!;
  }

  async state(
    code: string,
    q: { from?: Date; to?: Date; limit: number },
  ): Promise<{ unit: EquipmentUnitRecord; phases: StateHistoryEntry[]; history: StateHistoryEntry[] }> {
    const unit = await this.get(code);
    return {
      unit,
      phases: await this.stores.equipment.latestPhaseStates(this.db, unit.code),
      history: await this.stores.equipment.history(this.db, unit.code, q),
    };
  }

  private async locked(trx: Knex.Transaction, code: string): Promise<EquipmentUnitRecord> {
    const u = await this.stores.equipment.byCode(trx, code, true);
    if (!u) throw notFound(`equipment unit ${code}`);
    return u;
  }

  /** The class exists and offers every bound phase; security None only where configured. */
  private async check(
    db: Knex | Knex.Transaction,
    c: Pick<UnitConfig, 'classCode' | 'securityMode' | 'securityPolicy' | 'binding'>,
  ): Promise<void> {
    const problems: FieldError[] = [];
    const cls = await this.stores.masterData.equipmentClass(db, c.classCode);
    if (!cls) problems.push({ in: 'body', pointer: '/classCode', message: `unknown equipment class ${c.classCode}` });
    for (const phase of Object.keys(c.binding.phases)) {
      if (cls && cls.phases.length > 0 && !cls.phases.includes(phase))
        problems.push({
          in: 'body',
          pointer: `/binding/phases/${phase}`,
          message: `class ${cls.code} has no phase ${phase}`,
        });
    }
    if (c.securityMode === 'None' && !this.allowSecurityNone) {
      problems.push({
        in: 'body',
        pointer: '/securityMode',
        message: 'security mode None is refused unless AMPOULE_OPCUA_ALLOW_SECURITY_NONE=true',
      });
    }
    if (c.securityMode !== 'None' && c.securityPolicy === SECURITY_POLICIES.None)
      problems.push({
        in: 'body',
        pointer: '/securityPolicy',
        message: 'Sign and SignAndEncrypt need a security policy other than None',
      });
    if (problems.length > 0) throw validationFailed(problems);
  }

  private async now(db: Knex | Knex.Transaction): Promise<Date> {
    const { rows } = await db.raw('select clock_timestamp() as now');
    return rows[0].now;
  }
}
