import type { AccessEntry, AccessRecord } from '../../../core/logs/log-records';

/**
 * Access entries and records as lines of tab-separated fields: how the local gateway's entries
 * reach the indexer (one string per batch crosses to the log worker far cheaper than objects),
 * and how the local log store keeps requests, in memory and in its files. A row is one string
 * per request where a record is an object and a dozen strings, so the index of the last 500,000
 * requests costs the garbage collector a fraction as much (issue 4: logging must not cost the
 * gateway its throughput); the record is rebuilt only when a query returns it.
 *
 * - An access line: `requestId \t time \t envId \t method \t path \t block \t release \t commit \t
 *   status \t durationMs \t clientId \t lambdaRequestId`.
 * - An access row: `a \t expiresAt \t <the access line> \t .` — the expiry first, read in place by
 *   the store; `.` last, so that a row cut short (a crash mid-append) is never read as one.
 *
 * An absent field is empty, `\e` is a present but empty one; `\\`, `\t`, `\n` and `\r` escape
 * those characters and `\uXXXX` any above U+00FF, so that a line is Latin-1 (one byte per
 * character: the gateway's thread writes lines straight into a byte buffer).
 *
 * @example
 * accessRow({ envId: 'e1', requestId: 'r1', time: '2025-06-15T10:00:00.000Z', method: 'GET', path: '/api/x',
 *   block: 'api', status: 200, durationMs: 1.5, expiresAt: 1750154400 })
 * // 'a\t1750154400\tr1\t2025-06-15T10:00:00.000Z\te1\tGET\t/api/x\tapi\t\t\t200\t1.5\t\t\t.'
 */
export const ACCESS_LINE_FIELDS = 12;

/** Field positions in a row that `parseAccessRow` checks before reading the line. */
const ROW = { expiresAt: 1, status: 10 } as const;
const ROW_FIELDS = ACCESS_LINE_FIELDS + 3;

const UNSAFE = /[\t\n\r\\\u0100-\uffff]/;
const UNSAFE_ALL = /[\t\n\r\\\u0100-\uffff]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r', '\\': '\\\\' };
const escape = (c: string): string => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const UNESCAPES: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', '\\': '\\', e: '' };
const TAB = 9;
const NL = 10;

/** The field as a line holds it: the same string when it needs no escape (the common case). */
export function escapeField(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escape) : s;
}

export function unescapeField(s: string): string {
  return s.includes('\\')
    ? s.replace(/\\(u[0-9a-f]{4}|[^])/g, (_, c: string) =>
        c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (UNESCAPES[c] ?? c),
      )
    : s;
}

/**
 * Environments, methods, blocks, releases, commits and client ids repeat from one request to the
 * next: each slot remembers the last value it found safe, so the gateway's thread checks them once.
 */
const safe: string[] = ['', '', '', '', '', '', ''];

function escapeRepeated(s: string, slot: number): string {
  if (s === safe[slot]) return s;
  if (UNSAFE.test(s)) return s.replace(UNSAFE_ALL, escape);
  safe[slot] = s;
  return s;
}

const optional = (s: string | undefined, slot: number): string => (s === undefined ? '' : s === '' ? '\\e' : escapeRepeated(s, slot));

function lineFields(e: AccessEntry): string {
  return `${escapeField(e.requestId)}\t${escapeField(e.time)}\t${escapeRepeated(e.envId, 0)}\t${escapeRepeated(e.method, 1)}\t${escapeField(e.path)}\t${optional(e.block, 2)}\t${optional(e.release, 3)}\t${optional(e.commit, 4)}\t${e.status}\t${e.durationMs}\t${optional(e.clientId, 5)}\t${optional(e.lambdaRequestId, 6)}`;
}

/** One access entry as a line, with its line break. */
export function accessLine(e: AccessEntry): string {
  return `${lineFields(e)}\n`;
}

/** One record as a row (without a line break). */
export function accessRow(r: AccessRecord): string {
  return `a\t${r.expiresAt}\t${lineFields(r)}\t.`;
}

/**
 * The fields of an access line (`text` from `start` to `end`), unescaped, as `accessEntry` takes
 * them (numbers still as text); undefined when it does not have the fields of one.
 */
export function parseAccessLine(text: string, start = 0, end = text.length): Record<keyof AccessEntry, string | undefined> | undefined {
  const f = text.slice(start, end).split('\t');
  if (f.length !== ACCESS_LINE_FIELDS) return undefined;
  const opt = (s: string): string | undefined => (s === '' ? undefined : unescapeField(s));
  return {
    requestId: unescapeField(f[0]),
    time: unescapeField(f[1]),
    envId: unescapeField(f[2]),
    method: unescapeField(f[3]),
    path: unescapeField(f[4]),
    block: opt(f[5]),
    release: opt(f[6]),
    commit: opt(f[7]),
    status: f[8],
    durationMs: f[9],
    clientId: opt(f[10]),
    lambdaRequestId: opt(f[11]),
  };
}

/** The record of a row; undefined when the line is not a whole row (e.g. cut short by a crash). */
export function parseAccessRow(row: string): AccessRecord | undefined {
  const f = row.split('\t');
  if (f.length !== ROW_FIELDS || f[0] !== 'a' || f[ROW_FIELDS - 1] !== '.') return undefined;
  const expiresAt = Number(f[ROW.expiresAt]);
  const status = Number(f[ROW.status]);
  if (f[ROW.expiresAt] === '' || f[ROW.status] === '' || !Number.isFinite(expiresAt) || !Number.isFinite(status)) return undefined;
  // A whole row: its access line starts after `a \t expiresAt \t`.
  return accessRecordAt(row, row.indexOf('\t', 2) + 1, expiresAt);
}

