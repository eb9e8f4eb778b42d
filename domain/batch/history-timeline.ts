/**
 * A batch's workflow history as an investigator reads it: each event that tells something (activities and their
 * attempts, failures, timers, step completions and verifications, batch commands, the start and the close) in
 * words, attributed to the step it belongs to, and what must not be missed pinned — failures and holds. The
 * routine events (workflow tasks, markers of local activities, search-attribute upserts) are counted, not listed:
 * they stay in the full history. A pure function of the history in Temporal's JSON format (the archived bytes).
 */

/** One event of a history in Temporal's JSON format (only what is read here). */
export interface HistoryJsonEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  userMetadata?: { summary?: JsonPayload };
  [attributes: string]: unknown;
}
interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export interface TimelineEvent {
  eventId: number;
  at: string;
  /** What happened, in words. */
  what: string;
  /** The step it belongs to; null: the batch as a whole. */
  stepId: string | null;
  /** `failure`: an attempt that failed or timed out; `hold`: a batch command that held or stopped the batch. */
  pinned?: 'failure' | 'hold' | 'command';
}

export interface HistoryTimeline {
  events: TimelineEvent[];
  /** Events left out as routine (workflow tasks, local-activity markers, search attributes). */
  routine: number;
}

const ROUTINE = new Set([
  'EVENT_TYPE_WORKFLOW_TASK_SCHEDULED',
  'EVENT_TYPE_WORKFLOW_TASK_STARTED',
  'EVENT_TYPE_WORKFLOW_TASK_COMPLETED',
  'EVENT_TYPE_MARKER_RECORDED',
  'EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES',
  'EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED',
  'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED',
]);

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A JSON payload's value (undefined for another encoding or none). */
function decode(p: JsonPayload | undefined): unknown {
  if (!p?.data) return undefined;
  const encoding = p.metadata?.encoding ? Buffer.from(p.metadata.encoding, 'base64').toString('utf8') : 'json/plain';
  if (encoding !== 'json/plain') return undefined;
  try {
    return JSON.parse(Buffer.from(p.data, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The step an activity works for: its input's step, or the step its equipment command id names (`batch-…/<step>`). */
const activityStep = (input: unknown): string | null => {
  const x = input as Json | undefined;
  const id: unknown = x?.step?.id ?? x?.stepId ?? (typeof x?.commandId === 'string' ? x.commandId.split('/')[1] : null);
  return typeof id === 'string' && id ? id : null;
};
const failureText = (f: Json | undefined) => (f?.message ? String(f.message) : 'no message');

export function historyTimeline(events: readonly HistoryJsonEvent[]): HistoryTimeline {
  const out: TimelineEvent[] = [];
  let routine = 0;
  /** Scheduled activities (and timers) by event id: their step and what they are. */
  const scheduled = new Map<string, { stepId: string | null; name: string }>();
  for (const e of events) {
    if (ROUTINE.has(e.eventType)) {
      routine++;
      continue;
    }
    const summary = decode(e.userMetadata?.summary);
    const add = (what: string, stepId: string | null, pinned?: TimelineEvent['pinned']) =>
      out.push({ eventId: Number(e.eventId), at: e.eventTime, what, stepId, ...(pinned ? { pinned } : {}) });
    const attrs = (name: string) => (e[name] ?? {}) as Json;
    const of = (scheduledEventId: unknown) =>
      scheduled.get(String(scheduledEventId)) ?? { stepId: null, name: 'an activity' };
    switch (e.eventType) {
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED':
        add('The batch’s workflow started', null);
        break;
      case 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED': {
        const a = attrs('activityTaskScheduledEventAttributes');
        const name = String(a.activityType?.name ?? 'activity');
        const stepId = activityStep(decode(a.input?.payloads?.[0]));
        scheduled.set(e.eventId, { stepId, name });
        add(`${name} scheduled${typeof summary === 'string' ? `: ${summary}` : ''}`, stepId);
        break;
      }
      case 'EVENT_TYPE_ACTIVITY_TASK_STARTED': {
        const a = attrs('activityTaskStartedEventAttributes');
        const s = of(a.scheduledEventId);
        add(`${s.name} started, attempt ${a.attempt ?? 1}`, s.stepId);
        break;
      }
      case 'EVENT_TYPE_ACTIVITY_TASK_COMPLETED': {
        const s = of(attrs('activityTaskCompletedEventAttributes').scheduledEventId);
        add(`${s.name} completed`, s.stepId);
        break;
      }
      case 'EVENT_TYPE_ACTIVITY_TASK_FAILED': {
        const a = attrs('activityTaskFailedEventAttributes');
        const s = of(a.scheduledEventId);
        add(`${s.name} failed: ${failureText(a.failure)}`, s.stepId, 'failure');
        break;
      }
      case 'EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT': {
        const a = attrs('activityTaskTimedOutEventAttributes');
        const s = of(a.scheduledEventId);
        add(`${s.name} timed out: ${failureText(a.failure)}`, s.stepId, 'failure');
        break;
      }
      case 'EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED': {
        const s = of(attrs('activityTaskCancelRequestedEventAttributes').scheduledEventId);
        add(`${s.name}: cancellation requested`, s.stepId);
        break;
      }
      case 'EVENT_TYPE_ACTIVITY_TASK_CANCELED': {
        const s = of(attrs('activityTaskCanceledEventAttributes').scheduledEventId);
        add(`${s.name} cancelled`, s.stepId);
        break;
      }
      case 'EVENT_TYPE_TIMER_STARTED': {
        const a = attrs('timerStartedEventAttributes');
        scheduled.set(e.eventId, { stepId: null, name: 'a timer' });
        add(
          `Timer started (${String(a.startToFireTimeout ?? '?')})${typeof summary === 'string' ? `: ${summary}` : ''}`,
          null,
        );
        break;
      }
      case 'EVENT_TYPE_TIMER_FIRED':
        add('Timer fired', null);
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED': {
        const input = attrs('workflowExecutionUpdateAcceptedEventAttributes').acceptedRequest?.input as Json;
        const arg = decode(input?.args?.payloads?.[0]) as Json | undefined;
        const who = (arg?.signer?.printedName ?? arg?.signer?.fullName ?? arg?.by?.fullName ?? 'someone') as string;
        if (input?.name === 'completeStep') add(`Completed by ${who}`, (arg?.stepId as string) ?? null);
        else if (input?.name === 'verifyStep') add(`Verified by ${who}`, (arg?.stepId as string) ?? null);
        else if (input?.name === 'batchCommand') {
          const command = String(arg?.command ?? '?');
          add(
            `${command.charAt(0).toUpperCase()}${command.slice(1)} by ${who}: ${String(arg?.reason ?? '')}`,
            null,
            command === 'restart' ? 'command' : 'hold',
          );
        } else add(`Update ${String(input?.name)} accepted`, null);
        break;
      }
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED':
        add(`Signal ${String(attrs('workflowExecutionSignaledEventAttributes').signalName)}`, null);
        break;
      case 'EVENT_TYPE_WORKFLOW_TASK_FAILED':
      case 'EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT': {
        const a = attrs('workflowTaskFailedEventAttributes');
        const failed = e.eventType === 'EVENT_TYPE_WORKFLOW_TASK_FAILED';
        add(
          failed
            ? `A workflow task failed (${String(a.cause ?? 'unknown cause')}): ${failureText(a.failure)}`
            : 'A workflow task timed out (its worker did not answer in time)',
          null,
          'failure',
        );
        break;
      }
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED':
        add('The batch’s workflow completed', null);
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_FAILED':
        add(
          `The batch’s workflow failed: ${failureText(attrs('workflowExecutionFailedEventAttributes').failure)}`,
          null,
          'failure',
        );
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED':
        add('The batch’s workflow was terminated', null, 'failure');
        break;
      case 'EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
        add('The batch’s workflow continued as a new run', null);
        break;
      default:
        add(
          e.eventType
            .replace(/^EVENT_TYPE_/, '')
            .toLowerCase()
            .replace(/_/g, ' '),
          null,
        );
    }
  }
  return { events: out, routine };
}
