import { durationBucket } from './duration-histogram';
import type { LogSource } from './log-groups';
import {
  emptySummary,
  GATEWAY_BLOCK,
  type AccessEntry,
  type AccessRecord,
  type ConsoleLineRecord,
  type IndexedBatch,
  type IndexSummary,
  type InstanceLineRecord,
  type LambdaReport,
} from './log-records';
import { accessLine, parseAccessLine, type AccessRows } from './access-row';
import { accessEntry, parseAccessLogLine } from './parse-access-entry';
import { parseConsoleLine, stripRuntimePrefix } from './parse-console-line';
import { parseLambdaPlatformLine } from './parse-lambda-platform-line';
import { isoTime, isoTimeMs, isUsableTime } from './iso-time';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Entries expire this long after they happened unless configured otherwise (KintoHub kept 2 days). */
export const DEFAULT_RETENTION_MS = 2 * 24 * 3600_000;

export interface LogBatchOptions {
  /** How long entries are kept. @default 2 days */
  readonly retentionMs?: number;
  /** Identifies this batch, so that a store applying its metrics twice counts them once. */
  readonly batch: string;
  /**
   * The text was decoded with replacement of invalid UTF-8: a U+FFFD marks a bad line.
   * @default true
   */
  readonly lossy?: boolean;
  /**
   * Access records as rows (`IndexedBatch.accessRows`, see access-row.ts) instead of objects, for
   * a store that keeps rows (the local file store).
   * @default false
   */
  readonly accessRows?: boolean;
}

export type BlockSource = Extract<LogSource, { kind: 'block' }>;

/** A line a block wrote: when, in what order, on which stream. */
export interface BlockLine {
  /** Epoch milliseconds. */
  readonly time: number;
  /** Unique per source, sortable (zero-padded counter, or CloudWatch event id). */
  readonly seq: string;
  readonly text: string;
  readonly stream: 'stdout' | 'stderr';
}

interface MutableMetric {
  envId: string;
  block: string;
  minute: string;
  requests: number;
  errors4xx: number;
  errors5xx: number;
  durationSumMs: number;
  histogram: Record<string, number>;
  coldStarts: number;
  coldStartSumMs: number;
}

/**
 * The log indexer: one batch of raw lines and entries in, the records to write out. It never
 * throws on bad input: what it cannot use is counted in `summary` and every good line is kept.
 * Feeds: the local platform (gateway entries, block output and lifecycle events) and the
 * `log-indexer` Lambda (CloudWatch Logs subscription batches, through `indexLogEvents`).
 */
export class LogBatchBuilder {
  private readonly access: AccessRecord[] = [];
  /** With `accessRows`: the access lines to keep, those only in memory (normalized), and the rows. */
  private input = '';
  private inputLines = 0;
  private extra = '';
  private readonly rows = { textOf: [] as number[], starts: [] as number[], times: [] as number[], expires: [] as number[] };
  private readonly lines: ConsoleLineRecord[] = [];
  private readonly instance: InstanceLineRecord[] = [];
  private readonly metrics = new Map<string, MutableMetric>();
  private readonly summary: IndexSummary = emptySummary();
  private readonly retentionS: number;
  private readonly lossy: boolean;
  private lastMetricKey = '';
  private lastMetric?: MutableMetric;
  /** The metric of the last access line read in place, and what it was for. */
  private lineMetric?: MutableMetric;
  private lineMetricEnv = '';
  private lineMetricBlock = '';
  private lineMetricMinute = NaN;
  /** Where the separators of the access line being read are. */
  private readonly tabs = new Int32Array(ACCESS_LINE_TABS);

  constructor(private readonly options: LogBatchOptions) {
    this.retentionS = Math.round((options.retentionMs ?? DEFAULT_RETENTION_MS) / 1000);
    this.lossy = options.lossy ?? true;
  }

