/** The visibility query parser and evaluator, on hand-made records. */
import { comparator, evaluate, parseQuery, type Record_ } from '../../engine/visibility';

const custom = { Amount: 'Double', Tags: 'KeywordList', Note: 'Text' };

function record(fields: Record<string, unknown>): Record_ {
  return (name) => fields[name] as ReturnType<Record_>;
}

const a = record({
  WorkflowId: 'batch-1',
  WorkflowType: 'Batch',
  ExecutionStatus: 'Running',
  StartTime: '2026-01-01T10:00:00Z',
  Amount: 5,
  Tags: ['x', 'y'],
  Note: 'Buffer prep',
});
const b = record({
  WorkflowId: 'batch-2',
  WorkflowType: 'Batch',
  ExecutionStatus: 'Completed',
  StartTime: '2026-01-02T10:00:00Z',
  CloseTime: '2026-01-02T11:00:00Z',
  Amount: 9.5,
  Tags: ['y'],
});
const c = record({
  WorkflowId: 'other',
  WorkflowType: 'Cleanup',
  ExecutionStatus: 'Failed',
  StartTime: '2026-01-03T10:00:00Z',
  CloseTime: '2026-01-03T10:30:00Z',
});

function matches(query: string): string[] {
  const q = parseQuery(query, custom);
  return [a, b, c].filter((r) => evaluate(q.filter, r)).map((r) => r('WorkflowId') as string);
}

test.each([
  ['', ['batch-1', 'batch-2', 'other']],
  [`WorkflowType = 'Batch'`, ['batch-1', 'batch-2']],
  [`WorkflowType != 'Batch'`, ['other']],
  [`ExecutionStatus = 'running'`, ['batch-1']],
  [`ExecutionStatus IN ('Completed', 'Failed')`, ['batch-2', 'other']],
  [`ExecutionStatus NOT IN ('Completed', 'Failed')`, ['batch-1']],
  [`WorkflowId STARTS_WITH 'batch-'`, ['batch-1', 'batch-2']],
  [`Amount > 5`, ['batch-2']],
  [`Amount >= 5 AND Amount <= 9`, ['batch-1']],
  [`Amount BETWEEN 1 AND 6`, ['batch-1']],
  [`Tags = 'y'`, ['batch-1', 'batch-2']],
  [`Tags = 'x' OR WorkflowType = 'Cleanup'`, ['batch-1', 'other']],
  [`(Tags = 'x' OR Amount > 9) AND WorkflowType = 'Batch'`, ['batch-1', 'batch-2']],
  [`NOT WorkflowType = 'Batch'`, ['other']],
  [`CloseTime IS NULL`, ['batch-1']],
  [`CloseTime IS NOT NULL`, ['batch-2', 'other']],
  [`StartTime > '2026-01-01T12:00:00Z'`, ['batch-2', 'other']],
  [`StartTime < "2026-01-02T00:00:00Z"`, ['batch-1']],
  [`Note = 'buffer'`, ['batch-1']],
  [`\`WorkflowType\` = 'Cleanup'`, ['other']],
])('%s', (query, expected) => {
  expect(matches(query)).toEqual(expected);
});

test.each([
  [`Unknown = 1`, /unknown search attribute Unknown/],
  [`Amount > 'lots'`, /needs a number/],
  [`StartTime > 'yesterday'`, /not a valid time/],
  [`WorkflowId = 'x' AND`, /expected/],
  [`WorkflowId = 'unterminated`, /unterminated/],
  [`WorkflowId ~ 'x'`, /unexpected/],
  [`WorkflowId = 'x' extra`, /unexpected 'extra'/],
])('refuses %s', (query, message) => {
  expect(() => parseQuery(query, custom)).toThrow(message);
});

test('ORDER BY, and the default order (open first, then newest)', () => {
  const byAmount = parseQuery('ORDER BY Amount DESC', custom);
  expect([a, b, c].sort(comparator(byAmount.orderBy)).map((r) => r('WorkflowId'))).toEqual([
    'batch-2',
    'batch-1',
    'other',
  ]);
  const natural = parseQuery('', custom);
  expect([c, b, a].sort(comparator(natural.orderBy)).map((r) => r('WorkflowId'))).toEqual([
    'batch-1',
    'other',
    'batch-2',
  ]);
});
