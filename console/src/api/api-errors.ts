import { KintoApiError } from '../../../client/kinto-client';

export { KintoApiError };

/** Throws the API's error for an answer without a body to unwrap (204s), as `unwrap` does. */
export function expectOk(result: { error?: unknown; response: Response }): void {
  if (result.response.ok) return;
  const e = (result.error as { error?: { code?: string; message?: string } } | undefined)?.error;
  throw new KintoApiError(result.response.status, e?.code ?? `HTTP_${result.response.status}`, e?.message ?? result.response.statusText);
}

/** What to tell the user: the API's own words, or why the API could not be reached. */
export function describeError(e: unknown): { code?: string; message: string } {
  if (e instanceof KintoApiError) return { code: e.code, message: e.message };
  if (e instanceof TypeError)
    return { code: 'UNREACHABLE', message: `The control API could not be reached (${e.message}). Is the platform running?` };
  return { message: e instanceof Error ? e.message : String(e) };
}

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}
