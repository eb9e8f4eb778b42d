/**
 * What a batch workflow receives, what its updates carry, what its query answers, and the entries it
 * asks its activities to write into the batch record. Types only: shared by the workflow, its
 * activities and the API.
 */
import type { Weighing } from '../weighing';
import type { PhaseInterface, UnitEndpoint } from '../equipment';
import type { PhaseState } from '../isa88';
import type { Role, SignatureMeaning } from '../identity';
import type { ScaledPlan } from '../recipe/plan';

export type BatchStatus =
  'created' | 'running' | 'held' | 'complete' | 'stopped' | 'aborted' | 'reviewed' | 'released' | 'rejected';

export type StepStatus =
  'pending' | 'active' | 'awaiting-input' | 'awaiting-verification' | 'done' | 'failed' | 'cancelled';

/** The equipment a unit procedure runs on: where its controller is, and its phases' interfaces. */
export interface AssignedUnit extends UnitEndpoint {
  interfaces: Record<string, PhaseInterface>;
}

export interface BatchInput {
  batchId: string;
  batchNumber: string;
  plan: ScaledPlan;
  planHash: string;
  /** Unit procedure id → its unit. */
  units: Record<string, AssignedUnit>;
  outputLot: { lotNumber: string; material: string; expiryDate: string | null };
  launchedBy: { userId: string; fullName: string };
  /** How equipment phases are ended when the batch is cancelled from outside. */
  onCancel?: 'stop' | 'abort';
  /** How long a phase's activity may go without a heartbeat before another worker takes it over (default 30 s). */
  equipmentHeartbeatTimeout?: string;
}

/** Someone whose password the API checked just now, signing with this meaning. */
export interface Signer {
  userId: string;
  username: string;
  fullName: string;
  roles: Role[];
  meaning: SignatureMeaning;
  comment: string | null;
}

/** A lot an operator uses for a material step, as the API found it (quantities in the step's unit). */
export interface LotUse {
  lotId: string;
  lotNumber: string;
  material: string;
  /** The status that counts (expired once past its date). */
  status: 'quarantine' | 'released' | 'rejected' | 'expired';
  expiryDate: string | null;
  /** What the lot holds, in the step's unit. */
  available: number;
  /** What is taken from it, in the step's unit. */
  quantity: number;
}

export type FieldValue = number | string | boolean;

export interface StepCompletion {
  stepId: string;
  signer: Signer;
  values: Record<string, FieldValue>;
  lots?: LotUse[];
  /** A comment for each value outside its limits (a deviation needs one). */
  deviationComments?: Record<string, string>;
  comment?: string;
  /** Entered after the fact: when the step was really done (ISO 8601), and why it is recorded late. */
  lateEntry?: { performedAt: string; reason: string };
  /** A weighed material step's weighing: from the scale, or manual (then verified by a second person). */
  weighing?: Weighing;
}

export interface StepVerification {
  stepId: string;
  signer: Signer;
}

export type BatchCommand = 'hold' | 'restart' | 'stop' | 'abort';

export interface BatchCommandRequest {
  command: BatchCommand;
  reason: string;
  by: { userId: string; fullName: string; roles: Role[] };
}

/** A value outside its limits (accepted, with a comment), or an equipment report outside its limits. */
export interface Deviation {
  stepId: string;
  field: string;
  /** The value found; null when it should have been measured and was not (a yield nobody measured). */
  value: number | null;
  unit: string;
  low?: number;
  high?: number;
  comment: string | null;
  source: 'operator' | 'equipment';
}

export interface StepOutcome {
  stepId: string;
  status: StepStatus;
  deviations: Deviation[];
  /** The id of the electronic signature the record now holds. */
  signatureEntry: number;
}

/** One step, as the live state shows it. */
export interface LiveStep {
  id: string;
  number: number;
  name: string;
  kind: string;
  unitProcedureId: string;
  status: StepStatus;
  /** What the step waits for, and from whom. */
  awaiting?: { what: 'input' | 'verification'; roles: Role[]; notBy?: string };
  equipmentState?: PhaseState;
  /** An active equipment phase's state as its controller last reported it (added by the API from the unit's state history). */
  equipment?: { unit: string; phase: string; state: string; commandId: string | null; since: string };
  /** Why its equipment phase is being retried (unreachable, refused over certificates…), and the attempt under way. */
  equipmentProblem?: { message: string; attempt: number };
  performedBy?: string;
}

export interface LiveState {
  batchNumber: string;
  status: BatchStatus;
  steps: LiveStep[];
  deviations: number;
}

/** An entry the workflow asks its activity to write into the batch record. */
export interface EbrEntryInput {
  /** The entry's number in this batch's workflow (with the workflow id: its key). */
  no: number;
  kind: EbrKind;
  stepId: string | null;
  data: Record<string, unknown>;
  /** The workflow history event the entry was decided in. */
  eventId: number;
  /** Workflow time, ISO 8601. */
  occurredAt: string;
  user: { userId: string; fullName: string } | null;
  /** A signature to store with the entry, bound to the entry's data. */
  signature?: Signer;
}

/**
 * What a write of the batch record did: how many entries it stored, and the entries an earlier attempt of the same
 * write had stored already — with the history event and workflow time they were stored with. (A workflow task
 * whose completion was lost after its local activity committed is run again, later in the history: its retry
 * takes its entries down with a later event and time, and the record keeps the first.)
 */
export interface RecordWriteOutcome {
  written: number;
  /** Absent in the results of writes made before it was told (histories from before). */
  earlier?: { no: number; kind: string; stepId: string | null; eventId: number; occurredAt: string }[];
}

export type EbrKind =
  | 'batch-started'
  | 'step-started'
  | 'step-completed'
  | 'step-failed'
  | 'values-entered'
  | 'lots-consumed'
  | 'weighing'
  | 'equipment-parameters'
  | 'equipment-reports'
  | 'signature'
  | 'deviation'
  | 'verification'
  | 'batch-command'
  | 'output-lot'
  | 'yield'
  | 'phase-interrupted'
  | 'batch-ended'
  /** Written by Ampoule, not the workflow: the SHA-256 of each run's history, once archived (api/batches/history-archive.ts). */
  | 'history-archived';

/** What the step projection (the work queue's table) should say about a step. */
export interface StepProjection {
  stepId: string;
  status: StepStatus;
  awaitingRoles: Role[];
  performedBy?: string | null;
  verifiedBy?: string | null;
}
