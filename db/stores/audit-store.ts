/**
 * The audit trail's SQL. Entries are appended inside the caller's transaction, stamped by the database
 * (time, writing transaction); `seal` then chains committed entries (sequence, hashes) in the database,
 * so nothing here can forge or reorder the chain.
 */
import type { Knex } from 'knex';
import { isUuid } from '../../domain/identity';

/** What the application supplies for an entry; the database adds seq, time and hashes. */
export interface NewAuditEntry {
  userId: string | null;
  username: string | null;
  /** Printed name of whoever made the change (`system` for Ampoule itself). */
  userName: string;
  action: string;
  entityType: string;
  entityId: string;
  oldValue?: unknown;
  newValue?: unknown;
  reason?: string | null;
  clientAddress?: string | null;
  requestId?: string | null;
}

export interface AuditEntry extends Required<Omit<NewAuditEntry, 'oldValue' | 'newValue'>> {
  /** Null only for the moments between commit and sealing. */
  seq: number | null;
  id: string;
  recordedAt: Date;
  oldValue: unknown;
  newValue: unknown;
  prevHash: string | null;
  hash: string | null;
}

export interface AuditQuery {
  entityType?: string;
  entityId?: string;
  /** A user id or a username. */
  user?: string;
  action?: string;
  from?: Date;
  to?: Date;
  afterSeq?: number;
  limit: number;
}

/** The first entry whose link or hash does not hold, and why. */
export interface ChainBreak {
  seq: number;
  id: string | null;
  problem:
    | 'hash does not match the entry'
    | 'previous hash does not match the entry before'
    | 'entries are missing before this one'
    | 'entries are missing at the end of the chain';
}

/** Changes of GMP tables made outside Ampoule, as the database traced them (action `outside-ampoule`). */
export interface OutsideChanges {
  /** Not yet acknowledged by QA. */
  count: number;
  /** Acknowledged by QA, each with a signed review and a reason. */
  acknowledged?: number;
  /** The first of them: where to start looking. */
  first?: {
    seq: number | null;
    recordedAt: Date;
    username: string | null;
    entityType: string;
    entityId: string;
    reason: string | null;
  };
}

export interface ChainVerification {
  /** The chain is whole and nothing was changed outside Ampoule. */
  ok: boolean;
  /** Sealed entries checked. */
  entries: number;
  /** Entries committed since the last seal: checked once sealed. */
  unsealed: number;
  lastSeq: number;
  lastHash: string;
  firstBreak?: ChainBreak;
  outsideAmpoule: OutsideChanges;
}

const GENESIS = '0'.repeat(64);

/** The entity type under which QA's acknowledgement of a change made outside Ampoule is audited (its id: the trace's). */
export const OUTSIDE_CHANGE = 'outside-change';

function jsonOrNull(v: unknown): string | null {
  return v === undefined || v === null ? null : JSON.stringify(v);
}

export class AuditStore {
  /** Appends an entry in the caller's transaction; it joins the hash chain at the next `seal` after commit. */
  async append(trx: Knex | Knex.Transaction, e: NewAuditEntry): Promise<{ id: string; recordedAt: Date }> {
    const [row] = await trx('audit_entries')
      .insert({
        user_id: e.userId,
        username: e.username,
        user_name: e.userName,
        action: e.action,
        entity_type: e.entityType,
        entity_id: e.entityId,
        old_value: jsonOrNull(e.oldValue),
        new_value: jsonOrNull(e.newValue),
        reason: e.reason ?? null,
        client_address: e.clientAddress ?? null,
        request_id: e.requestId ?? null,
      })
      .returning(['id', 'recorded_at']);
    return { id: row.id, recordedAt: row.recorded_at };
  }

  /** Seals every committed entry into the chain (at most `max` per call); returns how many it sealed. */
  async seal(db: Knex, max = 10_000): Promise<number> {
    const { rows } = await db.raw('select ampoule_audit_seal(?) as sealed', [max]);
    return rows[0].sealed;
  }

  async find(db: Knex | Knex.Transaction, q: AuditQuery): Promise<AuditEntry[]> {
    // Sealed entries in chain order; the rare entry still unsealed comes last.
    const query = db('audit_entries').orderByRaw('seq asc nulls last, recorded_at asc').limit(q.limit);
    if (q.entityType) query.where('entity_type', q.entityType);
    if (q.entityId) query.where('entity_id', q.entityId);
    if (q.action) query.where('action', q.action);
    if (q.user) {
      const byId = isUuid(q.user);
      query.where((w) => (byId ? w.where('user_id', q.user!) : w.where('username', q.user!.toLowerCase())));
    }
    if (q.from) query.where('recorded_at', '>=', q.from);
    if (q.to) query.where('recorded_at', '<', q.to);
    if (q.afterSeq !== undefined) query.where('seq', '>', q.afterSeq);
    const rows = await query;
    return rows.map(toEntry);
  }

