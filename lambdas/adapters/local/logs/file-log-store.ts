import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { accessLineEnv, accessLineHasEnv, accessRow, accessRowLine, escapeField, type AccessRows } from './access-row';
import { AccessRowBatchBuilder, type RowIndexedBatch } from './access-row-batch';
import { isoTimeMs } from './iso-time-ms';
import type { AccessRecord, ConsoleLineRecord, IndexedBatch, InstanceLineRecord, MetricPartial } from '../../../core/logs/log-records';
import type { InstanceLineQuery, LogCursor, LogPage, LogStore, MetricAggregate, RequestQuery } from '../../../ports/log-store';
import { AccessIndex, type RowSource } from './access-index';

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

interface MetricSlot {
  agg: MetricAggregate;
  applied: Set<string>;
}

/**
 * The LogStore port for the local platform: records appended to hourly segment files (one write
 * per batch) and indexed in memory in the order the logs table's keys give: far faster than
 * dynalite for the local feed; the shared contract suite keeps the two adapters equal.
 *
 * Requests (one per gateway call) are access lines (core/logs/access-row.ts) in memory and in the
 * files: a batch from the indexer in rows form (`readsAccessRows`) is written as the lines it was
 * given, and indexed in place (`AccessIndex`); other access records as one explicit row each.
 * Console lines, instance lines and metrics are one JSON line per batch.
 *
 * Segment lines: `{"v":1,...}` (console and instance lines, metrics; before rows, access records
 * too); `A <retentionS> <n>`, n access lines and `.` (a batch's access lines, indexed again on
 * start); `a <expiresAt> <access line> .` (one access record).
 */
export class FileLogStore implements LogStore {
  /** Batches may carry their access records as rows (`IndexedBatch.accessRows`): kept as they are. */
  readonly readsAccessRows = true;
  private readonly requests: AccessIndex;
  /** envId\0requestId -> the request's console lines, ascending by (time, seq). */
  private readonly lines = new Map<string, ConsoleLineRecord[]>();
  /** envId\0block -> instance lines ascending by (time, seq). */
  private readonly instance = new Map<string, Ordered<InstanceLineRecord>>();
  private readonly metrics = new Map<string, Map<string, MetricSlot>>();
  /** Records per second (epoch seconds) held in memory, to choose what to evict. */
  private readonly perSecond = new Map<number, number>();
  /** Segment file -> latest expiry in it, to delete files once everything in them expired. */
  private readonly segments = new Map<string, number>();
  private count = 0;
  private evictedTotal = 0;
  private readonly sweeper: NodeJS.Timeout;
  private readonly now: () => number;
  private writing: Promise<void> = Promise.resolve();
  /** The segment being appended to, kept open (opening and closing it per batch cost more than the write). */
  private segment?: { readonly file: string; readonly handle: FileHandle };

  private constructor(private readonly options: FileLogStoreOptions) {
    this.now = options.now ?? Date.now;
    this.requests = new AccessIndex((second, n) => this.tally(second, n));
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
    const { access, accessRows, lines, instance, metrics } = batch as RowIndexedBatch;
    if (access.length + (accessRows?.count ?? 0) + lines.length + instance.length + metrics.length === 0) return;
    let maxExpiry = 0;
    for (const list of [access, lines, instance, metrics]) for (const r of list) if (r.expiresAt > maxExpiry) maxExpiry = r.expiresAt;
    if (accessRows) for (let i = 0; i < accessRows.count; i++) if (accessRows.expires[i] > maxExpiry) maxExpiry = accessRows.expires[i]!;
    let text = '';
    if (accessRows && accessRows.count > 0)
      text += `A\t${Math.round(accessRows.retentionMs / 1000)}\t${accessRows.lines}\n${accessRows.input}.\n`;
    const explicit = rowsOf(access);
    text += explicit;
    // The rest as one JSON line per batch: V8 stringifies arrays of same-shaped records about
    // twice as fast as one call per record. A line cut short by a crash loses that line only.
    if (lines.length + instance.length + metrics.length > 0) text += `${JSON.stringify({ v: 1, l: lines, i: instance, m: metrics })}\n`;
    const file = `logs-${new Date(this.now()).toISOString().slice(0, 13)}.ndjson`;
    // Appends run one after another so that a segment never interleaves two batches.
    const done = this.writing.then(() => this.append(file, text));
    this.writing = done.catch(() => undefined);
    await done;
    this.segments.set(file, Math.max(this.segments.get(file) ?? 0, maxExpiry));
    if (accessRows) this.addRows(accessRows, accessRows.count);
    if (explicit) this.addExplicitRows(explicit);
    this.applyBatch(lines, instance, metrics);
    if (this.count > (this.options.maxRecords ?? 500_000)) this.evict();
  }

