import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Writable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { MAX_BODY_BYTES } from '../../handlers/http/json-body';
import { errorResponse } from '../../handlers/http/response';
import { writeApiGatewayResult } from './apigw-event';
import { readBody, tooLarge } from './read-body';

export interface PublicServerOptions {
  /** `/gw/<env id>/<rest>`: the environment's gateway (`rest` without the query). */
  readonly gateway: (req: IncomingMessage, res: ServerResponse, envId: string, rest: string) => void;
  /** Everything else: the control API, its streams and the console (see `forwardToControl`). */
  readonly control: (req: IncomingMessage, res: ServerResponse) => void;
}

const GATEWAY_PREFIX = '/gw/';
const ENV_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * The platform's one port (`KINTO_PORT`): `/gw/<env id>/...` the environments' gateways, served
 * here; any other path (`/v1/...` the control API, `/` the console) goes to the control plane.
 */
export function createPublicServer(options: PublicServerOptions): Server {
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith(GATEWAY_PREFIX)) {
      // `/gw/<env id>[/<rest>][?query]`, cut by position: every gateway request passes here.
      const query = url.indexOf('?');
      const end = query < 0 ? url.length : query;
      const slash = url.indexOf('/', GATEWAY_PREFIX.length);
      const idEnd = slash < 0 || slash > end ? end : slash;
      const envId = url.slice(GATEWAY_PREFIX.length, idEnd);
      if (ENV_ID.test(envId)) return options.gateway(req, res, envId, idEnd === end ? '/' : url.slice(idEnd, end));
    }
    return options.control(req, res);
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

/** Headers of one hop only: never forwarded either way. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect', 'content-length']);

/**
 * Forwards requests to the control server on `port` (loopback) and streams its answers back (log
 * follow streams included: no timeouts). A request body is read here first, up to the control
 * API's limit (413 past it, as the API answers), so the control server always gets it whole.
 */
export function forwardToControl(port: number): { forward: (req: IncomingMessage, res: ServerResponse) => void; close: () => Promise<void> } {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });

  function send(req: IncomingMessage, res: ServerResponse, body: Buffer | null): void {
    const headers: string[] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i]!;
      if (!HOP_BY_HOP.has(name.toLowerCase())) headers.push(name, req.rawHeaders[i + 1]!);
    }
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    pool.stream(
      { path: req.url ?? '/', method: (req.method ?? 'GET') as Dispatcher.HttpMethod, headers, body, signal: abort.signal, opaque: res },
      ({ statusCode, headers: answer }): Writable => {
        const out: (string | string[])[] = [];
        for (const name in answer) if (!HOP_BY_HOP.has(name) || name === 'content-length') out.push(name, answer[name]!);
        res.writeHead(statusCode, out);
        return res;
      },
      (err) => {
        if (!err || abort.signal.aborted) return;
        if (res.headersSent) return void res.destroy();
        writeApiGatewayResult(res, errorResponse(502, 'CONTROL_PLANE_UNAVAILABLE', 'The control plane did not answer; retry, and look at the platform\'s output if it persists.'));
      },
    );
  }

  function forward(req: IncomingMessage, res: ServerResponse): void {
    const hasBody = req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return send(req, res, null);
    readBody(req, MAX_BODY_BYTES).then(
      (body) => (body === 'too-large' ? tooLarge(res) : send(req, res, body)),
      () => res.destroy(),
    );
  }

  return { forward, close: () => pool.close() };
}
