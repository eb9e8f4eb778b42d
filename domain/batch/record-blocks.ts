/**
 * A step's record entries as blocks people read — sentences, tables against limits and units, signatures — the
 * same words whether the record is printed (the PDF a reviewer signs) or shown in a page. Pure: the step's plan,
 * the entry, and the units its equipment's phase contract gives its parameters.
 */
import type { AssignedUnit } from './types';
import type { PlanField, PlanNumber, PlanStep } from '../recipe/plan';
import { outsideLimits } from './completion';
import { batchEventText, limitsText, unitText, utcText } from './record-text';

/** A record entry as the record stores it (with its signature's manifestation, of whatever shape the caller has). */
export interface RecordEntry<S> {
  seq: number;
  kind: string;
  stepId: string | null;
  data: unknown;
  occurredAt: string;
  userName: string | null;
  signature: S | null;
}

/** The tables a step's record has (each printed with its own column widths). */
export type RecordTableKind = 'values' | 'lots' | 'parameters' | 'reports';

export type RecordBlock<S> =
  | { kind: 'line'; text: string; alarm?: true }
  | { kind: 'table'; table: RecordTableKind; headers: string[]; rows: string[][]; outside: boolean[] }
  | { kind: 'signature'; signature: S; label: string };

/** What a step is and who does it: the line under its title. */
export function stepDescription(step: PlanStep, unitCode: string | undefined): string {
  return `${step.kind} step — unit procedure ${step.unitProcedureId}${unitCode ? ` on ${unitCode}` : ''}, operation ${step.operation.name}; performed by ${step.performedBy.join(' or ')}${step.signatures.verified ? `, verified by ${step.signatures.verifiedBy.join(' or ')}` : ''}`;
}

