/**
 * The audit trail's search (QA and administrators): by what was changed (type and id), by whom, which action, and
 * a time window; each entry as a sentence of what changed (old → new), with the reason, where from, and its place
 * in the hash chain; a page at a time, and the same search exported as CSV by the API.
 */
import type { AuditEntry } from '../../db/stores/audit-store';
import { changeText, utcText } from '../../domain/batch/record-text';
import { page, type PageContext } from '../layout';

export interface AuditSearch {
  entity?: string;
  entityId?: string;
  user?: string;
  action?: string;
  /** `YYYY-MM-DDTHH:MM`, UTC, as the form's fields give it. */
  from?: string;
  to?: string;
  /** Entries per page. */
  limit?: string;
}

export const PAGE_SIZES = ['25', '100', '500'];

const FIELDS: { name: keyof AuditSearch; label: string; type?: string; list?: string }[] = [
  { name: 'entity', label: 'What (entity type)', list: 'entity-types' },
  { name: 'entityId', label: 'Which (its id or number)' },
  { name: 'user', label: 'Who (username)' },
  { name: 'action', label: 'Action', list: 'actions' },
  { name: 'from', label: 'From (UTC)', type: 'datetime-local' },
  { name: 'to', label: 'To (UTC)', type: 'datetime-local' },
];

/** Suggestions only: any type or action may be searched. */
const ENTITY_TYPES = [
  'batch',
  'batch-number',
  'deviation',
  'equipment-class',
  'equipment-unit',
  'lot',
  'material',
  'recipe',
  'recipe-version',
  'user',
];
const ACTIONS = [
  'acknowledge',
  'adjust',
  'close',
  'consume',
  'create',
  'deactivate',
  'investigate',
  'launch',
  'make-effective',
  'outside-ampoule',
  'produce',
  'receive',
  'replay',
  'reset-password',
  'review',
  'sign',
  'status',
  'transition',
  'unlock',
  'update',
];

/** The search as a query string (for the next page and the CSV export). */
export function auditQuery(q: AuditSearch, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q))
    if (v && k !== 'limit') params.set(k, k === 'from' || k === 'to' ? `${v.length === 16 ? `${v}:00` : v}Z` : v);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  return params.toString();
}

export function auditPage(
  ctx: PageContext,
  o: { search: AuditSearch; entries: AuditEntry[]; next: number | null; problem?: string },
): string {
  const formQuery = (extra: Record<string, string>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(o.search)) if (v) params.set(k, v);
    for (const [k, v] of Object.entries(extra)) params.set(k, v);
    return params.toString();
  };
  return page(
    'Audit trail',
    <section aria-labelledby="audit-title">
      <h1 id="audit-title">Audit trail</h1>
      <form method="get" action="/audit" class="entry filter">
        <h2>Search</h2>
        {FIELDS.map((f) => (
          <p>
            <label for={`audit-${f.name}`}>{f.label}</label>
            <input
              id={`audit-${f.name}`}
              name={f.name}
              type={f.type ?? 'text'}
              list={f.list}
              maxLength={200}
              value={o.search[f.name] ?? ''}
            />
          </p>
        ))}
        <p>
          <label for="audit-limit">Entries per page</label>
          <select id="audit-limit" name="limit">
            {PAGE_SIZES.map((n) => (
              <option value={n} selected={(o.search.limit ?? '100') === n}>
                {n}
              </option>
            ))}
          </select>
        </p>
        <datalist id="entity-types">
          {ENTITY_TYPES.map((t) => (
            <option value={t} />
          ))}
        </datalist>
        <datalist id="actions">
          {ACTIONS.map((t) => (
            <option value={t} />
          ))}
        </datalist>
        <button type="submit" class="primary">
          Search
        </button>
      </form>
      {o.problem && (
        <p class="error" role="alert">
          <span aria-hidden="true">⚠ </span>
          {o.problem}
        </p>
      )}
      <p>
        <a href={`/api/audit?${auditQuery(o.search, { format: 'csv', limit: '10000' })}`}>
          Export this search as CSV (up to 10,000 entries)
        </a>
      </p>
      {o.entries.length === 0 ? (
        <p class="empty">No entry matches.</p>
      ) : (
        <table class="queue audit">
          <caption>Oldest first, in the order of the hash chain</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">When (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">What</th>
              <th scope="col">Change</th>
              <th scope="col">Reason</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {o.entries.map((e) => (
              <tr data-audit={String(e.seq)}>
                <td>{e.seq ?? 'sealing'}</td>
                <td>{utcText(e.recordedAt)}</td>
                <td>
                  {e.userName}
                  {e.username ? ` (${e.username})` : ''}
                </td>
                <td>{e.action}</td>
                <td>
                  {e.entityType} {e.entityId}
                </td>
                <td>{changeText(e.oldValue, e.newValue)}</td>
                <td>{e.reason ?? '—'}</td>
                <td>{e.clientAddress ?? '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {o.next !== null && (
        <p>
          <a href={`/audit?${formQuery({ after: String(o.next) })}`}>Next entries</a>
        </p>
      )}
    </section>,
    ctx,
  );
}
