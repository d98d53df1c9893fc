import { KintoApiError } from '../client/kinto-client';

/**
 * An error of the CLI itself (not answered by the API), with a stable code like the API's, so
 * that scripts can tell failures apart the same way: `kinto: NOT_LOGGED_IN: ...`.
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * The one line a failed command prints on stderr: `kinto: <CODE>: <message>`, the API's code and
 * message when the API answered, never a stack trace.
 */
export function errorLine(e: unknown): string {
  const { code, message } = describeError(e);
  return `kinto: ${code}: ${message.replace(/\s*[\r\n]+\s*/g, ' ').trim()}`;
}

function describeError(e: unknown): { code: string; message: string } {
  if (e instanceof KintoApiError || e instanceof CliError) return { code: e.code, message: e.message };
  if (e instanceof TypeError && e.message === 'fetch failed') {
    // undici's fetch hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a bad certificate, ...).
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { code: 'UNREACHABLE', message: `cannot reach the platform: ${cause?.code ?? cause?.message ?? 'network error'}` };
  }
  if (e instanceof Error) return { code: 'ERROR', message: e.message };
  return { code: 'ERROR', message: String(e) };
}