  /** An access entry the local gateway produced (already structured). */
  addAccess(entry: Parameters<typeof accessEntry>[0]): void {
    this.summary.events++;
    const valid = accessEntry(entry);
    if (!valid) {
      this.summary.invalidAccess++;
      return;
    }
    // A block given but refused leaves the record without one, where a line without one takes
    // its path's: indexed again, the input must hold the block as given (the row is in memory only).
    if (this.options.accessRows && valid.block === undefined && typeof entry.block === 'string' && entry.block !== '' && entry.block !== '-') {
      this.input += accessLine({ ...valid, block: entry.block });
      this.inputLines++;
      this.pushAccess(valid, Date.parse(valid.time), false);
    } else this.pushAccess(valid, Date.parse(valid.time));
  }

  /**
   * Access entries as lines (`accessLine`: how the local gateway's entries reach the log worker),
   * one per line. With `accessRows`, a line already in normal form — every line the local gateway
   * writes — is checked in place and becomes its row as it is: no string per field, no object per
   * request. Any other line is read field by field and normalized like `addAccess`.
   */
  addAccessLines(text: string): void {
    const rows = this.options.accessRows === true;
    if (rows && text.length > 0) {
      // Kept as given (the rows point into it); one line break at the end, whatever came.
      if (text.charCodeAt(text.length - 1) !== 10) text = `${text}\n`;
      this.input += text;
    }
    const base = this.input.length - (rows ? text.length : 0);
    // Escapes and carriage returns send a line the slow way: find the next one only past it.
    let special = -1;
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      if (rows) this.inputLines++;
      if (end > start) {
        this.summary.events++;
        if (special < start) special = nextSpecial(text, start);
        if (!(rows && special >= end && this.rowOfLine(text, start, end, base))) {
          const fields = parseAccessLine(text, start, end);
          const valid = fields && accessEntry({ ...fields, envId: fields.envId! });
          // Indexed again from the input, a line normalizes the same way: its row stays in memory only.
          if (valid) this.pushAccess(valid, Date.parse(valid.time), false);
          else this.summary.invalidAccess++;
        }
      }
      start = end + 1;
    }
  }

  /**
   * The row of an access line in normal form, read in place: the same checks as `accessEntry`,
   * which would return every field unchanged. False (and nothing done) for any other line.
   */
  private rowOfLine(text: string, start: number, end: number, base: number): boolean {
    const t = this.tabs;
    let at = start;
    for (let i = 0; i < ACCESS_LINE_TABS; i++) {
      const tab = text.indexOf('\t', at);
      if (tab < 0 || tab >= end) return false;
      t[i] = tab;
      at = tab + 1;
    }
    const more = text.indexOf('\t', at);
    if (more >= 0 && more < end) return false;
    // requestId, time, envId, method, path, block, release, commit, status, durationMs, clientId, lambdaRequestId
    REQUEST_ID_AT.lastIndex = start;
    if (!REQUEST_ID_AT.test(text) || REQUEST_ID_AT.lastIndex !== t[0]! + 1) return false;
    if (t[1]! - t[0]! !== 25) return false;
    const ms = isoTimeMs(text, t[0]! + 1);
    if (ms !== ms) return false;
    if (!isMethodAt(text, t[2]! + 1, t[3]!)) return false;
    const pathLength = t[4]! - t[3]! - 1;
    if (pathLength > MAX_PATH || (pathLength === 1 && text.charCodeAt(t[3]! + 1) === 45 /* - */)) return false;
    BLOCK_NAME_AT.lastIndex = t[4]! + 1;
    if (!BLOCK_NAME_AT.test(text) || BLOCK_NAME_AT.lastIndex !== t[5]! + 1) return false;
    if (!isNormalText(text, t[5]! + 1, t[6]!) || !isNormalText(text, t[6]! + 1, t[7]!)) return false;
    const status = readStatus(text, t[7]! + 1, t[8]!);
    if (status < 0) return false;
    const duration = readDuration(text, t[8]! + 1, t[9]!);
    if (duration < 0) return false;
    if (!isNormalText(text, t[9]! + 1, t[10]!) || !isNormalText(text, t[10]! + 1, end)) return false;

    this.summary.accessEntries++;
    this.pushRow(0, base + start, ms);
    const minute = Math.floor(ms / 60_000);
    let m = this.lineMetric;
    if (!m || minute !== this.lineMetricMinute || !fieldIs(text, t[1]! + 1, t[2]!, this.lineMetricEnv) || !fieldIs(text, t[4]! + 1, t[5]!, this.lineMetricBlock)) {
      this.lineMetricEnv = text.slice(t[1]! + 1, t[2]!);
      this.lineMetricBlock = text.slice(t[4]! + 1, t[5]!);
      this.lineMetricMinute = minute;
      m = this.lineMetric = this.metric(this.lineMetricEnv, this.lineMetricBlock, isoTime(ms));
    }
    this.count(m, status, duration);
    return true;
  }

  /** One line of an HTTP API stage access log (AWS). */
  addAccessLogLine(envId: string, text: string): void {
    this.summary.events++;
    const valid = parseAccessLogLine(text, envId);
    if (valid) this.pushAccess(valid, Date.parse(valid.time));
    else this.summary.invalidAccess++;
  }

  /**
   * A line a block wrote. With `aws`, Lambda's own START/END/REPORT lines are recognized (REPORT
   * is kept with its numbers and counts a cold start when it has an init duration) and the managed
   * runtimes' `<time>\t<id>\t<LEVEL>\t` prefix is removed.
   */
  addBlockLine(source: BlockSource, line: BlockLine, aws = false): void {
    this.summary.events++;
    const time = isUsableTime(line.time) ? line.time : Date.now();
    let text = line.text;
    if (aws) {
      if (text.endsWith('\n')) text = text.slice(0, text.endsWith('\r\n') ? -2 : -1);
      const platform = parseLambdaPlatformLine(text);
      if (platform) {
        this.summary.platformLines++;
        if (platform.type === 'REPORT') this.addReport(source, time, line.seq, text, platform.report);
        return;
      }
      text = stripRuntimePrefix(text);
    }
    // An empty line carries nothing to keep (and DynamoDB before 2020, like dynalite, refuses empty strings).
    if (text.length === 0) return;
    const parsed = parseConsoleLine(text, this.lossy);
    const s = this.summary;
    if (parsed.truncated) s.truncated++;
    if (parsed.invalidUtf8) s.invalidUtf8++;
    // Object literals without spreads: this runs once per line (see bench/logs.bench.ts).
    if (parsed.kind === 'attached') {
      s.attachedLines++;
      const record: Mutable<ConsoleLineRecord> = {
        envId: source.envId,
        requestId: parsed.requestId,
        time: isoTime(time),
        seq: line.seq,
        block: source.block,
        stream: line.stream,
        text: parsed.text,
        expiresAt: this.expiry(time),
      };
      if (source.release !== undefined) record.release = source.release;
      if (source.commit !== undefined) record.commit = source.commit;
      if (parsed.truncated) record.truncated = true;
      this.lines.push(record);
      return;
    }
    s.plainLines++;
    if (parsed.reason) s[parsed.reason]++;
    const record: Mutable<InstanceLineRecord> = {
      envId: source.envId,
      block: source.block,
      time: isoTime(time),
      seq: line.seq,
      stream: line.stream,
      text: parsed.text,
      expiresAt: this.expiry(time),
    };
    if (source.release !== undefined) record.release = source.release;
    if (source.commit !== undefined) record.commit = source.commit;
    if (parsed.truncated) record.truncated = true;
    this.instance.push(record);
  }

  /**
   * A platform event of a block (start, stop, exit, job run), as a line of its instance log.
   * `wakeMs` counts a cold start / wake that took that long.
   */
  addPlatformEvent(source: BlockSource, time: number, seq: string, text: string, wakeMs?: number): void {
    this.summary.events++;
    if (!isUsableTime(time)) time = Date.now();
    this.summary.platformLines++;
    this.instance.push({ envId: source.envId, block: source.block, time: isoTime(time), seq, stream: 'platform', text, ...versionOf(source), expiresAt: this.expiry(time) });
    if (wakeMs !== undefined) this.countColdStart(source, time, wakeMs);
  }

  /** Counts entries that never reached the indexer (the local feed's buffer was full). */
  addShed(count: number): void {
    this.summary.shed += count;
  }

  build(): IndexedBatch {
    const metrics = [...this.metrics.values()].map((m) => ({ ...m, batch: this.options.batch, expiresAt: this.expiry(Date.parse(`${m.minute}:00.000Z`) + 60_000) }));
    const batch = { access: this.access, lines: this.lines, instance: this.instance, metrics, summary: { ...this.summary } };
    if (!this.options.accessRows) return batch;
    const { textOf, starts, times, expires } = this.rows;
    const accessRows: AccessRows = {
      count: starts.length,
      texts: [this.input, this.extra],
      textOf,
      starts,
      times,
      expires,
      input: this.input,
      lines: this.inputLines,
      retentionMs: this.options.retentionMs ?? DEFAULT_RETENTION_MS,
    };
    return { ...batch, accessRows };
  }

  /** `input`: a row made from a record (not from an input line) is kept in the input too. */
  private pushAccess(entry: Mutable<AccessEntry> & { expiresAt?: number }, timeMs: number, input = true): void {
    this.summary.accessEntries++;
    if (this.options.accessRows) {
      const line = accessLine(entry);
      if (input) {
        this.pushRow(0, this.input.length, timeMs);
        this.input += line;
        this.inputLines++;
      } else {
        this.pushRow(1, this.extra.length, timeMs);
        this.extra += line;
      }
    } else {
      // The entry was built for this batch: adding the expiry in place saves a copy per request.
      entry.expiresAt = this.expiry(timeMs);
      this.access.push(entry as AccessRecord);
    }
    this.count(this.metric(entry.envId, entry.block ?? GATEWAY_BLOCK, entry.time), entry.status, entry.durationMs);
  }

  private pushRow(textOf: number, start: number, timeMs: number): void {
    const r = this.rows;
    r.textOf.push(textOf);
    r.starts.push(start);
    r.times.push(timeMs);
    r.expires.push(this.expiry(timeMs));
  }

  private count(m: MutableMetric, status: number, durationMs: number): void {
    m.requests++;
    if (status >= 500) m.errors5xx++;
    else if (status >= 400) m.errors4xx++;
    m.durationSumMs += durationMs;
    const b = durationBucket(durationMs);
    m.histogram[b] = (m.histogram[b] ?? 0) + 1;
  }

  private addReport(source: BlockSource, time: number, seq: string, text: string, report: LambdaReport): void {
    this.instance.push({ envId: source.envId, block: source.block, time: isoTime(time), seq, stream: 'platform', text, ...versionOf(source), report, expiresAt: this.expiry(time) });
    if (report.initDurationMs !== undefined) this.countColdStart(source, time, report.initDurationMs);
  }

  private countColdStart(source: BlockSource, time: number, ms: number): void {
    const m = this.metric(source.envId, source.block, isoTime(time));
    m.coldStarts++;
    m.coldStartSumMs += ms;
  }

  private metric(envId: string, block: string, iso: string): MutableMetric {
    const minute = iso.slice(0, 16);
    const key = `${envId}\u0000${block}\u0000${minute}`;
    if (key === this.lastMetricKey) return this.lastMetric!;
    let m = this.metrics.get(key);
    if (!m) {
      m = { envId, block, minute, requests: 0, errors4xx: 0, errors5xx: 0, durationSumMs: 0, histogram: {}, coldStarts: 0, coldStartSumMs: 0 };
      this.metrics.set(key, m);
    }
    this.lastMetricKey = key;
    this.lastMetric = m;
    return m;
  }

  private expiry(timeMs: number): number {
    return Math.floor(timeMs / 1000) + this.retentionS;
  }
}

