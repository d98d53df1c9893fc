import type { MessagePort } from 'node:worker_threads';
import { KintoError } from '../../core/errors';
import { InvalidCursorError, WriteConflictError } from '../../ports/store';

/** What both ends of a thread channel have: a `Worker`, its `parentPort`, or a `MessagePort`. */
export interface ThreadEndpoint {
  postMessage(message: unknown, transfer?: readonly (ArrayBuffer | MessagePort)[]): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

type Handlers = Record<string, (...args: any[]) => unknown>;

type RpcMessage =
  | { readonly rpc: 'call'; readonly id: number; readonly method: string; readonly args: readonly unknown[] }
  | { readonly rpc: 'reply'; readonly id: number; readonly value?: unknown; readonly error?: SerializedError };

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly status?: number;
  readonly code?: string;
}

/**
 * Calls between two threads of the local platform over one channel: each side serves its
 * `handlers` and calls the other's. Errors cross as their kind, status and code (a `KintoError`
 * stays a `KintoError`, so a 409 from the other thread is still a 409); messages that are not
 * calls go to `onMessage`.
 */
export class ThreadRpc {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private dead?: Error;

  constructor(
    private readonly endpoint: ThreadEndpoint,
    private readonly handlers: Handlers,
    private readonly onMessage: (message: any) => void = () => undefined,
  ) {
    endpoint.on('message', (m) => this.receive(m as RpcMessage));
  }

  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.endpoint.postMessage({ rpc: 'call', id, method, args } satisfies RpcMessage);
    });
  }

  /** The other side is gone: pending and later calls fail with `error`. */
  fail(error: Error): void {
    this.dead ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private receive(m: RpcMessage): void {
    if (m?.rpc === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(deserializeError(m.error));
      else p?.resolve(m.value);
    } else if (m?.rpc === 'call') {
      void this.answer(m.id, m.method, m.args);
    } else {
      this.onMessage(m);
    }
  }

  private async answer(id: number, method: string, args: readonly unknown[]): Promise<void> {
    try {
      const handler = this.handlers[method];
      if (!handler) throw new Error(`no handler for ${method}`);
      const value = await handler(...args);
      this.endpoint.postMessage({ rpc: 'reply', id, value } satisfies RpcMessage);
    } catch (e) {
      this.endpoint.postMessage({ rpc: 'reply', id, error: serializeError(e) } satisfies RpcMessage);
    }
  }
}

export function serializeError(e: unknown): SerializedError {
  const err = e as { name?: string; message?: string; status?: number; code?: string; stack?: string };
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e), ...(typeof err?.status === 'number' ? { status: err.status, code: err.code } : {}) };
}

/** The error `serializeError` describes, of the same kind where the kind matters to callers. */
export function deserializeError(e: SerializedError): Error {
  if (e.name === 'KintoError' && e.status && e.code) return new KintoError(e.status, e.code, e.message);
  if (e.name === 'WriteConflictError') return new WriteConflictError(e.message);
  if (e.name === 'InvalidCursorError') return new InvalidCursorError(e.message);
  return new Error(e.message);
}
