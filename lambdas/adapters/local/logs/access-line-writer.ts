import { escapeField } from './access-row';
import { isoTime, isUsableTime } from '../../../core/logs/iso-time';
import type { AccessEntry } from '../../../core/logs/log-records';

/** What a gateway knows of one request as it ends: an access entry with its time as epoch ms. */
export interface AccessFacts extends Omit<AccessEntry, 'time'> {
  /** When the request arrived, epoch milliseconds. */
  readonly timeMs: number;
}

/** The access entry of some facts (a copy: the local gateway refills its facts for every request). */
export function accessEntryOf(f: AccessFacts): AccessEntry {
  return {
    requestId: f.requestId,
    time: isoTime(f.timeMs),
    envId: f.envId,
    method: f.method,
    path: f.path,
    block: f.block,
    release: f.release,
    commit: f.commit,
    status: f.status,
    durationMs: f.durationMs,
    clientId: f.clientId,
    lambdaRequestId: f.lambdaRequestId,
  };
}

const TAB = 9;
const NL = 10;
const CR = 13;
const BACKSLASH = 92;
const NOTHING: Uint8Array = new Uint8Array(0);
/** `\e`: an optional field that is present but empty. */
const EMPTY: Uint8Array = new Uint8Array([BACKSLASH, 101]);

/**
 * Writes access entries as access lines (access-row.ts) straight into bytes, for the gateway's
 * thread, which calls it once per request: the same bytes as `accessLine({ ...facts, time:
 * isoTime(facts.timeMs) })`, without a string or an object per request, and without reading the
 * characters of strings that repeat:
 * - fields that repeat from one request to the next (environment, method, block + release +
 *   commit, client) are kept as their bytes and copied while they stay the same string;
 * - the time is written from epoch ms, with its second's `YYYY-MM-DDTHH:MM:SS.` kept as bytes;
 * - only the request id and the path (and an AWS Lambda request id) are read character by character.
 */
export class AccessLineWriter {
  private readonly env = new RepeatedField(requiredFieldBytes);
  private readonly method = new RepeatedField(requiredFieldBytes);
  private readonly client = new RepeatedField(fieldBytes);
  private readonly target = new RepeatedTarget();
  private second = NaN;
  private readonly secondBytes = new Uint8Array(20);

  /**
   * Writes one line, with its line break, into `bytes` from `at`. Returns where the line ends, or
   * -1 when `bytes` has no room for it (nothing is written past its end).
   */
  write(bytes: Uint8Array, at: number, f: AccessFacts): number {
    let p = put(bytes, at, f.requestId, TAB);
    p = this.putTime(bytes, p, f.timeMs);
    p = copy(bytes, p, this.env.bytesOf(f.envId), TAB);
    p = copy(bytes, p, this.method.bytesOf(f.method), TAB);
    p = put(bytes, p, f.path, TAB);
    p = copy(bytes, p, this.target.bytesOf(f.block, f.release, f.commit), TAB);
    p = putNumber(bytes, p, f.status, TAB);
    p = putNumber(bytes, p, f.durationMs, TAB);
    p = copy(bytes, p, this.client.bytesOf(f.clientId), TAB);
    // Lambda request ids (AWS) differ from line to line, and the local gateway has none.
    return f.lambdaRequestId ? put(bytes, p, f.lambdaRequestId, NL) : copy(bytes, p, fieldBytes(f.lambdaRequestId), NL);
  }

  /** `isoTime(ms)`; an empty field (which the indexer rejects) outside isoTime's years. */
  private putTime(bytes: Uint8Array, at: number, time: number): number {
    if (!isUsableTime(time)) return copy(bytes, at, NOTHING, TAB);
    const ms = Math.floor(time);
    const second = Math.floor(ms / 1000);
    if (second !== this.second) {
      this.second = second;
      latin1Into(this.secondBytes, isoTime(second * 1000));
    }
    if (at < 0 || at + 24 >= bytes.length) return -1;
    copy(bytes, at, this.secondBytes, 0);
    const millis = ms - second * 1000;
    bytes[at + 20] = 48 + Math.floor(millis / 100);
    bytes[at + 21] = 48 + (Math.floor(millis / 10) % 10);
    bytes[at + 22] = 48 + (millis % 10);
    bytes[at + 23] = 90; // Z
    bytes[at + 24] = TAB;
    return at + 25;
  }
}

