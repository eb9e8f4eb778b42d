/**
 * Mounts declared routes on express. For each request, in this order: who is calling (401 without a
 * live session, 403 without the permission), the path, query and body against their strict schemas
 * (400), the reason (422), the signature (re-authenticated before anything changes), then the handler —
 * in a transaction for mutations, where the Idempotency-Key's stored answer is written with the change.
 */
import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { IdempotencyStore } from '../../db/stores/idempotency-store';
import { canonicalHash } from '../../domain/canonical-hash';
import { rolesGrant } from '../auth/permissions';
import type { ChangeContext, UserActor } from '../../db/change-context';
import type { SecurityEventLog } from '../security/security-event-log';
import {
  signatureInputSchema,
  type SignatureInput,
  type SignatureService,
  type VerifiedSigner,
} from '../signatures/signature-service';
import { Problem, validationFailed, type FieldError } from './problems';
import { runsInTransaction, type Reply, type RouteSpec } from './route';
import { stationOf } from './station';

export const reasonSchema = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .describe('Why the change is made (21 CFR 11.10(e)); required for GMP changes.');

export interface MountDeps {
  db: Knex;
  signatures: SignatureService;
  securityEvents: SecurityEventLog;
  idempotency: IdempotencyStore;
  rateLimiters: Record<'login' | 'sign', RequestHandler>;
}

/** The body schema a route validates against: its own, plus `reason` and `signature` where declared. */
export function effectiveBodySchema(spec: RouteSpec, forDocs = false): z.ZodObject<z.ZodRawShape> | undefined {
  let body = spec.body;
  if (!body && !spec.reason && !spec.signature) return undefined;
  body ??= z.strictObject({});
  const extra: Record<string, z.ZodType> = {};
  if (spec.reason) extra.reason = forDocs && spec.reason === 'required' ? reasonSchema : reasonSchema.optional();
  if (spec.signature)
    extra.signature = forDocs && !('when' in spec.signature) ? signatureInputSchema : signatureInputSchema.optional();
  return Object.keys(extra).length > 0 ? body.extend(extra) : body;
}

export function mountRoutes(router: Router, routes: RouteSpec[], deps: MountDeps): void {
  for (const spec of routes) {
    const bodySchema = effectiveBodySchema(spec);
    const limiter = spec.signature
      ? deps.rateLimiters.sign
      : spec.rateLimit
        ? deps.rateLimiters[spec.rateLimit]
        : undefined;
    const handlers: RequestHandler[] = [authorize(spec)];
    if (limiter) handlers.push(limiter);
    handlers.push((req, res, next) =>
      handle(spec, bodySchema, deps, req, res).catch((err) =>
        raiseSecurityEvent(deps, req, err)
          // The refusal is still the answer; the event that could not be written is logged.
          .catch((eventErr) => req.log?.error({ err: eventErr }, 'a security event could not be written'))
          .then(() => next(err)),
      ),
    );
    router[spec.method](spec.path, ...handlers);
  }
  // A path that exists with other methods: 405, saying which (not a 404, which says there is no such endpoint).
  const methods = new Map<string, Set<string>>();
  for (const spec of routes)
    methods.set(spec.path, (methods.get(spec.path) ?? new Set()).add(spec.method.toUpperCase()));
  for (const [path, allowed] of methods) {
    if (allowed.has('GET')) allowed.add('HEAD');
    const allow = [...allowed].sort().join(', ');
    router.all(path, (req, _res, next) =>
      next(new Problem('method-not-allowed', `${req.method} is not taken here; ${allow} are`, {}, { Allow: allow })),
    );
  }
}

function authorize(spec: RouteSpec): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (spec.access === 'public') return next();
    const actor = req.actor;
    if (!actor) return next(new Problem('unauthenticated'));
    if (spec.access !== 'authenticated' && !rolesGrant(actor.roles, spec.access)) {
      return next(
        new Problem(
          'forbidden',
          `this needs the permission ${spec.access}, which none of your roles (${actor.roles.join(', ')}) grants`,
        ),
      );
    }
    next();
  };
}

