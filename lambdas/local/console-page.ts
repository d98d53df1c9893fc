import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import send from 'send';

/** Where `npm run build:console` writes the console (a Vite build: index.html and hashed assets/). */
export const CONSOLE_DIST = join(__dirname, '..', '..', 'console', 'dist');

// The console's own files only: its scripts and styles come from this origin, and so does the API.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

export interface ConsolePageOptions {
  /** @default CONSOLE_DIST */
  readonly dist?: string;
}

/**
 * The platform's root: the admin console (console/dist). Hashed files under /assets/ are cached
 * for a year (their names change with their content); index.html and other files are revalidated
 * on every load. Any other path without a file extension is a page of the console, answered with
 * index.html (the app routes it in the browser). `/config.json` tells the console that the API is
 * on this origin and streams. When the console has not been built, a page says how to build it.
 */
export function createConsolePage(options: ConsolePageOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const dist = options.dist ?? CONSOLE_DIST;
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return json(res, 405, {
        error: { code: 'METHOD_NOT_ALLOWED', message: 'The console is read with GET; the control API is under /v1.' },
      });
    }
    if (path === '/config.json') {
      res.setHeader('cache-control', 'no-store');
      return json(res, 200, { streams: true });
    }
    const lastSegment = path.slice(path.lastIndexOf('/') + 1);
    const isFile = lastSegment.includes('.') && path !== '/index.html';
    if (!existsSync(join(dist, 'index.html'))) {
      if (isFile) return notFound(res);
      return notBuilt(res);
    }
    const file = isFile ? path : '/index.html';
    const immutable = file.startsWith('/assets/');
    send(req, file, { root: dist, index: false, dotfiles: 'deny', cacheControl: false })
      .on('headers', (r: ServerResponse) => {
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) r.setHeader(k, v);
        r.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      })
      .on('error', (e: { status?: number }) =>
        e.status === 404 || e.status === 403
          ? notFound(res)
          : json(res, e.status ?? 500, { error: { code: 'CONSOLE_FILE', message: 'The console file could not be read.' } }),
      )
      .pipe(res);
  };
}

/** The console as `npm start` serves it. */
export const consolePage = createConsolePage();

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-content-type-options': 'nosniff' });
  res.end(JSON.stringify(body));
}

function notFound(res: ServerResponse): void {
  json(res, 404, {
    error: {
      code: 'NOT_FOUND',
      message: 'Nothing here: the console is at /, the control API under /v1 (see /v1/openapi.json) and gateways under /gw/<env id>/.',
    },
  });
}

function notBuilt(res: ServerResponse): void {
  res.writeHead(503, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kinto: console not built</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{background:#f3f3f3;padding:.1em .3em}</style></head>
<body><h1>Kinto is running; its console is not built</h1>
<p>Build it with <code>npm run build:console</code> (it goes to <code>console/dist</code>), then reload this page. <code>npm start</code> builds it when it is missing or older than its sources, unless the build failed: its output says why.</p>
<p>Meanwhile the control API answers under <code>/v1</code>, described by <a href="/v1/openapi.json">/v1/openapi.json</a>: send the admin token printed by <code>npm start</code> as <code>Authorization: Bearer &lt;token&gt;</code>. Each environment's gateway URL is its <code>gatewayUrl</code>.</p>
</body></html>`);
}