const ACCESS_LINE_TABS = 11;
/** The checks of `accessEntry` (parse-access-entry.ts), as sticky patterns that end at the field's tab. */
const REQUEST_ID_AT = /(?=[^\t]*[A-Za-z0-9])[A-Za-z0-9._:=+/-]{1,128}\t/y;
const BLOCK_NAME_AT = /[a-z][a-z0-9-]{0,31}\t/y;
const MAX_PATH = 2048;
const MAX_TEXT = 256;

/** Where the next `\\` or `\r` is, at or after `from` (Infinity when there is none). */
function nextSpecial(text: string, from: number): number {
  const backslash = text.indexOf('\\', from);
  const cr = text.indexOf('\r', from);
  return Math.min(backslash < 0 ? Infinity : backslash, cr < 0 ? Infinity : cr);
}

/** `text` from `start` to `end` is `value`. */
const fieldIs = (text: string, start: number, end: number, value: string): boolean => end - start === value.length && text.startsWith(value, start);

/** An HTTP method as `accessEntry` keeps it: 1 to 16 capital letters. */
function isMethodAt(text: string, start: number, end: number): boolean {
  if (end === start || end - start > 16) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 65 || c > 90) return false;
  }
  return true;
}

/** An optional text field `accessEntry` keeps as it is: absent (empty), or not `-` and at most 256 characters. */
const isNormalText = (text: string, start: number, end: number): boolean => end - start <= MAX_TEXT && !(end - start === 1 && text.charCodeAt(start) === 45);

