import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { KintoError } from '../../core/errors';

/** Largest request body the control API accepts. */
export const MAX_BODY_BYTES = 1024 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;.*)?$/i;

/**
 * Reads a JSON request body: 413 over 1 MB, 415 when it is not declared JSON, 400 when it does
 * not parse. An absent or empty body is `undefined`.
 */
export function readJsonBody(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded' | 'headers'>): unknown {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  const raw = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (raw.length > MAX_BODY_BYTES) {
    throw new KintoError(413, 'PAYLOAD_TOO_LARGE', `The request body is ${raw.length} bytes; the limit is ${MAX_BODY_BYTES} bytes (1 MB).`);
  }
  const type = header(event.headers, 'content-type');
  if (!type || !JSON_TYPE.test(type)) {
    throw new KintoError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Send the body as JSON with "Content-Type: application/json" (got ${type ? JSON.stringify(type.slice(0, 100)) : 'no Content-Type'}).`,
    );
  }
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new KintoError(400, 'MALFORMED_JSON', `The request body is not valid JSON: ${(e as Error).message.slice(0, 200)}.`);
  }
}

/** Header lookup by lower-case name (API Gateway v2 lower-cases header names; tests may not). */
export function header(headers: Record<string, string | undefined> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const direct = headers[name];
  if (direct !== undefined) return direct;
  const wanted = name.toLowerCase();
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === wanted) return v;
  return undefined;
}
