import type { IncomingMessage, ServerResponse } from 'node:http';

/** The root page: where things are. (The admin console site is served here when it exists.) */
export function consolePage(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{"status":"ok"}');
  }
  if (req.url !== '/' && req.url !== '/index.html') {
    const body = JSON.stringify({
      error: {
        code: 'NOT_FOUND',
        message: 'Nothing here: the control API is under /v1 (see /v1/openapi.json) and gateways under /gw/<env id>/.',
      },
    });
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
    return void res.end(body);
  }
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
  });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Kinto</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem}code{background:#f3f3f3;padding:.1em .3em}</style></head>
<body><h1>Kinto is running</h1>
<p>Control API: <code>/v1</code> — described by <a href="/v1/openapi.json">/v1/openapi.json</a>. Send the admin token printed by <code>npm start</code> as <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<p>Gateways: each environment's URL is in <code>GET /v1/projects/{project}/environments/{env}</code> as <code>gatewayUrl</code>.</p>
</body></html>`);
}
