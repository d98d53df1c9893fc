import { createReadStream } from 'node:fs';
import { appendFile, mkdir, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { AccessRecord, ConsoleLineRecord, IndexedBatch, InstanceLineRecord, MetricPartial } from '../../core/logs/log-records';
import type { InstanceLineQuery, LogCursor, LogPage, LogStore, MetricAggregate, RequestQuery } from '../../ports/log-store';

export interface FileLogStoreOptions {
  /** Folder of the append-only segment files (`<KINTO_HOME>/logs`). */
  readonly dir: string;
  /**
   * Most records held (and so searchable) at once; past it the oldest minutes are dropped from
   * memory first, and counted (`evicted`). Files keep them until they expire.
   * @default 500000
   */
  readonly maxRecords?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told how many records were evicted for space, so it is never silent. */
  readonly onEvict?: (count: number, oldestKeptMinute: string) => void;
}

/** How long metric items remember which batches they added (locally a batch is only retried at once). */
const APPLIED_MEMORY_MS = 15 * 60_000;
const SWEEP_MS = 60_000;

type Kind = 'a' | 'l' | 'i' | 'm';
interface Entry {
  readonly k: Kind;
  readonly r: AccessRecord | ConsoleLineRecord | InstanceLineRecord | MetricPartial;
}
interface MetricSlot {
  agg: MetricAggregate;
  applied: Set<string>;
}

/**
 * The LogStore port for the local platform: records appended to hourly NDJSON files (one write
 * per batch) and indexed in memory in the order the logs table's keys give. Chosen over dynalite
 * for the local feed because dynalite writes ~600-900 items/s on the same CPU as the gateway (see
 * bench/README.md); the shared contract suite keeps the two adapters equal.
 */
export class FileLogStore implements LogStore {
  /** envId -> access records ascending by `time#requestId`. */
  private readonly requests = new Map<string, Sorted<AccessRecord>>();
  private readonly accessById = new Map<string, AccessRecord>();
  /** envId\0requestId -> console lines ascending by `time#seq`. */
  private readonly lines = new Map<string, Sorted<ConsoleLineRecord>>();
  /** envId\0block -> instance lines ascending by `time#seq`. */
  private readonly instance = new Map<string, Sorted<InstanceLineRecord>>();
  private readonly metrics = new Map<string, Map<string, MetricSlot>>();
  /** Records per minute held in memory, to choose what to evict. */
  private readonly perMinute = new Map<string, number>();
  /** Segment file -> latest expiry in it, to delete files once everything in them expired. */
  private readonly segments = new Map<string, number>();
  private count = 0;
  private evictedTotal = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private writing: Promise<void> = Promise.resolve();

  private constructor(private readonly options: FileLogStoreOptions) {
    this.now = options.now ?? Date.now;
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** Opens the store, reading back every segment file that still holds unexpired records. */
  static async open(options: FileLogStoreOptions): Promise<FileLogStore> {
    await mkdir(options.dir, { recursive: true });
    const store = new FileLogStore(options);
    await store.replay();
    return store;
  }

  /** Records held in memory now, and how many were evicted for space since start. */
  get stats(): { records: number; evicted: number } {
    return { records: this.count, evicted: this.evictedTotal };
  }

  async write(batch: IndexedBatch): Promise<void> {
    const entries: Entry[] = [];
    for (const r of batch.access) entries.push({ k: 'a', r });
    for (const r of batch.lines) entries.push({ k: 'l', r });
    for (const r of batch.instance) entries.push({ k: 'i', r });
    for (const r of batch.metrics) entries.push({ k: 'm', r });
    if (entries.length === 0) return;
    // One JSON array per record, one string per batch: the cheapest encoding that stays NDJSON.
    const parts: string[] = new Array(entries.length);
    let maxExpiry = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      parts[i] = JSON.stringify(encode(e));
      if (e.r.expiresAt > maxExpiry) maxExpiry = e.r.expiresAt;
    }
    const text = `${parts.join('\n')}\n`;
    const file = `logs-${new Date(this.now()).toISOString().slice(0, 13)}.ndjson`;
    // Appends run one after another so that a segment never interleaves two batches.
    const done = this.writing.then(() => appendFile(join(this.options.dir, file), text));
    this.writing = done.catch(() => undefined);
    await done;
    this.segments.set(file, Math.max(this.segments.get(file) ?? 0, maxExpiry));
    for (const e of entries) this.apply(e);
    if (this.count > (this.options.maxRecords ?? 500_000)) this.evict();
  }

  async listRequests(q: RequestQuery): Promise<LogPage<AccessRecord>> {
    const list = this.requests.get(q.envId);
    if (!list) return { items: [] };
    const end = q.before ? list.lowerBound(`${q.before.time}#${q.before.key}`) : list.items.length;
    const items: AccessRecord[] = [];
    for (let i = end - 1; i >= 0; i--) {
      const r = list.items[i]!;
      if (r.expiresAt <= q.now || (q.block && r.block !== q.block) || (q.status && (r.status < q.status.min || r.status > q.status.max))) continue;
      if (items.length === q.limit) return { items, next: { time: items[items.length - 1]!.time, key: items[items.length - 1]!.requestId } };
      items.push(r);
    }
    return { items };
  }

  async getRequest(envId: string, requestId: string, now: number): Promise<{ access?: AccessRecord; lines: ConsoleLineRecord[] }> {
    const access = this.accessById.get(`${envId}\u0000${requestId}`);
    const lines = (this.lines.get(`${envId}\u0000${requestId}`)?.items ?? []).filter((l) => l.expiresAt > now);
    return { ...(access && access.expiresAt > now ? { access } : {}), lines };
  }

  async listInstanceLines(q: InstanceLineQuery): Promise<LogPage<InstanceLineRecord>> {
    const list = this.instance.get(`${q.envId}\u0000${q.block}`);
    if (!list) return { items: [] };
    // The same inclusive bounds as the logs table's key condition; cursor items are dropped.
    let lo = q.from ?? '';
    let hi = q.to ? `${q.to}#~` : '';
    const beforeKey = q.before ? `${q.before.time}#${q.before.key}` : undefined;
    const afterKey = q.after ? `${q.after.time}#${q.after.key}` : undefined;
    if (afterKey && afterKey > lo) lo = afterKey;
    if (beforeKey && (!hi || beforeKey < hi)) hi = beforeKey;
    if (lo && hi && lo > hi) return { items: [] };
    const start = lo ? list.lowerBound(lo) : 0;
    const end = hi ? list.upperBound(hi) : list.items.length;
    const keep = (r: InstanceLineRecord): boolean => {
      const key = `${r.time}#${r.seq}`;
      if (r.expiresAt <= q.now || key === beforeKey || key === afterKey) return false;
      return !q.search || r.text.toLowerCase().includes(q.search);
    };
    const items: InstanceLineRecord[] = [];
    const cursor = (r: InstanceLineRecord): LogCursor => ({ time: r.time, key: r.seq });
    const step = q.order === 'oldest' ? 1 : -1;
    for (let i = step === 1 ? start : end - 1; i >= start && i < end; i += step) {
      const r = list.items[i]!;
      if (!keep(r)) continue;
      if (items.length === q.limit) return { items, next: cursor(items[items.length - 1]!) };
      items.push(r);
    }
    return { items };
  }

  async listMetrics(envId: string, fromMinute: string, toMinute: string, now: number): Promise<MetricAggregate[]> {
    const out: MetricAggregate[] = [];
    for (const slot of this.metrics.get(envId)?.values() ?? []) {
      const a = slot.agg;
      if (a.minute >= fromMinute && a.minute <= toMinute && a.expiresAt > now) out.push({ ...a, histogram: { ...a.histogram } });
    }
    return out.sort((x, y) => (x.minute === y.minute ? x.block.localeCompare(y.block) : x.minute < y.minute ? -1 : 1));
  }

  /** Waits for appends under way; stops the sweeper. */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.writing;
  }

  private apply(e: Entry): void {
    switch (e.k) {
      case 'a': {
        const r = e.r as AccessRecord;
        const id = `${r.envId}\u0000${r.requestId}`;
        const prev = this.accessById.get(id);
        if (prev) {
          this.requests.get(r.envId)?.remove(`${prev.time}#${prev.requestId}`);
          this.uncount(prev.time);
        }
        this.accessById.set(id, r);
        this.listOf(this.requests, r.envId, (x: AccessRecord) => `${x.time}#${x.requestId}`).insert(r);
        this.counted(r.time);
        return;
      }
      case 'l': {
        const r = e.r as ConsoleLineRecord;
        if (this.listOf(this.lines, `${r.envId}\u0000${r.requestId}`, (x: ConsoleLineRecord) => `${x.time}#${x.seq}`).insert(r)) this.counted(r.time);
        return;
      }
      case 'i': {
        const r = e.r as InstanceLineRecord;
        if (this.listOf(this.instance, `${r.envId}\u0000${r.block}`, (x: InstanceLineRecord) => `${x.time}#${x.seq}`).insert(r)) this.counted(r.time);
        return;
      }
      case 'm':
        return this.addMetric(e.r as MetricPartial);
    }
  }

  private addMetric(p: MetricPartial): void {
    let env = this.metrics.get(p.envId);
    if (!env) this.metrics.set(p.envId, (env = new Map()));
    const key = `${p.minute}#${p.block}`;
    const slot = env.get(key);
    const { batch, ...rest } = p;
    if (!slot) {
      env.set(key, { agg: { ...rest, histogram: { ...p.histogram } }, applied: new Set([batch]) });
      return;
    }
    if (slot.applied.has(batch)) return;
    slot.applied.add(batch);
    const a = slot.agg;
    const histogram = { ...a.histogram };
    for (const b in p.histogram) histogram[b] = (histogram[b] ?? 0) + p.histogram[b]!;
    slot.agg = {
      ...a,
      requests: a.requests + p.requests,
      errors4xx: a.errors4xx + p.errors4xx,
      errors5xx: a.errors5xx + p.errors5xx,
      durationSumMs: a.durationSumMs + p.durationSumMs,
      histogram,
      coldStarts: a.coldStarts + p.coldStarts,
      coldStartSumMs: a.coldStartSumMs + p.coldStartSumMs,
      expiresAt: p.expiresAt,
    };
  }

  private listOf<T>(map: Map<string, Sorted<T>>, key: string, keyOf: (r: T) => string): Sorted<T> {
    let list = map.get(key);
    if (!list) map.set(key, (list = new Sorted(keyOf)));
    return list;
  }

  private lastMinute = '';
  private lastMinuteCount = 0;

  private counted(time: string): void {
    this.count++;
    // Records arrive grouped by minute: count into the current one, store it when it changes.
    if (time.startsWith(this.lastMinute) && this.lastMinute) {
      this.perMinute.set(this.lastMinute, ++this.lastMinuteCount);
      return;
    }
    const m = time.slice(0, 16);
    this.lastMinute = m;
    this.lastMinuteCount = (this.perMinute.get(m) ?? 0) + 1;
    this.perMinute.set(m, this.lastMinuteCount);
  }

  private uncount(time: string): void {
    this.count--;
    this.lastMinute = '';
    const m = time.slice(0, 16);
    const n = (this.perMinute.get(m) ?? 1) - 1;
    if (n <= 0) this.perMinute.delete(m);
    else this.perMinute.set(m, n);
  }

  /** Drops the oldest minutes until 90 % of the cap is left. */
  private evict(): void {
    const target = Math.floor((this.options.maxRecords ?? 500_000) * 0.9);
    const minutes = [...this.perMinute.keys()].sort();
    let remaining = this.count;
    let cutoff = '';
    for (const m of minutes) {
      if (remaining <= target) break;
      remaining -= this.perMinute.get(m)!;
      cutoff = m;
    }
    if (!cutoff) return;
    const before = this.count;
    this.removeWhere((time) => time.slice(0, 16) <= cutoff);
    const evicted = before - this.count;
    this.evictedTotal += evicted;
    this.options.onEvict?.(evicted, cutoff);
  }

  /** Drops expired records and forgets old applied-batch sets; deletes fully expired segment files. */
  private async sweep(): Promise<void> {
    const nowS = Math.floor(this.now() / 1000);
    this.removeWhere((_time, expiresAt) => expiresAt <= nowS);
    const appliedBefore = new Date(this.now() - APPLIED_MEMORY_MS).toISOString().slice(0, 16);
    for (const [envId, env] of this.metrics) {
      for (const [key, slot] of env) {
        if (slot.agg.expiresAt <= nowS) env.delete(key);
        else if (slot.agg.minute < appliedBefore) slot.applied.clear();
      }
      if (env.size === 0) this.metrics.delete(envId);
    }
    for (const [file, expiry] of this.segments) {
      if (expiry <= nowS) {
        this.segments.delete(file);
        await unlink(join(this.options.dir, file)).catch(() => undefined);
      }
    }
  }

  private removeWhere(drop: (time: string, expiresAt: number) => boolean): void {
    for (const [envId, list] of this.requests) {
      for (const r of list.removeWhere((r) => drop(r.time, r.expiresAt))) {
        this.accessById.delete(`${r.envId}\u0000${r.requestId}`);
        this.uncount(r.time);
      }
      if (list.items.length === 0) this.requests.delete(envId);
    }
    for (const map of [this.lines, this.instance] as unknown as Map<string, Sorted<{ time: string; expiresAt: number }>>[]) {
      for (const [key, list] of map) {
        for (const r of list.removeWhere((r) => drop(r.time, r.expiresAt))) this.uncount(r.time);
        if (list.items.length === 0) map.delete(key);
      }
    }
  }

  private async replay(): Promise<void> {
    const nowS = Math.floor(this.now() / 1000);
    const files = (await readdir(this.options.dir)).filter((f) => /^logs-.*\.ndjson$/.test(f)).sort();
    for (const file of files) {
      let maxExpiry = 0;
      const lines = createInterface({ input: createReadStream(join(this.options.dir, file), 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        let e: Entry | undefined;
        try {
          e = decode(JSON.parse(line));
        } catch {
          e = undefined; // a line cut short by a crash mid-append
        }
        if (!e || typeof e.r.expiresAt !== 'number') continue;
        if (e.r.expiresAt > maxExpiry) maxExpiry = e.r.expiresAt;
        if (e.r.expiresAt > nowS) this.apply(e);
      }
      if (maxExpiry <= nowS) await unlink(join(this.options.dir, file)).catch(() => undefined);
      else this.segments.set(file, maxExpiry);
    }
    if (this.count > (this.options.maxRecords ?? 500_000)) this.evict();
  }
}

/** Records kept in ascending key order, each key computed once; appends (the common case) are O(1). */
class Sorted<T> {
  items: T[] = [];
  private keys: string[] = [];

  constructor(private readonly keyOf: (r: T) => string) {}

  /** Inserts, or replaces the record with the same key; true when it was new. */
  insert(r: T): boolean {
    const key = this.keyOf(r);
    const n = this.keys.length;
    if (n === 0 || this.keys[n - 1]! < key) {
      this.items.push(r);
      this.keys.push(key);
      return true;
    }
    const i = this.lowerBound(key);
    if (i < n && this.keys[i] === key) {
      this.items[i] = r;
      return false;
    }
    this.items.splice(i, 0, r);
    this.keys.splice(i, 0, key);
    return true;
  }

  remove(key: string): void {
    const i = this.lowerBound(key);
    if (i < this.keys.length && this.keys[i] === key) {
      this.items.splice(i, 1);
      this.keys.splice(i, 1);
    }
  }

  /** First index whose key is >= `key`. */
  lowerBound(key: string): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose key is > `key`. */
  upperBound(key: string): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! <= key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Removes and returns the records `drop` selects. */
  removeWhere(drop: (r: T) => boolean): T[] {
    const removed: T[] = [];
    const items: T[] = [];
    const keys: string[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const r = this.items[i]!;
      if (drop(r)) removed.push(r);
      else {
        items.push(r);
        keys.push(this.keys[i]!);
      }
    }
    if (removed.length) {
      this.items = items;
      this.keys = keys;
    }
    return removed;
  }
}

/**
 * Segment lines are JSON arrays in a fixed field order (no key names): `["a", …]` access,
 * `["l", …]` console line, `["i", …]` instance line, `["m", {partial}]` metrics.
 */
type Encoded = readonly unknown[];

function encode(e: Entry): Encoded {
  switch (e.k) {
    case 'a': {
      const r = e.r as AccessRecord;
      return ['a', r.envId, r.requestId, r.time, r.method, r.path, r.block ?? null, r.release ?? null, r.commit ?? null, r.status, r.durationMs, r.clientId ?? null, r.lambdaRequestId ?? null, r.expiresAt];
    }
    case 'l': {
      const r = e.r as ConsoleLineRecord;
      return ['l', r.envId, r.requestId, r.time, r.seq, r.block, r.release ?? null, r.commit ?? null, r.stream, r.text, r.truncated ? 1 : 0, r.expiresAt];
    }
    case 'i': {
      const r = e.r as InstanceLineRecord;
      return ['i', r.envId, r.block, r.time, r.seq, r.stream, r.text, r.release ?? null, r.commit ?? null, r.truncated ? 1 : 0, r.report ?? null, r.expiresAt];
    }
    case 'm':
      return ['m', e.r];
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function decode(v: unknown): Entry | undefined {
  if (!Array.isArray(v)) return undefined;
  switch (v[0]) {
    case 'a': {
      const r: Record<string, unknown> = { envId: v[1], requestId: v[2], time: v[3], method: v[4], path: v[5], status: v[9], durationMs: v[10], expiresAt: v[13] };
      for (const [k, i] of [['block', 6], ['release', 7], ['commit', 8], ['clientId', 11], ['lambdaRequestId', 12]] as const) if (str(v[i]) !== undefined) r[k] = v[i];
      return { k: 'a', r: r as unknown as AccessRecord };
    }
    case 'l': {
      const r: Record<string, unknown> = { envId: v[1], requestId: v[2], time: v[3], seq: v[4], block: v[5], stream: v[8], text: v[9], expiresAt: v[11] };
      if (str(v[6]) !== undefined) r.release = v[6];
      if (str(v[7]) !== undefined) r.commit = v[7];
      if (v[10] === 1) r.truncated = true;
      return { k: 'l', r: r as unknown as ConsoleLineRecord };
    }
    case 'i': {
      const r: Record<string, unknown> = { envId: v[1], block: v[2], time: v[3], seq: v[4], stream: v[5], text: v[6], expiresAt: v[11] };
      if (str(v[7]) !== undefined) r.release = v[7];
      if (str(v[8]) !== undefined) r.commit = v[8];
      if (v[9] === 1) r.truncated = true;
      if (v[10] && typeof v[10] === 'object') r.report = v[10];
      return { k: 'i', r: r as unknown as InstanceLineRecord };
    }
    case 'm':
      return v[1] && typeof v[1] === 'object' ? { k: 'm', r: v[1] as MetricPartial } : undefined;
    default:
      return undefined;
  }
}
