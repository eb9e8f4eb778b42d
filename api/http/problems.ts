/**
 * RFC 9457 problem details. Every error the API returns has a stable `type` from this catalogue, so a
 * client can branch on it; `GET /api/problems/:slug` documents each one.
 */

import type { SecurityEventKind } from '../../db/stores/security-event-store';

/** Each problem type: its HTTP status, its title, and when Ampoule answers with it. */
export const PROBLEM_TYPES = {
  'validation-failed': {
    status: 400,
    title: 'The request is not valid',
    when: 'A field is missing, has the wrong type or range, or is not allowed (unknown fields are refused). `errors` lists each one with its JSON pointer.',
  },
  'malformed-json': { status: 400, title: 'The body is not valid JSON', when: 'The body could not be parsed as JSON.' },
  'forbidden-key': {
    status: 400,
    title: 'The body holds a forbidden key',
    when: 'A key such as `__proto__`, `constructor` or `prototype` appears anywhere in the body.',
  },
  'body-too-deep': {
    status: 400,
    title: 'The body is nested too deeply',
    when: 'Objects and arrays in the body nest deeper than the limit.',
  },
  'payload-too-large': {
    status: 413,
    title: 'The body is too large',
    when: 'The body exceeds the configured size limit.',
  },
  'unsupported-media-type': {
    status: 415,
    title: 'Not a media type this endpoint accepts',
    when: 'A request with a body did not send it as application/json (or, where an endpoint takes a document, as application/xml).',
  },
  'invalid-document': {
    status: 422,
    title: 'The document is not what this endpoint takes',
    when: 'An XML document is not well-formed, not in the expected namespace, lacks or misplaces what is read, or is not valid against MESA’s B2MML V0600 schema; `xpath` names where (and `line`, for the schema’s complaints). Nothing was changed.',
  },
  unauthenticated: {
    status: 401,
    title: 'Authentication required',
    when: 'No session token or cookie was sent, or the session ended (logout, idle or absolute timeout, deactivated user).',
  },
  'invalid-credentials': {
    status: 401,
    title: 'Invalid username or password',
    when: 'A login failed. Each failure counts towards the lockout.',
  },
  'account-locked': {
    status: 423,
    title: 'The account is locked',
    when: 'Too many consecutive failed logins or signings; `lockedUntil` says until when. An administrator can unlock it.',
  },
  forbidden: {
    status: 403,
    title: 'Not permitted',
    when: 'None of your roles grants the permission this endpoint declares.',
  },
  'signature-required': {
    status: 422,
    title: 'An electronic signature is required',
    when: 'The action needs `signature: {username, password, meaning, comment?}` in the body.',
  },
  'signature-meaning': {
    status: 422,
    title: 'Wrong signature meaning',
    when: 'The signature states a meaning other than the one this action requires.',
  },
  'signature-invalid': {
    status: 401,
    title: 'The signature could not be verified',
    when: 'The password given with the signature is wrong. Each failure counts towards the lockout.',
  },
  'signer-not-session-user': {
    status: 403,
    title: 'The signer is not the logged-in user',
    when: 'A signature must be given by the user of the session that sends it.',
  },
  'signer-role': {
    status: 403,
    title: 'The signer lacks the role this signature needs',
    when: 'The action declares which roles may sign it with this meaning.',
  },
  'segregation-of-duties': {
    status: 403,
    title: 'Segregation of duties',
    when: 'The signer may not sign this record (for instance its author approving it, or an administrator signing a GMP record).',
  },
  'reason-required': { status: 422, title: 'A reason is required', when: 'A GMP change must say why in `reason`.' },
  'password-policy': {
    status: 422,
    title: 'The password does not meet the policy',
    when: 'Passwords need at least 12 characters and may not contain the username.',
  },
  'idempotency-key-reused': {
    status: 422,
    title: 'Idempotency-Key reused with another request',
    when: 'An Idempotency-Key was sent again with a different method, path or body.',
  },
  'precondition-failed': {
    status: 412,
    title: 'The resource changed since you read it',
    when: 'A change sent with `If-Match` whose ETag is no longer the resource’s: someone changed it meanwhile. Nothing was changed; read it again (its `ETag` is in `etag`) and retry.',
  },
  'not-found': { status: 404, title: 'Not found', when: 'No such resource, or no such endpoint.' },
  'method-not-allowed': {
    status: 405,
    title: 'Method not allowed',
    when: 'The endpoint exists but not with this method: `Allow` lists those it takes.',
  },
  'code-taken': {
    status: 409,
    title: 'The code is taken',
    when: 'Codes of recipes, materials and equipment classes are unique.',
  },
  'recipe-invalid': {
    status: 422,
    title: 'The recipe is not valid',
    when: 'The recipe breaks a rule; `problems` lists each with its JSON pointer into the recipe.',
  },
  'invalid-transition': {
    status: 409,
    title: 'Not possible in the current status',
    when: 'An action the current status does not allow: a lifecycle action on a recipe version (only a Draft is edited, only an Effective version launches), a batch command the ISA-88 table refuses in the batch’s state (Restart while Running, Hold while Held), a disposition of a batch not ready for it, a lot status change.',
  },
  'batch-size-out-of-range': {
    status: 422,
    title: 'The batch size is outside the recipe’s range',
    when: 'A batch size must lie within the range the approved recipe allows.',
  },
  'lot-unusable': {
    status: 409,
    title: 'The lot cannot be used',
    when: 'A lot for a material step must be the right material, released, not expired, and hold enough; `problems` says what is wrong. Also an adjustment that would take a lot below zero.',
  },
  'lot-expired': {
    status: 422,
    title: 'The lot is past its expiry date',
    when: 'A lot past its expiry date cannot be released; reject it (or mark it expired) instead.',
  },
  unprocessable: {
    status: 422,
    title: 'The request cannot be carried out',
    when: 'Well-formed, but not possible: an unknown material, units that do not convert, a quantity of zero.',
  },
  'step-refused': {
    status: 422,
    title: 'The step refused the entry',
    when: 'A step completion or verification breaks a rule: the wrong role, a missing or implausible value, a deviation without a comment, a late entry outside the time the step was ready, the performer verifying. `problems` lists each.',
  },
  'step-not-awaited': {
    status: 409,
    title: 'The step does not await this entry now',
    when: 'The step is not awaiting input (or verification), someone else is recording it, or its batch is held, ending or ended: a conflict with the current state, not a wrong value.',
  },
  'plan-integrity': {
    status: 409,
    title: 'The execution plan fails its integrity check',
    when: 'The stored execution plan of the recipe version no longer matches the SHA-256 it was approved with: it was changed outside Ampoule. Nothing is launched, and a security event is raised.',
  },
  'record-mismatch': {
    status: 409,
    title: 'The batch record does not match its history',
    when: 'A review or release of a batch whose investigation fails: its workflow history does not replay against the workflow code, the archived history is not the one the record holds the hash of, or the record differs from the entries the history rebuilds (`GET /api/batches/:id/cross-check` lists them). A rejection stays possible.',
  },
  'record-broken': {
    status: 409,
    title: 'The batch record is not intact',
    when: 'An export of a batch record (BatchML) whose hash chain is broken or does not match its anchors kept outside the database: it is not sent on as it stands; `GET /api/batches/:id/ebr` says where it breaks.',
  },
  'history-unavailable': {
    status: 409,
    title: 'The batch’s history is not archived',
    when: 'An investigation, review or release of a batch whose workflow history is not archived with its record: its workflow has not closed yet, or Temporal no longer has it and it was never archived (a batch closed before archiving existed, past the namespace’s retention). A rejection stays possible; QA may raise a deviation of category `history-unavailable` for such a batch, which, once closed and signed, stands in for the investigation.',
  },
  'deviations-open': {
    status: 409,
    title: 'The batch has deviations not closed',
    when: 'A release of a batch one of whose deviations is not Closed yet (`deviations` lists them; `GET /api/deviations?batch=…`). A rejection stays possible.',
  },
  'scale-unusable': {
    status: 409,
    title: 'The scale cannot be used',
    when: 'A scale whose calibration ran out, whose daily check is missing today or failed, whose range does not suit the weight, or which another dispensing holds; `detail` says which. Nothing was changed.',
  },
  'weight-not-taken': {
    status: 409,
    title: 'The scale’s weight cannot be taken now',
    when: 'The weight is not stable, its StatusCode is Bad or Uncertain, the scale is in overload or underload, the reading is not from now, or the terminal refused a tare or zero (in motion, out of range). `reading` holds what the scale said; try again once it has settled.',
  },
  'weight-on-scale': {
    status: 409,
    title: 'The step’s weight is on the scale',
    when: 'A tare of a scale held for a dispensing, tared already, whose net weight is within the step’s window: the tare would take the weighed portion for the container (a tare sent again after its answer was lost, or pressed twice). Complete the step, or take the weight off the scale to weigh again. Nothing was changed; `reading` holds what the scale said.',
  },
  'equipment-unavailable': {
    status: 503,
    title: 'The equipment cannot be reached',
    when: 'The scale’s terminal (or this process’s way to the equipment network) did not answer over OPC UA. Nothing was changed; retry after `Retry-After` seconds, or, for a dispensing, weigh manually with a reason and a second person’s verification.',
  },
  'database-unavailable': {
    status: 503,
    title: 'The database is unavailable',
    when: 'PostgreSQL could not be reached, or went away during the request (a restart, a failover). A change in flight was committed whole or not at all: send it again (`Retry-After`) — a step entry already taken answers 409, a create with the same Idempotency-Key its first answer.',
  },
  'temporal-unavailable': {
    status: 503,
    title: 'Batch execution is unavailable',
    when: 'Temporal could not be reached; nothing was changed that a retry would not complete.',
  },
  'username-taken': {
    status: 409,
    title: 'The username is taken',
    when: 'Usernames are unique forever, including those of deactivated users.',
  },
  conflict: {
    status: 409,
    title: 'Conflict with the current state',
    when: 'The action is not possible in the current state of the resource.',
  },
  'rate-limited': {
    status: 429,
    title: 'Too many requests',
    when: 'Logins and signings are rate-limited per client; retry after the `Retry-After` seconds.',
  },
  internal: { status: 500, title: 'Internal error', when: 'An unexpected error; its request id is in the logs.' },
} as const satisfies Record<string, { status: number; title: string; when: string }>;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

