/** The history as an investigator reads it, from a real archived history (a MAB batch with a failed phase, restarted, stopped). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { historyTimeline, type HistoryJsonEvent } from '../../domain/batch/history-timeline';

const history = JSON.parse(
  readFileSync(path.join(__dirname, '../histories/v3-mab-failure-restart-stop.json'), 'utf8'),
) as { events: HistoryJsonEvent[] };

test('every event is either told or counted as routine; steps attributed; failures and commands pinned', () => {
  const t = historyTimeline(history.events);
  expect(t.events.length + t.routine).toBe(history.events.length);
  expect(t.events[0]).toMatchObject({ eventId: 1, what: 'The batch’s workflow started', stepId: null });
  expect(t.events.at(-1)!.what).toBe('The batch’s workflow completed');

  const failures = t.events.filter((e) => e.pinned === 'failure');
  expect(failures.map((f) => f.what)).toContain(
    'runEquipmentPhase failed: BR-101 HEAT refused start in state idle (BadInvalidState)',
  );
  // The failed attempt belongs to the step whose activity was scheduled.
  expect(failures.every((f) => f.stepId !== null)).toBe(true);

  const commands = t.events.filter((e) => e.pinned === 'hold' || e.pinned === 'command');
  expect(commands.map((c) => c.what)).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^Restart by Olivia Operator \(demo\): controller reset by maintenance$/),
    ]),
  );
  expect(commands.some((c) => c.pinned === 'hold' && /^Stop by /.test(c.what))).toBe(true);

  const completions = t.events.filter((e) => e.what.startsWith('Completed by '));
  expect(completions[0]).toMatchObject({ stepId: 'pre-use-check', what: 'Completed by Olivia Operator (demo)' });
  const verified = t.events.find((e) => e.what.startsWith('Verified by '))!;
  expect(verified.stepId).toBe('pre-use-check');
  // Each activity's start and end go with its scheduling's step.
  const started = t.events.filter((e) => / started, attempt \d+$/.test(e.what));
  expect(started.length).toBeGreaterThan(0);
  expect(started.every((e) => e.stepId !== null)).toBe(true);
});
