/**
 * The OEE dashboard: a unit over a window — availability, effectiveness, quality ratio and OEE; the time-loss
 * waterfall from calendar time down to the planned runtime of what QA released; the losses as a Pareto; the stops
 * that need a reason (given here by those who may); and the figures by shift, day or batch. Every number is the
 * API's (the same report, `api/oee/oee-service.ts`), shown as people read it.
 */
import type { OeeReport } from '../../api/oee/oee-service';
import type { LossLine, QualifiedStop } from '../../domain/oee/losses';
import { DEFAULT_STOP_REASONS, SIX_BIG_LOSSES } from '../../domain/oee/losses';
import type { OeeFigures } from '../../domain/oee/oee';
import { utcText } from '../../domain/batch/record-text';
import { CSRF_FIELD } from '../csrf';
import { Outcome, page, type PageContext } from '../layout';

export interface OeeQuery {
  unit: string;
  /** `YYYY-MM-DDTHH:MM:SS`, UTC. */
  from: string;
  to: string;
  by: 'shift' | 'day' | 'batch' | 'whole';
}

/** A ratio as a percentage with one decimal, or a dash where there is nothing to divide by. */
export function percent(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(1)} %`;
}
const hours = (ms: number) => `${(ms / 3_600_000).toFixed(2)} h`;

function Kpis({ f }: { f: OeeFigures }) {
  const kpis = [
    ['availability', 'Availability', f.availability],
    ['effectiveness', 'Effectiveness', f.effectiveness],
    ['qualityRatio', 'Quality ratio', f.qualityRatio],
    ['oee', 'OEE', f.oee],
  ] as const;
  return (
    <dl class="step-id kpis">
      {kpis.map(([key, label, value]) => (
        <div>
          <dt>{label}</dt>
          <dd data-kpi={key}>{percent(value)}</dd>
        </div>
      ))}
    </dl>
  );
}

/** From calendar time down to what was made well at the planned rate, each loss on its own row. */
function Waterfall({ f, rejectedRuntime }: { f: OeeFigures; rejectedRuntime: number }) {
  const t = f.time;
  const performanceLoss = Math.max(0, t.APT - f.plannedRuntime);
  const rows: [string, number, boolean][] = [
    ['Calendar time', t.calendar, false],
    ['− not scheduled (outside the shifts)', t.notScheduled, true],
    ['= planned operation time (POT)', t.POT, false],
    ['− planned downtime (PDOT: breaks, maintenance)', t.PDOT, true],
    ['= planned busy time (PBT)', t.PBT, false],
    ['− idle without a batch (ADOT)', t.ADOT, true],
    ['− delays (ADET: holds, waits, breakdowns)', t.ADET, true],
    ['− setup and cleaning (AUST)', t.AUST, true],
    ['= actual production time (APT)', t.APT, false],
    ['− performance loss (small stops, slow running)', performanceLoss, true],
    ['− quality loss (the planned runtime of rejected batches)', rejectedRuntime, true],
    ['= fully productive time', Math.max(0, f.plannedRuntime - rejectedRuntime), false],
  ];
  return (
    <table class="queue waterfall">
      <caption>The time-loss waterfall</caption>
      <thead>
        <tr>
          <th scope="col">Time</th>
          <th scope="col">Hours</th>
          <th scope="col">Share of the calendar</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, ms, loss]) => (
          <tr class={loss ? 'loss' : undefined}>
            <th scope="row">{label}</th>
            <td>{hours(ms)}</td>
            <td>
              <meter min={0} max={Math.max(1, t.calendar)} value={ms} aria-label={`${label}: ${hours(ms)}`} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const lossLabel = (l: LossLine) => {
  if (l.reason === 'unqualified') return '⚠ Unqualified stops (no reason given yet)';
  const [loss, reason] = l.reason.split('/') as [keyof typeof SIX_BIG_LOSSES, string | undefined];
  const top = SIX_BIG_LOSSES[loss] ?? loss;
  return reason ? `${top} › ${DEFAULT_STOP_REASONS[loss]?.[reason] ?? reason}` : top;
};

export function oeePage(
  ctx: PageContext,
  o: {
    query: OeeQuery;
    units: string[];
    report?: OeeReport;
    lines?: LossLine[];
    stops?: QualifiedStop[];
    mayQualify: boolean;
    problem?: string;
    done?: string;
  },
): string {
  const q = o.query;
  const r = o.report;
  return page(
    'OEE',
    <section aria-labelledby="oee-title">
      <h1 id="oee-title">OEE{r ? ` of ${r.unit}` : ''}</h1>
      <form method="get" action="/oee" class="entry filter">
        <h2 class="visually-hidden">Which unit and when</h2>
        <p>
          <label for="oee-unit">Unit</label>
          <select id="oee-unit" name="unit">
            {o.units.map((u) => (
              <option value={u} selected={q.unit === u}>
                {u}
              </option>
            ))}
          </select>
        </p>
        <p>
          <label for="oee-from">From (UTC)</label>
          <input id="oee-from" name="from" type="datetime-local" step={1} required value={q.from} />
        </p>
        <p>
          <label for="oee-to">To (UTC)</label>
          <input id="oee-to" name="to" type="datetime-local" step={1} required value={q.to} />
        </p>
        <p>
          <label for="oee-by">By</label>
          <select id="oee-by" name="by">
            {(['whole', 'shift', 'day', 'batch'] as const).map((b) => (
              <option value={b} selected={q.by === b}>
                {b === 'whole' ? 'the whole window' : b}
              </option>
            ))}
          </select>
        </p>
        <button type="submit" class="primary">
          Show
        </button>
      </form>
      <Outcome done={o.done} problem={o.problem} />
      {r && (
        <>
          <Kpis f={r.total} />
          <p class="hint">
            {utcText(new Date(r.total.from))} to {utcText(new Date(r.total.to))}; {r.total.batches.produced} batch
            {r.total.batches.produced === 1 ? '' : 'es'} produced ({r.total.batches.released} released,{' '}
            {r.total.batches.rejected} rejected, {r.total.batches.pending} not yet disposed of by QA); small stops under{' '}
            {r.microStopMs / 60_000} min: {r.total.microStops.count}.
          </p>
          <Waterfall f={r.total} rejectedRuntime={r.rejectedRuntime} />
          <h2>Losses</h2>
          {o.lines && o.lines.length > 0 ? (
            <table class="queue pareto">
              <caption>Largest first</caption>
              <thead>
                <tr>
                  <th scope="col">Loss</th>
                  <th scope="col">Hours</th>
                  <th scope="col">Times</th>
                </tr>
              </thead>
              <tbody>
                {o.lines.map((l) => (
                  <tr data-loss={l.reason}>
                    <th scope="row" class={l.reason === 'unqualified' ? 'status abnormal' : undefined}>
                      {lossLabel(l)}
                    </th>
                    <td>{hours(l.duration)}</td>
                    <td>{l.count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="empty">No losses.</p>
          )}
          <h2>Stops that need a reason</h2>
          {o.stops && o.stops.length > 0 ? (
            <ul class="stops">
              {o.stops.map((s) => (
                <li data-stop={new Date(s.start).toISOString()}>
                  {utcText(new Date(s.start))} to {utcText(new Date(s.end))} ({((s.end - s.start) / 60_000).toFixed(1)}{' '}
                  min, {s.condition}
                  ): {s.reason ? <strong>{s.reason}</strong> : <span class="status abnormal">⚠ no reason yet</span>}
                  {o.mayQualify && (
                    <form method="post" action="/oee/stops" class="entry inline">
                      <input type="hidden" name={CSRF_FIELD} value={ctx.csrf} />
                      <input type="hidden" name="unit" value={r.unit} />
                      <input type="hidden" name="start" value={new Date(s.start).toISOString()} />
                      <input type="hidden" name="back" value={`/oee?${new URLSearchParams({ ...q }).toString()}`} />
                      <label for={`reason-${s.start}`}>Reason</label>
                      <select id={`reason-${s.start}`} name="stopReason" required>
                        <option value="">Choose…</option>
                        {Object.entries(DEFAULT_STOP_REASONS).map(([loss, reasons]) => (
                          <optgroup label={SIX_BIG_LOSSES[loss as keyof typeof SIX_BIG_LOSSES]}>
                            {Object.entries(reasons).map(([code, label]) => (
                              <option value={`${loss}/${code}`} selected={s.reason === `${loss}/${code}`}>
                                {label}
                              </option>
                            ))}
                          </optgroup>
                        ))}
                      </select>
                      <button type="submit">Give the reason</button>
                    </form>
                  )}
                </li>
              ))}
            </ul>
          ) : (
            <p class="empty">None.</p>
          )}
          {r.by !== 'whole' && (
            <table class="queue periods">
              <caption>By {r.by}</caption>
              <thead>
                <tr>
                  <th scope="col">{r.by === 'batch' ? 'Batch' : r.by === 'day' ? 'Day (UTC)' : 'Shift'}</th>
                  <th scope="col">Availability</th>
                  <th scope="col">Effectiveness</th>
                  <th scope="col">Quality ratio</th>
                  <th scope="col">OEE</th>
                </tr>
              </thead>
              <tbody>
                {r.periods.map((p) => (
                  <tr data-period={p.label}>
                    <th scope="row">{p.label}</th>
                    <td>{percent(p.availability)}</td>
                    <td>{percent(p.effectiveness)}</td>
                    <td>{percent(p.qualityRatio)}</td>
                    <td>{percent(p.oee)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>,
    ctx,
  );
}
