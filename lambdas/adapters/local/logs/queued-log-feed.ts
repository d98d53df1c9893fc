import { randomBytes } from 'node:crypto';
import { parseAccessLine } from './access-row';
import { DEFAULT_RETENTION_MS, type BlockSource } from '../../../core/logs/index-log-events';
import { AccessRowBatchBuilder } from './access-row-batch';
import { accessEntryOf, type AccessFacts } from './access-line-writer';
import { emptySummary, type AccessEntry, type IndexSummary, type InstanceLineRecord } from '../../../core/logs/log-records';
import type { LogStore } from '../../../ports/log-store';
import type { InstanceListener, LogFeed, LogFeedStats } from './log-feed';
import type { BlockEvent, BlockMeta } from '../runtime/local-runtime';

export interface QueuedLogFeedOptions {
  /**
   * Where batches go. A store with `readsAccessRows` (the file store) gets access records as rows
   * (`IndexedBatch.accessRows`): the gateway's entries then reach it without an object each.
   */
  readonly store: LogStore & { readonly readsAccessRows?: boolean };
  /** @default 2 days */
  readonly retentionMs?: number;
  /** How long entries wait to be indexed together. @default 100 */
  readonly flushMs?: number;
  /**
   * Entries waiting at most; past it new ones are shed (counted, reported as a warning line in the
   * block's instance log and on the platform's stderr). @default 200000
   */
  readonly maxQueued?: number;
  /** @default console.warn */
  readonly warn?: (line: string) => void;
}

/** One thing to index, as the hooks saw it (also what the log worker receives, cloned). */
export type FeedItem =
  | { readonly k: 'a'; readonly e: AccessEntry }
  | { readonly k: 'l'; readonly m: BlockMeta; readonly t: string; readonly s: 'stdout' | 'stderr'; readonly at: number }
  | { readonly k: 'e'; readonly m: BlockMeta; readonly ev: BlockEvent; readonly at: number };
/** Queued: a hook's item, or `n` access entries as access lines (`accessLine`, from the log worker's client). */
type Queued = FeedItem | { readonly k: 'A'; readonly text: string; readonly n: number };

const WRITE_TRIES = 4;
/** At most one summary line of unusable input per this long (plain lines are normal output, not counted here). */
const SUMMARY_EVERY_MS = 60_000;

/**
 * The local feed of the log index: the gateway's access entries and the blocks' output and
 * lifecycle events. The request path only appends to a queue (no parsing, no I/O); every
 * `flushMs` the queue is indexed by the core (`LogBatchBuilder`) and written to the store in one
 * batch, one write at a time. The queue is bounded and nothing leaves it silently: shed entries
 * and failed writes are counted and reported.
 */
export class QueuedLogFeed implements LogFeed {
  private queue: Queued[] = [];
  /** Entries in the queue (an item of access lines holds many). */
  private waiting = 0;
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;
  private seq = 0;
  private batchNo = 0;
  private readonly bootId = randomBytes(4).toString('hex');
  /** Shed entries per `envId\0block` since the last flush (for the warning line). */
  private shedSince = new Map<string, number>();
  private readonly listeners = new Map<string, Set<InstanceListener>>();
  private closed = false;
  private readonly counters = { queued: 0, indexed: 0, shed: 0, lost: 0, batches: 0 };
  /** What the indexer counted since start, and since the last summary line. */
  private readonly total: IndexSummary = emptySummary();
  private sinceSummary = { truncated: 0, invalidUtf8: 0, invalidAccess: 0 };
  private lastSummaryAt = 0;
  private readonly maxQueued: number;
  private readonly flushMs: number;
  private readonly warn: (line: string) => void;

  constructor(private readonly options: QueuedLogFeedOptions) {
    this.maxQueued = options.maxQueued ?? 200_000;
    this.flushMs = options.flushMs ?? 100;
    this.warn = options.warn ?? ((line) => console.warn(line));
  }

  /** Gateway hook: one call per request (the facts are copied: the gateway refills them). */
  readonly access = (facts: AccessFacts): void => {
    if (this.admit(facts.envId, facts.block)) this.push({ k: 'a', e: accessEntryOf(facts) });
  };

  /** Runtime hook: one call per line a block writes. */
  readonly line = (meta: BlockMeta, text: string, stream: 'stdout' | 'stderr'): void => {
    if (this.admit(meta.envId, meta.block)) this.push({ k: 'l', m: meta, t: text, s: stream, at: Date.now() });
  };

  /** Runtime hook: block lifecycle (start, ready, exit, idle stop, jobs). */
  readonly event = (meta: BlockMeta, ev: BlockEvent): void => {
    if (ev.type === 'start') return; // `ready` (or `exit`) follows with the facts
    if (this.admit(meta.envId, meta.block)) this.push({ k: 'e', m: meta, ev, at: Date.now() });
  };

