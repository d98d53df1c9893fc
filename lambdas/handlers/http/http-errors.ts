import { ZodError } from 'zod';
import { isKintoError } from '../../core/errors';
import { InvalidCursorError, WriteConflictError } from '../../ports/store';
import { errorResponse, type HttpResult } from './response';

/**
 * Maps anything a handler throws to the JSON error contract. 4xx errors say what was wrong and
 * how to fix it; anything else is a 500 whose body is generic and carries the request id (the
 * detail goes to the log only, never to the caller).
 */
export function toErrorResponse(error: unknown, requestId: string, log: (line: string) => void = console.error): HttpResult {
  if (isKintoError(error)) {
    if (error.status < 500)
      return errorResponse(
        error.status,
        error.code,
        error.message,
        error.status === 401 ? { 'www-authenticate': 'Bearer realm="kinto"' } : {},
      );
    return errorResponse(error.status, error.code, error.message, {}, { requestId });
  }
  if (error instanceof ZodError) return errorResponse(400, 'VALIDATION_FAILED', describeZodError(error));
  if (error instanceof InvalidCursorError) return errorResponse(400, 'INVALID_CURSOR', error.message);
  if (error instanceof WriteConflictError)
    return errorResponse(409, 'CONCURRENT_UPDATE', 'The resource changed while this request ran; read it again and retry.');
  log(
    JSON.stringify({
      level: 'error',
      requestId,
      message: 'unhandled error',
      error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
    }),
  );
  return errorResponse(
    500,
    'INTERNAL',
    `Something went wrong on Kinto's side. Quote request id ${requestId} when you report it.`,
    {},
    { requestId },
  );
}

/** `field.path: problem` for up to five problems, in one line. */
export function describeZodError(error: ZodError, root = 'body'): string {
  const parts = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.length ? `${root}.${issue.path.map(String).join('.')}` : root;
    // A refused record key (a variable name): zod says only "Invalid key in record"; its own issues say why.
    const why =
      issue.code === 'invalid_key' && issue.issues.length
        ? `invalid name: ${issue.issues.map((i) => i.message).join(', ')}`
        : issue.message;
    // Our own messages end in a full stop, zod's do not: one at the very end.
    return `${path}: ${why.replace(/\.+$/, '')}`;
  });
  const more = error.issues.length > 5 ? ` (and ${error.issues.length - 5} more)` : '';
  return `The request is not valid: ${parts.join('; ')}${more}.`;
}