async function handle(
  spec: RouteSpec,
  bodySchema: z.ZodObject<z.ZodRawShape> | undefined,
  deps: MountDeps,
  req: Request,
  res: Response,
): Promise<void> {
  const actor = req.actor ?? null;
  const station = stationOf(req);
  const errors: FieldError[] = [];
  const params = parsePart(spec.params, req.params, 'path', errors);
  const query = parsePart(spec.query ?? z.strictObject({}), req.query ?? {}, 'query', errors);
  const hasBody =
    req.body !== undefined &&
    !(
      typeof req.body === 'object' &&
      req.body !== null &&
      !Array.isArray(req.body) &&
      Object.keys(req.body).length === 0
    );
  let body: Record<string, unknown> = {};
  let xml: string | undefined;
  if (spec.xmlBody) {
    if (typeof req.body !== 'string' || req.body.trim() === '')
      throw new Problem('unsupported-media-type', 'send the document as application/xml');
    xml = req.body;
  } else if (typeof req.body === 'string')
    throw new Problem('unsupported-media-type', 'send the body as application/json, not an XML document');
  else if (bodySchema) body = parsePart(bodySchema, req.body ?? {}, 'body', errors) ?? {};
  else if (hasBody) errors.push({ in: 'body', pointer: '', message: 'this endpoint takes no body' });
  if (errors.length > 0) throw validationFailed(errors);

  // `reason` and `signature` are the framework's where the route declares them; otherwise they are the body's own.
  const rest: Record<string, unknown> = { ...body };
  if (spec.reason) delete rest.reason;
  if (spec.signature) delete rest.signature;
  const reason = spec.reason ? ((body as { reason?: string }).reason ?? null) : null;
  const signatureInput = spec.signature ? (body as { signature?: SignatureInput }).signature : undefined;
  if (spec.reason === 'required' && !reason)
    throw new Problem('reason-required', 'say why in "reason": every GMP change records its reason');

  let signer: VerifiedSigner | null = null;
  const requirement = spec.signature && ('when' in spec.signature ? spec.signature.when(rest) : spec.signature);
  if (requirement) signer = await deps.signatures.verify(actor!, signatureInput, requirement, station);
  else if (signatureInput)
    throw validationFailed([{ in: 'body', pointer: '/signature', message: 'this request needs no signature' }]);

  const run = async (trx: Knex.Transaction | undefined): Promise<Reply> => {
    await checkIfMatch(spec, req, params ?? {}, trx);
    return spec.handler({
      params: params ?? {},
      query: query ?? {},
      body: rest,
      xml,
      actor,
      station,
      reason,
      signer,
      trx,
      change: (): ChangeContext => {
        if (!trx || !actor)
          throw new Error(
            `route ${spec.method.toUpperCase()} ${spec.path} made a change outside a transaction or without a user`,
          );
        return { trx, actor, station, reason };
      },
      req,
      res,
    });
  };

  let reply: Reply;
  if (!runsInTransaction(spec)) reply = await run(undefined);
  else if (spec.idempotent && actor && req.get('Idempotency-Key')) reply = await runIdempotent(deps, req, actor, run);
  else reply = await deps.db.transaction((trx) => run(trx));
  if (reply.afterCommit)
    await reply.afterCommit().catch((err) => req.log?.error({ err }, 'a follow-up after the commit failed'));
  if (spec.versioned) setETag(reply);
  if ((reply.status ?? 200) === 201 && spec.location && reply.body)
    reply.headers = { ...reply.headers, Location: `/api${spec.location(reply.body)}` };
  send(res, reply);
}

/** A row version as a strong ETag. */
export function etagOf(rowVersion: number): string {
  return `"v${rowVersion}"`;
}

/** Refuses (412) a change whose If-Match names a version the resource no longer has; the row stays locked for the change. */
async function checkIfMatch(
  spec: RouteSpec,
  req: Request,
  params: Record<string, unknown>,
  trx: Knex.Transaction | undefined,
): Promise<void> {
  const ifMatch = req.get('If-Match');
  if (!ifMatch || !spec.versioned?.lock || !trx) return;
  const current = await spec.versioned.lock(params, trx);
  if (current === undefined) return; // no such resource: the handler answers 404
  const etag = etagOf(current);
  const listed = ifMatch.split(',').map((t) => t.trim());
  if (!listed.includes('*') && !listed.includes(etag)) {
    throw new Problem(
      'precondition-failed',
      `the resource is at ${etag}, not ${ifMatch}: it changed since it was read`,
      { etag },
      { ETag: etag },
    );
  }
}

