import type { IncomingMessage } from 'node:http';
import { HOP_BY_HOP_HEADERS } from '../../handlers/http/hop-by-hop';

/** Request headers that belong to one hop only, and so are never forwarded (`host` is the block's own). */
const HOP_BY_HOP = new Set([...HOP_BY_HOP_HEADERS, 'host']);

/**
 * Headers for the block, as a flat `[name, value, ...]` list (undici takes it as it is): the
 * caller's, minus hop-by-hop, every `kinto-*` and `x-forwarded-*` (and `authorization` when the
 * gateway checked it), plus the platform's request id, client id and forwarding headers.
 */
export function forwardHeaders(
  req: IncomingMessage,
  requestId: string,
  clientId: string | undefined,
  stripAuthorization: boolean,
): string[] {
  const inbound = req.headers;
  const out: string[] = [];
  for (const name in inbound) {
    if (HOP_BY_HOP.has(name) || name.startsWith('kinto-') || name.startsWith('x-forwarded-')) continue;
    if (stripAuthorization && name === 'authorization') continue;
    const value = inbound[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }
  out.push('kinto-request-id', requestId);
  if (clientId) out.push('kinto-client-id', clientId);
  out.push('x-forwarded-for', req.socket.remoteAddress ?? '', 'x-forwarded-proto', 'http');
  if (inbound.host) out.push('x-forwarded-host', inbound.host);
  return out;
}
