/**
 * Where the embedded server keeps its state between restarts. The engine holds everything in memory and
 * hands the store one batch per commit; a request is acknowledged only after its batch is committed.
 */

export interface NamespaceRecord {
  id: string;
  name: string;
  description: string;
  ownerEmail: string;
  retentionDays: number;
  data: Record<string, string>;
  /** Custom search attributes: name → IndexedValueType name (Keyword, Text, Int, Double, Bool, Datetime, KeywordList). */
  searchAttributes: Record<string, string>;
}

export interface StoredEvent {
  runId: string;
  eventId: number;
  data: Uint8Array;
}

export interface StoredRun {
  runId: string;
  namespace: string;
  workflowId: string;
  /** JSON of the run's mutable state (RunSnapshot). */
  state: string;
}

export interface StoredSchedule {
  namespace: string;
  scheduleId: string;
  /** JSON of the schedule (engine/schedules.ts ScheduleSnapshot); null in a commit deletes it. */
  state: string | null;
}

export interface CommitBatch {
  namespaces: NamespaceRecord[];
  runs: StoredRun[];
  events: StoredEvent[];
  schedules: StoredSchedule[];
}

export interface LoadedState {
  namespaces: NamespaceRecord[];
  runs: StoredRun[];
  /** Events of every run, ordered by run and event id. */
  events: StoredEvent[];
  schedules: (StoredSchedule & { state: string })[];
}

export interface Store {
  /** False for the in-memory store: nothing is serialised and commits are free. */
  readonly durable: boolean;
  readonly description: string;
  load(): Promise<LoadedState>;
  commit(batch: CommitBatch): Promise<void>;
  close(): Promise<void>;
}

export class MemoryStore implements Store {
  readonly durable = false;
  readonly description = 'memory';
  async load(): Promise<LoadedState> {
    return { namespaces: [], runs: [], events: [], schedules: [] };
  }
  async commit(): Promise<void> {}
  async close(): Promise<void> {}
}