  async listRequests(q: RequestQuery): Promise<LogPage<AccessRecord>> {
    return this.requests.list(q);
  }

  async getRequest(envId: string, requestId: string, now: number): Promise<{ access?: AccessRecord; lines: ConsoleLineRecord[] }> {
    const access = this.requests.get(envId, requestId, now);
    const lines = (this.lines.get(`${envId}\u0000${requestId}`) ?? []).filter((l) => l.expiresAt > now);
    return { ...(access ? { access } : {}), lines };
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
    const isCursor = (r: InstanceLineRecord): boolean =>
      (before !== undefined && r.time === before[0] && r.seq === before[1]) ||
      (after !== undefined && r.time === after[0] && r.seq === after[1]);
    const keep = (r: InstanceLineRecord): boolean => {
      if (r.expiresAt <= q.now || isCursor(r)) return false;
      return !q.search || r.text.toLowerCase().includes(q.search);
    };
    const items: InstanceLineRecord[] = [];
    const cursor = (r: InstanceLineRecord): LogCursor => ({ time: r.time, key: r.seq });
    const step = q.order === 'oldest' ? 1 : -1;
    for (let i = step === 1 ? start : end - 1; i >= start && i < end; i += step) {
      const r = list.items[i];
      if (!keep(r)) continue;
      if (items.length === q.limit) return { items, next: cursor(items[items.length - 1]) };
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
    await this.closeSegment();
  }

  private async append(file: string, text: string): Promise<void> {
    if (this.segment?.file !== file) {
      await this.closeSegment();
      this.segment = { file, handle: await open(join(this.options.dir, file), 'a') };
    }
    try {
      await this.segment.handle.appendFile(text);
    } catch (e) {
      await this.closeSegment(); // opened afresh on the next write
      throw e;
    }
  }

  private async closeSegment(): Promise<void> {
    const segment = this.segment;
    this.segment = undefined;
    await segment?.handle.close().catch(() => undefined);
  }

  /** Indexes `count` rows, those alive at `liveAfter`, each under its environment. */
  private addRows(src: RowSource, count: number, liveAfter = 0): void {
    // Rows of one batch are nearly always of one environment: group them by it without a string per row.
    const byEnv = new Map<string, number[]>();
    let envField = '';
    let rows: number[] | undefined;
    for (let i = 0; i < count; i++) {
      if (!(src.expires[i] > liveAfter)) continue;
      const text = src.texts[src.textOf[i]];
      const start = src.starts[i];
      if (!rows || !accessLineHasEnv(text, start, envField)) {
        const envId = accessLineEnv(text, start);
        envField = escapeField(envId);
        rows = byEnv.get(envId);
        if (!rows) byEnv.set(envId, (rows = []));
      }
      rows.push(i);
    }
    for (const [env, list] of byEnv) this.requests.add(env, src, list);
  }

  /** Indexes explicit rows (`accessRow` lines, each ending in a line break). */
  private addExplicitRows(text: string, liveAfter = 0): number {
    const src = { texts: [text], textOf: [] as number[], starts: [] as number[], times: [] as number[], expires: [] as number[] };
    let maxExpiry = 0;
    for (let at = 0; at < text.length;) {
      let end = text.indexOf('\n', at);
      if (end < 0) end = text.length;
      const row = accessRowLine(text.slice(at, end));
      if (row) {
        src.textOf.push(0);
        src.starts.push(at + row.start);
        src.times.push(timeMsOf(row.record.time));
        src.expires.push(row.record.expiresAt);
        maxExpiry = Math.max(maxExpiry, row.record.expiresAt);
      }
      at = end + 1;
    }
    this.addRows(src, src.starts.length, liveAfter);
    return maxExpiry;
  }

  private applyBatch(
    lines: readonly ConsoleLineRecord[],
    instance: readonly InstanceLineRecord[],
    metrics: readonly MetricPartial[],
    liveAfter = 0,
  ): void {
    for (const r of lines) if (r.expiresAt > liveAfter) this.addLine(r);
    for (const r of instance) if (r.expiresAt > liveAfter) this.addInstanceLine(r);
    for (const r of metrics) if (r.expiresAt > liveAfter) this.addMetric(r);
  }

  private addLine(r: ConsoleLineRecord): void {
    const key = `${r.envId}\u0000${r.requestId}`;
    let list = this.lines.get(key);
    if (!list) this.lines.set(key, (list = []));
    if (insertOrdered(list, r, seqOf)) this.counted(r.time);
  }

  private addInstanceLine(r: InstanceLineRecord): void {
    const key = `${r.envId}\u0000${r.block}`;
    let list = this.instance.get(key);
    if (!list) this.instance.set(key, (list = new Ordered<InstanceLineRecord>(seqOf)));
    if (list.insert(r)) this.counted(r.time);
  }

  private addMetric(p: MetricPartial): void {
    let env = this.metrics.get(p.envId);
    if (!env) this.metrics.set(p.envId, (env = new Map<string, MetricSlot>()));
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
    for (const b in p.histogram) histogram[b] = (histogram[b] ?? 0) + p.histogram[b];
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

  /** Counts `n` records (negative: removed) of epoch second `second`. */
  private tally(second: number, n: number): void {
    this.count += n;
    const left = (this.perSecond.get(second) ?? 0) + n;
    if (left <= 0) this.perSecond.delete(second);
    else this.perSecond.set(second, left);
  }

  private counted(time: string): void {
    this.tally(Math.floor(timeMsOf(time) / 1000), 1);
  }

  private uncount(time: string): void {
    this.tally(Math.floor(timeMsOf(time) / 1000), -1);
  }

  /**
   * Drops the oldest seconds until 80 % of the cap is left (each pass walks every list, so it
   * should not run for every few new records); never the newest second.
   */
  private evict(): void {
    const target = Math.floor((this.options.maxRecords ?? 500_000) * 0.8);
    const seconds = [...this.perSecond.keys()].sort((a, b) => a - b);
    seconds.pop();
    let remaining = this.count;
    let cutoff: number | undefined;
    for (const sec of seconds) {
      if (remaining <= target) break;
      remaining -= this.perSecond.get(sec)!;
      cutoff = sec;
    }
    if (cutoff === undefined) return;
    const before = this.count;
    const endMs = (cutoff + 1) * 1000;
    this.requests.removeOlderThan(endMs);
    this.removeWhere((time) => timeMsOf(time) < endMs);
    const evicted = before - this.count;
    this.evictedTotal += evicted;
    this.options.onEvict?.(evicted, new Date(cutoff * 1000).toISOString().slice(0, 19));
  }

  /** Drops expired records and forgets old applied-batch sets; deletes fully expired segment files. */
  private async sweep(): Promise<void> {
    const nowS = Math.floor(this.now() / 1000);
    this.requests.removeExpired(nowS);
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
        if (this.segment?.file === file) await (this.writing = this.writing.then(() => this.closeSegment()));
        await unlink(join(this.options.dir, file)).catch(() => undefined);
      }
    }
  }

