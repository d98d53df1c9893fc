import { join } from 'node:path';
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { AccessLineWriter, type AccessFacts } from '../../core/logs/access-line-writer';
import type { LogStore } from '../../ports/log-store';
import type { FeedItem } from './local-log-feed';
import type { InstanceListener, LogFeed, LogFeedStats } from './log-feed';
import type { FromWorker, LogWorkerData, ToWorker } from './log-worker';
import { deserializeError } from './thread-rpc';
import type { BlockEvent, BlockMeta } from './local-runtime';
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
  const client = new LogWorkerClient(worker, options.postEveryMs ?? 50, options.maxInFlight ?? 200_000, async (call) => {
    try {
      await call('close');
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
      worker.postMessage({ t: 'attach', port: port1 } satisfies ToWorker, [port1]);
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
export async function connectLogFeed(port: MessagePort, options: Pick<LogWorkerOptions, 'postEveryMs' | 'maxInFlight'> = {}): Promise<LogFeed> {
  const client = new LogWorkerClient(port, options.postEveryMs ?? 50, options.maxInFlight ?? 200_000, async (call) => {
    try {
      await call('flush');
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
   * Access entries as access lines (core/logs/access-row.ts), written as Latin-1 bytes as they
   * come (`AccessLineWriter`: no string per request) and handed to the worker whole (transferred,
   * not copied). Lines built as strings were garbage for this busy heap's young-generation
   * collections, and those kept for the 50 ms until posting survived them; flattening them then
   * cost ~1 µs per request.
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
  private nextId = 0;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  private readonly listeners = new Map<string, Set<InstanceListener>>();

  constructor(
    private readonly worker: Worker | MessagePort,
    private readonly postEveryMs: number,
    private readonly maxInFlight: number,
    /** Ends the conversation (`call('close')` for the worker's owner, `call('flush')` for an attached feed). */
    private readonly shutdown: (call: (method: 'close' | 'flush') => Promise<unknown>) => Promise<void>,
  ) {
    this.ready = new Promise((resolve) => {
      worker.on('message', (m: FromWorker) => (m.t === 'ready' ? resolve() : this.receive(m)));
    });
    const call = (method: keyof LogStore) => (...args: unknown[]) => this.call(method, args);
    this.store = {
      write: call('write') as LogStore['write'],
      listRequests: call('listRequests') as LogStore['listRequests'],
      getRequest: call('getRequest') as LogStore['getRequest'],
      listInstanceLines: call('listInstanceLines') as LogStore['listInstanceLines'],
      listMetrics: call('listMetrics') as LogStore['listMetrics'],
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

  readonly line = (meta: BlockMeta, text: string, stream: 'stdout' | 'stderr'): void => this.push({ k: 'l', m: meta, t: text, s: stream, at: Date.now() }, meta.envId, meta.block);

  readonly event = (meta: BlockMeta, ev: BlockEvent): void => {
    if (ev.type !== 'start') this.push({ k: 'e', m: meta, ev, at: Date.now() }, meta.envId, meta.block);
  };

  subscribe(envId: string, block: string, listener: InstanceListener): () => void {
    const key = `${envId}\u0000${block}`;
    let set = this.listeners.get(key);
    if (!set) {
      this.listeners.set(key, (set = new Set()));
      this.send({ t: 'subscribe', envId, block });
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(key) === set) {
        this.listeners.delete(key);
        this.send({ t: 'unsubscribe', envId, block });
      }
    };
  }

  /** The worker's counts; entries shed here, before posting, are in its `shed` once posted. */
  async stats(): Promise<LogFeedStats> {
    this.post();
    const s: LogFeedStats = await this.call('stats', []);
    return { ...s, waiting: s.waiting + this.inFlight };
  }

  async flush(): Promise<void> {
    this.post();
    await this.call('flush', []);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.post();
    this.closed = true;
    await this.shutdown((method) => (this.dead ? Promise.resolve() : this.call(method, [])));
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
    if (!this.dead) this.worker.postMessage({ t: 'batch', access, accessLength, accessCount, items, shed } satisfies ToWorker, access ? [access] : []);
  };

  private growAccessBytes(): void {
    const bigger = Buffer.allocUnsafe(2 * this.accessBytes.length);
    this.accessBytes.copy(bigger, 0, 0, this.accessUsed);
    this.accessBytes = bigger;
  }

  private call(method: keyof LogStore | 'flush' | 'close' | 'stats', args: unknown[]): Promise<never> {
    if (this.dead) return Promise.reject(this.dead);
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.send({ t: 'call', id, method, args });
    });
  }

  private send(m: ToWorker): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  private receive(m: FromWorker): void {
    if (m.t === 'ack') this.inFlight -= m.n;
    else if (m.t === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.error) p?.reject(deserializeError(m.error));
      else p?.resolve(m.value);
    } else if (m.t === 'lines') {
      for (const listener of this.listeners.get(`${m.envId}\u0000${m.block}`) ?? []) listener(m.lines as never);
    }
  }

  /** The worker stopped: pending calls fail, hooks drop what they get. */
  fail(e: Error): void {
    if (this.dead || this.closed) return;
    this.dead = e;
    console.error(JSON.stringify({ level: 'error', message: 'the log worker stopped: requests are no longer logged', error: e.message }));
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
