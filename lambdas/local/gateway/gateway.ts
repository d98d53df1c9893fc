import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import send from 'send';
import { isKintoError } from '../../core/errors';
import type { AccessFacts } from '../../adapters/local/logs/access-line-writer';
import { isReservedBlockName } from '../../core/names';
import { Exchange, RequestFacts, type Exchanged } from './gateway-exchange';
import { notServing, unroutable } from './gateway-refusals';
import type { ActiveEnvironment, LocalRuntime, RoutedBlock } from '../../adapters/local/runtime/local-runtime';
import type { StaticSite } from '../../adapters/local/runtime/static-site';
import { forwardHeaders } from './forward-headers';

/** What the gateway's guard decides for a request (tokens, visibility, basic auth). */
export type GuardDecision =
  | { readonly allow: true; readonly clientId?: string; readonly stripAuthorization?: boolean }
  | {
      readonly allow: false;
      readonly status: number;
      readonly code: string;
      readonly message: string;
      readonly headers?: Record<string, string>;
    };

export interface GuardRequest {
  readonly env: ActiveEnvironment;
  readonly block: RoutedBlock;
  readonly headers: IncomingHttpHeaders;
  /** The request came through the environment's internal entry (from one of its own blocks). */
  readonly internal: boolean;
  /** The caller's address (wrong website passwords are throttled per address). */
  readonly remoteAddress?: string;
}

/** Answers routes the gateway owns (e.g. `POST /authorize`); returns false when it does not. */
export type GatewayRouteHandler = (envId: string, path: string, req: IncomingMessage, res: ServerResponse, requestId: string) => boolean;

export interface GatewayOptions {
  readonly runtime: LocalRuntime;
  readonly guard?: (request: GuardRequest) => GuardDecision | Promise<GuardDecision>;
  readonly routes?: GatewayRouteHandler;
  /**
   * Called once per request as it ends, with one object that the gateway refills for every request
   * (no garbage per request): read it during the call, copy what you keep.
   */
  readonly onAccess?: (facts: AccessFacts) => void;
  /**
   * Checks the key of an internal entry, `/gw/<env id>/_internal/<key>/<block>/...`: the URL blocks
   * get as `KINTO_BLOCK_<NAME>_URL`. Without it, internal entries are not served.
   */
  readonly internalKey?: (envId: string, key: string) => boolean;
}

/** Path prefix of an environment's internal entry; `_` never starts a block name. */
export const INTERNAL_PREFIX = '/_internal/';

/**
 * The local gateway: `/gw/<env id>/<block>/<path>` -> the block of the environment's running
 * release. Every request gets a fresh `kinto-request-id` (client-sent `kinto-*` headers are
 * dropped, so it cannot be spoofed), passed to the block and returned to the caller.
 */
