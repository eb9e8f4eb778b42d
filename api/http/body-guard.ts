/**
 * Checks on a request body before any schema sees it: JSON only (415), no keys that could reach an
 * object's prototype (`__proto__`, `constructor`, `prototype`), and a bounded nesting depth.
 */
import type { NextFunction, Request, Response } from 'express';
import { Problem } from './problems';

export const MAX_BODY_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The media types of an XML document, for the endpoints that take one (`xmlBody`). */
export const XML_TYPES = ['application/xml', 'text/xml'];

/**
 * 415 for a body that is neither application/json nor an XML document. Runs before the parsers; whether the route
 * takes the one it was sent is the route's to say.
 */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (hasBody && !req.is('application/json') && !req.is(XML_TYPES))
    return next(
      new Problem(
        'unsupported-media-type',
        `send the body as application/json, not ${req.get('Content-Type') ?? 'without a Content-Type'}`,
      ),
    );
  next();
}

/** 400 for forbidden keys or excessive depth anywhere in the parsed body. Runs after the JSON parser. */
export function guardBody(req: Request, _res: Response, next: NextFunction): void {
  if (req.body === undefined || req.body === null || typeof req.body !== 'object') return next();
  const problem = inspect(req.body, 1, '');
  next(problem);
}

function inspect(value: unknown, depth: number, pointer: string): Problem | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  if (depth > MAX_BODY_DEPTH)
    return new Problem('body-too-deep', `the body nests deeper than ${MAX_BODY_DEPTH} levels (at ${pointer})`);
  for (const key of Object.keys(value)) {
    const at = `${pointer}/${key}`;
    if (FORBIDDEN_KEYS.has(key))
      return new Problem('forbidden-key', `the key "${key}" is not allowed (at ${at})`, { pointer: at });
    const p = inspect((value as Record<string, unknown>)[key], depth + 1, at);
    if (p) return p;
  }
  return undefined;
}