/** A status of 3 digits, 100 to 999; -1 otherwise. */
function readStatus(text: string, start: number, end: number): number {
  if (end - start !== 3) return -1;
  const a = text.charCodeAt(start) - 48;
  const b = text.charCodeAt(start + 1) - 48;
  const c = text.charCodeAt(start + 2) - 48;
  return a >= 1 && a <= 9 && b >= 0 && b <= 9 && c >= 0 && c <= 9 ? a * 100 + b * 10 + c : -1;
}

/**
 * A duration `accessEntry` keeps as it is: digits with at most two decimals (the gateway rounds
 * to 0.01 ms), read exactly as `Number` reads them (hundredths / 100); -1 otherwise.
 */
function readDuration(text: string, start: number, end: number): number {
  let hundredths = 0;
  let i = start;
  for (; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) break;
    if (c < 48 || c > 57 || i - start >= 9) return -1;
    hundredths = hundredths * 10 + (c - 48);
  }
  if (i === start) return -1;
  hundredths *= 100;
  if (i < end) {
    const decimals = end - i - 1;
    if (decimals < 1 || decimals > 2) return -1;
    const d1 = text.charCodeAt(i + 1) - 48;
    const d2 = decimals === 2 ? text.charCodeAt(i + 2) - 48 : 0;
    if (!(d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)) return -1;
    hundredths += d1 * 10 + d2;
  }
  return hundredths / 100;
}

