/**
 * Group commit: mutations happen synchronously in memory and mark what changed; `barrier()` returns a
 * promise that resolves once everything marked so far is committed, batching concurrent requests into one
 * transaction. Every response waits on it, so nothing is acknowledged (or shown to a worker) before it is
 * durable. A failed commit is fatal: memory is then ahead of the store and the server must stop.
 */
import type { HistoryEvent } from '../proto';
import type { CommitBatch, NamespaceRecord, Store, StoredEvent } from '../store/store';
import type { Run } from './run';

export class Persistence {
  private runs = new Map<string, Run>();
  private events: StoredEvent[] = [];
  private namespaces = new Map<string, NamespaceRecord>();
  /** Schedules changed since the last commit: their state at commit time, or null once deleted. */
  private schedules = new Map<string, { namespace: string; scheduleId: string; state: () => string | null }>();
  private last: Promise<void> = Promise.resolve();
  private scheduled: Promise<void> | null = null;
  private failure: Error | null = null;
  commits = 0;

  constructor(
    private readonly store: Store,
    private readonly onFatal: (err: Error) => void,
  ) {}

  get durable(): boolean {
    return this.store.durable;
  }

  markRun(run: Run): void {
    if (this.store.durable) this.runs.set(run.runId, run);
  }

  addEvent(run: Run, event: HistoryEvent, bytes: Uint8Array): void {
    if (!this.store.durable) return;
    this.runs.set(run.runId, run);
    this.events.push({ runId: run.runId, eventId: Number(event.eventId), data: bytes });
  }

  markNamespace(ns: NamespaceRecord): void {
    if (this.store.durable) this.namespaces.set(ns.name, ns);
  }

  markSchedule(namespace: string, scheduleId: string, state: () => string | null): void {
    if (this.store.durable) this.schedules.set(`${namespace}\u0000${scheduleId}`, { namespace, scheduleId, state });
  }

  /** Resolves when all changes marked before this call are committed. */
  barrier(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.runs.size === 0 && this.events.length === 0 && this.namespaces.size === 0 && this.schedules.size === 0)
      return this.last;
    if (!this.scheduled) {
      const next = this.last.then(() => this.commitPending());
      this.scheduled = next;
      this.last = next;
    }
    return this.scheduled;
  }

  private async commitPending(): Promise<void> {
    this.scheduled = null;
    // Take the batch synchronously: state and events are consistent at this instant.
    const batch: CommitBatch = {
      namespaces: [...this.namespaces.values()],
      runs: [...this.runs.values()].map((r) => ({
        runId: r.runId,
        namespace: r.namespace,
        workflowId: r.workflowId,
        state: JSON.stringify(r.toSnapshot()),
      })),
      events: this.events,
      schedules: [...this.schedules.values()].map((s) => ({
        namespace: s.namespace,
        scheduleId: s.scheduleId,
        state: s.state(),
      })),
    };
    this.schedules = new Map();
    this.runs = new Map();
    this.events = [];
    this.namespaces = new Map();
    try {
      await this.store.commit(batch);
      this.commits++;
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      this.onFatal(this.failure);
      throw this.failure;
    }
  }
}
