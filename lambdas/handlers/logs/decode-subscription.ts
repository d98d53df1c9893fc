import { isUtf8 } from 'node:buffer';
import { gunzipSync } from 'node:zlib';

/** A CloudWatch Logs subscription batch, as the Lambda receives it inside `awslogs.data`. */
export interface SubscriptionBatch {
  /** `DATA_MESSAGE` or `CONTROL_MESSAGE` (or anything else CloudWatch may add). */
  readonly messageType: string;
  readonly logGroup: string;
  readonly logStream: string;
  readonly logEvents: ReadonlyArray<{ id: string; timestamp: number; message: string }>;
}

export type Decoded =
  | { readonly ok: true; readonly batch: SubscriptionBatch; readonly lossy: boolean; readonly bytes: number }
  | { readonly ok: false; readonly reason: string };

/**
 * `awslogs.data` -> the batch: base64, then gzip, then UTF-8 JSON. Returns why it failed instead
 * of throwing: a corrupt payload does not get better when CloudWatch retries it.
 */
export function decodeSubscription(event: unknown): Decoded {
  const data = (event as { awslogs?: { data?: unknown } } | null)?.awslogs?.data;
  if (typeof data !== 'string' || data.length === 0) return { ok: false, reason: 'no awslogs.data in the event' };
  let raw: Buffer;
  try {
    raw = gunzipSync(Buffer.from(data, 'base64'), { maxOutputLength: 64 * 1024 * 1024 });
  } catch (e) {
    return { ok: false, reason: `awslogs.data is not valid base64 gzip (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})` };
  }
  // Invalid UTF-8 is kept as far as it can be read: bad bytes become U+FFFD, and the lines
  // holding one are counted (lossy).
  const lossy = !isUtf8(raw);
  const text = raw.toString('utf8');
  let batch: SubscriptionBatch;
  try {
    batch = JSON.parse(text) as SubscriptionBatch;
  } catch {
    return { ok: false, reason: 'awslogs.data is not JSON after gunzip' };
  }
  if (!batch || typeof batch !== 'object' || typeof batch.messageType !== 'string')
    return { ok: false, reason: 'the payload has no messageType' };
  if (batch.messageType === 'DATA_MESSAGE' && (typeof batch.logGroup !== 'string' || !Array.isArray(batch.logEvents))) {
    return { ok: false, reason: 'a DATA_MESSAGE without logGroup or logEvents' };
  }
  return { ok: true, batch, lossy, bytes: raw.length };
}