export function stepEntryBlocks<S extends { meaning: string }>(
  step: PlanStep,
  e: RecordEntry<S>,
  units: Record<string, AssignedUnit>,
): RecordBlock<S>[] {
  const data = e.data as Record<string, unknown>;
  const blocks: RecordBlock<S>[] = [];
  const line = (text: string, alarm = false) => blocks.push({ kind: 'line', text, ...(alarm ? { alarm } : {}) });
  const table = (t: RecordTableKind, headers: string[], rows: { cells: string[]; outside: boolean }[]) => {
    if (rows.length > 0)
      blocks.push({
        kind: 'table',
        table: t,
        headers,
        rows: rows.map((r) => r.cells),
        outside: rows.map((r) => r.outside),
      });
  };
  switch (e.kind) {
    case 'step-started':
      line(`Started ${utcText(e.occurredAt)}${data.rerun ? ` (run ${Number(data.rerun) + 1}, after a failure)` : ''}.`);
      break;
    case 'values-entered': {
      table(
        'values',
        ['Field', 'Value', 'Unit', 'Limits', 'Target', ''],
        Object.entries((data.values ?? {}) as Record<string, unknown>).map(([id, v]) => valueRow(step, id, v)),
      );
      const lots = (data.lots ?? []) as { lotNumber: string; quantity: number }[];
      const unit = step.kind === 'material' ? step.quantity.unit : '';
      table(
        'lots',
        ['Lot', 'Quantity', 'Unit'],
        lots.map((l) => ({ cells: [l.lotNumber, String(l.quantity), unitText(unit)], outside: false })),
      );
      if (data.comment) line(`Comment: ${String(data.comment)}`);
      if (data.lateEntry) {
        const late = data.lateEntry as { performedAt: string; reason: string };
        line(
          `LATE ENTRY: performed ${utcText(late.performedAt)}, recorded ${utcText(e.occurredAt)} — ${late.reason}`,
          true,
        );
      }
      line(`Entered by ${e.userName ?? '—'}, ${utcText(e.occurredAt)}.`);
      break;
    }
    case 'equipment-parameters': {
      const setpoints = step.kind === 'equipment' ? step.setpoints : [];
      const contract = units[step.unitProcedureId]?.interfaces[String(data.phase)];
      line(
        `Equipment ${String(data.unit)}, phase ${String(data.phase)}, command ${String(data.commandId)}${data.reconciled ? ' (taken up again after a restart: reconciled with the controller)' : ''}.`,
      );
      table(
        'parameters',
        ['Parameter sent', 'Value', 'Unit'],
        Object.entries((data.parameters ?? {}) as Record<string, number>).map(([id, v]) => {
          const sp = setpoints.find((s) => s.id === id);
          const unit = contract?.parameters[id]?.unit ?? sp?.unit ?? '';
          return { cells: [sp?.name ?? id, String(v), unitText(unit)], outside: false };
        }),
      );
      break;
    }
    case 'equipment-reports':
      table(
        'reports',
        ['Report', 'Value', 'Unit', 'Limits', ''],
        ((data.reports ?? []) as { id: string; value: number | null; unit: string }[]).map((r) => reportRow(step, r)),
      );
      break;
    case 'weighing': {
      const w = data as Record<string, string | number | null>;
      if (w.source === 'manual')
        line(
          `MANUAL WEIGHING (scale ${w.scale ?? 'not named'} down): ${String(w.net)} ${unitText(String(w.unit))} typed by ${e.userName ?? '—'} into container ${String(w.container)} — ${String(w.reason)}; verified by a second person.`,
          true,
        );
      else
        line(
          `Weighed on scale ${String(w.scale)} (calibrated until ${String(w.calibrationDue)}), stable, at ${utcText(String(w.sourceTimestamp))}: gross ${String(w.gross)}, tare ${String(w.tare)}, net ${String(w.net)} ${unitText(String(w.unit))} into container ${String(w.container)}.`,
        );
      break;
    }
    case 'deviation':
    case 'lots-consumed':
      break; // the value is marked in its table, the lots are in theirs; the deviation itself is QA's list
    case 'verification':
      line(`Verified by ${e.userName ?? '—'}, ${utcText(e.occurredAt)}.`);
      break;
    case 'step-failed':
      line(`FAILED: ${String(data.message)} (${String(data.type)}), ${utcText(e.occurredAt)}.`, true);
      break;
    case 'phase-interrupted':
      line(
        `INTERRUPTED: the phase was cut off and taken up again at attempt ${String(data.attempt)} — ${data.resumed === 'restarted' ? 'the controller had lost it: it ran again from the start' : 'found still running (or done) and watched on'}, ${utcText(e.occurredAt)}.`,
        true,
      );
      break;
    case 'step-completed':
      line(`Completed ${utcText(e.occurredAt)}.`);
      break;
    default:
      line(`${e.kind}: ${batchEventText(e.kind, data)}, ${utcText(e.occurredAt)}.`);
  }
  if (e.signature)
    blocks.push({
      kind: 'signature',
      signature: e.signature,
      label: e.signature.meaning.charAt(0).toUpperCase() + e.signature.meaning.slice(1),
    });
  return blocks;
}

function fieldOf(step: PlanStep, id: string): PlanField | undefined {
  const fields = step.kind === 'instruction' ? step.fields : step.kind === 'sample' ? step.results : [];
  return fields.find((f) => f.id === id);
}

function valueRow(step: PlanStep, id: string, value: unknown): { cells: string[]; outside: boolean } {
  const f = fieldOf(step, id);
  if (!f) return { cells: [id, String(value), '', '', '', ''], outside: false };
  if (f.type === 'number') {
    const outside = typeof value === 'number' && outsideLimits(value, f);
    return {
      cells: [
        f.label,
        String(value),
        unitText(f.unit),
        limitsText(f.low, f.high),
        f.target !== undefined ? String(f.target) : '',
        outside ? 'OUT OF LIMITS' : '',
      ],
      outside,
    };
  }
  if (f.type === 'passFail')
    return { cells: [f.label, value === true ? 'pass' : 'FAIL', '', '', '', ''], outside: value !== true };
  return { cells: [f.label, String(value), '', '', '', ''], outside: false };
}

function reportRow(
  step: PlanStep,
  r: { id: string; value: number | null; unit: string },
): { cells: string[]; outside: boolean } {
  const expected: PlanNumber | undefined =
    step.kind === 'equipment' ? step.reports.find((x) => x.id === r.id) : undefined;
  const outside = !!expected && r.value !== null && outsideLimits(r.value, expected);
  return {
    cells: [
      expected?.name ?? r.id,
      r.value === null ? '—' : String(r.value),
      unitText(r.unit),
      expected ? limitsText(expected.low, expected.high) : '',
      outside ? 'OUT OF LIMITS' : '',
    ],
    outside,
  };
}
