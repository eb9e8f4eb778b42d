/**
 * The fault harness's way to the API, as operators' screens reach it behind a load balancer: each call goes to the
 * next API instance; one that does not answer, or answers that it cannot serve now (5xx), is tried again on the
 * other after a moment, until one answers or a deadline passes. A call whose answer was lost may have taken effect:
 * step entries are safe to send again (the batch answers 409 once it has moved on), launches carry an
 * Idempotency-Key.
 */
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export type FailoverRequest = ((
  user: string,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<{ status: number; body: Json }>) & {
  /** How many 500s were answered (and sent again): a fault Ampoule did not turn into a 503 is a bug to look into. */
  serverErrors(): number;
  /** The requests that were answered 500, by method and path (ids as `…`), with how many times. */
  serverErrorsByRequest(): [string, number][];
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Answers that mean "not now": the caller tries again, on another instance. */
const TRANSIENT = new Set([500, 502, 503, 504]);

export function failoverClient(bases: string[], password: string, deadlineMs = 300_000): FailoverRequest {
  const tokens = new Map<string, string>();
  let next = 0;
  const call = async (base: string, method: string, p: string, body: unknown, headers: Record<string, string>) => {
    const r = await fetch(`${base}/api${p}`, {
      method,
      headers: { ...headers, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(60_000),
    });
    return { status: r.status, body: (await r.json().catch(() => ({}))) as Json };
  };
  let serverErrors = 0;
  const byRequest = new Map<string, number>();
  const send = async (
    user: string,
    method: string,
    p: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json }> => {
    const until = Date.now() + deadlineMs;
    let last: string;
    for (;;) {
      const base = bases[next++ % bases.length];
      try {
        if (!tokens.has(user)) {
          const login = await call(base, 'POST', '/auth/login', { username: user, password }, {});
          if (login.status !== 200) throw new Error(`login ${login.status} ${JSON.stringify(login.body)}`);
          tokens.set(user, login.body.token as string);
        }
        const r = await call(base, method, p, body, { ...headers, Authorization: `Bearer ${tokens.get(user)}` });
        if (r.status === 500) {
          serverErrors++;
          const what = `${method} ${p.replace(/B\d{4}-\d+|L\d{4}-\d+|[0-9a-f-]{36}/g, '…').split('?')[0]}`;
          byRequest.set(what, (byRequest.get(what) ?? 0) + 1);
        }
        if (r.status === 401) tokens.delete(user);
        else if (!TRANSIENT.has(r.status)) return r;
        last = `${r.status} ${JSON.stringify(r.body).slice(0, 300)}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > until) throw new Error(`${method} ${p}: no API instance answered in ${deadlineMs} ms (${last})`);
      await sleep(250);
    }
  };
  return Object.assign(send, {
    serverErrors: () => serverErrors,
    serverErrorsByRequest: () => [...byRequest].sort((a, b) => b[1] - a[1]),
  });
}
