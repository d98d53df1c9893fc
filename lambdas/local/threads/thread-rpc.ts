import type { MessagePort } from 'node:worker_threads';
import { KintoError } from '../../core/errors';
import { InvalidCursorError, WriteConflictError } from '../../ports/store';

/** What both ends of a thread channel have: a `Worker`, its `parentPort`, or a `MessagePort`. */
export interface ThreadEndpoint {
  postMessage(message: unknown, transfer?: readonly (ArrayBuffer | MessagePort)[]): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

/** What one side of a channel serves: an interface whose members are all methods. */
export type ThreadApi<T> = { [K in keyof T]: (...args: never[]) => unknown };

/** The names of `T`'s methods. */
export type MethodOf<T> = Extract<keyof T, string>;

type Args<T, K extends keyof T> = T[K] extends (...args: infer A) => unknown ? A : never;
type Result<T, K extends keyof T> = T[K] extends (...args: never[]) => infer R ? Awaited<R> : never;

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
 * Calls between two threads of the local platform over one channel: each side serves `Serves`
 * (its `handlers`) and calls `Calls` (the other side's), both typed interfaces, so the compiler
 * checks every call's arguments and result across the thread. Errors cross as their kind, status
 * and code (a `KintoError` stays a `KintoError`, so a 409 from the other thread is still a 409);
 * messages that are not calls go to `onMessage`.
 *
 * @example
 * interface Worker { add(a: number, b: number): number }
 * const rpc = new ThreadRpc<{}, Worker>(worker, {});
 * const sum: number = await rpc.call('add', 2, 3);
 */
export class ThreadRpc<Serves extends ThreadApi<Serves>, Calls extends ThreadApi<Calls>> {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private dead?: Error;

  constructor(
    private readonly endpoint: ThreadEndpoint,
    private readonly handlers: Serves,
    private readonly onMessage: (message: unknown) => void = () => undefined,
  ) {
    endpoint.on('message', (m) => this.receive(m as RpcMessage));
  }

  call<K extends MethodOf<Calls>>(method: K, ...args: Args<Calls, K>): Promise<Result<Calls, K>> {
    return this.callTransferring([], method, ...args);
  }

  /** A call whose arguments hold buffers or ports to move to the other thread, not copy. */
  callTransferring<K extends MethodOf<Calls>>(
    transfer: readonly (ArrayBuffer | MessagePort)[],
    method: K,
    ...args: Args<Calls, K>
  ): Promise<Result<Calls, K>> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.nextId;
    return new Promise<Result<Calls, K>>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve, reject });
      this.endpoint.postMessage({ rpc: 'call', id, method, args } satisfies RpcMessage, transfer);
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
      const handler = Object.hasOwn(this.handlers, method)
        ? (this.handlers as unknown as Record<string, (...a: readonly unknown[]) => unknown>)[method]
        : undefined;
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
  return {
    name: err?.name ?? 'Error',
    message: err?.message ?? String(e),
    ...(typeof err?.status === 'number' ? { status: err.status, code: err.code } : {}),
  };
}

/** The error `serializeError` describes, of the same kind where the kind matters to callers. */
export function deserializeError(e: SerializedError): Error {
  if (e.name === 'KintoError' && e.status && e.code) return new KintoError(e.status, e.code, e.message);
  if (e.name === 'WriteConflictError') return new WriteConflictError(e.message);
  if (e.name === 'InvalidCursorError') return new InvalidCursorError(e.message);
  return new Error(e.message);
}
