import { join } from 'node:path';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { AccessLineWriter, type AccessFacts } from '../../adapters/local/logs/access-line-writer';
import type { LogStore } from '../../ports/log-store';
import type { FeedItem } from '../../adapters/local/logs/queued-log-feed';
import type { InstanceListener, LogFeed, LogFeedStats } from '../../adapters/local/logs/log-feed';
import type { FeedBatch, LogClientApi, LogWorkerApi, LogWorkerData } from './log-worker-api';
import { ThreadRpc } from './thread-rpc';
import type { BlockEvent, BlockMeta } from '../../adapters/local/runtime/local-runtime';
import { startTsWorker } from './ts-worker';

export interface LogWorkerOptions extends LogWorkerData {
  /** How long hook items wait before they are posted to the worker together. @default 50 */
  readonly postEveryMs?: number;
  /** Items posted but not yet taken by the worker, at most; past it new ones are shed (counted). @default 200000 */
  readonly maxInFlight?: number;
}

/** The log worker as its parent holds it. */
export interface LogWorker {
  readonly feed: LogFeed;
  readonly store: LogStore;
  /** A new port on which another thread (the data plane) feeds the same index: see `connectLogFeed`. */
  attach(): MessagePort;
  close(): Promise<void>;
}

/**
 * Starts the log worker (log-worker.ts) and returns its faces: a `LogFeed` for the hooks —
 * which only append to an array; every `postEveryMs` the array goes to the worker in one message —
 * and a `LogStore` whose queries the worker answers.
 */
