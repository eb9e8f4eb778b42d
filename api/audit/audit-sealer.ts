/**
 * Seals committed audit entries into the hash chain a few times a second. Writers never wait for the
 * chain; the chain is at most one interval behind them, and every read of the trail seals first.
 * Several processes may each run one: the database lets one seal at a time.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { AuditStore } from '../../db/stores/audit-store';

export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  /** The periodic seal in progress, if any (a slow one is never overlapped by the next tick). */
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly db: Knex,
    private readonly store: AuditStore,
    private readonly log: Logger,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sealNow()
        .catch((err) => this.log.error({ err }, 'sealing the audit chain failed; retrying'))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Seals everything committed so far; returns how many entries it sealed. */
  async sealNow(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.store.seal(this.db);
      total += n;
      if (n < 10_000) return total;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
