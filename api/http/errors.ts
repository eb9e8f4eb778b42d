/**
 * The last middleware: every error becomes RFC 9457 problem+json. Known problems keep their type;
 * the JSON parser's errors are mapped to theirs; anything else is logged and answered as `internal`
 * without leaking its message.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { InventoryError } from '../lots/inventory';
import { Problem } from './problems';

interface ParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/** Maps an error to a Problem; undefined for an unexpected error. */
export function toProblem(err: unknown): Problem | undefined {
  if (err instanceof Problem) return err;
  if (err instanceof InventoryError) return inventoryProblem(err);
  const e = err as ParserError & { code?: string; constraint?: string };
  switch (e?.type) {
    case 'entity.too.large':
      return new Problem('payload-too-large', `the body exceeds ${e.limit} bytes`);
    case 'entity.parse.failed':
      return new Problem('malformed-json', 'the body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new Problem('unsupported-media-type', 'send the body as UTF-8 JSON');
  }
  if (isDatabaseUnavailable(e))
    return new Problem(
      'database-unavailable',
      'the database is unavailable; send the request again',
      {},
      {
        'Retry-After': '2',
      },
    ).withCause(err);
  // A unique constraint that a service's own check raced with.
  if (e?.code === '23505') return new Problem('conflict', 'a record with the same unique value already exists');
  // Two changes that crossed (a deadlock, a serialization failure): one was undone; a retry goes through.
  if (e?.code === '40P01' || e?.code === '40001')
    return new Problem('conflict', 'a concurrent change crossed this one, which was undone: retry it');
  return undefined;
}

/**
 * PostgreSQL out of reach or going away: a refused or broken connection, the server shutting down or starting up
 * (SQLSTATE classes 08 and 57P), or no connection to be had from the pool in time.
 */
function isDatabaseUnavailable(e: { code?: string; name?: string; message?: string } | undefined): boolean {
  if (!e) return false;
  const code = e.code ?? '';
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', '57P01', '57P02', '57P03'].includes(code) ||
    code.startsWith('08') ||
    e.name === 'KnexTimeoutError' ||
    // pg's own words for a connection that broke under a query (knex puts the query's SQL before them).
    /Connection terminated|connection error and is not queryable/.test(e.message ?? '')
  );
}

/** InventoryError codes as problem types. */
export function inventoryProblem(err: InventoryError): Problem {
  switch (err.code) {
    case 'not-found':
      return new Problem('not-found', err.message);
    case 'lot-number-taken':
      return new Problem('code-taken', err.message);
    case 'invalid-status-change':
      return new Problem('invalid-transition', err.message);
    case 'insufficient-quantity':
    case 'lot-unusable':
      return new Problem('lot-unusable', err.message, { problems: err.problems });
    case 'lot-expired':
      return new Problem('lot-expired', err.message);
    case 'unknown-material':
    case 'unit-mismatch':
    case 'invalid-quantity':
    case 'idempotency-mismatch':
      return new Problem('unprocessable', err.message);
  }
}

export function sendProblem(res: Response, req: Request, problem: Problem): void {
  for (const [k, v] of Object.entries(problem.headers)) res.setHeader(k, v);
  res
    .status(problem.status)
    .type('application/problem+json')
    .send(JSON.stringify(problem.toJSON(req.originalUrl, req.requestId)));
}

export function errorHandler(log: Logger) {
  // express recognises an error handler by its four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const problem = toProblem(err);
    if (res.headersSent) {
      log.error({ err, requestId: req.requestId }, 'error after the response started');
      res.end();
      return;
    }
    if (problem) {
      // A failure of Ampoule's or of what it depends on (not a refusal of the request): its cause, once.
      if (problem.status >= 500)
        log.error(
          { requestId: req.requestId, problem: problem.slug, causes: causesOf(problem.cause) },
          `${req.method} ${req.originalUrl.split('?')[0]} failed: ${problem.message}`,
        );
      sendProblem(res, req, problem);
      return;
    }
    log.error({ err, requestId: req.requestId }, 'unexpected error');
    sendProblem(res, req, new Problem('internal', `an unexpected error; quote request id ${req.requestId}`));
  };
}

/** An error's chain of causes, each as its message (and a gRPC status's details: Temporal's reason). */
export function causesOf(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { message, details } = e as { message?: string; details?: unknown };
    out.push(
      [message ?? String(e), typeof details === 'string' && details !== message ? details : undefined]
        .filter(Boolean)
        .join(': '),
    );
  }
  return out;
}
