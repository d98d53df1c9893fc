/**
 * Errors the core raises. Each carries a stable `code` (callers branch on it) and the HTTP status
 * the handlers map it to. Messages say what was wrong and how to fix it: they reach the caller.
 */
export class KintoError extends Error {
  public override readonly name = 'KintoError';

  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string): KintoError => new KintoError(400, code, message);
export const unauthorized = (code: string, message: string): KintoError => new KintoError(401, code, message);
export const notFound = (code: string, message: string): KintoError => new KintoError(404, code, message);
export const conflict = (code: string, message: string): KintoError => new KintoError(409, code, message);
export const unavailable = (code: string, message: string): KintoError => new KintoError(503, code, message);

export const isKintoError = (error: unknown): error is KintoError => error instanceof KintoError;
