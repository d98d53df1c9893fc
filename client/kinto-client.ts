import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

/** An error answer of the control API, as it words it. */
export class KintoApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'KintoApiError';
  }
}

export interface KintoClientOptions {
  /** The platform's URL, e.g. `http://localhost:4000` (the control API is under /v1). */
  readonly baseUrl: string;
  /** The admin token; sent as `Authorization: Bearer <token>`. */
  readonly token?: string;
  readonly fetch?: typeof fetch;
}

export type KintoClient = Client<paths>;

/**
 * A typed client of the control API (openapi-fetch over the generated `paths`), shared by the
 * console and the CLI.
 *
 * @example
 * const kinto = createKintoClient({ baseUrl: 'http://localhost:4000', token });
 * const projects = unwrap(await kinto.GET('/v1/projects'));
 */
export function createKintoClient(options: KintoClientOptions): KintoClient {
  const client = createClient<paths>({ baseUrl: options.baseUrl.replace(/\/+$/, ''), ...(options.fetch ? { fetch: options.fetch } : {}) });
  if (options.token) {
    const token = options.token;
    client.use({ onRequest: ({ request }) => (request.headers.set('authorization', `Bearer ${token}`), request) });
  }
  return client;
}

/** The `data` of a successful answer; a `KintoApiError` with the API's code and message otherwise. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || result.data === undefined) {
    const e = (result.error as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new KintoApiError(result.response.status, e?.code ?? `HTTP_${result.response.status}`, e?.message ?? result.response.statusText);
  }
  return result.data;
}
