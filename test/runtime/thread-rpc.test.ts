import { MessageChannel } from 'node:worker_threads';
import { KintoError } from '../../lambdas/core/errors';
import { WriteConflictError } from '../../lambdas/ports/store';
import { ThreadRpc } from '../../lambdas/local/threads/thread-rpc';

/** Calls between the platform's threads (here the two ends of one channel in one thread). */
describe('Class: ThreadRpc', () => {
  /** What the tests' other side may serve (`nothing` never is). */
  interface Served {
    add(a: number, b: number): number;
    later(x: string): Promise<{ x: string; at: number[] }>;
    deploy(): never;
    write(): Promise<never>;
    crash(): never;
    slow(): Promise<never>;
    nothing(): void;
  }
  const pair = (handlers: Partial<Served>, onMessage?: (m: unknown) => void) => {
    const { port1, port2 } = new MessageChannel();
    const caller = new ThreadRpc<object, Served>(port1, {});
    new ThreadRpc<Partial<Served>, object>(port2, handlers, onMessage);
    return { caller, close: () => (port1.close(), port2.close()) };
  };

  it("returns what the other side's handler returns, sync or async", async () => {
    const { caller, close } = pair({ add: (a: number, b: number) => a + b, later: async (x: string) => ({ x, at: [1, 2] }) });
    await expect(caller.call('add', 2, 3)).resolves.toBe(5);
    await expect(caller.call('later', 'y')).resolves.toEqual({ x: 'y', at: [1, 2] });
    close();
  });

  it('keeps a KintoError a KintoError across the threads (status and code), and a store conflict a WriteConflictError', async () => {
    const { caller, close } = pair({
      deploy: () => {
        throw new KintoError(409, 'BUILD_MISSING', 'build the block again');
      },
      write: async () => {
        throw new WriteConflictError('changed');
      },
      crash: () => {
        throw new TypeError('boom');
      },
    });
    const deploy = await caller.call('deploy').catch((e) => e);
    expect(deploy).toBeInstanceOf(KintoError);
    expect(deploy).toMatchObject({ status: 409, code: 'BUILD_MISSING', message: 'build the block again' });
    await expect(caller.call('write')).rejects.toBeInstanceOf(WriteConflictError);
    const crash: Error = await caller.call('crash').catch((e: Error) => e);
    expect(crash).not.toBeInstanceOf(KintoError);
    expect(crash.message).toBe('boom');
    await expect(caller.call('nothing')).rejects.toThrow('no handler for nothing');
    close();
  });

  it('hands messages that are not calls to onMessage', async () => {
    const seen: unknown[] = [];
    const { port1, port2 } = new MessageChannel();
    new ThreadRpc<object, object>(port2, {}, (m) => seen.push(m));
    port1.postMessage({ ready: true });
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([{ ready: true }]);
    port1.close();
  });

  it('fails pending and later calls once the other side is gone', async () => {
    const { port1, port2 } = new MessageChannel();
    const caller = new ThreadRpc<object, Served>(port1, {});
    new ThreadRpc<Partial<Served>, object>(port2, { slow: () => new Promise<never>(() => undefined) });
    const pending = caller.call('slow');
    caller.fail(new Error('the data plane stopped'));
    await expect(pending).rejects.toThrow('the data plane stopped');
    await expect(caller.call('slow')).rejects.toThrow('the data plane stopped');
    port1.close();
  });
});
