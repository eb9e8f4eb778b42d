/**
 * The one place the batches feature talks to Temporal: starting a batch's workflow, asking whether one exists,
 * reading a running batch's live state, sending it operators' entries and commands as Updates, and reading its
 * history. Temporal's
 * answers become problems here: a refusal by the workflow is recognised by its failure type
 * (`domain/batch/failures.ts`) — a conflict with the state 409, a broken rule 422 — and an unreachable Temporal
 * is 503.
 */
import { batchStaticDetails, batchStaticSummary } from '../../domain/batch/static-metadata';
import {
  WorkflowClient,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { ACTIVITY_FAILURES, REFUSALS } from '../../domain/batch/failures';
import type {
  BatchCommandRequest,
  BatchInput,
  BatchStatus,
  LiveState,
  StepCompletion,
  StepOutcome,
  StepVerification,
} from '../../domain/batch/types';
import {
  BATCH_SEARCH_ATTRIBUTES as SA,
  BATCH_WORKFLOW,
  batchCommandUpdate,
  batchStateQuery,
  completeStepUpdate,
  verifyStepUpdate,
} from '../../workflows/batch/messages';
import { Problem } from '../http/problems';

export interface TemporalAccess {
  client: Client;
  taskQueue: string;
  /** The batch workflow's code, bundled, to replay histories against (tests share one); bundled on first use by default. */
  workflowBundle?: () => Promise<WorkflowBundleWithSourceMap>;
  /** How long an equipment phase may go without a heartbeat before another worker takes it over (temporal.yaml). */
  equipmentHeartbeatTimeout?: string;
}

/**
 * How long a reader waits for a batch's live state before being shown the recorded one. The worker may
 * drop a query now and then (the SDK core discards all but one of the queries that reach a workflow while
 * it is being evicted, e.g. just after it ends); nobody should wait a minute for a screen because of it.
 */
const LIVE_STATE_WAIT_MS = 3_000;

/** What a batch's workflow is started with, besides its input: the search attributes that find it. */
export interface BatchWorkflowLabels {
  workflowId: string;
  number: string;
  recipe: string;
  product: string;
}

export class BatchTemporalGateway {
  /** Asks running workflows only: a closed batch's state is what was recorded, no worker need replay it. */
  private liveQueries: WorkflowClient | undefined;

  constructor(private readonly temporal: TemporalAccess | undefined) {}

  /** Whether this process has a Temporal to reach. */
  available(): boolean {
    return this.temporal !== undefined;
  }

  /**
   * Why equipment phases of a running batch are being retried: each runEquipmentPhase activity whose last attempt
   * failed, by the step its heartbeat names, with the failure's message and the attempt under way. Empty when
   * Temporal does not answer within the live state's wait.
   */
  async equipmentProblems(workflowId: string): Promise<Map<string, { message: string; attempt: number }>> {
    const problems = new Map<string, { message: string; attempt: number }>();
    if (!this.temporal) return problems;
    try {
      const { client } = this.temporal;
      const described = await client.connection.withDeadline(Date.now() + LIVE_STATE_WAIT_MS, () =>
        client.workflow.getHandle(workflowId).describe(),
      );
      for (const a of described.raw.pendingActivities ?? []) {
        if (a.activityType?.name !== 'runEquipmentPhase' || !a.lastFailure?.message) continue;
        const payload = a.heartbeatDetails?.payloads?.[0];
        const details = payload?.data
          ? (JSON.parse(Buffer.from(payload.data).toString('utf8')) as { stepId?: string })
          : {};
        if (details.stepId) problems.set(details.stepId, { message: a.lastFailure.message, attempt: a.attempt ?? 1 });
      }
    } catch {
      // Not reachable or slow: the step shows its recorded state only.
    }
    return problems;
  }

  /** Resolves when Temporal answers (readiness); throws when it does not. */
  async ping(): Promise<void> {
    await this.requireTemporal().client.workflowService.getSystemInfo({});
  }

  /** Refuses (503) at once when this API process has no Temporal to reach. */
  requireTemporal(): TemporalAccess {
    if (!this.temporal) throw new Problem('temporal-unavailable', 'this API process has no connection to Temporal');
    return this.temporal;
  }

  /** Starts a batch's workflow; one already started under its id is a conflict. */
  async start(input: BatchInput, labels: BatchWorkflowLabels): Promise<void> {
    const temporal = this.requireTemporal();
    try {
      await temporal.client.workflow.start(BATCH_WORKFLOW, {
        workflowId: labels.workflowId,
        taskQueue: temporal.taskQueue,
        args: [input],
        // What Temporal's UI shows of the batch: the same story as Ampoule's record.
        staticSummary: batchStaticSummary(input),
        staticDetails: batchStaticDetails(input),
        typedSearchAttributes: new TypedSearchAttributes([
          { key: SA.batch, value: labels.number },
          { key: SA.recipe, value: labels.recipe },
          { key: SA.product, value: labels.product },
          { key: SA.status, value: 'created' },
        ]),
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError)
        throw new Problem('conflict', `a workflow ${labels.workflowId} exists already`);
      throw new Problem(
        'temporal-unavailable',
        `the workflow of batch ${labels.number} could not be started, so nothing was recorded: ${(err as Error).message}`,
      ).withCause(err);
    }
  }

  async exists(workflowId: string): Promise<boolean> {
    try {
      await this.requireTemporal().client.workflow.getHandle(workflowId).describe();
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw new Problem(
        'temporal-unavailable',
        `Temporal could not be asked whether ${workflowId} exists, so nothing was recorded: ${(err as Error).message}`,
      ).withCause(err);
    }
  }

  /** The running workflow's live state, or undefined when it is closed, slow (3 s) or out of reach. */
  async liveState(workflowId: string): Promise<LiveState | undefined> {
    if (!this.temporal) return undefined;
    try {
      const { client } = this.temporal;
      this.liveQueries ??= new WorkflowClient({
        connection: client.connection,
        namespace: client.options.namespace,
        queryRejectCondition: 'NOT_OPEN',
      });
      const handle = this.liveQueries.getHandle(workflowId);
      return await client.connection.withDeadline(Date.now() + LIVE_STATE_WAIT_MS, () => handle.query(batchStateQuery));
    } catch {
      return undefined;
    }
  }

  complete(workflowId: string, c: StepCompletion): Promise<StepOutcome> {
    return this.update(workflowId, () =>
      this.requireTemporal()
        .client.workflow.getHandle(workflowId)
        .executeUpdate(completeStepUpdate, { args: [c] }),
    );
  }

  verify(workflowId: string, v: StepVerification): Promise<StepOutcome> {
    return this.update(workflowId, () =>
      this.requireTemporal()
        .client.workflow.getHandle(workflowId)
        .executeUpdate(verifyStepUpdate, { args: [v] }),
    );
  }

  command(workflowId: string, req: BatchCommandRequest): Promise<{ status: BatchStatus }> {
    return this.update(workflowId, () =>
      this.requireTemporal()
        .client.workflow.getHandle(workflowId)
        .executeUpdate(batchCommandUpdate, { args: [req] }),
    );
  }

  /** Whether a workflow's latest run has closed; undefined when Temporal has no such workflow. */
  async isClosed(workflowId: string): Promise<boolean | undefined> {
    try {
      return (await this.requireTemporal().client.workflow.getHandle(workflowId).describe()).status.name !== 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw new Problem(
        'temporal-unavailable',
        `${workflowId} could not be described: ${(err as Error).message}`,
      ).withCause(err);
    }
  }

  /**
   * Every run of a workflow's chain (a run continued as new names the one before it), oldest first, and whether
   * the last has closed; undefined when Temporal has no such workflow (never started, or gone with retention).
   */
  async historyChain(
    workflowId: string,
  ): Promise<{ closed: boolean; runs: { runId: string; history: History }[] } | undefined> {
    const { client } = this.requireTemporal();
    try {
      const latest = await client.workflow.getHandle(workflowId).describe();
      const runs: { runId: string; history: History }[] = [];
      for (let runId: string | undefined = latest.runId; runId;) {
        const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
        runs.unshift({ runId, history });
        runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
      }
      return { closed: latest.status.name !== 'RUNNING', runs };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw new Problem(
        'temporal-unavailable',
        `the history of ${workflowId} could not be read: ${(err as Error).message}`,
      ).withCause(err);
    }
  }

  /** Runs an Update; a refusal by the workflow's validator or handler becomes its problem. */
  private async update<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) {
        const failure = err.cause;
        // A refusal by an activity the handler ran (consuming a lot) is the activity failure's cause.
        const inner = failure instanceof ActivityFailure ? failure.cause : undefined;
        if (
          inner instanceof ApplicationFailure &&
          (inner.type === ACTIVITY_FAILURES.lotUnusable || inner.type === ACTIVITY_FAILURES.inventory)
        )
          throw new Problem('lot-unusable', inner.message);
        const type = failure instanceof ApplicationFailure ? failure.type : undefined;
        const message = failure?.message ?? err.message;
        if (type === REFUSALS.stepNotAwaited) throw new Problem('step-not-awaited', message);
        if (type === REFUSALS.invalidTransition) throw new Problem('invalid-transition', message);
        throw new Problem('step-refused', message);
      }
      if (err instanceof Problem) throw err;
      throw new Problem('temporal-unavailable', `${workflowId}: ${(err as Error).message}`).withCause(err);
    }
  }
}
