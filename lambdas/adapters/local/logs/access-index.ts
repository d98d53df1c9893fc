import {
  accessLineHasBlock,
  accessLineIdIs,
  accessLineStatus,
  accessRecordAt,
  compareAccessLineId,
  compareAccessLineIds,
  escapeField,
} from './access-row';
import type { AccessRecord } from '../../../core/logs/log-records';
import type { LogCursor, LogPage, RequestQuery } from '../../../ports/log-store';

/** Rows to index: access lines in `texts`, with their times and expiries (see `AccessRows`). */
export interface RowSource {
  readonly texts: readonly string[];
  readonly textOf: ArrayLike<number>;
  readonly starts: ArrayLike<number>;
  readonly times: ArrayLike<number>;
  readonly expires: ArrayLike<number>;
}

/** Told how many rows of each second came in (`n` > 0) or left (`n` < 0). */
export type SecondTally = (second: number, n: number) => void;

/** Chunks up to this many rows are merged with the next small one (few requests per batch). */
const SMALL_CHUNK = 1024;

/**
 * The local store's requests: every environment's access rows, in chunks — one per written batch
 * (small ones merged) — of typed arrays over the texts the rows are lines of. No object and no
 * string per request: indexing a request is a few numbers, and the garbage collector has nothing
 * per request to copy or mark.
 *
 * A request id written again at the same time replaces the earlier row (batches written twice are
 * one). Locally request ids are unique, so one written again at another time — which the logs
 * table would move — is kept at both times here; reads by id see the last one written.
 */
export class AccessIndex {
  private readonly envs = new Map<string, AccessChunk[]>();
  private seq = 0;

  constructor(private readonly tally: SecondTally) {}

  /** Adds the rows `rows` of `src` (indices), all of environment `envId`. */
  add(envId: string, src: RowSource, rows: ArrayLike<number>): void {
    if (rows.length === 0) return;
    let chunks = this.envs.get(envId);
    if (!chunks) this.envs.set(envId, (chunks = []));
    const chunk = AccessChunk.of(src, rows, ++this.seq);
    tallyRows(chunk, this.tally, 1);
    // Replaced by the new chunk: rows of the same time and id in the chunks its times overlap.
    for (let c = chunks.length - 1; c >= 0; c--) {
      const old = chunks[c];
      if (old.maxTime < chunk.minTime || old.minTime > chunk.maxTime) continue;
      const repeated = old
        .rowsIn(chunk.minTime, chunk.maxTime)
        .filter((i) => chunk.has(old.times[i], old.texts[old.textOf[i]], old.starts[i]));
      if (repeated.length === 0) continue;
      const gone = new Set(repeated);
      const kept = old.without((i) => gone.has(i));
      tallyRows(old, this.tally, -1);
      if (kept) tallyRows(kept, this.tally, 1);
      replaceAt(chunks, c, kept);
    }
    chunks.push(chunk);
    // Few requests per batch make many small chunks: merge them, pairs of similar size first.
    while (chunks.length >= 2) {
      const last = chunks[chunks.length - 1];
      const prev = chunks[chunks.length - 2];
      if (prev.n + last.n > SMALL_CHUNK || prev.n > 2 * last.n) break;
      chunks.splice(chunks.length - 2, 2, AccessChunk.merge(prev, last));
    }
  }

  /** An environment's requests, newest first (the listing of `LogStore.listRequests`). */
  list(q: RequestQuery): LogPage<AccessRecord> {
    const chunks = this.envs.get(q.envId);
    if (!chunks) return { items: [] };
    const block = q.block ? escapeField(q.block) : undefined;
    const merge = new NewestFirst(chunks, q.before);
    const items: AccessRecord[] = [];
    for (let top = merge.pop(); top; top = merge.pop()) {
      const { chunk, i } = top;
      if (chunk.expires[i] <= q.now) continue;
      const text = chunk.texts[chunk.textOf[i]];
      const start = chunk.starts[i];
      if (block && !accessLineHasBlock(text, start, block)) continue;
      if (q.status) {
        const status = accessLineStatus(text, start);
        if (status < q.status.min || status > q.status.max) continue;
      }
      if (items.length === q.limit) return { items, next: { time: items[items.length - 1].time, key: items[items.length - 1].requestId } };
      items.push(accessRecordAt(text, start, chunk.expires[i]));
    }
    return { items };
  }