/**
 * Access records as the indexer gives them to a store that keeps rows (`LogBatchOptions.accessRows`):
 * each row is an access line inside one of `texts`, with its time and expiry beside it, so that
 * neither side makes an object or a string per request.
 */
export interface AccessRows {
  readonly count: number;
  /** Row i is the access line at `starts[i]` of `texts[textOf[i]]` (up to its line break). */
  readonly texts: readonly string[];
  readonly textOf: readonly number[];
  readonly starts: readonly number[];
  /** Epoch ms of each row's time. */
  readonly times: readonly number[];
  readonly expires: readonly number[];
  /**
   * What to keep to index these rows again, exactly: `lines` access lines (each ending in a line
   * break) that `addAccessLines`, with the same retention, turns into these rows.
   */
  readonly input: string;
  readonly lines: number;
  readonly retentionMs: number;
}

/** Where field `n` of the line at `start` begins (the first field is 0). */
function fieldAt(text: string, start: number, n: number): number {
  let at = start;
  for (let i = 0; i < n; i++) at = text.indexOf('\t', at) + 1;
  return at;
}

const LINE = {
  requestId: 0,
  time: 1,
  envId: 2,
  method: 3,
  path: 4,
  block: 5,
  release: 6,
  commit: 7,
  status: 8,
  durationMs: 9,
  clientId: 10,
  lambdaRequestId: 11,
} as const;

/** The record of the access line at `start` in `text` (up to its line break), with its expiry. */
export function accessRecordAt(text: string, start: number, expiresAt: number): AccessRecord {
  // The line ends at a line break, or at the tab before an explicit row's closing `.`.
  const last = fieldAt(text, start, ACCESS_LINE_FIELDS - 1);
  const tab = text.indexOf('\t', last);
  const nl = text.indexOf('\n', last);
  const end = Math.min(tab < 0 ? text.length : tab, nl < 0 ? text.length : nl);
  const f = parseAccessLine(text, start, end)!;
  const record: { -readonly [K in keyof AccessRecord]: AccessRecord[K] } = {
    envId: f.envId!,
    requestId: f.requestId!,
    time: f.time!,
    method: f.method!,
    path: f.path!,
    status: Number(f.status),
    durationMs: Number(f.durationMs),
    expiresAt,
  };
  if (f.block !== undefined) record.block = f.block;
  if (f.release !== undefined) record.release = f.release;
  if (f.commit !== undefined) record.commit = f.commit;
  if (f.clientId !== undefined) record.clientId = f.clientId;
  if (f.lambdaRequestId !== undefined) record.lambdaRequestId = f.lambdaRequestId;
  return record;
}

/** `status` of the access line at `start`, read in place. */
export const accessLineStatus = (text: string, start: number): number => readNumber(text, fieldAt(text, start, LINE.status));

/** Whether field `n` of the line at `start` is `value` as lines hold it (escaped), compared in place. */
function fieldIs(text: string, start: number, n: number, value: string): boolean {
  const at = fieldAt(text, start, n);
  const c = text.charCodeAt(at + value.length);
  return text.startsWith(value, at) && (c === TAB || c === NL || c !== c);
}

/** Whether the block of the access line at `start` is `block`, as lines hold it (`escapeField`). */
export const accessLineHasBlock = (text: string, start: number, block: string): boolean => fieldIs(text, start, LINE.block, block);

/** Whether the envId of the access line at `start` is `envId`, as lines hold it (`escapeField`). */
export const accessLineHasEnv = (text: string, start: number, envId: string): boolean => fieldIs(text, start, LINE.envId, envId);

/** The envId of the access line at `start`, unescaped. */
export function accessLineEnv(text: string, start: number): string {
  const at = fieldAt(text, start, LINE.envId);
  return unescapeField(text.slice(at, text.indexOf('\t', at)));
}

/** Whether the request id of the access line at `start` is `id` (escaped), compared in place. */
export function accessLineIdIs(text: string, start: number, id: string): boolean {
  return text.startsWith(id, start) && text.charCodeAt(start + id.length) === TAB;
}

/** Compares the request ids of two access lines in place, as strings compare. */
export function compareAccessLineIds(a: string, i: number, b: string, j: number): number {
  for (; ; i++, j++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    if (x !== y) return x === TAB ? -1 : y === TAB ? 1 : x - y;
    if (x === TAB) return 0;
  }
}

/** Compares the request id of the access line at `start` with `id` (escaped), in place. */
export function compareAccessLineId(text: string, start: number, id: string): number {
  for (let i = start, j = 0; ; i++, j++) {
    const x = text.charCodeAt(i);
    if (j === id.length) return x === TAB ? 0 : 1;
    const y = id.charCodeAt(j);
    if (x !== y) return x === TAB ? -1 : x - y;
  }
}

/**
 * The number at `at`, up to the next tab (up to 15 digits read in place, exact in a double;
 * anything else the slow way, which rounds as `Number` does).
 */
function readNumber(row: string, at: number): number {
  let n = 0;
  for (let i = at; ; i++) {
    const c = row.charCodeAt(i);
    if (c >= 48 && c <= 57 && i - at < 15) n = n * 10 + (c - 48);
    else if (c === TAB && i > at) return n;
    else {
      const end = row.indexOf('\t', at);
      return end > at ? Number(row.slice(at, end)) : NaN;
    }
  }
}

/** A row's record, and where its access line starts (after `a \t expiresAt \t`). */
export function accessRowLine(row: string): { start: number; record: AccessRecord } | undefined {
  const record = parseAccessRow(row);
  return record && { start: row.indexOf('\t', 2) + 1, record };
}