  /** Items seen elsewhere (the log worker's main-thread side), with their own times. */
  ingest(items: readonly FeedItem[]): void {
    for (const item of items) {
      const block = item.k === 'a' ? item.e.block : item.m.block;
      if (this.admit(item.k === 'a' ? item.e.envId : item.m.envId, block)) this.push(item);
    }
  }

  /**
   * `n` access entries as access lines (`accessLine`), queued as one item: they are indexed from
   * the text, never split into objects here. Past the queue's room the rest are shed (counted).
   */
  ingestAccessLines(text: string, n: number): void {
    if (n === 0 || this.closed) return;
    const room = Math.max(0, this.maxQueued - this.waiting);
    let kept = text;
    let keptCount = n;
    if (n > room) {
      let cut = 0;
      for (let i = 0; i < room; i++) cut = text.indexOf('\n', cut) + 1;
      kept = text.slice(0, cut);
      keptCount = room;
      for (let at = cut; at < text.length;) {
        let end = text.indexOf('\n', at);
        if (end < 0) end = text.length;
        const f = parseAccessLine(text, at, end);
        this.recordShed(f?.envId ?? '', f?.block, 1);
        at = end + 1;
      }
    }
    if (keptCount === 0) return;
    this.counters.queued += keptCount;
    this.queue.push({ k: 'A', text: kept, n: keptCount });
    this.waiting += keptCount;
    if (!this.timer && !this.writing) this.schedule();
  }

  /** Entries shed before they reached this feed: counted and reported like its own. */
  recordShed(envId: string, block: string | undefined, count: number): void {
    this.counters.shed += count;
    const key = `${envId}\u0000${block ?? ''}`;
    this.shedSince.set(key, (this.shedSince.get(key) ?? 0) + count);
    if (!this.timer && !this.writing) this.schedule();
  }

  /** Instance lines of one block as they are stored (the local follow stream). Returns unsubscribe. */
  subscribe(envId: string, block: string, listener: InstanceListener): () => void {
    const key = `${envId}\u0000${block}`;
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(key);
    };
  }

  async stats(): Promise<LogFeedStats> {
    return { ...this.counters, waiting: this.waiting, summary: { ...this.total } };
  }

  /** Indexes and writes everything queued so far; resolves when it is stored. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    if (this.waiting === 0 && this.shedSince.size === 0) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writeQueued().finally(() => {
      this.writing = undefined;
      if (this.waiting > 0 && !this.closed) this.schedule();
    });
    await this.writing;
  }

  /** Stops taking entries and writes what is queued. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.flush();
    while (this.waiting > 0) await this.flush();
  }

  private push(item: Queued): void {
    this.queue.push(item);
    this.waiting++;
  }

  private admit(envId: string, block: string | undefined): boolean {
    if (this.closed) return false;
    if (this.waiting >= this.maxQueued) {
      this.counters.shed++;
      const key = `${envId}\u0000${block ?? ''}`;
      this.shedSince.set(key, (this.shedSince.get(key) ?? 0) + 1);
      return false;
    }
    this.counters.queued++;
    if (!this.timer && !this.writing) this.schedule();
    return true;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.flushMs);
  }

  private async writeQueued(): Promise<void> {
    const items = this.queue;
    const entries = this.waiting;
    this.queue = [];
    this.waiting = 0;
    const shed = this.shedSince;
    this.shedSince = new Map();
    const builder = new AccessRowBatchBuilder({
      batch: `${this.bootId}-${++this.batchNo}`,
      retentionMs: this.options.retentionMs ?? DEFAULT_RETENTION_MS,
      lossy: true,
      rows: this.options.store.readsAccessRows === true,
    });
    for (const q of items) {
      if (q.k === 'A') builder.addAccessLines(q.text);
      else if (q.k === 'a') builder.addAccess(q.e);
      else if (q.k === 'l') builder.addBlockLine(sourceOf(q.m), { time: q.at, seq: this.nextSeq(), text: q.t, stream: q.s });
      else {
        const text = describeEvent(q.ev);
        if (text) builder.addPlatformEvent(sourceOf(q.m), q.at, this.nextSeq(), text, q.ev.type === 'ready' ? q.ev.ms : undefined);
      }
    }
    let shedTotal = 0;
    for (const [key, count] of shed) {
      shedTotal += count;
      const [envId, block] = key.split('\u0000') as [string, string];
      builder.addShed(count);
      // Said where the user looks: the block's own instance log.
      if (block)
        builder.addPlatformEvent(
          { kind: 'block', envId, block },
          Date.now(),
          this.nextSeq(),
          `kinto: ${count} log entries were dropped because the log buffer was full (${this.maxQueued} waiting); logs arrive faster than they can be indexed.`,
        );
    }
    if (shedTotal > 0)
      this.warn(
        JSON.stringify({
          level: 'warn',
          message: 'log entries shed: the local log buffer was full',
          shed: shedTotal,
          shedTotal: this.counters.shed,
          maxQueued: this.maxQueued,
        }),
      );
    const batch = builder.build();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.store.write(batch);
        break;
      } catch (e) {
        if (attempt >= WRITE_TRIES) {
          const lost = batch.summary.accessEntries + batch.lines.length + batch.instance.length;
          this.counters.lost += lost;
          this.warn(
            JSON.stringify({
              level: 'error',
              message: 'log batch lost: the log store kept failing',
              lost,
              lostTotal: this.counters.lost,
              error: (e as Error).message,
            }),
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    this.counters.indexed += entries;
    this.counters.batches++;
    this.summarize(batch.summary);
    if (this.listeners.size > 0) this.publish(batch.instance);
  }

  /** Adds a batch's counts up; says so (rate-limited) when lines were cut, badly encoded or unreadable. */
  private summarize(s: IndexSummary): void {
    for (const k of Object.keys(s) as (keyof IndexSummary)[]) this.total[k] += s[k];
    this.sinceSummary.truncated += s.truncated;
    this.sinceSummary.invalidUtf8 += s.invalidUtf8;
    this.sinceSummary.invalidAccess += s.invalidAccess;
    const { truncated, invalidUtf8, invalidAccess } = this.sinceSummary;
    if (truncated + invalidUtf8 + invalidAccess === 0 || Date.now() - this.lastSummaryAt < SUMMARY_EVERY_MS) return;
    this.lastSummaryAt = Date.now();
    this.sinceSummary = { truncated: 0, invalidUtf8: 0, invalidAccess: 0 };
    this.warn(
      JSON.stringify({
        level: 'warn',
        message: "log lines indexed with problems (kept; see the blocks' instance logs)",
        truncated,
        invalidUtf8,
        invalidAccess,
        totals: this.total,
      }),
    );
  }

  private publish(lines: readonly InstanceLineRecord[]): void {
    const byBlock = new Map<string, InstanceLineRecord[]>();
    for (const l of lines) {
      const key = `${l.envId}\u0000${l.block}`;
      if (!this.listeners.has(key)) continue;
      let list = byBlock.get(key);
      if (!list) byBlock.set(key, (list = []));
      list.push(l);
    }
    for (const [key, list] of byBlock) for (const listener of this.listeners.get(key) ?? []) listener(list);
  }

  /** Sortable within a millisecond; unique for this process (keys also hold the time). */
  private nextSeq(): string {
    return `${this.bootId}${String(++this.seq).padStart(10, '0')}`;
  }
}

