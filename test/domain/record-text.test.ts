/** The batch record in words: limits, quantities, batch events and audited changes, never raw JSON. */
import { batchEventText, changeText, limitsText, quantityText } from '../../domain/batch/record-text';

test('limits as people write them, and nothing where there are none', () => {
  expect([
    limitsText(7.3, 7.5),
    limitsText(95, undefined),
    limitsText(undefined, 10),
    limitsText(undefined, null),
  ]).toEqual(['7.3–7.5', '≥ 95', '≤ 10', '']);
  expect([
    quantityText(36.5, 'Cel'),
    quantityText(7.4, '[pH]'),
    quantityText(null, 'L'),
    quantityText(2, '10*6/mL'),
  ]).toEqual(['36.5 °C', '7.4', '—', '2 × 10⁶/mL']);
});

test('batch events as sentences', () => {
  expect(batchEventText('batch-command', { command: 'hold', reason: 'pH meter', from: 'running' })).toBe(
    'Hold requested while running: pH meter',
  );
  expect(batchEventText('batch-command', { status: 'held', reason: 'step mix failed' })).toBe(
    'The batch is held: step mix failed',
  );
  expect(batchEventText('batch-ended', { status: 'complete', deviations: 1 })).toBe(
    'The batch ended complete with 1 deviation(s)',
  );
  expect(batchEventText('output-lot', { lotNumber: 'B1', quantity: 500, unit: 'L', status: 'quarantine' })).toBe(
    'Output lot B1 produced: 500 L, quarantine',
  );
  expect(batchEventText('history-archived', { runs: [{ runId: 'r1', events: 12, sha256: 'ab' }] })).toBe(
    'Workflow history archived with the record: run 1 (r1), 12 events, SHA-256 ab',
  );
  expect(batchEventText('something-new', { a: { b: [1, 2] } })).toBe('Something new: a.b: 1, 2');
});

test('audited changes field by field, a signature as one phrase', () => {
  expect(changeText({ status: 'complete' }, { status: 'reviewed', signature: 'sig-1' })).toBe(
    'status: complete → reviewed; signature: sig-1',
  );
  expect(
    changeText(undefined, {
      signature: { signedBy: 'Quinn', username: 'qa1', meaning: 'reviewed', signedAt: '2026-12-07T01:02:03.456Z' },
    }),
  ).toBe('signature: Quinn (qa1), reviewed, 2026-12-07 01:02:03 UTC');
  expect(changeText({ rootCause: 'x' }, {})).toBe('rootCause: x → (removed)');
});