function versionOf(source: BlockSource): { release?: string; commit?: string } {
  if (source.release === undefined && source.commit === undefined) return {};
  return { ...(source.release !== undefined ? { release: source.release } : {}), ...(source.commit !== undefined ? { commit: source.commit } : {}) };
}

/** One CloudWatch Logs event: its id (unique, sortable within a stream), time and text. */
export interface CloudWatchLogEvent {
  readonly id: string;
  readonly timestamp: number;
  readonly message: string;
}

/**
 * Indexes one CloudWatch Logs subscription batch from a Kinto log group: a gateway's access log
 * or a block's output. `lossy` says the payload held invalid UTF-8 (decoded with replacement).
 */
export function indexLogEvents(source: LogSource, events: readonly CloudWatchLogEvent[], options: LogBatchOptions): IndexedBatch {
  const builder = new LogBatchBuilder(options);
  if (source.kind === 'gateway') {
    for (const e of events) builder.addAccessLogLine(source.envId, typeof e?.message === 'string' ? e.message : '');
  } else {
    events.forEach((e, i) => {
      // CloudWatch event ids are 56 digits, sortable within a stream; keep the key safe whatever comes.
      const seq = typeof e?.id === 'string' && /^[0-9A-Za-z]{1,64}$/.test(e.id) ? e.id : `x${String(i).padStart(8, '0')}`;
      const time = typeof e?.timestamp === 'number' ? e.timestamp : Date.now();
      builder.addBlockLine(source, { time, seq, text: typeof e?.message === 'string' ? e.message : '', stream: 'stdout' }, true);
    });
  }
  return builder.build();
}
