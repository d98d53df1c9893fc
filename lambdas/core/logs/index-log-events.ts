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
import { accessEntry, parseAccessLogLine } from './parse-access-entry';
import { parseConsoleLine, stripRuntimePrefix } from './parse-console-line';
import { parseLambdaPlatformLine } from './parse-lambda-platform-line';
import { isoTime, isUsableTime } from './iso-time';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

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

export interface MutableMetric {
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
  private readonly lines: ConsoleLineRecord[] = [];
  private readonly instance: InstanceLineRecord[] = [];
  private readonly metrics = new Map<string, MutableMetric>();
  protected readonly summary: IndexSummary = emptySummary();
  private readonly retentionS: number;
  private readonly lossy: boolean;
  private lastMetricKey = '';
  private lastMetric?: MutableMetric;

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
    this.keepAccess(valid, Date.parse(valid.time), entry);
  }

  /** One line of an HTTP API stage access log (AWS). */
  addAccessLogLine(envId: string, text: string): void {
    this.summary.events++;
    const valid = parseAccessLogLine(text, envId);
    if (valid) this.keepAccess(valid, Date.parse(valid.time));
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
    this.instance.push({
      envId: source.envId,
      block: source.block,
      time: isoTime(time),
      seq,
      stream: 'platform',
      text,
      ...versionOf(source),
      expiresAt: this.expiry(time),
    });
    if (wakeMs !== undefined) this.countColdStart(source, time, wakeMs);
  }

  /** Counts entries that never reached the indexer (the local feed's buffer was full). */
  addShed(count: number): void {
    this.summary.shed += count;
  }

  build(): IndexedBatch {
    const metrics = [...this.metrics.values()].map((m) => ({
      ...m,
      batch: this.options.batch,
      expiresAt: this.expiry(Date.parse(`${m.minute}:00.000Z`) + 60_000),
    }));
    return { access: this.access, lines: this.lines, instance: this.instance, metrics, summary: { ...this.summary } };
  }

  /**
   * Keeps one valid access entry and counts it in its block's minute. A store that keeps access
   * entries in a form of its own (the local file store's rows) overrides it; `given` is the entry
   * as it was added, before it was checked.
   */
  protected keepAccess(entry: Mutable<AccessEntry> & { expiresAt?: number }, timeMs: number, _given?: unknown): void {
    this.summary.accessEntries++;
    // The entry was built for this batch: adding the expiry in place saves a copy per request.
    entry.expiresAt = this.expiry(timeMs);
    this.access.push(entry as AccessRecord);
    this.countAccess(entry);
  }

  protected countAccess(entry: AccessEntry): void {
    this.count(this.metric(entry.envId, entry.block ?? GATEWAY_BLOCK, entry.time), entry.status, entry.durationMs);
  }

  protected count(m: MutableMetric, status: number, durationMs: number): void {
    m.requests++;
    if (status >= 500) m.errors5xx++;
    else if (status >= 400) m.errors4xx++;
    m.durationSumMs += durationMs;
    const b = durationBucket(durationMs);
    m.histogram[b] = (m.histogram[b] ?? 0) + 1;
  }

  private addReport(source: BlockSource, time: number, seq: string, text: string, report: LambdaReport): void {
    this.instance.push({
      envId: source.envId,
      block: source.block,
      time: isoTime(time),
      seq,
      stream: 'platform',
      text,
      ...versionOf(source),
      report,
      expiresAt: this.expiry(time),
    });
    if (report.initDurationMs !== undefined) this.countColdStart(source, time, report.initDurationMs);
  }

  private countColdStart(source: BlockSource, time: number, ms: number): void {
    const m = this.metric(source.envId, source.block, isoTime(time));
    m.coldStarts++;
    m.coldStartSumMs += ms;
  }

  protected metric(envId: string, block: string, iso: string): MutableMetric {
    const minute = iso.slice(0, 16);
    const key = `${envId}\u0000${block}\u0000${minute}`;
    if (key === this.lastMetricKey) return this.lastMetric!;
    let m = this.metrics.get(key);
    if (!m) {
      m = {
        envId,
        block,
        minute,
        requests: 0,
        errors4xx: 0,
        errors5xx: 0,
        durationSumMs: 0,
        histogram: {},
        coldStarts: 0,
        coldStartSumMs: 0,
      };
      this.metrics.set(key, m);
    }
    this.lastMetricKey = key;
    this.lastMetric = m;
    return m;
  }

  protected expiry(timeMs: number): number {
    return Math.floor(timeMs / 1000) + this.retentionS;
  }
}

function versionOf(source: BlockSource): { release?: string; commit?: string } {
  if (source.release === undefined && source.commit === undefined) return {};
  return {
    ...(source.release !== undefined ? { release: source.release } : {}),
    ...(source.commit !== undefined ? { commit: source.commit } : {}),
  };
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