export async function startLogWorker(options: LogWorkerOptions): Promise<LogWorker> {
  const data: LogWorkerData = { store: options.store, maxRecords: options.maxRecords, retentionMs: options.retentionMs };
  const worker = startTsWorker(join(__dirname, 'log-worker.ts'), { workerData: data });
  const client = new LogWorkerClient(worker, options.postEveryMs ?? 50, options.maxInFlight ?? 200_000, async (rpc) => {
    try {
      await rpc.call('close');
    } finally {
      await worker.terminate();
    }
  });
  const started = new Promise<void>((_resolve, reject) => {
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the log worker exited during start (code ${code})`)));
  });
  await Promise.race([client.ready, started]);
  worker.on('error', (e) => client.fail(e));
  worker.on('exit', (code) => client.fail(new Error(`the log worker stopped (code ${code})`)));
  return {
    feed: client,
    store: client.store,
    attach: () => {
      const { port1, port2 } = new MessageChannel();
      void client.rpc.callTransferring([port1], 'attach', port1).catch(() => undefined);
      return port2;
    },
    close: () => client.close(),
  };
}

/**
 * A `LogFeed` on a port `LogWorker.attach` made, for another thread (the data plane's gateway and
 * blocks). Closing it posts what is buffered and waits until the worker has it; the worker and its
 * store stay with their parent.
 */
export async function connectLogFeed(
  port: MessagePort,
  options: Pick<LogWorkerOptions, 'postEveryMs' | 'maxInFlight'> = {},
): Promise<LogFeed> {
  const client = new LogWorkerClient(port, options.postEveryMs ?? 50, options.maxInFlight ?? 200_000, async (rpc) => {
    try {
      await rpc.call('flush');
    } finally {
      port.close();
    }
  });
  await client.ready;
  return client;
}

/** Bytes for access lines between posts, at first (~150 bytes a request). */
const ACCESS_BYTES = 64 * 1024;

class LogWorkerClient implements LogFeed {
  readonly ready: Promise<void>;
  readonly store: LogStore;
  private buffer: FeedItem[] = [];
  /**
   * Access entries as access lines (access-row.ts), written as Latin-1 bytes as they come (no
   * string per request, which would outlive young-generation collections) and transferred whole.
   */
  private accessBytes = Buffer.allocUnsafe(ACCESS_BYTES);
  private readonly accessWriter = new AccessLineWriter();
  private accessUsed = 0;
  private accessCount = 0;
  private timer?: NodeJS.Timeout;
  private inFlight = 0;
  private shed = new Map<string, [string, string | undefined, number]>();
  private closed = false;
  private dead?: Error;
  readonly rpc: ThreadRpc<LogClientApi, LogWorkerApi>;
  private readonly listeners = new Map<string, Set<InstanceListener>>();

  constructor(
    worker: Worker | MessagePort,
    private readonly postEveryMs: number,
    private readonly maxInFlight: number,
    /** Ends the conversation (`close` for the worker's owner, `flush` for an attached feed). */
    private readonly shutdown: (rpc: ThreadRpc<LogClientApi, LogWorkerApi>) => Promise<void>,
  ) {
    let ready!: () => void;
    this.ready = new Promise((resolve) => (ready = resolve));
    this.rpc = new ThreadRpc<LogClientApi, LogWorkerApi>(worker, {
      ready: () => ready(),
      lines: (envId, block, lines) => {
        for (const listener of this.listeners.get(`${envId}\u0000${block}`) ?? []) listener(lines);
      },
    });
    const rpc = this.rpc;
    this.store = {
      write: (batch) => rpc.call('write', batch),
      listRequests: (query) => rpc.call('listRequests', query),
      getRequest: (envId, requestId, now) => rpc.call('getRequest', envId, requestId, now),
      listInstanceLines: (query) => rpc.call('listInstanceLines', query),
      listMetrics: (envId, from, to, now) => rpc.call('listMetrics', envId, from, to, now),
    };
  }

  readonly access = (facts: AccessFacts): void => {
    if (this.closed || this.dead) return;
    if (!this.admit(facts.envId, facts.block)) return;
    let end = this.accessWriter.write(this.accessBytes, this.accessUsed, facts);
    while (end < 0) {
      this.growAccessBytes();
      end = this.accessWriter.write(this.accessBytes, this.accessUsed, facts);
    }
    this.accessUsed = end;
    this.accessCount++;
    this.timer ??= setTimeout(this.post, this.postEveryMs);
  };

  readonly line = (meta: BlockMeta, text: string, stream: 'stdout' | 'stderr'): void =>
    this.push({ k: 'l', m: meta, t: text, s: stream, at: Date.now() }, meta.envId, meta.block);

  readonly event = (meta: BlockMeta, ev: BlockEvent): void => {
    if (ev.type !== 'start') this.push({ k: 'e', m: meta, ev, at: Date.now() }, meta.envId, meta.block);
  };

  subscribe(envId: string, block: string, listener: InstanceListener): () => void {
    const key = `${envId}\u0000${block}`;
    let set = this.listeners.get(key);
    if (!set) {
      this.listeners.set(key, (set = new Set()));
      this.send(() => this.rpc.call('subscribe', envId, block));
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(key) === set) {
        this.listeners.delete(key);
        this.send(() => this.rpc.call('unsubscribe', envId, block));
      }
    };
  }

  /** The worker's counts; entries shed here, before posting, are in its `shed` once posted. */
  async stats(): Promise<LogFeedStats> {
    this.post();
    const s = await this.rpc.call('stats');
    return { ...s, waiting: s.waiting + this.inFlight };
  }

  async flush(): Promise<void> {
    this.post();
    await this.rpc.call('flush');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.post();
    this.closed = true;
    if (!this.dead) await this.shutdown(this.rpc);
  }

  private push(item: FeedItem, envId: string, block: string | undefined): void {
    if (this.closed || this.dead) return;
    if (this.admit(envId, block)) this.buffer.push(item);
    this.timer ??= setTimeout(this.post, this.postEveryMs);
  }

  /** Room left (posted but untaken + waiting here)? If not, the entry is shed and counted. */
  private admit(envId: string, block: string | undefined): boolean {
    if (this.inFlight + this.buffer.length + this.accessCount < this.maxInFlight) return true;
    const key = `${envId}\u0000${block ?? ''}`;
    const entry = this.shed.get(key);
    if (entry) entry[2]++;
    else this.shed.set(key, [envId, block, 1]);
    return false;
  }

  private readonly post = (): void => {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dead || (this.buffer.length === 0 && this.accessCount === 0 && this.shed.size === 0)) return;
    const items = this.buffer;
    const accessCount = this.accessCount;
    const accessLength = this.accessUsed;
    const access = accessCount > 0 ? this.accessBytes.buffer : undefined;
    this.inFlight += items.length + accessCount;
    this.buffer = [];
    if (access) this.accessBytes = Buffer.allocUnsafe(Math.max(ACCESS_BYTES, this.accessBytes.length));
    this.accessUsed = 0;
    this.accessCount = 0;
    const shed = [...this.shed.values()];
    this.shed = new Map();
    const batch: FeedBatch = { access, accessLength, accessCount, items, shed };
    const taken = items.length + accessCount;
    void this.rpc.callTransferring(access ? [access] : [], 'batch', batch).then(
      () => (this.inFlight -= taken),
      () => undefined,
    );
  };

  private growAccessBytes(): void {
    const bigger = Buffer.allocUnsafe(2 * this.accessBytes.length);
    this.accessBytes.copy(bigger, 0, 0, this.accessUsed);
    this.accessBytes = bigger;
  }

  private send(call: () => Promise<unknown>): void {
    if (!this.dead) void call().catch(() => undefined);
  }

  /** The worker stopped: pending calls fail, hooks drop what they get. */
  fail(e: Error): void {
    if (this.dead || this.closed) return;
    this.dead = e;
    console.error(JSON.stringify({ level: 'error', message: 'the log worker stopped: requests are no longer logged', error: e.message }));
    this.rpc.fail(e);
  }
}
