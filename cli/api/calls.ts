import { unwrap } from '../../client/kinto-client';

/** What an openapi-fetch call resolves to. */
type Result<T> = { data?: T; error?: unknown; response: Response };

/**
 * The `data` of a successful answer (`{"data": ...}`); a KintoApiError with the API's code and
 * message otherwise.
 *
 * @example
 * const project = await data(api.GET('/v1/projects/{project}', { params: { path: { project } } }));
 */
export async function data<T extends { data: unknown }>(call: Promise<Result<T>>): Promise<T['data']> {
  return unwrap(await call).data;
}

/** A whole list answer: `data` and `nextCursor`. */
export async function page<T extends { data: unknown; nextCursor?: string | null }>(call: Promise<Result<T>>): Promise<T> {
  return unwrap(await call);
}

/** Waits for an answer without a body (204); throws the API's error otherwise. */
export async function done(call: Promise<Result<unknown>>): Promise<void> {
  const result = await call;
  if (!result.response.ok) unwrap(result);
}

/** A deletion's answer: what it did with custom services' data (200), or undefined (204: there was none). */
export async function deletion<T extends { data: unknown }>(call: Promise<Result<T>>): Promise<T['data'] | undefined> {
  const result = await call;
  if (result.response.status === 204) return undefined;
  return unwrap(result).data;
}

/** A text answer (a build or job log) with its headers; an empty one is "" (not an error). */
export async function text(call: Promise<Result<string>>): Promise<{ text: string; headers: Headers }> {
  const result = await call;
  if (!result.response.ok) unwrap(result);
  return { text: result.data ?? '', headers: result.response.headers };
}