function sourceOf(m: BlockMeta): BlockSource {
  return { kind: 'block', envId: m.envId, block: m.block, release: m.release, ...(m.commit ? { commit: m.commit } : {}) };
}

function describeEvent(ev: BlockEvent): string | undefined {
  switch (ev.type) {
    case 'ready':
      return `kinto: block started (woke) in ${ev.ms ?? '?'} ms`;
    case 'exit':
      return ev.signal ? `kinto: block process stopped by ${ev.signal}` : `kinto: block process exited with code ${ev.code}`;
    case 'idle-stop':
      return 'kinto: block stopped after being idle (it starts again on the next request)';
    case 'start-failed':
      return `kinto: ${ev.reason ?? 'the block could not start'}`;
    case 'restart':
      return `kinto: always on: starting it again in ${Math.round((ev.ms ?? 0) / 1000)} s`;
    case 'job-start':
      return `kinto: job started (${ev.reason ?? 'run'})`;
    case 'job-end':
      return ev.ok
        ? `kinto: job finished in ${ev.ms ?? '?'} ms`
        : `kinto: job failed after ${ev.ms ?? '?'} ms: ${ev.reason ?? 'unknown reason'}`;
    default:
      return undefined;
  }
}

/** Log settings of the local platform, from environment variables. */
export interface LocalLogSettings {
  /** `KINTO_LOG_RETENTION_HOURS`, default 48. */
  readonly retentionMs: number;
  /** `KINTO_LOG_MAX_ENTRIES`, default 500000: entries held in memory (searchable) at most. */
  readonly maxRecords: number;
  /** `KINTO_LOG_STORE`: `files` (default), `dynamodb` (the logs table on dynalite) or `off`. */
  readonly store: 'files' | 'dynamodb' | 'off';
}

export function readLocalLogSettings(env: NodeJS.ProcessEnv = process.env): LocalLogSettings {
  const number = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`${name} must be a number from ${min} to ${max} (got ${JSON.stringify(raw)}).`);
    return n;
  };
  const store = env.KINTO_LOG_STORE || 'files';
  if (store !== 'files' && store !== 'dynamodb' && store !== 'off')
    throw new Error(`KINTO_LOG_STORE must be files, dynamodb or off (got ${JSON.stringify(store)}).`);
  return {
    store,
    retentionMs: number('KINTO_LOG_RETENTION_HOURS', 48, 0.01, 24 * 366) * 3600_000,
    maxRecords: Math.round(number('KINTO_LOG_MAX_ENTRIES', 500_000, 1000, 100_000_000)),
  };
}
