/** The timer wheel every deadline of the engine goes through. */
import { TimerService, type Clock } from '../../engine/timers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('fires in deadline order; replacing a key replaces its deadline; clear cancels', async () => {
  const timers = new TimerService({ now: () => Date.now() });
  const fired: string[] = [];
  const now = Date.now();
  timers.set('b', now + 60, () => fired.push('b'));
  timers.set('a', now + 20, () => fired.push('a'));
  timers.set('c', now + 40, () => fired.push('c'));
  timers.set('c', now + 80, () => fired.push('c2'));
  timers.set('d', now + 30, () => fired.push('d'));
  timers.clear('d');
  await sleep(150);
  expect(fired).toEqual(['a', 'b', 'c2']);
  timers.stop();
});

test('an overdue deadline fires at once, and a throwing handler does not stop the others', async () => {
  const timers = new TimerService({ now: () => Date.now() });
  const fired: string[] = [];
  const error = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  timers.set('late', Date.now() - 1000, () => {
    throw new Error('boom');
  });
  timers.set('ok', Date.now() - 500, () => fired.push('ok'));
  await sleep(20);
  expect(fired).toEqual(['ok']);
  expect(error).toHaveBeenCalled();
  error.mockRestore();
  timers.stop();
});

test('poke() re-evaluates deadlines after the clock jumps', async () => {
  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset };
  const timers = new TimerService(clock);
  const fired: string[] = [];
  timers.set('far', clock.now() + 3_600_000, () => fired.push('far'));
  expect(timers.nextDeadline()).toBeGreaterThan(Date.now());
  offset = 3_600_000;
  timers.poke();
  await sleep(20);
  expect(fired).toEqual(['far']);
  timers.stop();
});
