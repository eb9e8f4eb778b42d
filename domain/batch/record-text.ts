/**
 * The batch record in words, for people to read (the PDF a reviewer signs): limits as people write them, batch
 * events and audited changes as sentences — never raw JSON. Pure functions of what the record and the trail hold.
 */
import { displayUnit } from '../units';

/** `7.3–7.5`, `≥ 95`, `≤ 10`, or '' when there are no limits (nothing to print). */
export function limitsText(low: number | undefined | null, high: number | undefined | null): string {
  const hasLow = low !== undefined && low !== null;
  const hasHigh = high !== undefined && high !== null;
  if (hasLow && hasHigh) return `${low}–${high}`;
  if (hasLow) return `≥ ${low}`;
  if (hasHigh) return `≤ ${high}`;
  return '';
}

/** A unit as people write it after a value: `°C`, `mS/cm`; nothing for a pH (a number on its scale) or `1`. */
export function unitText(unit: string | null | undefined): string {
  return !unit || unit === '[pH]' || unit === '1' ? '' : displayUnit(unit);
}

/** A quantity with its unit as people write it (`36.5 °C`, `7.4` for a pH, `2 × 10⁶/mL`). */
export function quantityText(value: number | string | null | undefined, unit: string | null | undefined): string {
  if (value === null || value === undefined || value === '') return '—';
  const shown = unitText(unit);
  if (!shown) return String(value);
  // A unit that starts with a number multiplies: 2 10⁶/mL would read as 210⁶.
  return /^\d/.test(shown) ? `${value} × ${shown}` : `${value} ${shown}`;
}

/** The time of a record, as the record keeps it: UTC to the second. */
export function utcText(at: string | Date | null | undefined): string {
  return at ? `${new Date(at).toISOString().replace('T', ' ').slice(0, 19)} UTC` : '—';
}

type Data = Record<string, unknown>;

/** A batch-level record entry (no step) as a sentence. */
export function batchEventText(kind: string, data: Data): string {
  switch (kind) {
    case 'batch-command':
      if (typeof data.command === 'string')
        return `${capitalise(data.command)} requested while ${String(data.from ?? 'running')}: ${String(data.reason ?? '')}`.trim();
      return `The batch is ${String(data.status)}${data.reason ? `: ${String(data.reason)}` : ''}`;
    case 'batch-ended':
      return `The batch ended ${String(data.status)}${typeof data.deviations === 'number' ? ` with ${data.deviations} deviation(s)` : ''}${data.reason ? `: ${String(data.reason)}` : ''}`;
    case 'output-lot':
      return `Output lot ${String(data.lotNumber)} produced: ${quantityText(data.quantity as number, data.unit as string)}, ${String(data.status ?? 'quarantine')}`;
    case 'history-archived': {
      const runs = (data.runs ?? []) as { runId: string; events: number; sha256: string }[];
      return `Workflow history archived with the record: ${runs
        .map((r, i) => `run ${i + 1} (${r.runId}), ${r.events} events, SHA-256 ${r.sha256}`)
        .join('; ')}`;
    }
    default:
      return `${capitalise(kind.replace(/-/g, ' '))}${Object.keys(data).length > 0 ? `: ${fieldsText(data)}` : ''}`;
  }
}

/** An audited change as text: each field that changed, `field: old → new` (only what there is). */
export function changeText(oldValue: unknown, newValue: unknown): string {
  const before = flatten(oldValue);
  const after = flatten(newValue);
  const keys = [...new Set([...before.keys(), ...after.keys()])];
  return keys
    .map((k) => {
      const o = before.get(k);
      const n = after.get(k);
      if (o !== undefined && n !== undefined) return o === n ? `${k}: ${n}` : `${k}: ${o} → ${n}`;
      if (n !== undefined) return `${k}: ${n}`;
      return `${k}: ${o} → (removed)`;
    })
    .join('; ');
}

/** `key: value; …` for a flat or nested object. */
export function fieldsText(data: unknown): string {
  return [...flatten(data)].map(([k, v]) => `${k}: ${v}`).join('; ');
}

/** Nested values as dotted keys and readable scalars; a signature's manifestation as one phrase. */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (value === null || value === undefined) {
    if (prefix) out.set(prefix, '—');
    return out;
  }
  if (isManifestation(value)) {
    out.set(
      prefix || 'signature',
      `${value.signedBy} (${value.username}), ${value.meaning}, ${utcText(value.signedAt)}`,
    );
    return out;
  }
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) out.set(prefix, value.map(String).join(', ') || '—');
    else value.forEach((v, i) => flatten(v, `${prefix}[${i + 1}]`, out));
    return out;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
    return out;
  }
  out.set(prefix || 'value', String(value));
  return out;
}

function isManifestation(v: unknown): v is { signedBy: string; username: string; meaning: string; signedAt: string } {
  return typeof v === 'object' && v !== null && 'signedBy' in v && 'meaning' in v && 'signedAt' in v;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
