/**
 * A client in a process of its own that times GET requests to their last byte, for the benchmarks: a browser or
 * an ERP reading Ampoule's API is never inside Ampoule's process, so receiving a large answer should not share the
 * API's event loop (in one process, the client's reading of 2.5 MB would be counted as the server's time).
 *
 * Forked with IPC by `timedGets()`; answers each request it is sent with the times it measured.
 */
import { fork } from 'node:child_process';

type Ask = { url: string; headers: Record<string, string>; runs: number };
type Answer = { ms: number[] } | { error: string };

/** Times `runs` GETs of `url` (after one to warm up) from a forked process; the milliseconds of each. */
export async function timedGets(url: string, headers: Record<string, string>, runs: number): Promise<number[]> {
  const child = fork(__filename, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const answer = await new Promise<Answer>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Answer));
      child.once('exit', (code) => reject(new Error(`the timing client exited with ${code}`)));
      child.send({ url, headers, runs } satisfies Ask);
    });
    if ('error' in answer) throw new Error(answer.error);
    return answer.ms;
  } finally {
    child.kill();
  }
}

async function get(ask: Ask): Promise<void> {
  const r = await fetch(ask.url, { headers: ask.headers });
  if (r.status !== 200) throw new Error(`GET ${ask.url}: ${r.status}`);
  await r.arrayBuffer(); // to the last byte (the client's parsing is not the answer's time)
}

// In the child: time what it is asked to, answer, and wait to be stopped.
if (process.send && require.main === module) {
  process.once('message', (ask: Ask) => {
    void (async () => {
      try {
        await get(ask);
        const ms: number[] = [];
        for (let i = 0; i < ask.runs; i++) {
          const t0 = performance.now();
          await get(ask);
          ms.push(performance.now() - t0);
        }
        process.send!({ ms } satisfies Answer);
      } catch (err) {
        process.send!({ error: String(err) } satisfies Answer);
      }
    })();
  });
}
