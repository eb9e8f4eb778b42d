/**
 * The work queue: every step of a running batch that waits for the user's roles — input, or a second person's
 * verification — oldest first, kept live: the page listens to the server's events and reloads the list when it
 * changes (within a second of the workflow making a step ready).
 */
import type { ExecutionService } from '../../api/batches/execution-service';
import { page, type PageContext } from '../layout';

export type WorkItem = Awaited<ReturnType<ExecutionService['workQueue']>>[number];

export function workQueuePage(ctx: PageContext, items: WorkItem[]): string {
  return page(
    'Work queue',
    <section aria-labelledby="queue-title">
      <h1 id="queue-title">Work queue</h1>
      <p class="hint">Steps waiting for you, oldest first. The list follows the batches as they run.</p>
      <div id="queue" data-live="work-queue" data-source="/work-queue/items" aria-live="polite">
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
