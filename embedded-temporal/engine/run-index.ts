/** Every run the engine holds: by run id, by workflow id's chain of runs (oldest first), and by namespace. */
import { invalidArgument, notFound } from '../errors';
import type { temporal } from '../proto';
import type { Run } from './run';

/** A run id as Temporal's frontend accepts it (a UUID, with or without its dashes). */
const RUN_ID = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$/i;

export class RunIndex {
  private readonly runs = new Map<string, Run>();
  /** `${namespace}/${workflowId}` → its runs, oldest first. */
  private readonly chains = new Map<string, Run[]>();
  private readonly byNamespace = new Map<string, Set<Run>>();

  add(run: Run): void {
    this.runs.set(run.runId, run);
    const key = `${run.namespace}/${run.workflowId}`;
    let chain = this.chains.get(key);
    if (!chain) this.chains.set(key, (chain = []));
    chain.push(run);
    let set = this.byNamespace.get(run.namespace);
    if (!set) this.byNamespace.set(run.namespace, (set = new Set()));
    set.add(run);
  }

  byId(runId: string): Run | undefined {
    return this.runs.get(runId);
  }

  all(): IterableIterator<Run> {
    return this.runs.values();
  }

  inNamespace(namespace: string): Run[] {
    return [...(this.byNamespace.get(namespace) ?? [])];
  }

  /** The runs of a workflow id, oldest first. */
  chain(namespace: string, workflowId: string): Run[] {
    return this.chains.get(`${namespace}/${workflowId}`) ?? [];
  }

  /** The latest run of a workflow id, if any. */
  current(namespace: string, workflowId: string): Run | undefined {
    const chain = this.chain(namespace, workflowId);
    return chain[chain.length - 1];
  }

  /**
   * The run named by an execution: its run id, or (when empty) the latest run of the workflow id, optionally
   * restricted to the chain that started with `firstExecutionRunId`.
   */
  resolve(
    namespace: string,
    execution: temporal.api.common.v1.IWorkflowExecution | null | undefined,
    firstExecutionRunId?: string | null,
  ): Run {
    const workflowId = execution?.workflowId;
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    const runId = execution?.runId;
    if (runId) {
      // Temporal's frontend refuses a run id that is not a UUID before it looks for anything.
      if (!RUN_ID.test(runId)) throw invalidArgument('Invalid RunId.');
      const run = this.runs.get(runId);
      if (!run || run.namespace !== namespace || run.workflowId !== workflowId) {
        throw notFound(`Workflow execution not found. WorkflowId: ${workflowId}, RunId: ${runId}.`);
      }
      if (firstExecutionRunId && run.firstExecutionRunId !== firstExecutionRunId) {
        throw notFound(
          `Workflow execution not found. WorkflowId: ${workflowId}, FirstExecutionRunId: ${firstExecutionRunId}.`,
        );
      }
      return run;
    }
    const chain = this.chain(namespace, workflowId);
    const candidates = firstExecutionRunId ? chain.filter((r) => r.firstExecutionRunId === firstExecutionRunId) : chain;
    const run = candidates[candidates.length - 1];
    if (!run) throw notFound(`Workflow execution not found. WorkflowId: ${workflowId}.`);
    return run;
  }

  /** As `resolve`, for a run that must still be open. */
  open(
    namespace: string,
    execution: temporal.api.common.v1.IWorkflowExecution | null | undefined,
    firstExecutionRunId?: string | null,
  ): Run {
    const run = this.resolve(namespace, execution, firstExecutionRunId);
    if (!run.isOpen) throw notFound('Workflow execution already completed.');
    return run;
  }
}