  /** Drops the console and instance lines `drop` selects. */
  private removeWhere(drop: (time: string, expiresAt: number) => boolean): void {
    for (const [key, list] of this.lines) {
      const kept: ConsoleLineRecord[] = [];
      for (const l of list) {
        if (drop(l.time, l.expiresAt)) this.uncount(l.time);
        else kept.push(l);
      }
      if (kept.length) this.lines.set(key, kept);
      else this.lines.delete(key);
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
      /** The access lines block being read: its retention, lines to come, and lines so far. */
      let block: { retentionMs: number; left: number; lines: string[] } | undefined;
      let explicit = '';
      const flushExplicit = (): void => {
        if (explicit) maxExpiry = Math.max(maxExpiry, this.addExplicitRows(explicit, nowS));
        explicit = '';
      };
      for await (const line of segmentLines(join(this.options.dir, file))) {
        if (block) {
          if (block.left > 0) {
            block.lines.push(line);
            block.left--;
            continue;
          }
          // A block is whole only with its closing line (a crash mid-append loses that batch).
          if (line === '.') maxExpiry = Math.max(maxExpiry, this.reindex(block.lines, block.retentionMs, nowS));
          block = undefined;
          if (line === '.') continue;
        }
        if (line.startsWith('A\t')) {
          flushExplicit();
          const [, retentionS, n] = line.split('\t');
          if (Number(n) >= 0 && Number(retentionS) >= 0) block = { retentionMs: Number(retentionS) * 1000, left: Number(n), lines: [] };
          continue;
        }
        if (line.startsWith('a\t')) {
          explicit += `${line}\n`;
          continue;
        }
        flushExplicit();
        let b: { v?: unknown; a?: unknown; l?: unknown; i?: unknown; m?: unknown } | undefined;
        try {
          b = JSON.parse(line) as typeof b;
        } catch {
          continue; // a line cut short by a crash mid-append
        }
        if (!b || b.v !== 1) continue;
        const list = <T extends { expiresAt: number }>(v: unknown): T[] =>
          Array.isArray(v)
            ? v.filter((r): r is T => !!r && typeof r === 'object' && typeof (r as { expiresAt?: unknown }).expiresAt === 'number')
            : [];
        // Segments written before access rows hold access records in the JSON line.
        const [access, consoleLines, instance, metrics] = [
          list<AccessRecord>(b.a),
          list<ConsoleLineRecord>(b.l),
          list<InstanceLineRecord>(b.i),
          list<MetricPartial>(b.m),
        ];
        for (const l of [consoleLines, instance, metrics]) for (const r of l) if (r.expiresAt > maxExpiry) maxExpiry = r.expiresAt;
        const rows = rowsOf(access);
        if (rows) maxExpiry = Math.max(maxExpiry, this.addExplicitRows(rows, nowS));
        this.applyBatch(consoleLines, instance, metrics, nowS);
      }
      flushExplicit();
      if (maxExpiry <= nowS) await unlink(join(this.options.dir, file)).catch(() => undefined);
      else this.segments.set(file, maxExpiry);
    }
    if (this.count > (this.options.maxRecords ?? 500_000)) this.evict();
  }

