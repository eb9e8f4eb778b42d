/**
 * Equipment: the units (class, status, cleanliness, the batch holding one, the state its phases last reported)
 * and one unit with its state history, newest first; status and cleanliness set with a reason by those who may
 * (a unit a batch holds is freed only by QA, forced, with the reason on the record).
 */
import type { EquipmentUnitRecord, StateHistoryEntry } from '../../db/stores/equipment-store';
import { utcText } from '../../domain/batch/record-text';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';

const WORDS: Record<string, string> = {
  available: 'Available',
  'in-use': 'In use',
  maintenance: 'Maintenance',
  clean: 'Clean',
  dirty: 'Dirty',
};

/** A unit's condition in words, a symbol where it cannot take a batch (never colour alone). */
function Condition({ unit }: { unit: EquipmentUnitRecord }) {
  const blocked = unit.status === 'maintenance' || unit.cleanliness === 'dirty';
  return (
    <span class={blocked ? 'status abnormal' : 'status'}>
      {blocked && <span aria-hidden="true">⚠ </span>}
      {WORDS[unit.status]}, {WORDS[unit.cleanliness].toLowerCase()}
      {unit.heldByBatch ? ` — batch ${unit.heldByBatch}` : ''}
    </span>
  );
}

const unitPath = (code: string) => `/equipment/${encodeURIComponent(code)}`;

export function equipmentPage(
  ctx: PageContext,
  units: { unit: EquipmentUnitRecord; phases: StateHistoryEntry[] }[],
): string {
  return page(
    'Equipment',
    <section aria-labelledby="equipment-title">
      <h1 id="equipment-title">Equipment</h1>
      <table class="queue">
        <caption>Units</caption>
        <thead>
          <tr>
            <th scope="col">Unit</th>
            <th scope="col">Class</th>
            <th scope="col">Condition</th>
            <th scope="col">Phases as last reported</th>
          </tr>
        </thead>
        <tbody>
          {units.map(({ unit, phases }) => (
            <tr data-unit={unit.code}>
              <td>
                <a href={unitPath(unit.code)}>{unit.code}</a> {unit.name}
              </td>
              <td>{unit.classCode}</td>
              <td>
                <Condition unit={unit} />
              </td>
              <td>{phases.length === 0 ? '—' : phases.map((p) => `${p.phase} ${p.state}`).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>,
    ctx,
  );
}

export function unitPage(
  ctx: PageContext,
  o: {
    unit: EquipmentUnitRecord;
    phases: StateHistoryEntry[];
    history: StateHistoryEntry[];
    maySetStatus: boolean;
    problem?: string;
    done?: string;
  },
): string {
  const { unit } = o;
  return page(
    unit.code,
    <article aria-labelledby="unit-title">
      <h1 id="unit-title">
        {unit.code}: {unit.name}
      </h1>
      <Outcome done={o.done} problem={o.problem} />
      <dl class="facts">
        <dt>Class</dt>
        <dd>{unit.classCode}</dd>
        <dt>Condition</dt>
        <dd>
          <Condition unit={unit} />
        </dd>
        <dt>Controller</dt>
        <dd>
          {unit.endpointUrl} ({unit.securityMode})
        </dd>
        <dt>Phases as last reported</dt>
        <dd>
          {o.phases.length === 0
            ? '—'
            : o.phases.map((p) => `${p.phase} ${p.state} (${utcText(p.sourceTimestamp)})`).join('; ')}
        </dd>
      </dl>
      {o.maySetStatus && (
        <form method="post" action={`${unitPath(unit.code)}/status`} class="entry">
          <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
          <input type="hidden" name="rowVersion" value={String(unit.rowVersion)} />
          <h2>Set status or cleanliness</h2>
          {unit.heldByBatch && (
            <p class="hint">Batch {unit.heldByBatch} holds this unit: it is given back when the batch ends.</p>
          )}
          <p>
            <label for="unit-status">Status</label>
            <select id="unit-status" name="status">
              <option value="">unchanged</option>
              <option value="available">Available</option>
              <option value="maintenance">Maintenance</option>
            </select>
          </p>
          {unit.heldByBatch && (
            <label class="choice" for="unit-force">
              <input id="unit-force" type="checkbox" name="force" value="yes" />
              Free it from batch {unit.heldByBatch} (QA only; your reason goes on the record)
            </label>
          )}
          <p>
            <label for="unit-cleanliness">Cleanliness</label>
            <select id="unit-cleanliness" name="cleanliness">
              <option value="">unchanged</option>
              <option value="clean">Clean</option>
              <option value="dirty">Dirty</option>
            </select>
          </p>
          <p>
            <label for="unit-reason">Reason</label>
            <input id="unit-reason" name="reason" required maxLength={2000} />
          </p>
          <button type="submit" class="primary">
            Set
          </button>
        </form>
      )}
      <h2>State history</h2>
      <table class="queue">
        <caption>Newest first (the controller’s source time)</caption>
        <thead>
          <tr>
            <th scope="col">When (UTC)</th>
            <th scope="col">Phase</th>
            <th scope="col">State</th>
            <th scope="col">Command</th>
          </tr>
        </thead>
        <tbody>
          {o.history.map((h) => (
            <tr>
              <td>{utcText(h.sourceTimestamp)}</td>
              <td>{h.phase ?? 'the unit'}</td>
              <td>{h.state}</td>
              <td>{h.commandId ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </article>,
    ctx,
  );
}