  /** The request's access record as last written, if it has not expired. */
  get(envId: string, requestId: string, now: number): AccessRecord | undefined {
    const chunks = this.envs.get(envId);
    if (!chunks) return undefined;
    const id = escapeField(requestId);
    const first = id.charCodeAt(0);
    for (let c = chunks.length - 1; c >= 0; c--) {
      const { texts, textOf, starts, expires, n } = chunks[c];
      for (let i = n - 1; i >= 0; i--) {
        const text = texts[textOf[i]];
        const start = starts[i];
        if (text.charCodeAt(start) !== first || !accessLineIdIs(text, start, id)) continue;
        return expires[i] > now ? accessRecordAt(text, start, expires[i]) : undefined;
      }
    }
    return undefined;
  }

  /** Removes the rows older than `timeMs`. */
  removeOlderThan(timeMs: number): void {
    this.removeWhere(
      (c) => (c.maxTime < timeMs ? 'all' : c.minTime >= timeMs ? 'none' : 'some'),
      (c, i) => c.times[i] < timeMs,
    );
  }

  /** Removes the rows expired at `nowS`. */
  removeExpired(nowS: number): void {
    this.removeWhere(
      (c) => (c.maxExpires <= nowS ? 'all' : c.minExpires > nowS ? 'none' : 'some'),
      (c, i) => c.expires[i] <= nowS,
    );
  }

  private removeWhere(which: (c: AccessChunk) => 'all' | 'none' | 'some', drop: (c: AccessChunk, i: number) => boolean): void {
    for (const [envId, chunks] of this.envs) {
      for (let c = chunks.length - 1; c >= 0; c--) {
        const chunk = chunks[c];
        const w = which(chunk);
        if (w === 'none') continue;
        const kept = w === 'all' ? undefined : chunk.without((i) => drop(chunk, i));
        if (kept === chunk) continue;
        tallyRows(chunk, this.tally, -1);
        if (kept) tallyRows(kept, this.tally, 1);
        replaceAt(chunks, c, kept);
      }
      if (chunks.length === 0) this.envs.delete(envId);
    }
  }
}

function replaceAt(chunks: AccessChunk[], c: number, chunk: AccessChunk | undefined): void {
  if (chunk) chunks[c] = chunk;
  else chunks.splice(c, 1);
}

/** Tells `tally` about a chunk's rows, second by second (`sign` 1: in, -1: out). */
function tallyRows(chunk: AccessChunk, tally: SecondTally, sign: number): void {
  let second = NaN;
  let n = 0;
  for (let k = 0; k < chunk.n; k++) {
    const s = Math.floor(chunk.times[chunk.order[k]] / 1000);
    if (s === second) n++;
    else {
      if (n > 0) tally(second, sign * n);
      second = s;
      n = 1;
    }
  }
  if (n > 0) tally(second, sign * n);
}

/**
 * Rows of one or more batches: typed arrays, and `order`, the rows ascending by (time, id).
 * Immutable: removing rows makes a new chunk over the same texts.
 */
class AccessChunk {
  readonly n: number;
  readonly minTime: number;
  readonly maxTime: number;
  readonly minExpires: number;
  readonly maxExpires: number;

