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
   * Most records held (and so searchable) at once; past it the oldest seconds are dropped from
   * memory first, and counted (`evicted`). Files keep them until they expire.
   * @default 500000
   */
  readonly maxRecords?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Told how many records were evicted for space, so it is never silent. */
  readonly onEvict?: (count: number, upToSecond: string) => void;
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
  /** envId -> access records ascending by (time, requestId). */
  private readonly requests = new Map<string, Ordered<AccessRecord>>();
  /** envId\0requestId -> the request's access entry and console lines (ascending by (time, seq)). */
  private readonly byRequest = new Map<string, RequestSlot>();
  /** envId\0block -> instance lines ascending by (time, seq). */
  private readonly instance = new Map<string, Ordered<InstanceLineRecord>>();
  private readonly metrics = new Map<string, Map<string, MetricSlot>>();
  /** Records per second (`YYYY-MM-DDTHH:MM:SS`) held in memory, to choose what to evict. */
  private readonly perSecond = new Map<string, number>();
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
    const { access, lines, instance, metrics } = batch;
    if (access.length + lines.length + instance.length + metrics.length === 0) return;
    let maxExpiry = 0;
    for (const list of [access, lines, instance, metrics]) for (const r of list) if (r.expiresAt > maxExpiry) maxExpiry = r.expiresAt;
    // One JSON line per batch: V8 stringifies arrays of same-shaped records about twice as fast as
    // one call per record. A line cut short by a crash loses that batch only.
    const text = `${JSON.stringify({ v: 1, a: access, l: lines, i: instance, m: metrics })}\n`;
    const file = `logs-${new Date(this.now()).toISOString().slice(0, 13)}.ndjson`;
    // Appends run one after another so that a segment never interleaves two batches.
    const done = this.writing.then(() => appendFile(join(this.options.dir, file), text));
    this.writing = done.catch(() => undefined);
    await done;
    this.segments.set(file, Math.max(this.segments.get(file) ?? 0, maxExpiry));
    this.applyBatch(access, lines, instance, metrics);
    if (this.count > (this.options.maxRecords ?? 500_000)) this.evict();
  }

  async listRequests(q: RequestQuery): Promise<LogPage<AccessRecord>> {
    const list = this.requests.get(q.envId);
    if (!list) return { items: [] };
    const end = q.before ? list.lowerBound(q.before.time, q.before.key) : list.items.length;
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
    const slot = this.byRequest.get(`${envId}\u0000${requestId}`);
    const access = slot?.access;
    const lines = (slot?.lines ?? []).filter((l) => l.expiresAt > now);
    return { ...(access && access.expiresAt > now ? { access } : {}), lines };
  }

  async listInstanceLines(q: InstanceLineQuery): Promise<LogPage<InstanceLineRecord>> {
    const list = this.instance.get(`${q.envId}\u0000${q.block}`);
    if (!list) return { items: [] };
    // The same inclusive bounds as the logs table's key condition (`time#seq` strings compare as
    // (time, seq) pairs: times have one length); cursor items are dropped.
    let lo: Pos = q.from ? [q.from, ''] : undefined;
    let hi: Pos = q.to ? [q.to, '~'] : undefined;
    const before: Pos = q.before ? [q.before.time, q.before.key] : undefined;
    const after: Pos = q.after ? [q.after.time, q.after.key] : undefined;
    if (after && (!lo || cmp(after, lo) > 0)) lo = after;
    if (before && (!hi || cmp(before, hi) < 0)) hi = before;
    if (lo && hi && cmp(lo, hi) > 0) return { items: [] };
    const start = lo ? list.lowerBound(lo[0], lo[1]) : 0;
    const end = hi ? list.upperBound(hi[0], hi[1]) : list.items.length;
    const isCursor = (r: InstanceLineRecord): boolean => (before !== undefined && r.time === before[0] && r.seq === before[1]) || (after !== undefined && r.time === after[0] && r.seq === after[1]);
    const keep = (r: InstanceLineRecord): boolean => {
      if (r.expiresAt <= q.now || isCursor(r)) return false;
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

  private applyBatch(access: readonly AccessRecord[], lines: readonly ConsoleLineRecord[], instance: readonly InstanceLineRecord[], metrics: readonly MetricPartial[], liveAfter = 0): void {
    for (const r of access) if (r.expiresAt > liveAfter) this.apply({ k: 'a', r });
    for (const r of lines) if (r.expiresAt > liveAfter) this.apply({ k: 'l', r });
    for (const r of instance) if (r.expiresAt > liveAfter) this.apply({ k: 'i', r });
    for (const r of metrics) if (r.expiresAt > liveAfter) this.apply({ k: 'm', r });
  }

  private apply(e: Entry): void {
    switch (e.k) {
      case 'a': {
        const r = e.r as AccessRecord;
        const slot = this.slot(r.envId, r.requestId);
        const prev = slot.access;
        if (prev) {
          this.requests.get(r.envId)?.remove(prev.time, prev.requestId);
          this.uncount(prev.time);
        }
        slot.access = r;
        let list = this.requests.get(r.envId);
        if (!list) this.requests.set(r.envId, (list = new Ordered(requestIdOf)));
        list.insert(r);
        this.counted(r.time);
        return;
      }
      case 'l': {
        const r = e.r as ConsoleLineRecord;
        const slot = this.slot(r.envId, r.requestId);
        if (insertOrdered((slot.lines ??= []), r, seqOf)) this.counted(r.time);
        return;
      }
      case 'i': {
        const r = e.r as InstanceLineRecord;
        const key = `${r.envId}\u0000${r.block}`;
        let list = this.instance.get(key);
        if (!list) this.instance.set(key, (list = new Ordered<InstanceLineRecord>(seqOf)));
        if (list.insert(r)) this.counted(r.time);
        return;
      }
      case 'm':
        return this.addMetric(e.r as MetricPartial);
    }
  }

  private slot(envId: string, requestId: string): RequestSlot {
    const key = `${envId}\u0000${requestId}`;
    let slot = this.byRequest.get(key);
    if (!slot) this.byRequest.set(key, (slot = {}));
    return slot;
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

  private lastSecond = '';
  private lastSecondCount = 0;

  private counted(time: string): void {
    this.count++;
    // Records arrive grouped in time: count into the current second without slicing each time.
    if (this.lastSecond && time.startsWith(this.lastSecond)) {
      this.perSecond.set(this.lastSecond, ++this.lastSecondCount);
      return;
    }
    const sec = time.slice(0, 19);
    this.lastSecond = sec;
    this.lastSecondCount = (this.perSecond.get(sec) ?? 0) + 1;
    this.perSecond.set(sec, this.lastSecondCount);
  }

  private uncount(time: string): void {
    this.count--;
    this.lastSecond = '';
    const sec = time.slice(0, 19);
    const n = (this.perSecond.get(sec) ?? 1) - 1;
    if (n <= 0) this.perSecond.delete(sec);
    else this.perSecond.set(sec, n);
  }

  /**
   * Drops the oldest seconds until 80 % of the cap is left (each pass walks every list, so it
   * should not run for every few new records); never the newest second.
   */
  private evict(): void {
    const target = Math.floor((this.options.maxRecords ?? 500_000) * 0.8);
    const seconds = [...this.perSecond.keys()].sort();
    seconds.pop();
    let remaining = this.count;
    let cutoff = '';
    for (const sec of seconds) {
      if (remaining <= target) break;
      remaining -= this.perSecond.get(sec)!;
      cutoff = sec;
    }
    if (!cutoff) return;
    const before = this.count;
    this.removeWhere((time) => time.slice(0, 19) <= cutoff);
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
        const slot = this.byRequest.get(`${r.envId}\u0000${r.requestId}`);
        if (slot?.access === r) slot.access = undefined;
        this.uncount(r.time);
      }
      if (list.items.length === 0) this.requests.delete(envId);
    }
    for (const [key, slot] of this.byRequest) {
      if (slot.lines) {
        const kept: ConsoleLineRecord[] = [];
        for (const l of slot.lines) {
          if (drop(l.time, l.expiresAt)) this.uncount(l.time);
          else kept.push(l);
        }
        slot.lines = kept.length ? kept : undefined;
      }
      if (!slot.access && !slot.lines) this.byRequest.delete(key);
    }
    for (const [key, list] of this.instance) {
      for (const r of list.removeWhere((r) => drop(r.time, r.expiresAt))) this.uncount(r.time);
      if (list.items.length === 0) this.instance.delete(key);
    }
  }

  private async replay(): Promise<void> {
    const nowS = Math.floor(this.now() / 1000);
    const files = (await readdir(this.options.dir)).filter((f) => /^logs-.*\.ndjson$/.test(f)).sort();
    for (const file of files) {
      let maxExpiry = 0;
      const lines = createInterface({ input: createReadStream(join(this.options.dir, file), 'utf8'), crlfDelay: Infinity });
      for await (const line of lines) {
        let b: { v?: unknown; a?: unknown; l?: unknown; i?: unknown; m?: unknown } | undefined;
        try {
          b = JSON.parse(line);
        } catch {
          continue; // a line cut short by a crash mid-append
        }
        if (!b || b.v !== 1) continue;
        const list = <T extends { expiresAt: number }>(v: unknown): T[] => (Array.isArray(v) ? v.filter((r): r is T => !!r && typeof r === 'object' && typeof r.expiresAt === 'number') : []);
        const [access, consoleLines, instance, metrics] = [list<AccessRecord>(b.a), list<ConsoleLineRecord>(b.l), list<InstanceLineRecord>(b.i), list<MetricPartial>(b.m)];
        for (const l of [access, consoleLines, instance, metrics]) for (const r of l) if (r.expiresAt > maxExpiry) maxExpiry = r.expiresAt;
        this.applyBatch(access, consoleLines, instance, metrics, nowS);
      }
      if (maxExpiry <= nowS) await unlink(join(this.options.dir, file)).catch(() => undefined);
      else this.segments.set(file, maxExpiry);
    }
    if (this.count > (this.options.maxRecords ?? 500_000)) this.evict();
  }
}

