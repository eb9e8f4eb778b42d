/**
 * What each part of the engine sees of the others: the parts by name, and the run host. The parts depend on
 * this interface, never on the Engine class, so no part imports the module that builds it; the Engine is the one
 * implementation (construction, lifecycle, and one method per RPC).
 */
import type { Activities, ActivityQueueTask } from './activities';
import type { Children } from './children';
import type { Executions } from './executions';
import type { Limits } from './limits';
import type { TaskQueues } from './matching';
import type { Namespaces } from './namespaces';
import type { Persistence } from './persistence';
import type { Polls } from './polls';
import type { RunHost } from './run';
import type { RunIndex } from './run-index';
import type { Schedules } from './schedules';
import type { TimerService } from './timers';
import type { Logger, Res } from './types';
import type { Updates } from './updates';
import type { WorkflowQueueTask, WorkflowTasks } from './workflow-tasks';

export interface EngineContext extends RunHost {
  now(): number;
  readonly log: Logger;
  readonly limits: Limits;
  readonly timers: TimerService;
  /** Group commit to the store: a change is acknowledged only after its barrier. */
  readonly persistence: Persistence;
  readonly namespaces: Namespaces;
  /** Every run, by run id and by workflow id's chain. */
  readonly runs: RunIndex;
  /** Long polls: task queues, history and update waits. */
  readonly polls: Polls;
  readonly workflowQueues: TaskQueues<WorkflowQueueTask, Res<'PollWorkflowTaskQueueResponse'>>;
  readonly activityQueues: TaskQueues<ActivityQueueTask, Res<'PollActivityTaskQueueResponse'>>;
  /** Runs' lives: start, signal, cancel, terminate, time-outs, retries, continue-as-new, close. */
  readonly executions: Executions;
  readonly workflowTasks: WorkflowTasks;
  readonly activities: Activities;
  readonly updates: Updates;
  readonly children: Children;
  /** Schedules: they start workflows, and hear when those close. */
  readonly schedules: Schedules;
}