  /**
   * How many changes the database traced as made outside Ampoule (action `outside-ampoule`) QA has not yet
   * acknowledged, the first of them, and how many were acknowledged.
   */
  async outsideChanges(db: Knex): Promise<OutsideChanges> {
    const unacknowledged = () =>
      db('audit_entries as o')
        .where('o.action', 'outside-ampoule')
        .whereNotExists((q) =>
          q
            .select(db.raw('1'))
            .from('audit_entries as a')
            .where({ 'a.action': 'acknowledge', 'a.entity_type': OUTSIDE_CHANGE })
            .whereRaw('a.entity_id = o.id::text'),
        );
    const [{ n }] = await unacknowledged().count({ n: '*' });
    const [{ n: acknowledged }] = await db('audit_entries')
      .where({ action: 'acknowledge', entity_type: OUTSIDE_CHANGE })
      .count({ n: '*' });
    const result: OutsideChanges = {
      count: Number(n),
      ...(Number(acknowledged) > 0 ? { acknowledged: Number(acknowledged) } : {}),
    };
    if (result.count === 0) return result;
    const first = await unacknowledged().orderByRaw('o.seq asc nulls last, o.recorded_at asc').first('o.*');
    return {
      ...result,
      first: {
        seq: first.seq,
        recordedAt: first.recorded_at,
        username: first.username,
        entityType: first.entity_type,
        entityId: first.entity_id,
        reason: first.reason,
      },
    };
  }

  async byId(db: Knex | Knex.Transaction, id: string): Promise<AuditEntry | undefined> {
    const row = await db('audit_entries').where('id', id).first();
    return row ? toEntry(row) : undefined;
  }

  /**
   * Walks the whole sealed chain in the database: recomputes every hash with the same canonical function
   * the sealing used, checks each link and the sequence, and compares the end with the chain head. Also
   * counts the changes the database traced as made outside Ampoule: with any, the verdict is not ok.
   */
  async verify(db: Knex): Promise<ChainVerification> {
    const broken = await db.raw(`
      select seq, id, problem from (
        select a.seq, a.id,
          case
            when a.hash <> encode(sha256(convert_to(a.prev_hash || ampoule_audit_canonical(a), 'UTF8')), 'hex') then 'hash does not match the entry'
            when a.seq <> coalesce(lag(a.seq) over w, 0) + 1 then 'entries are missing before this one'
            when a.prev_hash <> coalesce(lag(a.hash) over w, '${GENESIS}') then 'previous hash does not match the entry before'
          end as problem
        from audit_entries a
        where a.seq is not null
        window w as (order by a.seq)
      ) checked
      where problem is not null
      order by seq
      limit 1`);
    const {
      rows: [tail],
    } = await db.raw(`select count(seq)::bigint as entries, count(*) filter (where seq is null)::bigint as unsealed,
        coalesce(max(seq), 0)::bigint as last_seq,
        (select hash from audit_entries where seq is not null order by seq desc limit 1) as last_hash from audit_entries`);
    const {
      rows: [head],
    } = await db.raw(`select seq, hash from audit_chain_head`);
    const outside = await this.outsideChanges(db);
    const result: ChainVerification = {
      ok: outside.count === 0,
      entries: tail.entries,
      unsealed: tail.unsealed,
      lastSeq: tail.last_seq,
      lastHash: tail.last_hash ?? GENESIS,
      outsideAmpoule: outside,
    };
    if (broken.rows.length > 0) {
      const b = broken.rows[0];
      result.ok = false;
      result.firstBreak = { seq: b.seq, id: b.id, problem: b.problem };
    } else if (head.seq !== tail.last_seq || head.hash !== result.lastHash) {
      result.ok = false;
      result.firstBreak = { seq: tail.last_seq + 1, id: null, problem: 'entries are missing at the end of the chain' };
    }
    return result;
  }
}

function toEntry(r: Record<string, unknown>): AuditEntry {
  return {
    seq: r.seq as number | null,
    id: r.id as string,
    recordedAt: r.recorded_at as Date,
    userId: r.user_id as string | null,
    username: r.username as string | null,
    userName: r.user_name as string,
    action: r.action as string,
    entityType: r.entity_type as string,
    entityId: r.entity_id as string,
    oldValue: r.old_value,
    newValue: r.new_value,
    reason: r.reason as string | null,
    clientAddress: r.client_address as string | null,
    requestId: r.request_id as string | null,
    prevHash: r.prev_hash as string | null,
    hash: r.hash as string | null,
  };
}