  private constructor(
    readonly texts: readonly string[],
    readonly textOf: Uint16Array,
    readonly starts: Int32Array,
    readonly times: Float64Array,
    readonly expires: Float64Array,
    readonly order: Int32Array,
    readonly seq: number,
  ) {
    this.n = order.length;
    this.minTime = times[order[0]]!;
    this.maxTime = times[order[this.n - 1]]!;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < this.n; i++) {
      const e = expires[i];
      if (e < lo) lo = e;
      if (e > hi) hi = e;
    }
    this.minExpires = lo;
    this.maxExpires = hi;
  }

  /** A chunk of rows `rows` of `src`; of rows with the same time and id, the last one. */
  static of(src: RowSource, rows: ArrayLike<number>, seq: number): AccessChunk {
    const n = rows.length;
    const textOf = new Uint16Array(n);
    const starts = new Int32Array(n);
    const times = new Float64Array(n);
    const expires = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      const r = rows[k];
      textOf[k] = src.textOf[r]!;
      starts[k] = src.starts[r]!;
      times[k] = src.times[r]!;
      expires[k] = src.expires[r]!;
    }
    const chunk = new AccessChunk(src.texts, textOf, starts, times, expires, sortedOrder(src.texts, textOf, starts, times), seq);
    return chunk.withoutRepeats();
  }

  /** The rows of two chunks in one (the later one's row wins a tie of time and id). */
  static merge(a: AccessChunk, b: AccessChunk): AccessChunk {
    const texts = [...a.texts];
    const remap = b.texts.map((t) => {
      const i = texts.indexOf(t);
      return i >= 0 ? i : texts.push(t) - 1;
    });
    const n = a.n + b.n;
    const textOf = new Uint16Array(n);
    const starts = new Int32Array(n);
    const times = new Float64Array(n);
    const expires = new Float64Array(n);
    textOf.set(a.textOf);
    starts.set(a.starts);
    times.set(a.times);
    expires.set(a.expires);
    for (let i = 0; i < b.n; i++) textOf[a.n + i] = remap[b.textOf[i]]!;
    starts.set(b.starts, a.n);
    times.set(b.times, a.n);
    expires.set(b.expires, a.n);
    // Both are in order: merge them (ties: a's row first, so that b's, the later, is kept).
    const order = new Int32Array(n);
    let i = 0;
    let j = 0;
    for (let k = 0; k < n; k++) {
      if (j >= b.n || (i < a.n && compareRows(texts, textOf, starts, times, a.order[i], a.n + b.order[j]) <= 0)) order[k] = a.order[i++]!;
      else order[k] = a.n + b.order[j++];
    }
    return new AccessChunk(texts, textOf, starts, times, expires, order, b.seq).withoutRepeats();
  }

  /** Compares row i with position (time, id) (id escaped). */
  compareTo(i: number, time: number, id: string): number {
    const t = this.times[i];
    return t !== time ? (t < time ? -1 : 1) : compareAccessLineId(this.texts[this.textOf[i]], this.starts[i], id);
  }

  /** Compares row i with row j of `other`. */
  compareRow(i: number, other: AccessChunk, j: number): number {
    const t = this.times[i];
    const u = other.times[j];
    if (t !== u) return t < u ? -1 : 1;
    return compareAccessLineIds(this.texts[this.textOf[i]], this.starts[i], other.texts[other.textOf[j]], other.starts[j]);
  }

  /** The rows with times from `from` to `to`. */
  rowsIn(from: number, to: number): number[] {
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[this.order[mid]] < from) lo = mid + 1;
      else hi = mid;
    }
    const rows: number[] = [];
    for (let k = lo; k < this.n && this.times[this.order[k]] <= to; k++) rows.push(this.order[k]);
    return rows;
  }

  /** Whether a row has this time and the id of the line at `start` of `text`. */
  has(time: number, text: string, start: number): boolean {
    if (time < this.minTime || time > this.maxTime) return false;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const i = this.order[mid];
      const t = this.times[i];
      if (t < time || (t === time && compareAccessLineIds(this.texts[this.textOf[i]], this.starts[i], text, start) < 0)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.n) return false;
    const i = this.order[lo];
    return this.times[i] === time && compareAccessLineIds(this.texts[this.textOf[i]], this.starts[i], text, start) === 0;
  }

  /** The same rows without those `drop` selects: this chunk when none, undefined when all. */
  without(drop: (i: number) => boolean): AccessChunk | undefined {
    let kept = 0;
    const keep = new Uint8Array(this.n);
    for (let i = 0; i < this.n; i++) {
      if (drop(i)) continue;
      keep[i] = 1;
      kept++;
    }
    if (kept === this.n) return this;
    if (kept === 0) return undefined;
    const index = new Int32Array(this.n);
    const textOf = new Uint16Array(kept);
    const starts = new Int32Array(kept);
    const times = new Float64Array(kept);
    const expires = new Float64Array(kept);
    for (let i = 0, k = 0; i < this.n; i++) {
      if (!keep[i]) continue;
      index[i] = k;
      textOf[k] = this.textOf[i]!;
      starts[k] = this.starts[i]!;
      times[k] = this.times[i]!;
      expires[k] = this.expires[i]!;
      k++;
    }
    const order = new Int32Array(kept);
    for (let k = 0, o = 0; k < this.n; k++) if (keep[this.order[k]]) order[o++] = index[this.order[k]]!;
    const used = [...new Set(textOf)].sort((x, y) => x - y);
    if (used.length === this.texts.length) return new AccessChunk(this.texts, textOf, starts, times, expires, order, this.seq);
    // Texts no row points into any more are let go.
    const remap = new Map(used.map((t, i) => [t, i]));
    for (let k = 0; k < kept; k++) textOf[k] = remap.get(textOf[k])!;
    return new AccessChunk(
      used.map((t) => this.texts[t]),
      textOf,
      starts,
      times,
      expires,
      order,
      this.seq,
    );
  }

  /** Of rows with the same time and id, only the last (the row later in the arrays). */
  private withoutRepeats(): AccessChunk {
    let repeats: Uint8Array | undefined;
    for (let k = 1; k < this.n; k++) {
      const a = this.order[k - 1];
      const b = this.order[k];
      if (this.compareRow(a, this, b) === 0) (repeats ??= new Uint8Array(this.n))[Math.min(a, b)] = 1;
    }
    return repeats ? this.without((i) => repeats[i] === 1)! : this;
  }
}

