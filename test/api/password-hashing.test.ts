/**
 * Password hashing is bounded: never more argon2 computations at once than the limit (all cores but one), the
 * rest wait their turn and all complete; and the limit itself keeps its count through failures.
 */
import { availableParallelism } from 'node:os';
import { ConcurrencyLimit } from '../../api/auth/concurrency-limit';
import { hashPassword, hashing, verifyPassword } from '../../api/auth/passwords';

test('argon2 runs on all cores but one at most; every verification still completes', async () => {
  expect(hashing.max).toBe(Math.max(1, availableParallelism() - 1));
  const hash = await hashPassword('correct horse battery');
  let most = 0;
  let waited = 0;
  const watch = setInterval(() => {
    most = Math.max(most, hashing.load.running);
    waited = Math.max(waited, hashing.load.waiting);
  }, 1);
  const results = await Promise.all(
    Array.from({ length: hashing.max + 4 }, (_, i) =>
      verifyPassword(hash, i % 2 === 0 ? 'correct horse battery' : 'wrong horse battery'),
    ),
  );
  clearInterval(watch);
  expect(results).toEqual(Array.from({ length: hashing.max + 4 }, (_, i) => i % 2 === 0));
  expect(most).toBeLessThanOrEqual(hashing.max);
  expect(waited).toBeGreaterThan(0);
  expect(hashing.load).toEqual({ running: 0, waiting: 0 });
});

test('a concurrency limit runs tasks in arrival order and frees the slot of one that fails', async () => {
  const limit = new ConcurrencyLimit(2);
  const order: string[] = [];
  let now = 0;
  let most = 0;
  const task = (name: string, ms: number, fail = false) =>
    limit.run(async () => {
      most = Math.max(most, ++now);
      order.push(name);
      await new Promise((r) => setTimeout(r, ms));
      now--;
      if (fail) throw new Error(`${name} failed`);
      return name;
    });
  const outcomes = await Promise.allSettled([
    task('a', 30, true),
    task('b', 10),
    task('c', 10),
    task('d', 10),
    task('e', 10),
  ]);
  expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : (o.reason as Error).message))).toEqual([
    'a failed',
    'b',
    'c',
    'd',
    'e',
  ]);
  expect(order).toEqual(['a', 'b', 'c', 'd', 'e']);
  expect(most).toBe(2);
  expect(limit.load).toEqual({ running: 0, waiting: 0 });
  expect(() => new ConcurrencyLimit(0)).toThrow(RangeError);
});
