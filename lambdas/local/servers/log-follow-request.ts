import type { IncomingMessage } from 'node:http';

export interface LogFollowRequest {
  /** Project, environment and block, as they came in the path (still URL-encoded). */
  readonly path: readonly [string, string, string];
  readonly params: URLSearchParams;
}

const PATH = /^\/v1\/projects\/([^/]+)\/environments\/([^/]+)\/blocks\/([^/]+)\/logs\/?$/;

/**
 * `GET .../environments/{env}/blocks/{block}/logs?follow=true` (or `Accept: text/event-stream`):
 * a request that opens a log stream; undefined for any other. One test for both sides, so the
 * platform's port (which gives streams connections of their own) and the control plane (which
 * serves them) always agree on what is a stream.
 */
export function parseLogFollowRequest(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>): LogFollowRequest | undefined {
  if (req.method !== 'GET') return undefined;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
  const m = PATH.exec(url.pathname);
  if (!m) return undefined;
  const follow = url.searchParams.get('follow');
  const wantsStream = (follow !== null && follow !== 'false') || /text\/event-stream/.test(req.headers.accept ?? '');
  return wantsStream ? { path: [m[1], m[2], m[3]], params: url.searchParams } : undefined;
}
