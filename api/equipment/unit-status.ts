/**
 * A unit's status (available, in use, maintenance), cleanliness and holding batch change here and nowhere
 * else: for operators and QA (the API), for a launch claiming units for its batch, and for the batch's end
 * giving them back. Each change is a guarded update — the unit is taken only from the state the caller
 * expects, so two launches never claim one unit and a batch gives back only a unit it holds — with its audit
 * entry and a row of the state history for each of status and cleanliness that changed, all in the caller's
 * transaction.
 */
import { AuditTrail } from '../audit/audit-trail';
import type { ChangeContext } from '../../db/change-context';
import type { Stores } from '../../db/stores';
import type { EquipmentUnitRecord, UnitCondition } from '../../db/stores/equipment-store';

export type { UnitCondition } from '../../db/stores/equipment-store';

export interface UnitChangeOptions {
  /** What the unit must stand as for the change to be made. */
  expect?: UnitCondition;
  /** The batch (number) on whose account the change is made: named in the audit entry and the state history. */
  batch?: string;
  /** Don't wait for a unit another transaction is changing: it counts as not standing as expected. */
  skipLocked?: boolean;
  /** A person forced a held unit free: the audit entry says so. */
  forced?: boolean;
}

export class UnitStatusKeeper {
  private readonly audit: AuditTrail;

  constructor(private readonly stores: Stores) {
    this.audit = new AuditTrail(stores.audit);
  }

  /**
   * Changes the unit `code` to `to`, provided it stands as `opts.expect` says. Returns the unit after the
   * change (unchanged, and nothing recorded, if it already stood so), or undefined if it does not exist or
   * does not stand as expected.
   */
  async change(
    ctx: ChangeContext,
    code: string,
    to: UnitCondition,
    opts: UnitChangeOptions = {},
  ): Promise<EquipmentUnitRecord | undefined> {
    const changed = await this.stores.equipment.setStatusIf(ctx.trx, code, to, opts.expect, opts.skipLocked);
    if (!changed) return undefined;
    const { before, after } = changed;
    const fields = (['status', 'cleanliness', 'heldByBatch'] as const).filter((f) => before[f] !== after[f]);
    if (fields.length === 0) return after;
    await this.audit.record(ctx, {
      action: 'status',
      entityType: 'equipment-unit',
      entityId: after.code,
      oldValue: Object.fromEntries(fields.map((f) => [f, before[f]])),
      newValue: {
        ...Object.fromEntries(fields.map((f) => [f, after[f]])),
        ...(opts.batch ? { batch: opts.batch } : {}),
        ...(opts.forced ? { forced: true } : {}),
      },
    });
    const { rows } = await ctx.trx.raw('select clock_timestamp() as now');
    for (const f of (['status', 'cleanliness'] as const).filter((x) => fields.includes(x))) {
      await this.stores.equipment.addStateChange(ctx.trx, {
        unitCode: after.code,
        phase: null,
        state: after[f],
        commandId: opts.batch ? `batch-${opts.batch}` : null,
        sourceTimestamp: rows[0].now,
      });
    }
    return after;
  }
}
