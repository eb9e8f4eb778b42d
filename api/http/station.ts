/** The request id and client address of a request: the "station" an audit entry records. */
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Station, UserActor } from '../../db/change-context';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The id of this request, in every log line, problem and audit entry it causes. */
      requestId: string;
      /** The session's user, when the request carried a live session. */
      actor?: UserActor;
    }
  }
}

const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Takes the caller's X-Request-Id if it is sane, or makes one; echoes it in the response. */
export function requestId(req: Request, res: Response, next: NextFunction): void {
  const given = req.get('X-Request-Id');
  req.requestId = given && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
  res.setHeader('X-Request-Id', req.requestId);
  next();
}

export function stationOf(req: Request): Station {
  return {
    clientAddress: req.ip ?? req.socket.remoteAddress ?? null,
    userAgent: req.get('User-Agent')?.slice(0, 300) ?? null,
    requestId: req.requestId,
  };
}