interface RequestSlot {
  access?: AccessRecord;
  lines?: ConsoleLineRecord[];
}

/** A position in (time, key) order; `time#key` strings of the logs table compare the same way. */
type Pos = [time: string, key: string] | undefined;
const cmp = (a: [string, string], b: [string, string]): number => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0);

const requestIdOf = (r: AccessRecord): string => r.requestId;
const seqOf = (r: { seq: string }): string => r.seq;

/** Inserts into a short (time, key)-ordered array, replacing an equal position; true when new. */
function insertOrdered<T extends { time: string }>(items: T[], r: T, keyOf: (r: T) => string): boolean {
  let i = items.length;
  const k = keyOf(r);
  while (i > 0) {
    const p = items[i - 1]!;
    const pk = keyOf(p);
    if (p.time < r.time || (p.time === r.time && pk < k)) break;
    if (p.time === r.time && pk === k) {
      items[i - 1] = r;
      return false;
    }
    i--;
  }
  items.splice(i, 0, r);
  return true;
}

/**
 * Records in ascending (time, key) order, compared field by field (no key strings kept).
 * Appends, the common case, are O(1).
 */
class Ordered<T extends { time: string }> {
  items: T[] = [];

  constructor(private readonly keyOf: (r: T) => string) {}

  /** Inserts, or replaces the record at the same position; true when it was new. */
  insert(r: T): boolean {
    const n = this.items.length;
    const last = this.items[n - 1];
    if (!last || last.time < r.time || (last.time === r.time && this.keyOf(last) < this.keyOf(r))) {
      this.items.push(r);
      return true;
    }
    const i = this.lowerBound(r.time, this.keyOf(r));
    const at = this.items[i];
    if (at && at.time === r.time && this.keyOf(at) === this.keyOf(r)) {
      this.items[i] = r;
      return false;
    }
    this.items.splice(i, 0, r);
    return true;
  }

  remove(time: string, key: string): void {
    const i = this.lowerBound(time, key);
    const at = this.items[i];
    if (at && at.time === time && this.keyOf(at) === key) this.items.splice(i, 1);
  }

  /** First index at or after (time, key). */
  lowerBound(time: string, key: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.items[mid]!;
      if (m.time < time || (m.time === time && this.keyOf(m) < key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index after (time, key). */
  upperBound(time: string, key: string): number {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = this.items[mid]!;
      if (m.time < time || (m.time === time && this.keyOf(m) <= key)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Removes and returns the records `drop` selects. */
  removeWhere(drop: (r: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (const r of this.items) (drop(r) ? removed : kept).push(r);
    if (removed.length) this.items = kept;
    return removed;
  }
}