export function createGateway(options: GatewayOptions) {
  // undici for the block side (cheaper per request than http.Agent). One pool per block process: a
  // restarted process has a new port. No header/body timeouts: blocks may stream (SSE) or long-poll.
  const pools = new WeakMap<object, { port: number; pool: Pool }>();
  const poolFor = (owner: object, port: number): Pool => {
    const known = pools.get(owner);
    if (known?.port === port) return known.pool;
    void known?.pool.close().catch(() => undefined);
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 256, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
    pools.set(owner, { port, pool });
    return pool;
  };

  const facts = new RequestFacts();

  function handle(req: IncomingMessage, res: ServerResponse, envId: string, rest: string): void {
    const ex = new Exchange(req, res, envId, randomUUID(), onUpstreamFailed);
    let internal = false;
    if (rest.startsWith(INTERNAL_PREFIX)) {
      // The key is cut from the path here, before anything logs or forwards the path.
      const end = rest.indexOf('/', INTERNAL_PREFIX.length);
      const key = rest.slice(INTERNAL_PREFIX.length, end < 0 ? rest.length : end);
      if (!options.internalKey?.(envId, key)) return error(res, 404, 'NOT_FOUND', 'There is nothing at this address.', ex.requestId);
      internal = true;
      rest = end < 0 ? '/' : rest.slice(end);
    }
    ex.path = rest;
    ex.internal = internal;
    res.on('close', onResponseClose);
    const slash = rest.indexOf('/', 1);
    const blockName = slash < 0 ? rest.slice(1) : rest.slice(1, slash);
    const blockPath = slash < 0 ? '/' : rest.slice(slash);
    if (isReservedBlockName(blockName)) {
      // A platform route such as POST /authorize: never a block (those names are reserved).
      res.setHeader('kinto-request-id', ex.requestId);
      if (options.routes?.(envId, rest, req, res, ex.requestId)) return;
    }
    const found = options.runtime.lookup(envId);
    if ('then' in found)
      found.then(
        (l) => route(l, ex, blockName, blockPath),
        (e) => fail(res, ex.requestId, e),
      );
    else route(found, ex, blockName, blockPath);
  }

  function route(lookup: Awaited<ReturnType<LocalRuntime['lookup']>>, ex: Exchange, blockName: string, blockPath: string): void {
    const { res, requestId } = ex;
    if (lookup.kind !== 'running') {
      const refusal = notServing(lookup.kind);
      return error(res, refusal.status, refusal.code, refusal.message, requestId);
    }
    const block = lookup.env.blocks.get(blockName);
    if (!block) {
      const refusal = unroutable(lookup.env, blockName);
      return error(res, refusal.status, refusal.code, refusal.message, requestId);
    }
    ex.block = block;
    ex.blockPath = blockPath;
    if (!options.guard) return forward(ex);
    const decision = options.guard({
      env: lookup.env,
      block,
      headers: ex.req.headers,
      internal: ex.internal,
      remoteAddress: ex.req.socket.remoteAddress,
    });
    if ('then' in decision)
      decision.then(
        (d) => decide(d, ex),
        (e) => fail(res, requestId, e),
      );
    else decide(decision, ex);
  }

  function decide(d: GuardDecision, ex: Exchange): void {
    if (!d.allow) return error(ex.res, d.status, d.code, d.message, ex.requestId, d.headers);
    ex.clientId = d.clientId;
    ex.stripAuthorization = d.stripAuthorization === true;
    forward(ex);
  }

  function forward(ex: Exchange): void {
    const block = ex.block!;
    if (block.site) return void serveStatic(ex, block.site);
    const acquired = block.process!.acquire();
    if (typeof acquired === 'number') return proxy(ex, acquired);
    acquired.then(
      (port) => proxy(ex, port),
      (e) => fail(ex.res, ex.requestId, e),
    );
  }

  function proxy(ex: Exchange, port: number): void {
    if (ex.done) {
      // The caller left while the block was waking: give the slot back at once.
      ex.block!.process!.release();
      return;
    }
    ex.acquired = true;
    const { req } = ex;
    const url = req.url!;
    const query = url.indexOf('?');
    const inbound = req.headers;
    const hasBody = inbound['content-length'] !== undefined || inbound['transfer-encoding'] !== undefined;
    ex.hasBody = hasBody;
    poolFor(ex.block!.process!, port).dispatch(
      {
        path: query < 0 ? ex.blockPath : ex.blockPath + url.slice(query),
        method: ex.method,
        headers: forwardHeaders(ex.req, ex.requestId, ex.clientId, ex.stripAuthorization),
        body: hasBody ? req : null,
      },
      ex,
    );
  }

  async function serveStatic(ex: Exchange, site: StaticSite): Promise<void> {
    const { req, res, requestId } = ex;
    const path = ex.blockPath;
    res.setHeader('kinto-request-id', requestId);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return error(res, 405, 'METHOD_NOT_ALLOWED', 'A static website answers GET and HEAD only.', requestId, { allow: 'GET, HEAD' });
    const found = await site.lookup(path).catch(() => ({ kind: 'missing' }) as const);
    if (ex.done) return;
    if (found.kind === 'directory' || (path === '/' && !/\/(\?|$)/.test(req.url ?? ''))) {
      res.writeHead(301, { location: (req.url ?? '/').replace(/(\?|$)/, '/$1') });
      return void res.end();
    }
    if (found.kind === 'missing') return error(res, 404, 'NOT_FOUND', `No file at ${path.slice(0, 200)}.`, requestId);
    send(req, found.path, { root: found.root, index: false, dotfiles: 'ignore' })
      .on('error', (e: { status?: number }) =>
        error(res, e.status === 404 || !e.status ? 404 : e.status, 'NOT_FOUND', `No file at ${path.slice(0, 200)}.`, requestId),
      )
      .pipe(res);
  }

  /** Shared listeners (no closures per request): the exchange rides on the emitter. */
  function onResponseClose(this: ServerResponse): void {
    const ex = (this as Exchanged).exchange;
    if (!ex || ex.done) return;
    ex.done = true;
    if (!this.writableFinished) ex.abandon();
    if (ex.acquired) ex.block!.process!.release();
    if (options.onAccess) {
      // Read from the exchange (one shape), not from request and response objects (many shapes).
      const f = facts;
      const block = ex.block;
      f.requestId = ex.requestId;
      f.timeMs = ex.startedAt;
      // The environment's own string when routed (compared by identity by the line writer), not
      // the copy sliced from this request's URL.
      f.envId = block ? block.meta.envId : ex.envId;
      f.method = ex.method;
      f.path = ex.path;
      f.block = block?.name;
      f.release = block?.meta.release;
      f.commit = block?.meta.commit;
      f.status = this.writableFinished ? this.statusCode : 499;
      f.durationMs = Math.round((performance.now() - ex.started) * 100) / 100;
      f.clientId = ex.clientId;
      options.onAccess(f);
    }
  }

  /** The call to the block failed: retry once if the block never saw it, else 502 (or cut an answer begun). */
  function onUpstreamFailed(ex: Exchange, err: Error): void {
    if (ex.res.headersSent || ex.done) return void ex.res.destroy();
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    if (code === 'ECONNREFUSED' && !ex.retried && !ex.hasBody) {
      // Nothing listened, so the block never saw the request: its process died (before we heard)
      // or closed its server. Start a fresh one and send the request once more.
      ex.retried = true;
      ex.acquired = false;
      const proc = ex.block!.process!;
      proc.release();
      proc.markDead();
      return forward(ex);
    }
    // It may be dying (a crash whose exit is not seen yet): the next request waits to find out.
    ex.block!.process!.suspect();
    error(
      ex.res,
      502,
      'BLOCK_UNAVAILABLE',
      `Block "${ex.block!.name}" closed the connection without answering (${code}); the next request starts it again.`,
      ex.requestId,
    );
  }

  return { handle, close: () => undefined };
}

function fail(res: ServerResponse, requestId: string, e: unknown): void {
  if (isKintoError(e)) return error(res, e.status, e.code, e.message, requestId);
  console.error(JSON.stringify({ level: 'error', message: 'gateway error', requestId, error: String((e as Error)?.stack ?? e) }));
  error(res, 500, 'INTERNAL', `Something went wrong in the gateway. Quote request id ${requestId} when you report it.`, requestId);
}

function error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.destroy();
  const body = JSON.stringify({ error: { code, message, requestId } });
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'kinto-request-id': requestId,
    ...headers,
  });
  res.end(body);
}
