/**
 * express-rate-limit's counters in PostgreSQL (`rate_limit_counters`), so that a limit holds across every API
 * process of a deployment rather than per process: one row per client and limiter, its hits in a fixed window,
 * counted by an upsert that starts a new window once the old one has passed (one clock reading per statement, so
 * that hits and reset time agree). Expired rows are swept now and then.
 */
import type { Knex } from 'knex';
import type { ClientRateLimitInfo, Options, Store } from 'express-rate-limit';

export class PostgresRateLimitStore implements Store {
  /** Counters are shared: express-rate-limit must not assume they are this process's alone. */
  readonly localKeys = false;
  private windowMs = 60_000;
  private increments = 0;

  constructor(
    private readonly db: Knex,
    /** Keeps limiters apart (`login`, `sign`). */
    readonly prefix: string,
  ) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    if (++this.increments % 500 === 0) void this.sweep();
    const { rows } = await this.db.raw(
      `insert into rate_limit_counters (key, hits, reset_at)
       values (?, 1, statement_timestamp() + ? * interval '1 millisecond')
       on conflict (key) do update set
         hits = case when rate_limit_counters.reset_at <= statement_timestamp() then 1 else rate_limit_counters.hits + 1 end,
         reset_at = case when rate_limit_counters.reset_at <= statement_timestamp() then excluded.reset_at
                         else rate_limit_counters.reset_at end
       returning hits, reset_at`,
      [this.keyOf(key), this.windowMs],
    );
    return { totalHits: Number(rows[0].hits), resetTime: new Date(rows[0].reset_at as string) };
  }

  async get(key: string): Promise<ClientRateLimitInfo | undefined> {
    const row = await this.db('rate_limit_counters')
      .where('key', this.keyOf(key))
      .where('reset_at', '>', this.db.raw('clock_timestamp()'))
      .first();
    return row ? { totalHits: Number(row.hits), resetTime: new Date(row.reset_at as string) } : undefined;
  }

  async decrement(key: string): Promise<void> {
    await this.db('rate_limit_counters')
      .where('key', this.keyOf(key))
      .update({ hits: this.db.raw('greatest(hits - 1, 0)') });
  }

  async resetKey(key: string): Promise<void> {
    await this.db('rate_limit_counters').where('key', this.keyOf(key)).delete();
  }

  private keyOf(key: string): string {
    return `${this.prefix}:${key}`;
  }

  private async sweep(): Promise<void> {
    await this.db('rate_limit_counters')
      .where('reset_at', '<', this.db.raw(`clock_timestamp() - interval '1 hour'`))
      .delete()
      .catch(() => undefined);
  }
}
