import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from '../../handlers/http/json-body';
import { errorResponse } from '../../handlers/http/response';
import { writeApiGatewayResult } from './apigw-event';

export interface ReadBodyOptions {
  /** Longest wait for the next byte. @default 10000 */
  readonly idleMs?: number;
  /** Longest wait for the whole body. @default 30000 */
  readonly totalMs?: number;
}

/** How much of a refused body is read and dropped before the connection is cut. */
export interface DiscardBound {
  /** @default 16 MiB */
  readonly bytes?: number;
  /** @default 5000 */
  readonly ms?: number;
}

const DEFAULT_IDLE_MS = 10_000;
const DEFAULT_TOTAL_MS = 30_000;
const DISCARD_BYTES = 16 * 1024 * 1024;
const DISCARD_MS = 5_000;

/** Does the request say a body follows? */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/**
 * Reads a request body up to `limit` bytes. Past the limit it stops collecting, says so, and
 * reads the rest only to drop it (see `discardBody`), so that the caller's answer reaches a client
 * still writing. A body that stalls (`idleMs` without a byte) or drags on (`totalMs`) is
 * `'timed-out'`: answer, and close the connection. Rejects when the caller left mid-way.
 */
export function readBody(req: IncomingMessage, limit: number, options: ReadBodyOptions = {}): Promise<Buffer | 'too-large' | 'timed-out'> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      discardBody(req);
      return resolve('too-large');
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const idle = setTimeout(timedOut, options.idleMs ?? DEFAULT_IDLE_MS).unref();
    const total = setTimeout(timedOut, options.totalMs ?? DEFAULT_TOTAL_MS).unref();
    const done = () => {
      clearTimeout(idle);
      clearTimeout(total);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    function timedOut(): void {
      done();
      // Nobody reads it any more: without a reader it would sit in memory until the socket closes.
      req.pause();
      resolve('timed-out');
    }
    function onData(chunk: Buffer): void {
      size += chunk.length;
      if (size > limit) {
        done();
        chunks.length = 0;
        discardBody(req);
        return resolve('too-large');
      }
      chunks.push(chunk);
      idle.refresh();
    }
    function onEnd(): void {
      done();
      resolve(Buffer.concat(chunks));
    }
    function onError(e: Error): void {
      done();
      reject(e);
    }
    function onClose(): void {
      if (req.complete) return;
      done();
      reject(new Error('the request body was cut off'));
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Reads and drops what is left of a request body, up to a bound (16 MiB or 5 s by default), then
 * cuts the connection. Answering a request whose body is still coming and closing at once makes
 * the client's next write fail (EPIPE) before it reads the answer; draining lets it read it.
 */
export function discardBody(req: IncomingMessage, bound: DiscardBound = {}): void {
  if (req.complete) return;
  let left = bound.bytes ?? DISCARD_BYTES;
  const cut = () => {
    stop();
    req.socket.destroy();
  };
  const timer = setTimeout(cut, bound.ms ?? DISCARD_MS).unref();
  const onData = (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) cut();
  };
  const stop = () => {
    clearTimeout(timer);
    req.off('data', onData);
  };
  req.on('data', onData);
  req.once('end', stop);
  req.once('close', stop);
  req.on('error', () => undefined);
  req.resume();
}

/** The control API's answer to a body over its limit (the rest of the body is drained by `readBody`). */
export function tooLarge(res: ServerResponse): void {
  writeApiGatewayResult(
    res,
    errorResponse(413, 'PAYLOAD_TOO_LARGE', `The request body is over the limit of ${MAX_BODY_BYTES} bytes (1 MB); send a smaller one.`),
  );
}

/** The control API's answer to a body that stalled; the connection closes after it. */
export function bodyTimedOut(res: ServerResponse): void {
  writeApiGatewayResult(
    res,
    errorResponse(
      408,
      'BODY_TIMEOUT',
      `The request body did not arrive in time (${DEFAULT_IDLE_MS / 1000} s without a byte, or ${DEFAULT_TOTAL_MS / 1000} s in all); send it whole, at once.`,
      { connection: 'close' },
    ),
  );
}
