/** Activities of the crash harness. */
const attempts = new Map<string, number>();
/** Successful executions per key, to show the at-least-once execution the server retries imply. */
export const successes = new Map<string, number>();

/** Fails its first `failures` attempts (per key, in this worker process), then succeeds. */
export async function flaky(key: string, failures: number): Promise<string> {
  const n = (attempts.get(key) ?? 0) + 1;
  attempts.set(key, n);
  if (n <= failures) throw new Error(`attempt ${n} of ${key} fails on purpose`);
  successes.set(key, (successes.get(key) ?? 0) + 1);
  return `done ${key}`;
}
