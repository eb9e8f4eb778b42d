/**
 * The server's clock and its one timer wheel: every deadline (user timers, activity and workflow-task
 * timeouts, retry backoffs, run timeouts) is a keyed entry here. Deadlines are derived from persisted
 * state, so after a restart they are simply set again; an overdue one fires at once.
 */

export interface Clock {
  /** Milliseconds since the epoch, as the server sees it. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

interface Entry {
  key: string;
  at: number;
  seq: number;
  fn: () => void;
}

/** Longest single setTimeout; later deadlines are re-evaluated when it fires. */
const MAX_SLEEP_MS = 60 * 60 * 1000;

export class TimerService {
  private readonly entries = new Map<string, Entry>();
  private heap: Entry[] = [];
  private seq = 0;
  private handle: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private stopped = false;

  constructor(
    readonly clock: Clock,
    /** Called after deadlines fired (time skipping re-evaluates then). */
    private readonly onFired?: () => void,
  ) {}

  /** Sets (or replaces) the deadline `key` to call `fn` at `at` (clock milliseconds). */
  set(key: string, at: number, fn: () => void): void {
    const entry: Entry = { key, at, seq: ++this.seq, fn };
    this.entries.set(key, entry);
    this.push(entry);
    if (at < this.armedFor) this.arm();
  }

  clear(key: string): void {
    this.entries.delete(key); // the heap entry is dropped lazily
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** The earliest pending deadline, if any. */
  nextDeadline(): number | undefined {
    this.dropStale();
    return this.heap[0]?.at;
  }

  /** Re-evaluates deadlines now; used after the clock moved (time skipping). */
  poke(): void {
    this.armedFor = Infinity;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    this.entries.clear();
    this.heap = [];
  }

  private arm(): void {
    if (this.stopped) return;
    this.dropStale();
    const first = this.heap[0];
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    if (!first) {
      this.armedFor = Infinity;
      return;
    }
    this.armedFor = first.at;
    const delay = Math.min(Math.max(0, first.at - this.clock.now()), MAX_SLEEP_MS);
    this.handle = setTimeout(() => this.fireDue(), delay);
    this.handle.unref?.();
  }

  private fireDue(): void {
    this.handle = undefined;
    this.armedFor = Infinity;
    const now = this.clock.now();
    let fired = false;
    for (;;) {
      this.dropStale();
      const first = this.heap[0];
      if (!first || first.at > now) break;
      this.pop();
      this.entries.delete(first.key);
      try {
        first.fn();
      } catch (err) {
        // A deadline handler must never take the timer wheel down with it.
        console.error(`embedded-temporal: deadline ${first.key} failed`, err);
      }
      fired = true;
    }
    this.arm();
    if (fired) this.onFired?.();
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0];
      if (this.entries.get(top.key) === top) return;
      this.pop();
    }
  }

  private push(e: Entry): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p], h[i])) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l], h[m])) m = l;
      if (r < h.length && less(h[r], h[m])) m = r;
      if (m === i) break;
      [h[m], h[i]] = [h[i], h[m]];
      i = m;
    }
  }
}

function less(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
