/**
 * How an endpoint is declared: one object holds its method and path, who may call it, the schemas of
 * its path, query and body (strict: unknown fields are refused), whether it needs a reason or an
 * electronic signature, and its handler. The same object mounts the route and writes its OpenAPI entry,
 * so the documentation and the validation cannot drift apart.
 */
import type { Request, Response } from 'express';
import type { Knex } from 'knex';
import type { z } from 'zod';
import type { Access } from '../auth/permissions';
import type { ChangeContext, Station, UserActor } from '../../db/change-context';
import type { SignatureRequirement, VerifiedSigner } from '../signatures/signature-service';
import type { ProblemSlug } from './problems';

type AnyObjectSchema = z.ZodObject<z.ZodRawShape>;
type Infer<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;

export interface RouteContext<P, Q, B> {
  params: P;
  query: Q;
  /** The body without `reason` and `signature`, which arrive in their own fields. */
  body: B;
  /** For a route that takes an XML document (`xmlBody`): the document as sent. */
  xml: string | undefined;
  /** The session's user; null only on public routes. */
  actor: UserActor | null;
  station: Station;
  reason: string | null;
  /** The re-authenticated signer, when the route declares a signature. */
  signer: VerifiedSigner | null;
  /** The transaction a mutating route runs in (undefined for reads and `transaction: false`). */
  trx: Knex.Transaction | undefined;
  /** The change context for services: transaction, actor, station and reason. */
  change(): ChangeContext;
  req: Request;
  res: Response;
}

/** A signature whose need depends on the body; `describe` says when, for the documentation. */
export interface ConditionalSignature {
  when(body: Record<string, unknown>): SignatureRequirement | undefined;
  describe: string;
}

export interface Reply {
  status?: number;
  /** Sent as JSON, unless `text` is given. */
  body?: unknown;
  /** A non-JSON body (CSV, for instance), sent as is with its content type. */
  text?: { contentType: string; content: string | Buffer };
  headers?: Record<string, string>;
  /** Runs once the request's transaction has committed, before the answer is sent (a failure is logged, not answered). */
  afterCommit?: () => Promise<unknown>;
}

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** A body that is not `application/json` (a PDF, a CSV, a document of another format): its media type. */
  contentType?: string;
  /** Media types the same answer may also take (by a `format` query parameter): text, not described further. */
  alsoAs?: string[];
}

export interface RouteSpec<
  P extends AnyObjectSchema | undefined = AnyObjectSchema | undefined,
  Q extends AnyObjectSchema | undefined = AnyObjectSchema | undefined,
  B extends AnyObjectSchema | undefined = AnyObjectSchema | undefined,
> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** An express path under /api, e.g. `/users/:id`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  access: Access;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The route takes an XML document (`application/xml`) as its body instead of JSON, given to the handler as `xml`;
   * what it must be, for the documentation.
   */
  xmlBody?: { description: string };
  /** `required`: a GMP change, refused with 422 without `reason` in the body. */
  reason?: 'required' | 'optional';
  /**
   * The action needs an electronic signature with this meaning, by one of these roles; or, when what it
   * needs depends on the request (releasing a lot is signed, quarantining it is not), a rule for it.
   */
  signature?: SignatureRequirement | ConditionalSignature;
  /** The route accepts an `Idempotency-Key` header: the same key replays the first answer. */
  idempotent?: boolean;
  /** Whether the handler runs in a transaction; by default every method but GET does. */
  transaction?: boolean;
  /**
   * The resource is versioned (optimistic concurrency): its representation carries `rowVersion`, answered
   * as a strong ETag. On a change, `lock` reads the current row version with the row locked, in the change's
   * transaction (undefined: no such resource); a request whose If-Match names another is refused with 412
   * and changes nothing.
   */
  versioned?: { lock?(params: Record<string, unknown>, trx: Knex.Transaction): Promise<number | undefined> };
  /** For a create (201): the created resource's path under /api, answered as `Location`. */
  location?: (body: any) => string; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Rate limit class; routes with a signature are always limited as `sign`. */
  rateLimit?: 'login' | 'sign';
  responses: Record<number, ResponseSpec>;
  /**
   * The problems this endpoint answers with beyond the framework's own (validation, authentication,
   * permission, reason, signature): the OpenAPI document lists each under its status.
   */
  problems?: ProblemSlug[];
  handler(ctx: RouteContext<Infer<P>, Infer<Q>, Infer<B>>): Promise<Reply>;
}

/** Declares a route, keeping the handler's types tied to the schemas. */
export function route<
  P extends AnyObjectSchema | undefined = undefined,
  Q extends AnyObjectSchema | undefined = undefined,
  B extends AnyObjectSchema | undefined = undefined,
>(spec: RouteSpec<P, Q, B>): RouteSpec {
  return spec;
}

/** Whether a route changes state (and so runs in a transaction unless it says otherwise). */
export function runsInTransaction(spec: RouteSpec): boolean {
  return spec.transaction ?? spec.method !== 'get';
}
