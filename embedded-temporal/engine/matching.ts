/**
 * Task queues: tasks waiting for a poller and pollers waiting for a task (Temporal's "matching").
 * A task is only a reference; `tryStart` decides, at hand-over time, whether it is still valid and starts
 * it synchronously, so a stale reference (a task already started, cancelled or timed out) is dropped.
 */

export type TaskKind = 'workflow' | 'activity';

export interface Poller<R> {
  identity: string;
  /** Called synchronously when a task is matched; returns false if the poller is gone. */
  isAlive(): boolean;
  resolve(result: R | null): void;
}

interface Queue<T, R> {
  ready: T[];
  head: number;
  pollers: Poller<R>[];
}

export class TaskQueues<T, R> {
  private readonly queues = new Map<string, Queue<T, R>>();
  private readonly pendingDispatch = new Set<string>();

  constructor(private readonly tryStart: (task: T, identity: string) => R | undefined) {}

  /** Adds a task; it is handed to a waiting poller after the current mutation finishes. */
  add(namespace: string, taskQueue: string, task: T): void {
    const key = queueKey(namespace, taskQueue);
    const q = this.queue(key);
    q.ready.push(task);
    if (q.pollers.length > 0 && !this.pendingDispatch.has(key)) {
      this.pendingDispatch.add(key);
      queueMicrotask(() => {
        this.pendingDispatch.delete(key);
        this.dispatch(q);
      });
    }
  }

  /** Takes a ready task at once, or registers the poller. Returns the started task, or null if it must wait. */
  takeOrWait(namespace: string, taskQueue: string, poller: Poller<R>): R | null {
    const q = this.queue(queueKey(namespace, taskQueue));
    const started = this.takeReady(q, poller.identity);
    if (started !== undefined) return started;
    q.pollers.push(poller);
    return null;
  }

  removePoller(namespace: string, taskQueue: string, poller: Poller<R>): void {
    const q = this.queues.get(queueKey(namespace, taskQueue));
    if (!q) return;
    const i = q.pollers.indexOf(poller);
    if (i >= 0) q.pollers.splice(i, 1);
  }

  /** Number of task references waiting (some may be stale). */
  backlog(namespace: string, taskQueue: string): number {
    const q = this.queues.get(queueKey(namespace, taskQueue));
    return q ? q.ready.length - q.head : 0;
  }

  pollerCount(namespace: string, taskQueue: string): number {
    return this.queues.get(queueKey(namespace, taskQueue))?.pollers.length ?? 0;
  }

  /** Answers every waiting poller with an empty result (server shutdown). */
  releaseAll(): void {
    for (const q of this.queues.values()) {
      for (const p of q.pollers.splice(0)) p.resolve(null);
    }
  }

  private dispatch(q: Queue<T, R>): void {
    while (q.pollers.length > 0) {
      const poller = q.pollers[0];
      if (!poller.isAlive()) {
        q.pollers.shift();
        continue;
      }
      const started = this.takeReady(q, poller.identity);
      if (started === undefined) return;
      q.pollers.shift();
      poller.resolve(started);
    }
  }

  private takeReady(q: Queue<T, R>, identity: string): R | undefined {
    while (q.head < q.ready.length) {
      const task = q.ready[q.head++];
      if (q.head > 1024 && q.head * 2 > q.ready.length) {
        q.ready = q.ready.slice(q.head);
        q.head = 0;
      }
      const started = this.tryStart(task, identity);
      if (started !== undefined) return started;
    }
    return undefined;
  }

  private queue(key: string): Queue<T, R> {
    let q = this.queues.get(key);
    if (!q) {
      q = { ready: [], head: 0, pollers: [] };
      this.queues.set(key, q);
    }
    return q;
  }
}

function queueKey(namespace: string, taskQueue: string): string {
  return `${namespace}\u0000${taskQueue}`;
}
