/**
 * Visibility: ListWorkflowExecutions (and Scan) and CountWorkflowExecutions over the runs of a namespace, with the
 * query subset `visibility.ts` parses — system attributes and the namespace's custom search attributes.
 */
import type { ExecutionStatus } from '../proto';
import type { NamespaceRecord } from '../store/store';
import { long } from '../util/time';
import { invalidArgument } from '../errors';
import type { EngineContext } from './context';
import { executionInfo } from './reads';
import type { Run } from './run';
import { SYSTEM_SEARCH_ATTRIBUTES, decodeValue } from './search-attributes';
import type { Req, Res } from './types';
import { comparator, evaluate, parseQuery, type Record_, type Value } from './visibility';

export class Listing {
  constructor(private readonly engine: EngineContext) {}

  private visibilityRecord(run: Run, ns: NamespaceRecord): Record_ {
    return (name: string): Value | Value[] | undefined => {
      switch (name) {
        case 'WorkflowId':
          return run.workflowId;
        case 'RunId':
          return run.runId;
        case 'WorkflowType':
          return run.workflowType;
        case 'TaskQueue':
          return run.taskQueue;
        case 'ExecutionStatus':
          return statusName(run.status);
        case 'StartTime':
          return new Date(run.startTime).toISOString();
        case 'ExecutionTime':
          return new Date(run.executionTime).toISOString();
        case 'CloseTime':
          return run.closeTime !== undefined ? new Date(run.closeTime).toISOString() : undefined;
        case 'ExecutionDuration':
          return run.closeTime !== undefined ? (run.closeTime - run.executionTime) * 1e6 : undefined;
        case 'HistoryLength':
          return run.nextEventId - 1;
        case 'HistorySizeBytes':
          return run.historySizeBytes;
        case 'StateTransitionCount':
          return run.stateTransitions;
        default: {
          const payload = run.searchAttributes?.indexedFields?.[name];
          if (!payload || (!ns.searchAttributes[name] && !SYSTEM_SEARCH_ATTRIBUTES[name])) return undefined;
          const value = decodeValue(payload) as Value | Value[];
          return value ?? undefined;
        }
      }
    };
  }

  private matchingRuns(ns: NamespaceRecord, query: string | null | undefined): Run[] {
    const parsed = parseQuery(query ?? '', ns.searchAttributes);
    const entries = this.engine.runs.inNamespace(ns.name).map((run) => ({ run, read: this.visibilityRecord(run, ns) }));
    const matched = entries.filter((e) => evaluate(parsed.filter, e.read));
    const cmp = comparator(parsed.orderBy);
    matched.sort((a, b) => cmp(a.read, b.read));
    return matched.map((e) => e.run);
  }

  async list(req: Req<'ListWorkflowExecutionsRequest'>): Promise<Res<'ListWorkflowExecutionsResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const runs = this.matchingRuns(ns, req.query);
    const pageSize = req.pageSize && req.pageSize > 0 ? Math.min(req.pageSize, 1000) : 1000;
    let offset = 0;
    if (req.nextPageToken && req.nextPageToken.length > 0) {
      offset = Number(Buffer.from(req.nextPageToken).toString('utf8'));
      if (!Number.isInteger(offset) || offset < 0) throw invalidArgument('Invalid NextPageToken.');
    }
    await this.engine.persistence.barrier();
    const page = runs.slice(offset, offset + pageSize);
    const next = offset + page.length;
    return {
      executions: page.map((r) => executionInfo(r)),
      nextPageToken: next < runs.length ? Buffer.from(String(next)) : null,
    };
  }

  async count(req: Req<'CountWorkflowExecutionsRequest'>): Promise<Res<'CountWorkflowExecutionsResponse'>> {
    const ns = this.engine.namespaces.get(req.namespace);
    const runs = this.matchingRuns(ns, req.query);
    await this.engine.persistence.barrier();
    return { count: long(runs.length), groups: [] };
  }
}

export function statusName(status: ExecutionStatus): string {
  const names: Record<number, string> = {
    1: 'Running',
    2: 'Completed',
    3: 'Failed',
    4: 'Canceled',
    5: 'Terminated',
    6: 'ContinuedAsNew',
    7: 'TimedOut',
  };
  return names[status] ?? 'Unspecified';
}