/** The `type` URI of a problem: a path on this API that documents it. */
export function problemTypeUri(slug: ProblemSlug): string {
  return `/api/problems/${slug}`;
}

/** An error the API answers with as problem+json. `extensions` become extra members of the body. */
export class Problem extends Error {
  readonly status: number;
  readonly title: string;
  /**
   * A security event this refusal raises. It is written once the request's transaction has rolled back (the
   * refusal undoes everything else), by whoever answers the request.
   */
  securityEvent?: { kind: SecurityEventKind; detail: Record<string, unknown> };

  constructor(
    readonly slug: ProblemSlug,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? PROBLEM_TYPES[slug].title);
    this.name = 'Problem';
    this.status = PROBLEM_TYPES[slug].status;
    this.title = PROBLEM_TYPES[slug].title;
  }

  /** What went wrong underneath (logged with a 5xx, never sent to the client). */
  withCause(cause: unknown): this {
    this.cause = cause;
    return this;
  }

  /** The RFC 9457 body. */
  toJSON(instance?: string, requestId?: string): Record<string, unknown> {
    // Extensions first: they can never overwrite the standard members.
    return {
      ...this.extensions,
      type: problemTypeUri(this.slug),
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(requestId ? { requestId } : {}),
    };
  }
}

/** One invalid field: where (a JSON pointer into the request part) and what is wrong. */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header';
  pointer: string;
  message: string;
}

export function validationFailed(errors: FieldError[]): Problem {
  const first = errors[0];
  const detail =
    errors.length === 1
      ? `${first.in} ${first.pointer || '(root)'}: ${first.message}`
      : `${errors.length} problems; see errors`;
  return new Problem('validation-failed', detail, { errors });
}

export const notFound = (what: string) => new Problem('not-found', `${what} not found`);