  /** Indexes a batch's access lines again, as the indexer did (metrics are in the file already). */
  private reindex(lines: readonly string[], retentionMs: number, nowS: number): number {
    const builder = new AccessRowBatchBuilder({ batch: 'replay', retentionMs });
    builder.addAccessLines(lines.length ? `${lines.join('\n')}\n` : '');
    const rows: AccessRows | undefined = builder.build().accessRows;
    if (!rows) return 0;
    let maxExpiry = 0;
    for (let i = 0; i < rows.count; i++) maxExpiry = Math.max(maxExpiry, rows.expires[i]);
    this.addRows(rows, rows.count, nowS);
    return maxExpiry;
  }
}

/** The lines of a segment file (split at line feeds only: access lines may hold carriage returns). */
async function* segmentLines(file: string): AsyncGenerator<string> {
  let rest = '';
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield text.slice(start, end);
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest) yield rest;
}

/** Access records as explicit rows, one per line (each ending in a line break). */
function rowsOf(records: readonly AccessRecord[]): string {
  let text = '';
  for (const r of records) text += `${accessRow(r)}\n`;
  return text;
}

/** Epoch ms of a record's time: read in place for the indexer's ISO form, parsed otherwise (0 when it is not a time). */
function timeMsOf(time: string): number {
  const ms = time.length === 24 ? isoTimeMs(time, 0) : NaN;
  return ms === ms ? ms : Date.parse(time) || 0;
}

/** A position in (time, key) order; `time#key` strings of the logs table compare the same way. */
type Pos = [time: string, key: string] | undefined;
const cmp = (a: [string, string], b: [string, string]): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;

const seqOf = (r: { seq: string }): string => r.seq;

/** Inserts into a short (time, key)-ordered array, replacing an equal position; true when new. */
function insertOrdered<T extends { time: string }>(items: T[], r: T, keyOf: (r: T) => string): boolean {
  let i = items.length;
  const k = keyOf(r);
  while (i > 0) {
    const p = items[i - 1];
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
      const m = this.items[mid];
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
      const m = this.items[mid];
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
