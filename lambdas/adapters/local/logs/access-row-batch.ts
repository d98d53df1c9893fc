import { accessEntry } from '../../../core/logs/parse-access-entry';
import {
  DEFAULT_RETENTION_MS,
  LogBatchBuilder,
  type LogBatchOptions,
  type Mutable,
  type MutableMetric,
} from '../../../core/logs/index-log-events';
import type { AccessEntry, IndexedBatch } from '../../../core/logs/log-records';
import { isoTime } from '../../../core/logs/iso-time';
import { accessLine, parseAccessLine, type AccessRows } from './access-row';
import { isoTimeMs } from './iso-time-ms';

export interface AccessRowBatchOptions extends LogBatchOptions {
  /**
   * Access records as rows (`RowIndexedBatch.accessRows`, see access-row.ts) instead of objects,
   * for a store that keeps rows (the local file store).
   * @default true
   */
  readonly rows?: boolean;
}

/** A batch whose access records may come as rows. */
export interface RowIndexedBatch extends IndexedBatch {
  readonly accessRows?: AccessRows;
}

/**
 * The core's log indexer with the local gateway's access lines (access-row.ts) as input, and, in
 * row mode, access records kept as rows: how the local file store holds the last requests without
 * an object per request.
 */
export class AccessRowBatchBuilder extends LogBatchBuilder {
  private readonly rows: boolean;
  /** In row mode: the access lines to keep, those only in memory (normalized), and the rows. */
  private input = '';
  private inputLines = 0;
  private extra = '';
  private readonly rowData = { textOf: [] as number[], starts: [] as number[], times: [] as number[], expires: [] as number[] };
  /** The metric of the last access line read in place, and what it was for. */
  private lineMetric?: MutableMetric;
  private lineMetricEnv = '';
  private lineMetricBlock = '';
  private lineMetricMinute = NaN;
  /** Where the separators of the access line being read are. */
  private readonly tabs = new Int32Array(ACCESS_LINE_TABS);

  constructor(private readonly rowOptions: AccessRowBatchOptions) {
    super(rowOptions);
    this.rows = rowOptions.rows ?? true;
  }

  /**
   * Access entries as lines (`accessLine`: how the local gateway's entries reach the log worker),
   * one per line. In row mode, a line already in normal form — every line the local gateway
   * writes — is checked in place and becomes its row as it is: no string per field, no object per
   * request. Any other line is read field by field and normalized like `addAccess`.
   */
  addAccessLines(text: string): void {
    const rows = this.rows;
    if (rows && text.length > 0) {
      // Kept as given (the rows point into it); one line break at the end, whatever came.
      if (text.charCodeAt(text.length - 1) !== 10) text = `${text}\n`;
      this.input += text;
    }
    const base = this.input.length - (rows ? text.length : 0);
    // Escapes and carriage returns send a line the slow way: find the next one only past it.
    let special = -1;
    for (let start = 0; start < text.length;) {
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
    if (!REQUEST_ID_AT.test(text) || REQUEST_ID_AT.lastIndex !== t[0] + 1) return false;
    if (t[1] - t[0] !== 25) return false;
    const ms = isoTimeMs(text, t[0] + 1);
    if (ms !== ms) return false;
    if (!isMethodAt(text, t[2] + 1, t[3])) return false;
    const pathLength = t[4] - t[3] - 1;
    if (pathLength > MAX_PATH || (pathLength === 1 && text.charCodeAt(t[3] + 1) === 45) /* - */) return false;
    BLOCK_NAME_AT.lastIndex = t[4] + 1;
    if (!BLOCK_NAME_AT.test(text) || BLOCK_NAME_AT.lastIndex !== t[5] + 1) return false;
    if (!isNormalText(text, t[5] + 1, t[6]) || !isNormalText(text, t[6] + 1, t[7])) return false;
    const status = readStatus(text, t[7] + 1, t[8]);
    if (status < 0) return false;
    const duration = readDuration(text, t[8] + 1, t[9]);
    if (duration < 0) return false;
    if (!isNormalText(text, t[9] + 1, t[10]) || !isNormalText(text, t[10] + 1, end)) return false;

    this.summary.accessEntries++;
    this.pushRow(0, base + start, ms);
    const minute = Math.floor(ms / 60_000);
    let m = this.lineMetric;
    if (
      !m ||
      minute !== this.lineMetricMinute ||
      !fieldIs(text, t[1] + 1, t[2], this.lineMetricEnv) ||
      !fieldIs(text, t[4] + 1, t[5], this.lineMetricBlock)
    ) {
      this.lineMetricEnv = text.slice(t[1] + 1, t[2]);
      this.lineMetricBlock = text.slice(t[4] + 1, t[5]);
      this.lineMetricMinute = minute;
      m = this.lineMetric = this.metric(this.lineMetricEnv, this.lineMetricBlock, isoTime(ms));
    }
    this.count(m, status, duration);
    return true;
  }

  override build(): RowIndexedBatch {
    const batch = super.build();
    if (!this.rows) return batch;
    const { textOf, starts, times, expires } = this.rowData;
    const accessRows: AccessRows = {
      count: starts.length,
      texts: [this.input, this.extra],
      textOf,
      starts,
      times,
      expires,
      input: this.input,
      lines: this.inputLines,
      retentionMs: this.rowOptions.retentionMs ?? DEFAULT_RETENTION_MS,
    };
    return { ...batch, accessRows };
  }

  protected override keepAccess(entry: Mutable<AccessEntry> & { expiresAt?: number }, timeMs: number, given?: unknown): void {
    if (!this.rows) return super.keepAccess(entry, timeMs);
    // A block given but refused leaves the record without one, where a line without one takes
    // its path's: indexed again, the input must hold the block as given (the row is in memory only).
    const givenBlock = (given as { block?: unknown } | undefined)?.block;
    if (entry.block === undefined && typeof givenBlock === 'string' && givenBlock !== '' && givenBlock !== '-') {
      this.input += accessLine({ ...entry, block: givenBlock });
      this.inputLines++;
      this.pushAccess(entry, timeMs, false);
    } else this.pushAccess(entry, timeMs);
  }

  /** `input`: a row made from a record (not from an input line) is kept in the input too. */
  private pushAccess(entry: Mutable<AccessEntry> & { expiresAt?: number }, timeMs: number, input = true): void {
    if (!this.rows) return super.keepAccess(entry, timeMs);
    this.summary.accessEntries++;
    const line = accessLine(entry);
    if (input) {
      this.pushRow(0, this.input.length, timeMs);
      this.input += line;
      this.inputLines++;
    } else {
      this.pushRow(1, this.extra.length, timeMs);
      this.extra += line;
    }
    this.countAccess(entry);
  }

  private pushRow(textOf: number, start: number, timeMs: number): void {
    const r = this.rowData;
    r.textOf.push(textOf);
    r.starts.push(start);
    r.times.push(timeMs);
    r.expires.push(this.expiry(timeMs));
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
const fieldIs = (text: string, start: number, end: number, value: string): boolean =>
  end - start === value.length && text.startsWith(value, start);

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
const isNormalText = (text: string, start: number, end: number): boolean =>
  end - start <= MAX_TEXT && !(end - start === 1 && text.charCodeAt(start) === 45);

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
