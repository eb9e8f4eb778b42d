/**
 * The work queue: every step of a running batch that waits for the user's roles — input, or a second person's
 * verification — oldest first, kept live: the page listens to the server's events and reloads the list when it
 * changes (within a second of the workflow making a step ready). A station shows its unit's work (the unit chosen
 * is remembered on the terminal), and the verification queue is the same list showing verifications only.
 */
import type { ExecutionService } from '../../api/batches/execution-service';
import { page, type PageContext } from '../layout';

export type WorkItem = Awaited<ReturnType<ExecutionService['workQueue']>>[number];

export interface WorkQueueFilter {
  /** Only the steps on this unit (a station's unit); undefined: every unit. */
  unit?: string;
  /** Only entries, or only verifications (the verification queue); undefined: both. */
  awaiting?: 'input' | 'verification';
}

export function filterWork(items: WorkItem[], f: WorkQueueFilter): WorkItem[] {
  return items.filter((i) => (!f.unit || i.unit === f.unit) && (!f.awaiting || i.awaiting === f.awaiting));
}

/** The filter as a query string (the live list fetches with the same). */
export function filterQuery(f: WorkQueueFilter): string {
  return new URLSearchParams({ unit: f.unit ?? '', awaiting: f.awaiting ?? '' }).toString();
}

export function workQueuePage(ctx: PageContext, items: WorkItem[], filter: WorkQueueFilter, units: string[]): string {
  const verification = filter.awaiting === 'verification';
  return page(
    verification ? 'Verification queue' : 'Work queue',
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">{verification ? 'Verification queue' : 'Work queue'}</h1>
      <form method="get" action="/work-queue" class="entry filter">
        <h2 class="visually-hidden">Which work</h2>
        <p>
          <label for="queue-unit">Unit (this station’s)</label>
          <select id="queue-unit" name="unit">
            <option value="">every unit</option>
            {units.map((u) => (
              <option value={u} selected={filter.unit === u}>
                {u}
              </option>
            ))}
          </select>
        </p>
        <p>
          <label for="queue-awaiting">Waiting for</label>
          <select id="queue-awaiting" name="awaiting">
            <option value="">entries and verifications</option>
            <option value="input" selected={filter.awaiting === 'input'}>
              entries only
            </option>
            <option value="verification" selected={verification}>
              verifications only (the verification queue)
            </option>
          </select>
        </p>
        <button type="submit">Show</button>
      </form>
      <p class="hint">
        Steps waiting for you{filter.unit ? ` on ${filter.unit}` : ''}, oldest first. The list follows the batches as
        they run.
      </p>
      <div
        id="queue"
        data-live="work-queue"
        data-source={`/work-queue/items?${filterQuery(filter)}`}
        aria-live="polite"
      >
        <WorkQueueItems items={items} />
      </div>
    </section>,
    ctx,
  );
}

export function WorkQueueItems({ items }: { items: WorkItem[] }) {
  if (items.length === 0) return <p class="empty">Nothing waits for you now.</p>;
  return (
    <table class="queue">
      <caption class="visually-hidden">Steps waiting for you</caption>
      <thead>
        <tr>
          <th scope="col">Batch</th>
          <th scope="col">Product · recipe</th>
          <th scope="col">Step</th>
          <th scope="col">Unit</th>
          <th scope="col">Waiting for</th>
          <th scope="col">Since (UTC)</th>
        </tr>
      </thead>
      <tbody>
        {items.map((i) => (
          <tr data-step={`${i.batch}/${i.stepId}`}>
            <td>
              {i.batch}
              {i.batchStatus !== 'running' && <span class="status-text"> ({i.batchStatus})</span>}
            </td>
            <td>
              {i.product} · {i.recipe}
            </td>
            <td>
              <a href={`/batches/${encodeURIComponent(i.batch)}/steps/${encodeURIComponent(i.stepId)}`}>
                {i.number}. {i.name}
              </a>
            </td>
            <td>{i.unit ?? '—'}</td>
            <td>{i.awaiting === 'input' ? 'Your entry' : 'Verification by a second person'}</td>
            <td>
              <time dateTime={new Date(i.since).toISOString()}>
                {new Date(i.since).toISOString().replace('T', ' ').slice(0, 19)}
              </time>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
