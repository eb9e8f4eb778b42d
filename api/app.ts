/**
 * The express application: request ids, logs and security headers for everything; then, under /api,
 * JSON-only bodies with size and shape limits, the session, the declared routes, and problem+json for
 * every error.
 */
import { z } from 'zod';
import express, { type Express } from 'express';
import rateLimit, { ipKeyGenerator } from 'express-rate-limit';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import { auditRoutes } from './audit/audit-routes';
import { authRoutes } from './auth/auth-routes';
import { resolveSession } from './auth/session-middleware';
import { XML_TYPES, guardBody, requireJsonBody } from './http/body-guard';
import { batchRoutes } from './batches/batch-routes';
import { dispensingRoutes } from './batches/dispensing-routes';
import { scaleRoutes } from './scales/scale-routes';
import { equipmentRoutes } from './equipment/equipment-routes';
import { oeeRoutes } from './oee/oee-routes';
import { lotRoutes } from './lots/lot-routes';
import { deviationRoutes } from './deviations/deviation-routes';
import { orderRoutes } from './orders/order-routes';
import { integrationRoutes } from './integration/integration-routes';
import { webhookRoutes } from './integration/webhook-routes';
import { masterDataRoutes } from './master-data/master-data-routes';
import { recipeRoutes } from './recipes/recipe-routes';
import { docsRouter } from './http/docs';
import { errorHandler } from './http/errors';
import { mountRoutes } from './http/mount';
import { buildOpenApi } from './http/openapi';
import { Problem } from './http/problems';
import { route, type RouteSpec } from './http/route';
import { requestId } from './http/station';
import { PostgresRateLimitStore } from './security/rate-limit-store';
import { securityRoutes } from './security/security-routes';
import type { Services } from './services';
import { signatureRoutes } from './signatures/signature-routes';
import { Readiness, databaseReadiness, opsRouter, requestTimer } from './system/ops-routes';
import { systemRoutes } from './system/system-routes';
import { userRoutes } from './users/user-routes';
import { webRouter } from '../web/router';

export interface ApiApp {
  app: Express;
  /** What `/readyz` checks; the process adds its own (a worker's pollers) and marks it stopping. */
  readiness: Readiness;
  /** Every declared route, in mount order (what the OpenAPI document and the authorization test enumerate). */
  routes: RouteSpec[];
}

/** Builds the app; `extraRoutes` lets later features (and tests of shared services) add declared routes. */
export function createApp(services: Services, extraRoutes: RouteSpec[] = []): ApiApp {
  const { config, log } = services;
  const app = express();
  app.disable('x-powered-by');
  // Express would hash every answer it sends into a weak ETag (a SHA-1 over 2.5 MB for a ten-thousand-lot genealogy)
  // that no client of Ampoule's uses: the API's ETags are its resources' row versions (`api/http/mount.ts`).
  app.set('etag', false);
  app.set('trust proxy', config.http.trustProxy);

  app.use(requestTimer(services.metrics));
  // Probes and scrapes come every few seconds: answered before the request log.
  const readiness = new Readiness([
    databaseReadiness(services.db),
    ...(services.batches.temporal.available()
      ? [{ name: 'temporal', check: () => services.batches.temporal.ping() }]
      : []),
  ]);
  app.use(opsRouter({ metrics: services.metrics, readiness }));
  app.use(requestId);
  app.use(
    pinoHttp({
      logger: log,
      genReqId: (req) => (req as express.Request).requestId,
      customProps: (req) => ({ user: (req as express.Request).actor?.username }),
      // Never headers (cookies, bearer tokens) or bodies (passwords, signatures).
      serializers: {
        req: (req: { id: string; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url,
          remoteAddress: req.remoteAddress,
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
  // Browsers ignore HSTS over plain HTTP; upgrade-insecure-requests would break the zero-setup mode's
  // http://127.0.0.1 pages, so it is only sent in production (behind TLS).
  app.use(
    helmet({
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: config.mode === 'production' ? [] : null } },
    }),
  );

  const routes: RouteSpec[] = [
    ...systemRoutes(services),
    ...authRoutes(services),
    ...userRoutes(services),
    ...auditRoutes(services),
    ...securityRoutes(services),
    ...signatureRoutes(services),
    ...masterDataRoutes(services),
    ...recipeRoutes(services),
    ...lotRoutes(services),
    ...equipmentRoutes(services),
    ...oeeRoutes(services),
    ...batchRoutes(services),
    ...dispensingRoutes(services),
    ...scaleRoutes(services),
    ...deviationRoutes(services),
    ...orderRoutes(services),
    ...integrationRoutes(services),
    ...webhookRoutes(services),
    ...extraRoutes,
  ];
  let openApi: unknown;
  routes.push(
    route({
      method: 'get',
      path: '/openapi.json',
      tag: 'system',
      summary: 'This OpenAPI 3.1 document',
      access: 'public',
      responses: {
        200: {
          description: 'The document',
          schema: z
            .object({ openapi: z.string(), info: z.object({}).loose(), paths: z.record(z.string(), z.unknown()) })
            .loose(),
        },
      },
      handler: async () => ({ body: (openApi ??= buildOpenApi(routes, { version: services.version })) }),
    }),
  );

  const tooMany =
    (what: string) =>
    (_req: express.Request, _res: express.Response, next: express.NextFunction, options: { windowMs: number }) =>
      next(
        new Problem(
          'rate-limited',
          `too many ${what}; try again later`,
          {},
          { 'Retry-After': String(Math.ceil(options.windowMs / 1000)) },
        ),
      );
  const rateLimiters = {
    login: rateLimit({
      // Held in the database: the limit holds across the deployment's API processes.
      store: new PostgresRateLimitStore(services.db, 'login'),
      windowMs: 60_000,
      limit: config.rateLimits.loginPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: tooMany('login attempts'),
    }),
    sign: rateLimit({
      store: new PostgresRateLimitStore(services.db, 'sign'),
      windowMs: 60_000,
      limit: config.rateLimits.signPerMinute,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      keyGenerator: (req) => req.actor?.userId ?? ipKeyGenerator(req.ip ?? ''),
      handler: tooMany('signatures'),
    }),
  };

  const api = express.Router();
  api.use(requireJsonBody);
  api.use(express.json({ limit: config.http.bodyLimit, strict: true }));
  api.use(express.text({ type: XML_TYPES, limit: config.http.bodyLimit }));
  api.use(guardBody);
  api.use(resolveSession(services.sessions));
  mountRoutes(api, routes, {
    db: services.db,
    signatures: services.signatures,
    securityEvents: services.securityEvents,
    idempotency: services.stores.idempotency,
    rateLimiters,
  });
  api.use('/docs', docsRouter());
  api.use((req, _res, next) =>
    next(new Problem('not-found', `no endpoint ${req.method} ${req.originalUrl.split('?')[0]}`)),
  );
  app.use('/api', api);
  // The web pages, at `/` (web/): the same services, session and rules.
  app.use(webRouter(services, { signLimiter: rateLimiters.sign }));
  app.use(errorHandler(log));
  return { app, routes, readiness };
}