/** The last string a field had, and its bytes as a line holds it. */
class RepeatedField {
  private value: string | undefined = undefined;
  private bytes: Uint8Array = NOTHING;

  constructor(private readonly encode: (s: string | undefined) => Uint8Array) {}

  bytesOf(s: string | undefined): Uint8Array {
    if (s !== this.value) {
      this.value = s;
      this.bytes = this.encode(s);
    }
    return this.bytes;
  }
}

/** Block, release and commit, which change together: their three fields as one run of bytes. */
class RepeatedTarget {
  private block: string | undefined = undefined;
  private release: string | undefined = undefined;
  private commit: string | undefined = undefined;
  private bytes: Uint8Array = new Uint8Array([TAB, TAB]);

  bytesOf(block: string | undefined, release: string | undefined, commit: string | undefined): Uint8Array {
    if (block !== this.block || release !== this.release || commit !== this.commit) {
      this.block = block;
      this.release = release;
      this.commit = commit;
      const [b, r, c] = [fieldBytes(block), fieldBytes(release), fieldBytes(commit)];
      const all = new Uint8Array(b.length + r.length + c.length + 2);
      all.set(b, 0);
      all[b.length] = TAB;
      all.set(r, b.length + 1);
      all[b.length + 1 + r.length] = TAB;
      all.set(c, b.length + r.length + 2);
      this.bytes = all;
    }
    return this.bytes;
  }
}

/** An optional field as a line holds it: escaped; `\e` when empty; nothing when absent. */
function fieldBytes(s: string | undefined): Uint8Array {
  return s === undefined ? NOTHING : s === '' ? EMPTY : requiredFieldBytes(s);
}

/** A field every line has: escaped (empty when empty). */
function requiredFieldBytes(s: string | undefined): Uint8Array {
  const text = escapeField(s ?? '');
  return latin1Into(new Uint8Array(text.length), text);
}

/** `text` (Latin-1: every character below U+0100) into `bytes` from 0. */
function latin1Into(bytes: Uint8Array, text: string): Uint8Array {
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Copies `field` and then `end`. -1 stays -1. */
function copy(bytes: Uint8Array, at: number, field: Uint8Array, end: number): number {
  const length = field.length;
  if (at < 0 || at + length >= bytes.length) return -1;
  // A loop, not `bytes.set`: fields are a few dozen bytes, for which the builtin's call costs more.
  for (let i = 0; i < length; i++) bytes[at + i] = field[i]!;
  bytes[at + length] = end;
  return at + length + 1;
}

/** Copies `s` and then `end`; a field with a character to escape goes the slow way. -1 stays -1. */
function put(bytes: Uint8Array, at: number, s: string, end: number): number {
  const length = s.length;
  if (at < 0 || at + length >= bytes.length) return -1;
  let p = at;
  for (let i = 0; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c === TAB || c === NL || c === CR || c === BACKSLASH || c > 0xff) return copy(bytes, at, fieldBytes(s), end);
    bytes[p++] = c;
  }
  bytes[p] = end;
  return p + 1;
}

/** Integers and hundredths (the gateway's durations) digit by digit; anything else as `String` writes it. */
function putNumber(bytes: Uint8Array, at: number, n: number, end: number): number {
  const hundredths = Math.round(n * 100);
  if (at < 0 || !(n >= 0 && n < 1e9 && hundredths / 100 === n)) return at < 0 ? -1 : put(bytes, at, String(n), end);
  const whole = Math.floor(hundredths / 100);
  const cents = hundredths % 100;
  // Exactly the room it takes: a buffer that fits the line takes it.
  if (at + digitCount(whole) + (cents === 0 ? 0 : cents % 10 === 0 ? 2 : 3) >= bytes.length) return -1;
  let p = putDigits(bytes, at, whole);
  if (cents !== 0) {
    bytes[p++] = 46; // .
    bytes[p++] = 48 + Math.floor(cents / 10);
    if (cents % 10 !== 0) bytes[p++] = 48 + (cents % 10);
  }
  bytes[p] = end;
  return p + 1;
}

function digitCount(n: number): number {
  let digits = 1;
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
  return digits;
}

function putDigits(bytes: Uint8Array, at: number, n: number): number {
  const digits = digitCount(n);
  for (let i = digits - 1, x = n; i >= 0; i--, x = Math.floor(x / 10)) bytes[at + i] = 48 + (x % 10);
  return at + digits;
}
