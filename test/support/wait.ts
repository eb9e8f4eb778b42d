/** Waiting in tests for something that happens elsewhere (a workflow, a phase, a server): poll until it holds. */

/**
 * Resolves once `fn` returns true (or a value that is not false, undefined or null, which it returns), polling
 * every `everyMs`; rejects after `ms` with `what` in the message.
 */
export async function until<T>(
  fn: () => Promise<T | false | undefined | null> | T | false | undefined | null,
  ms = 60_000,
  what = 'condition',
  everyMs = 50,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== false && v !== undefined && v !== null) return v;
    if (Date.now() > end) throw new Error(`${what} not reached in ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
