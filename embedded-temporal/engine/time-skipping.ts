/**
 * Time skipping, as Temporal's test server does it: a virtual clock that jumps to the next deadline
 * whenever nothing is outstanding (no workflow task, activity or query a worker owes, and no client holding
 * the lock). A workflow that sleeps for days then finishes in milliseconds.
 */
import { randomUUID } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import { failedPrecondition } from '../errors';
import type { Clock, TimerService } from './timers';

/** Real time plus the total skipped so far. */
export class VirtualClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
}

export interface SkippableEngine {
  readonly timers: TimerService;
  /** True while a worker owes the server something (a task or an answer): time must not jump then. */
  hasOutstandingWork(): boolean;
}

/** How often skipping is re-considered even when nothing pokes it. */
const SAFETY_INTERVAL_MS = 20;

export class TimeSkipping {
  /** Client locks; the test server starts locked and `result()` unlocks around its wait. */
  private locks = 1;
  private pending = false;
  private readonly interval: NodeJS.Timeout;

  constructor(
    private readonly engine: SkippableEngine,
    private readonly clock: VirtualClock,
  ) {
    this.interval = setInterval(() => this.maybeSkip(), SAFETY_INTERVAL_MS);
    this.interval.unref();
  }

  lock(): void {
    this.locks++;
  }

  unlock(): void {
    if (this.locks === 0) throw failedPrecondition('Time skipping is not locked: unbalanced UnlockTimeSkipping.');
    this.locks--;
    this.poke();
  }

  /** Something changed: consider skipping once the current work settles. */
  poke(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.maybeSkip();
    });
  }

  private maybeSkip(): void {
    if (this.locks > 0 || this.engine.hasOutstandingWork()) return;
    const next = this.engine.timers.nextDeadline();
    if (next === undefined) return;
    const now = this.clock.now();
    if (next <= now) return;
    this.clock.offset += next - now;
    this.engine.timers.poke();
  }

  /** Resolves once virtual time has advanced by `ms` (which may take no real time at all). */
  sleep(ms: number, call?: grpc.ServerUnaryCall<unknown, unknown>): Promise<void> {
    return new Promise((resolve) => {
      const key = `test-sleep:${randomUUID()}`;
      const done = () => {
        call?.removeListener('cancelled', cancelled);
        resolve();
      };
      const cancelled = () => {
        this.engine.timers.clear(key);
        resolve();
      };
      this.engine.timers.set(key, this.clock.now() + Math.max(0, ms), done);
      call?.on('cancelled', cancelled);
      this.poke();
    });
  }

  stop(): void {
    clearInterval(this.interval);
  }
}
