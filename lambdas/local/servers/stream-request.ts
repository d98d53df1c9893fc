import type { IncomingMessage } from 'node:http';

/** A control API request that opens a server-sent event stream. */
export type StreamRequest =
  | {
      readonly kind: 'logs';
      /** Project, environment and block, as they came in the path (still URL-encoded). */
      readonly path: readonly [string, string, string];
      readonly params: URLSearchParams;
    }
  | {
      readonly kind: 'deployment';
      /** Project, environment and deployment id, still URL-encoded. */
      readonly path: readonly [string, string, string];
      readonly params: URLSearchParams;
    };

const LOGS = /^\/v1\/projects\/([^/]+)\/environments\/([^/]+)\/blocks\/([^/]+)\/logs\/?$/;
const DEPLOYMENT = /^\/v1\/projects\/([^/]+)\/environments\/([^/]+)\/deployments\/([^/]+)\/?$/;

/**
 * `GET .../blocks/{block}/logs` and `GET .../deployments/{id}` with `?follow=true` (or `Accept:
 * text/event-stream`): requests that open a stream; undefined for any other. One test for both
 * sides, so the platform's port (which gives streams connections of their own) and the control
 * plane (which serves them) always agree on what is a stream.
 */
export function parseStreamRequest(req: Pick<IncomingMessage, 'method' | 'url' | 'headers'>): StreamRequest | undefined {
  if (req.method !== 'GET') return undefined;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
  const follow = url.searchParams.get('follow');
  const wantsStream = (follow !== null && follow !== 'false') || /text\/event-stream/.test(req.headers.accept ?? '');
  if (!wantsStream) return undefined;
  const logs = LOGS.exec(url.pathname);
  if (logs) return { kind: 'logs', path: [logs[1], logs[2], logs[3]], params: url.searchParams };
  const deployment = DEPLOYMENT.exec(url.pathname);
  if (deployment) return { kind: 'deployment', path: [deployment[1], deployment[2], deployment[3]], params: url.searchParams };
  return undefined;
}