/** Rows by (time, id): mostly in order already (entries arrive as requests end), so an insertion sort. */
function sortedOrder(texts: readonly string[], textOf: Uint16Array, starts: Int32Array, times: Float64Array): Int32Array {
  const n = starts.length;
  const order = new Int32Array(n);
  for (let k = 0; k < n; k++) {
    let j = k;
    while (j > 0 && compareRows(texts, textOf, starts, times, order[j - 1], k) > 0) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = k;
  }
  return order;
}

function compareRows(texts: readonly string[], textOf: Uint16Array, starts: Int32Array, times: Float64Array, i: number, j: number): number {
  const t = times[i];
  const u = times[j];
  if (t !== u) return t < u ? -1 : 1;
  return compareAccessLineIds(texts[textOf[i]], starts[i], texts[textOf[j]], starts[j]);
}

/**
 * The rows of several chunks, newest first, strictly before a cursor: a merge by a heap of
 * chunks. A row repeated in several chunks (same time and id) comes once, from the latest chunk.
 */
class NewestFirst {
  /** Heap of chunk positions: `pos[h]` indexes `chunks[heap[h]].order`. */
  private readonly heap: number[] = [];
  private readonly pos: number[];
  private last?: { chunk: AccessChunk; i: number };

  constructor(
    private readonly chunks: readonly AccessChunk[],
    before: LogCursor | undefined,
  ) {
    const time = before ? Date.parse(before.time) : Infinity;
    const id = before ? escapeField(before.key) : '';
    this.pos = chunks.map((c) => {
      if (!before || c.maxTime < time) return c.n - 1;
      let lo = 0;
      let hi = c.n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (c.compareTo(c.order[mid], time, id) < 0) lo = mid + 1;
        else hi = mid;
      }
      return lo - 1;
    });
    for (let c = 0; c < chunks.length; c++) if (this.pos[c] >= 0) this.push(c);
  }

  pop(): { chunk: AccessChunk; i: number } | undefined {
    for (;;) {
      if (this.heap.length === 0) return undefined;
      const c = this.heap[0];
      const chunk = this.chunks[c];
      const i = chunk.order[this.pos[c]];
      if (--this.pos[c] >= 0) this.siftDown(0);
      else {
        const end = this.heap.pop()!;
        if (this.heap.length > 0) {
          this.heap[0] = end;
          this.siftDown(0);
        }
      }
      const last = this.last;
      if (last && last.chunk.compareRow(last.i, chunk, i) === 0) continue;
      this.last = { chunk, i };
      return this.last;
    }
  }

  /** Whether heap entry a comes before b: the newer row, or on a tie the later chunk. */
  private above(a: number, b: number): boolean {
    const ca = this.chunks[a];
    const cb = this.chunks[b];
    const d = ca.compareRow(ca.order[this.pos[a]], cb, cb.order[this.pos[b]]);
    return d > 0 || (d === 0 && ca.seq > cb.seq);
  }

  private push(c: number): void {
    const h = this.heap;
    let k = h.push(c) - 1;
    while (k > 0) {
      const parent = (k - 1) >> 1;
      if (!this.above(h[k], h[parent])) break;
      [h[k], h[parent]] = [h[parent], h[k]];
      k = parent;
    }
  }

  private siftDown(k: number): void {
    const h = this.heap;
    for (;;) {
      const l = 2 * k + 1;
      const r = l + 1;
      let top = k;
      if (l < h.length && this.above(h[l], h[top])) top = l;
      if (r < h.length && this.above(h[r], h[top])) top = r;
      if (top === k) return;
      [h[k], h[top]] = [h[top], h[k]];
      k = top;
    }
  }
}
