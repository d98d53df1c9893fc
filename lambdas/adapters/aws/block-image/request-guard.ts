/**
 * Kinto's request guard: the fallback for the gateway's parameter mapping in every website and
 * microservice image (see `buildspec.yml`). It sits between the Lambda Web Adapter and the block's
 * server and sets the headers the platform owns from the request context API Gateway gave Lambda,
 * which a caller cannot forge (the adapter overwrites `x-amzn-request-context`):
 * - `kinto-request-id` = the context's `requestId` (the caller's value replaced), on the request and on the answer;
 * - `kinto-client-id` = the Lambda authorizer's `clientId`, or removed; `kinto-authorization` removed;
 * - when the gateway's mapping did not apply, the route's `/<block>` prefix is taken off the path,
 *   as `overwrite:path` would have done (`/<block>/x` reaches the block as `/x`).
 * The mapping applied when the request already carries `kinto-request-id` equal to the context's
 * request id, which a caller cannot know in advance; then the path is left as it is.
 *
 * It imports nothing but node:http and node:stream: it is bundled into one file run by the image's node.
 */
import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';

/** The parts of API Gateway's (payload 2.0) request context the guard reads. */
interface RequestContext {
  readonly requestId?: unknown;
  readonly routeKey?: unknown;
  readonly authorizer?: { readonly lambda?: { readonly clientId?: unknown } };
}

/** What the guard does to one request before the block sees it. */
export interface GuardVerdict {
  readonly url: string;
  /** The gateway's request id; none for a request without a request context (the adapter's readiness check). */
  readonly requestId?: string;
  /** Whether the gateway's parameter mapping had already set the headers and the path. */
  readonly mapped: boolean;
  readonly headers: IncomingHttpHeaders;
}

/** Thrown for a request whose context the guard cannot read: answered 502, never passed on. */
export class GuardError extends Error {}

/** Headers the platform owns: only the guard sets them, whatever the caller sent. */
const PLATFORM_HEADERS = ['kinto-request-id', 'kinto-client-id', 'kinto-authorization'];
/** Hop-by-hop headers (RFC 9110 7.6.1) describe one connection, never the next one. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

/** A copy of `headers` without the hop-by-hop ones, nor those its `Connection` header names. */
export function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...headers };
  const named = [headers.connection ?? ''].flat().join(',').split(',');
  for (const name of [...HOP_BY_HOP, ...named.map((n) => n.trim().toLowerCase())]) delete out[name];
  return out;
}

/**
 * Decides what one request becomes. A request without a request context (the adapter's readiness
 * check) passes with its path as it is, and without any header the platform owns.
 */
export function guardRequest(url: string, headers: IncomingHttpHeaders): GuardVerdict {
  const out = withoutHopByHop(headers);
  for (const name of PLATFORM_HEADERS) delete out[name];
  const raw = headers['x-amzn-request-context'];
  if (raw === undefined) return { url, mapped: false, headers: out };
  let context: RequestContext | null;
  try {
    context = JSON.parse(Array.isArray(raw) ? raw.join(',') : raw) as RequestContext | null;
  } catch {
    throw new GuardError('the request context is not JSON');
  }
  const requestId = context?.requestId;
  if (typeof requestId !== 'string' || requestId === '') throw new GuardError('the request context has no requestId');

  const mapped = headers['kinto-request-id'] === requestId;
  out['kinto-request-id'] = requestId;
  const clientId = context?.authorizer?.lambda?.clientId;
  if (typeof clientId === 'string' && clientId !== '') out['kinto-client-id'] = clientId;
  return { url: mapped ? url : withoutRoutePrefix(url, context?.routeKey), requestId, mapped, headers: out };
}

/**
 * `/<prefix>/rest?q` -> `/rest?q` for the route `ANY /<prefix>/{proxy+}` or `ANY /<prefix>` (the
 * block's own routes and its internal entry `/_internal/<key>/<block>/{proxy+}`).
 */
export function withoutRoutePrefix(url: string, routeKey: unknown): string {
  if (typeof routeKey !== 'string') throw new GuardError('the request context has no routeKey');
  const prefix = routeKey.replace(/^\S+ /, '').replace(/\/\{proxy\+\}$/, '');
  if (!prefix.startsWith('/') || /[{}]/.test(prefix)) throw new GuardError(`the route ${JSON.stringify(routeKey)} is not a block's route`);
  const rest = url.startsWith(prefix) ? url.slice(prefix.length) : undefined;
  if (rest === undefined || (rest !== '' && !rest.startsWith('/') && !rest.startsWith('?'))) {
    throw new GuardError(`the path does not start with the route's ${prefix}`);
  }
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** Passes one request on to the block's server at `127.0.0.1:<port>`, streaming both ways. */
export function forward(port: number, req: IncomingMessage, res: ServerResponse): void {
  let verdict: GuardVerdict;
  try {
    verdict = guardRequest(req.url ?? '/', req.headers);
  } catch (e) {
    answer(res, 502, 'REQUEST_CONTEXT_INVALID', `Kinto's request guard refused the request: ${(e as Error).message}.`);
    req.resume();
    return;
  }
  const upstream = request(
    // A connection per request (agent: false): a kept one may have been closed by the block while Lambda froze the environment.
    { host: '127.0.0.1', port, method: req.method, path: verdict.url, headers: verdict.headers, agent: false },
    (reply) => {
      const headers = withoutHopByHop(reply.headers);
      if (verdict.requestId) headers['kinto-request-id'] = verdict.requestId;
      res.writeHead(reply.statusCode ?? 502, headers);
      // A block that dies mid-answer: the adapter's answer is cut too, rather than left waiting.
      pipeline(reply, res, (e) => e && res.destroy());
    },
  );
  upstream.on('error', () => {
    // The block's server is not up yet (the adapter's readiness check waits on any 5xx) or went away.
    if (!res.headersSent) answer(res, 502, 'BLOCK_NOT_LISTENING', `The block is not accepting connections on port ${port}.`);
    else res.destroy();
  });
  // The adapter gone (its request aborted, or its connection closed before the answer ended): so is the block's request.
  req.on('error', () => upstream.destroy());
  res.on('close', () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

function answer(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code, message } }));
}
