import { badRequest } from '../errors';
import type { LogCursor } from '../../ports/log-store';
import { isUsableTime } from './iso-time';

/** Cursors are opaque to callers: base64url of `[time, key]`. */
export function encodeLogCursor(cursor: LogCursor): string {
  return Buffer.from(JSON.stringify([cursor.time, cursor.key])).toString('base64url');
}

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const KEY = /^[A-Za-z0-9._:=+/~-]{0,128}$/;

/**
 * A cursor from a previous page, or a point in time (ISO-8601 or epoch milliseconds). For a time,
 * `edge` says which side of it the cursor stands: `before` lists strictly older items, `after`
 * strictly newer ones.
 */
export function parseLogCursor(value: string, param: string, edge: 'before' | 'after'): LogCursor {
  const time = parseTime(value);
  if (time !== undefined) return { time, key: edge === 'before' ? '' : '~' };
  let decoded: unknown;
  try {
    decoded = value.length <= 512 ? JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) : undefined;
  } catch {
    decoded = undefined;
  }
  if (
    Array.isArray(decoded) &&
    decoded.length === 2 &&
    typeof decoded[0] === 'string' &&
    ISO.test(decoded[0]) &&
    typeof decoded[1] === 'string' &&
    KEY.test(decoded[1])
  ) {
    return { time: decoded[0], key: decoded[1] };
  }
  throw badRequest(
    'INVALID_QUERY',
    `?${param}= takes a cursor from a previous answer (nextCursor/followCursor) or a time such as 2025-01-31T12:00:00Z.`,
  );
}

/** ISO-8601 (with a zone) or epoch milliseconds -> normalized ISO; undefined when neither. */
export function parseTime(value: string): string | undefined {
  let ms: number;
  if (/^\d{10,16}$/.test(value)) ms = Number(value);
  else if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d{1,9})?)?(?:Z|[+-]\d\d:\d\d)$/.test(value)) ms = Date.parse(value);
  else return undefined;
  if (!isUsableTime(ms)) return undefined;
  return new Date(ms).toISOString();
}
