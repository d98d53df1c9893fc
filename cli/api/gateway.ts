import { KintoApiError } from '../../client/kinto-client';
import { CliError } from '../errors';

/**
 * Exchanges a client's id and secret for a token at the environment's gateway, as a client app
 * does (`POST <gateway URL>/authorize`).
 */
export async function authorize(gatewayUrl: string, clientId: string, secret: string): Promise<string> {
  const res = await gatewayFetch(`${gatewayUrl}/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ clientId, secret }),
  });
  const body = (await res.json().catch(() => undefined)) as
    { data?: { token?: string }; error?: { code?: string; message?: string } } | undefined;
  if (!res.ok || !body?.data?.token) {
    throw new KintoApiError(res.status, body?.error?.code ?? `HTTP_${res.status}`, body?.error?.message ?? 'the gateway gave no token');
  }
  return body.data.token;
}

export interface GatewayCall {
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body?: string;
  /** Sent as `Kinto-Authorization`. */
  readonly token?: string;
}

/** Calls `<gateway URL>/<block>/<path>`. */
export async function callBlock(gatewayUrl: string, block: string, path: string, call: GatewayCall): Promise<Response> {
  const headers: Record<string, string> = { ...call.headers };
  if (call.token) headers['kinto-authorization'] = call.token;
  const url = `${gatewayUrl}/${encodeURIComponent(block)}${path.startsWith('/') ? path : `/${path}`}`;
  return gatewayFetch(url, { method: call.method, headers, body: call.body });
}

async function gatewayFetch(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError('UNREACHABLE', `cannot reach ${url} (${cause?.code ?? cause?.message ?? (e as Error).message})`);
  }
}
