/** RFC 4180 CSV for exports: a header row of column names, then one row per record; CRLF line ends. */

/**
 * A cell: empty for null, ISO 8601 for dates, JSON for objects and arrays, quoted where it must be. Text a
 * spreadsheet would take for a formula (starting with =, +, -, @, a tab or a carriage return) is prefixed
 * with a quote mark, so that a printed name such as `=HYPERLINK(…)` stays text (OWASP's CSV injection advice).
 * Numbers stay numbers.
 */
function cell(v: unknown): string {
  let text =
    v === null || v === undefined
      ? ''
      : v instanceof Date
        ? v.toISOString()
        : typeof v === 'object'
          ? JSON.stringify(v)
          : String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv<T extends object, K extends keyof T & string>(columns: readonly K[], rows: readonly T[]): string {
  return [columns.join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\r\n') + '\r\n';
}
