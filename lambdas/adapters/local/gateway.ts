import { randomUUID } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import send from 'send';
import { isKintoError } from '../../core/errors';
import type { ActiveEnvironment, LocalRuntime, RoutedBlock } from './local-runtime';

/** One request through a gateway, as the access log records it. */
export interface AccessEntry {
  readonly requestId: string;
  readonly time: string;
  readonly envId: string;
  readonly method: string;
  readonly path: string;
  readonly block?: string;
  readonly release?: string;
  readonly commit?: string;
  readonly status: number;
  readonly durationMs: number;
  readonly clientId?: string;
}

/** What the gateway's guard decides for a request (tokens, visibility, basic auth). */
export type GuardDecision =
  | { readonly allow: true; readonly clientId?: string; readonly stripAuthorization?: boolean }
  | { readonly allow: false; readonly status: number; readonly code: string; readonly message: string; readonly headers?: Record<string, string> };

export interface GuardRequest {
  readonly env: ActiveEnvironment;
  readonly block: RoutedBlock;
  readonly headers: IncomingHttpHeaders;
  /** The request came through the environment's internal entry (from one of its own blocks). */
  readonly internal: boolean;
}

/** Answers routes the gateway owns (e.g. `POST /authorize`); returns false when it does not. */
export type GatewayRouteHandler = (envId: string, path: string, req: IncomingMessage, res: ServerResponse, requestId: string) => boolean;

export interface GatewayOptions {
  readonly runtime: LocalRuntime;
  readonly guard?: (request: GuardRequest) => GuardDecision | Promise<GuardDecision>;
  readonly routes?: GatewayRouteHandler;
  readonly onAccess?: (entry: AccessEntry) => void;
  /**
   * Checks the key of an internal entry, `/gw/<env id>/_internal/<key>/<block>/...`: the URL blocks
   * get as `KINTO_BLOCK_<NAME>_URL`. Without it, internal entries are not served.
   */
  readonly internalKey?: (envId: string, key: string) => boolean;
}

/** Path prefix of an environment's internal entry; `_` never starts a block name. */
export const INTERNAL_PREFIX = '/_internal/';

/** Request headers that belong to one hop only, and so are never forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host']);

/**
 * The local gateway: `/gw/<env id>/<block>/<path>` -> the block of the environment's running
 * release. Every request gets a fresh `kinto-request-id` (client-sent `kinto-*` headers are
 * dropped, so it cannot be spoofed), passed to the block and returned to the caller.
 */
