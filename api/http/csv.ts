/** RFC 4180 CSV for exports: a header row of column names, then one row per record; CRLF line ends. */

/** A cell: empty for null, ISO 8601 for dates, JSON for objects and arrays, quoted where it must be. */
function cell(v: unknown): string {
  const text = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv<T extends object, K extends keyof T & string>(columns: readonly K[], rows: readonly T[]): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
