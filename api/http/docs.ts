/** The browsable API page: Swagger UI (served from the swagger-ui-dist package) over /api/openapi.json. */
import path from 'node:path';
import express, { type Router } from 'express';

// The package's folder of browser assets. Not `require('swagger-ui-dist')`: its index loads the 1.5 MB browser
// bundle into Node (half a second at every start of the API) only to export this path.
const ASSETS = path.dirname(require.resolve('swagger-ui-dist/package.json'));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ampoule API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>`;

// A file of its own rather than an inline script, so the Content-Security-Policy can stay strict.
const INIT = `window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', withCredentials: true });`;

export function docsRouter(): Router {
  const router = express.Router();
  router.get('/', (_req, res) => void res.type('html').send(PAGE));
  router.get('/init.js', (_req, res) => void res.type('application/javascript').send(INIT));
  router.use('/assets', express.static(ASSETS, { index: false, maxAge: '1h' }));
  return router;
}
