/**
 * Server-sent events for the live pages: the server looks at what the user's open page shows (their work queue)
 * twice a second and tells the page when it changed; the page then fetches the new fragment. Small and pushed:
 * no page polls, no client state. The session is checked without counting as activity (a queue left open must
 * not keep its session from the idle timeout: the stream's own request does not count as activity either), and the
 * stream ends with the session.
 */
import type { Request, RequestHandler, Response } from 'express';
import { tokenOf } from '../api/auth/session-middleware';
import type { Services } from '../api/services';

const TICK_MS = 500;
const SESSION_CHECK_MS = 5_000;
/** A comment line now and then keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 20_000;

export function liveEvents(s: Services): RequestHandler {
  return (req: Request, res: Response) => {
    const actor = req.actor!;
    const token = tokenOf(req)!;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no', // a reverse proxy must pass events on as they come
    });
    res.write('retry: 2000\n\n');
    let last: string | undefined;
    let lastSessionCheck = Date.now();
    let lastWrite = Date.now();
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const stop = () => {
      stopped = true;
      clearTimeout(timer);
    };
    req.on('close', stop);
    const tick = async () => {
      if (stopped) return;
      try {
        if (Date.now() - lastSessionCheck >= SESSION_CHECK_MS) {
          lastSessionCheck = Date.now();
          if (!(await s.sessions.resolve(token, { activity: false }))) {
            res.write('event: session-ended\ndata: {}\n\n');
            res.end();
            return stop();
          }
        }
        const items = await s.batches.execution.workQueue(actor);
        const shown = JSON.stringify(items.map((i) => [i.batch, i.stepId, i.awaiting, i.batchStatus]));
        // The first look too: what changed between the page's rendering and this (re)connection is not missed.
        if (shown !== last) {
          res.write(`event: work-queue\ndata: ${items.length}\n\n`);
          lastWrite = Date.now();
        } else if (Date.now() - lastWrite >= HEARTBEAT_MS) {
          res.write(': still here\n\n');
          lastWrite = Date.now();
        }
        last = shown;
      } catch (err) {
        req.log?.warn({ err }, 'live events: a look at the work queue failed');
      }
      if (!stopped) timer = setTimeout(() => void tick(), TICK_MS);
    };
    void tick();
  };
}