/** The ETag of a versioned resource's representation (its `rowVersion`). */
function setETag(reply: Reply): void {
  const rowVersion = (reply.body as { rowVersion?: unknown } | undefined)?.rowVersion;
  if (typeof rowVersion === 'number') reply.headers = { ...reply.headers, ETag: etagOf(rowVersion) };
}

/**
 * Runs a create once per Idempotency-Key: a repeated key with the same request replays the stored
 * answer; with another request it is refused. The key is claimed first in the transaction, so a
 * concurrent twin waits on its primary key, then replays the answer (or, if the first rolled back, runs).
 */
async function runIdempotent(
  deps: MountDeps,
  req: Request,
  actor: UserActor,
  run: (trx: Knex.Transaction) => Promise<Reply>,
): Promise<Reply> {
  const key = req.get('Idempotency-Key')!;
  if (!/^[\x21-\x7e]{1,200}$/.test(key))
    throw validationFailed([
      { in: 'header', pointer: '/Idempotency-Key', message: 'expected 1 to 200 visible ASCII characters' },
    ]);
  const body = { ...(req.body ?? {}) };
  delete body.signature; // the password is not part of what makes two requests the same
  const requestHash = canonicalHash({ method: req.method, path: req.originalUrl, body });
  const replay = async (): Promise<Reply | undefined> => {
    const stored = await deps.idempotency.find(deps.db, actor.userId, key);
    if (!stored) return undefined;
    if (stored.requestHash !== requestHash)
      throw new Problem('idempotency-key-reused', `the Idempotency-Key ${key} was first used for another request`);
    return {
      status: stored.status ?? 200,
      body: stored.response ?? undefined,
      headers: { 'Idempotent-Replayed': 'true' },
    };
  };
  const earlier = await replay();
  if (earlier) return earlier;
  try {
    return await deps.db.transaction(async (trx) => {
      await deps.idempotency.claim(trx, actor.userId, key, { method: req.method, path: req.originalUrl, requestHash });
      const reply = await run(trx);
      await deps.idempotency.complete(trx, actor.userId, key, reply.status ?? 200, reply.body);
      return reply;
    });
  } catch (err) {
    if (
      (err as { code?: string; constraint?: string }).code === '23505' &&
      (err as { constraint?: string }).constraint === 'idempotency_keys_pkey'
    ) {
      const winner = await replay();
      if (winner) return winner;
    }
    throw err;
  }
}

/** Writes the security event a refusal carries, now that its transaction is over. */
async function raiseSecurityEvent(deps: MountDeps, req: Request, err: unknown): Promise<void> {
  if (!(err instanceof Problem) || !err.securityEvent) return;
  await deps.securityEvents.raise(err.securityEvent.kind, {
    userId: req.actor?.userId ?? null,
    username: req.actor?.username ?? null,
    station: stationOf(req),
    detail: err.securityEvent.detail,
  });
}

function parsePart<T>(
  schema: z.ZodType<T> | undefined,
  value: unknown,
  where: FieldError['in'],
  errors: FieldError[],
): T | undefined {
  if (!schema) return undefined;
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  for (const issue of r.error.issues) {
    const base = issue.path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys)
        errors.push({
          in: where,
          pointer: `${base}/${k}`,
          message: `unknown field "${k}" (fields not in the schema are refused)`,
        });
    } else {
      errors.push({ in: where, pointer: base, message: issue.message });
    }
  }
  return undefined;
}

function send(res: Response, reply: Reply): void {
  for (const [k, v] of Object.entries(reply.headers ?? {})) res.setHeader(k, v);
  const status = reply.status ?? 200;
  if (reply.text) res.status(status).type(reply.text.contentType).send(reply.text.content);
  else if (reply.body === undefined || status === 204) res.status(status).end();
  else res.status(status).json(reply.body);
}
