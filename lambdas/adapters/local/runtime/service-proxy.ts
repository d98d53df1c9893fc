import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { BlockProcess } from './block-process';
import type { Sandbox } from './sandbox';

export interface ServiceProxyOptions {
  /** For messages: `custom service "<block>"`. */
  readonly label: string;
  /** The environment (id) whose sandboxes may connect; no other sandbox can (port guard). */
  readonly envId: string;
  readonly sandbox: Sandbox;
  /** Why a connection could not reach the service (it failed to start), for its instance log. */
  readonly onRefused?: (reason: string) => void;
}

/** The process serving the proxy now, and the deployment it belongs to. */
interface Serving {
  readonly deploymentId: string;
  readonly process: BlockProcess;
}

/**
 * The platform's end of a custom service: a loopback port that is the service's address for the
 * blocks of its environment (`KINTO_BLOCK_<NAME>_HOST` / `_PORT`). The first connection starts the
 * service's process and waits until it accepts; then bytes pass both ways untouched, so any TCP
 * protocol works. Each open connection counts as a request of the process, which stops when none
 * has been open for its idle time. The port outlives deployments: a new release replaces the
 * process behind it, never two at once (they would share one data folder).
 */
export class ServiceProxy {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private serving?: Serving;
  /** Settles once the replaced processes have stopped: a successor starts only after. */
  private handover: Promise<void> = Promise.resolve();
  private listeningOn = 0;
  /** Settles once the port listens and admits its environment's sandboxes only (port guard in place). */
  readonly ready: Promise<void>;

  constructor(private readonly options: ServiceProxyOptions) {
    // Half-open connections pass through as they are (a client may end its side and still read).
    this.server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => this.accept(socket));
    this.ready = new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    }).then(async () => {
      this.server.on('error', () => undefined);
      this.listeningOn = (this.server.address() as AddressInfo).port;
      options.sandbox.admitGroup(options.envId, this.listeningOn);
      await options.sandbox.portsSettled();
    });
    // Whoever needs the port awaits `ready` and sees its failure.
    this.ready.catch(() => undefined);
  }

  /** The loopback port (once `ready`). */
  get port(): number {
    return this.listeningOn;
  }

  /** The deployment whose process serves now, if any. */
  get deploymentId(): string | undefined {
    return this.serving?.deploymentId;
  }

  /**
   * Serves `deploymentId` from now on with the process `create` makes (once per deployment): the
   * previous one is stopped gracefully, its connections cut; the new one starts on the next
   * connection, or at once when `startNow` (always-on services). `create` gets what the new
   * process must await before it starts (`BlockProcess` `beforeStart`): its predecessors' stop.
   */
  serve(deploymentId: string, create: (previousStopped: () => Promise<void>) => BlockProcess, startNow: boolean): void {
    if (this.serving?.deploymentId === deploymentId) return;
    const previous = this.serving?.process;
    if (previous) this.handover = this.handover.then(() => previous.shutdown()).catch(() => undefined);
    // Captured now: a later successor's handover includes this process's own stop.
    const before = this.handover;
    this.serving = { deploymentId, process: create(() => before) };
    if (startNow) this.wake();
  }

  /** Starts the process without a connection (always-on services); a failure is reported, not thrown. */
  wake(): void {
    const process = this.serving?.process;
    if (!process) return;
    Promise.resolve(process.acquire()).then(
      () => process.release(),
      (e: Error) => this.options.onRefused?.(e.message),
    );
  }

  /** Stops listening, cuts every connection and stops the process gracefully. */
  async close(): Promise<void> {
    await this.ready.catch(() => undefined);
    if (this.listeningOn) this.options.sandbox.dismissGroup(this.options.envId, this.listeningOn);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    const process = this.serving?.process;
    this.serving = undefined;
    await Promise.all([closed, this.handover, process?.shutdown()]);
  }

  private accept(client: Socket): void {
    const serving = this.serving;
    if (!serving) return void client.destroy();
    this.sockets.add(client);
    client.once('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    client.setNoDelay(true);
    this.attach(client, serving.process, false);
  }

  /** Takes a slot of the process (starting it if needed), then pipes the client to it. */
  private attach(client: Socket, process: BlockProcess, retried: boolean): void {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.release();
    };
    const onPort = (port: number) => {
      if (client.destroyed) return release();
      const upstream = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      upstream.setNoDelay(true);
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', (e: NodeJS.ErrnoException) => {
        if (!connected && e.code === 'ECONNREFUSED' && !retried && !client.destroyed) {
          // Nothing listened: the process died and we have not heard yet. Start a fresh one, once.
          release();
          process.markDead();
          return this.attach(client, process, true);
        }
        client.destroy();
      });
      // Either side gone: the other is ended once what it was sent is written (destroySoon).
      upstream.once('close', () => {
        if (!connected && !retried && !client.destroyed) return;
        release();
        client.destroySoon();
      });
      client.once('close', () => {
        upstream.destroySoon();
        release();
      });
    };
    let acquired: number | Promise<number>;
    try {
      acquired = process.acquire();
    } catch (e) {
      return this.refuse(client, e as Error);
    }
    if (typeof acquired === 'number') return onPort(acquired);
    acquired.then(onPort, (e: Error) => this.refuse(client, e));
  }

  private refuse(client: Socket, e: Error): void {
    this.options.onRefused?.(`${this.options.label} could not take a connection: ${e.message}`);
    client.destroy();
  }
}
