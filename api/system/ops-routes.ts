/**
 * What an orchestrator and a monitoring system ask every Ampoule process (the API's and a worker's alike), outside
 * `/api` and without a session: `/healthz` (the process is alive: restart it if not), `/readyz` (it can do its work:
 * the database, Temporal, a worker's pollers — send it traffic only if so; 503 from the moment it begins to stop) and
 * `/metrics` (Prometheus's text format). They say nothing about records: what is up or down, by name.
 */
import express, { type Router } from 'express';
import type { Knex } from 'knex';
import type { Metrics } from '../../composition/metrics';

export interface ReadinessCheck {
  name: string;
  /** Resolves when ready; throws (or does not answer within 2 s) when not. */
  check(): Promise<unknown>;
}

/** The check every process makes: its database answers. */
export function databaseReadiness(db: Knex): ReadinessCheck {
  return { name: 'database', check: () => db.raw('select 1') };
}

/** The process's readiness: its checks, and whether it has begun to stop. */
export class Readiness {
  stopping = false;
  constructor(readonly checks: ReadinessCheck[] = []) {}

  async report(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = {};
    await Promise.all(
      this.checks.map(async (c) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            c.check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error('no answer within 2 s')), 2_000);
            }),
          ]);
          checks[c.name] = 'ok';
        } catch (err) {
          checks[c.name] = (err as Error).message.split('\n')[0].slice(0, 200);
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    if (this.stopping) checks.process = 'stopping';
    return { ready: !this.stopping && Object.values(checks).every((v) => v === 'ok'), checks };
  }
}

export function opsRouter(o: { metrics: Metrics; readiness: Readiness }): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  router.get('/readyz', async (_req, res) => {
    const { ready, checks } = await o.readiness.report();
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', checks });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(o.metrics.contentType).send(await o.metrics.text());
  });
  return router;
}

/** Times every request by its route's pattern (never its path: ids stay out of the labels). */
export function requestTimer(metrics: Metrics): express.RequestHandler {
  return (req, res, next) => {
    const end = metrics.httpRequestDuration.startTimer();
    res.on('finish', () => {
      const pattern = (req.route as { path?: string } | undefined)?.path;
      end({
        method: req.method,
        route: pattern === undefined ? 'unmatched' : `${req.baseUrl ?? ''}${pattern}`,
        status_code: String(res.statusCode),
      });
    });
    next();
  };
}