export function createGateway(options: GatewayOptions) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1024, maxFreeSockets: 256, scheduling: 'lifo' });

  function handle(req: IncomingMessage, res: ServerResponse, envId: string, rest: string): void {
    const started = performance.now();
    const requestId = randomUUID();
    res.setHeader('kinto-request-id', requestId);
    let internal = false;
    if (rest.startsWith(INTERNAL_PREFIX)) {
      // The key is cut from the path here, before anything logs or forwards the path.
      const end = rest.indexOf('/', INTERNAL_PREFIX.length);
      const key = rest.slice(INTERNAL_PREFIX.length, end < 0 ? rest.length : end);
      if (!options.internalKey?.(envId, key)) return error(res, 404, 'NOT_FOUND', 'There is nothing at this address.', requestId);
      internal = true;
      rest = end < 0 ? '/' : rest.slice(end);
    }
    const slash = rest.indexOf('/', 1);
    const blockName = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
    const blockPath = slash < 0 ? '/' : rest.slice(slash);
    const access = { requestId, envId, method: req.method ?? 'GET', path: rest, started, internal } as Pending;
    res.once('finish', () => record(access, res.statusCode));
    res.once('close', () => !res.writableFinished && record(access, 499));

    if (options.routes?.(envId, rest, req, res, requestId)) return;
    const found = options.runtime.lookup(envId);
    if ('then' in found) {
      found.then((l) => route(l, req, res, access, blockName, blockPath), (e) => fail(res, requestId, e));
    } else {
      route(found, req, res, access, blockName, blockPath);
    }
  }

  function route(lookup: Awaited<ReturnType<LocalRuntime['lookup']>>, req: IncomingMessage, res: ServerResponse, access: Pending, blockName: string, blockPath: string): void {
    const { requestId } = access;
    if (lookup.kind !== 'running') {
      if (lookup.kind === 'unknown') return error(res, 404, 'ENVIRONMENT_NOT_FOUND', 'There is no environment with this gateway URL; GET .../environments/{env} shows the right one.', requestId);
      if (lookup.kind === 'shut-down') return error(res, 503, 'ENVIRONMENT_SHUT_DOWN', 'This environment is shut down; it answers again after the next deploy.', requestId);
      return error(res, 503, 'NOT_DEPLOYED', 'Nothing is deployed to this environment yet; deploy a release to it.', requestId);
    }
    const block = lookup.env.blocks.get(blockName);
    if (!block) {
      return error(res, 404, 'BLOCK_NOT_FOUND', `Release ${lookup.env.plan.release.version} of this environment has no block "${blockName.slice(0, 64)}" that the gateway serves.`, requestId);
    }
    access.block = block.name;
    access.release = block.meta.release;
    access.commit = block.meta.commit;
    if (!options.guard) return forward(req, res, block, blockPath, access, {});
    const decision = options.guard({ env: lookup.env, block, headers: req.headers, internal: access.internal });
    if ('then' in decision) decision.then((d) => decide(d, req, res, block, blockPath, access), (e) => fail(res, requestId, e));
    else decide(decision, req, res, block, blockPath, access);
  }

  function decide(d: GuardDecision, req: IncomingMessage, res: ServerResponse, block: RoutedBlock, blockPath: string, access: Pending): void {
    if (!d.allow) return error(res, d.status, d.code, d.message, access.requestId, d.headers);
    access.clientId = d.clientId;
    forward(req, res, block, blockPath, access, d.clientId ? { 'kinto-client-id': d.clientId } : {}, d.stripAuthorization);
  }

  function forward(req: IncomingMessage, res: ServerResponse, block: RoutedBlock, blockPath: string, access: Pending, extra: Record<string, string>, stripAuthorization = false): void {
    if (block.staticRoot !== undefined) return serveStatic(req, res, block.staticRoot, blockPath, access.requestId);
    const proc = block.process!;
    const acquired = proc.acquire();
    if (typeof acquired === 'number') return proxy(req, res, acquired, block, blockPath, access, extra, stripAuthorization);
    acquired.then((port) => proxy(req, res, port, block, blockPath, access, extra, stripAuthorization), (e) => fail(res, access.requestId, e));
  }

  function proxy(req: IncomingMessage, res: ServerResponse, port: number, block: RoutedBlock, blockPath: string, access: Pending, extra: Record<string, string>, stripAuthorization: boolean): void {
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        block.process!.release();
      }
    };
    res.once('close', release);
    const query = req.url!.indexOf('?');
    const headers = forwardHeaders(req, access.requestId, extra, stripAuthorization);
    const upstream = httpRequest({ host: '127.0.0.1', port, method: req.method, path: query < 0 ? blockPath : blockPath + req.url!.slice(query), headers, agent });
    upstream.once('response', (up) => {
      res.writeHead(up.statusCode ?? 502, responseHeaders(up.headers, access.requestId));
      up.pipe(res);
      up.once('error', () => res.destroy());
    });
    upstream.once('error', (e) => {
      release();
      if (res.headersSent) return void res.destroy();
      error(res, 502, 'BLOCK_UNAVAILABLE', `Block "${block.name}" closed the connection without answering (${(e as NodeJS.ErrnoException).code ?? e.message}); the next request starts it again.`, access.requestId);
    });
    req.pipe(upstream);
  }

  function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, path: string, requestId: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') return error(res, 405, 'METHOD_NOT_ALLOWED', 'A static website answers GET and HEAD only.', requestId, { allow: 'GET, HEAD' });
    if (path === '/' && !/\/(\?|$)/.test(req.url ?? '')) {
      res.writeHead(301, { location: req.url!.replace(/(\?|$)/, '/$1') });
      return void res.end();
    }
    send(req, safePath(path), { root, index: ['index.html'], dotfiles: 'ignore' })
      .on('error', (e: { status?: number }) => error(res, e.status === 404 || !e.status ? 404 : e.status, 'NOT_FOUND', `No file at ${path.slice(0, 200)}.`, requestId))
      .on('directory', () => {
        const url = req.url ?? '/';
        res.writeHead(301, { location: url.replace(/(\?|$)/, '/$1') });
        res.end();
      })
      .pipe(res);
  }

  function record(access: Pending, status: number): void {
    if (access.done) return;
    access.done = true;
    options.onAccess?.({
      requestId: access.requestId,
      time: new Date(performance.timeOrigin + access.started).toISOString(),
      envId: access.envId,
      method: access.method,
      path: access.path,
      block: access.block,
      release: access.release,
      commit: access.commit,
      status,
      durationMs: Math.round((performance.now() - access.started) * 100) / 100,
      clientId: access.clientId,
    });
  }

  return { handle, close: () => agent.destroy() };
}

interface Pending {
  requestId: string;
  envId: string;
  method: string;
  path: string;
  started: number;
  block?: string;
  release?: string;
  commit?: string;
  clientId?: string;
  internal: boolean;
  done?: boolean;
}

function forwardHeaders(req: IncomingMessage, requestId: string, extra: Record<string, string>, stripAuthorization: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || name.startsWith('kinto-') || name.startsWith('x-forwarded-')) continue;
    if (stripAuthorization && name === 'authorization') continue;
    const prev = out[name];
    out[name] = prev === undefined ? raw[i + 1]! : `${String(prev)}, ${raw[i + 1]!}`;
  }
  out['kinto-request-id'] = requestId;
  out['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  out['x-forwarded-proto'] = 'http';
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  for (const k in extra) out[k] = extra[k];
  return out;
}

function responseHeaders(headers: IncomingHttpHeaders, requestId: string): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (name === 'connection' || name === 'keep-alive' || name === 'transfer-encoding' || name.startsWith('kinto-')) continue;
    out[name] = headers[name];
  }
  out['kinto-request-id'] = requestId;
  return out;
}

/** `send` confines paths to the root; decoding errors become a plain 404 path. */
function safePath(path: string): string {
  return path.includes('\0') ? '/\u0000invalid' : path;
}

function fail(res: ServerResponse, requestId: string, e: unknown): void {
  if (isKintoError(e)) return error(res, e.status, e.code, e.message, requestId);
  console.error(JSON.stringify({ level: 'error', message: 'gateway error', requestId, error: String((e as Error)?.stack ?? e) }));
  error(res, 500, 'INTERNAL', `Something went wrong in the gateway. Quote request id ${requestId} when you report it.`, requestId);
}

function error(res: ServerResponse, status: number, code: string, message: string, requestId: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ error: { code, message, requestId } });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}
