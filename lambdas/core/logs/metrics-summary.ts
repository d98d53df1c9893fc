import type { MetricAggregate } from '../../ports/log-store';
import { mergeHistogram, percentile } from './duration-histogram';
import { GATEWAY_BLOCK } from './log-records';

export interface MinuteMetrics {
  readonly minute: string;
  readonly requests: number;
  readonly errors4xx: number;
  readonly errors5xx: number;
  readonly p50Ms: number | null;
  readonly p95Ms: number | null;
  readonly p99Ms: number | null;
  readonly avgMs: number | null;
  /** From the histogram: within 2 % of the slowest request. */
  readonly maxMs: number | null;
  /** Cold starts (AWS: Lambda init) or wakes (local: process start) and how long they took. */
  readonly coldStarts: number;
  readonly coldStartAvgMs: number | null;
}

export interface BlockMetrics {
  /** null: requests the gateway answered without a block (`/authorize`, unknown block). */
  readonly block: string | null;
  readonly total: Omit<MinuteMetrics, 'minute'>;
  /** Minutes with activity, oldest first. */
  readonly minutes: MinuteMetrics[];
}

export interface MetricsSummary {
  readonly from: string;
  readonly to: string;
  readonly blocks: BlockMetrics[];
}

/** Per block per minute, and per block over the window, from the stored aggregates. */
export function summarizeMetrics(rows: readonly MetricAggregate[], from: string, to: string): MetricsSummary {
  const byBlock = new Map<string, Map<string, MetricAggregate>>();
  for (const r of rows) {
    let minutes = byBlock.get(r.block);
    if (!minutes) byBlock.set(r.block, (minutes = new Map<string, MetricAggregate>()));
    const prev = minutes.get(r.minute);
    minutes.set(r.minute, prev ? add(prev, r) : { ...r, histogram: { ...r.histogram } });
  }
  const blocks = [...byBlock.entries()]
    .sort(([a], [b]) => (a === GATEWAY_BLOCK ? 1 : b === GATEWAY_BLOCK ? -1 : a.localeCompare(b)))
    .map(([block, minutes]) => {
      const sorted = [...minutes.values()].sort((a, b) => a.minute.localeCompare(b.minute));
      const total = sorted.reduce<MetricAggregate | undefined>(
        (acc, m) => (acc ? add(acc, m) : { ...m, histogram: { ...m.histogram } }),
        undefined,
      )!;
      const { minute: _minute, ...totals } = view(total);
      return { block: block === GATEWAY_BLOCK ? null : block, total: totals, minutes: sorted.map(view) };
    });
  return { from, to, blocks };
}

function add(a: MetricAggregate, b: MetricAggregate): MetricAggregate {
  return {
    ...a,
    requests: a.requests + b.requests,
    errors4xx: a.errors4xx + b.errors4xx,
    errors5xx: a.errors5xx + b.errors5xx,
    durationSumMs: a.durationSumMs + b.durationSumMs,
    histogram: mergeHistogram({ ...a.histogram }, b.histogram),
    coldStarts: a.coldStarts + b.coldStarts,
    coldStartSumMs: a.coldStartSumMs + b.coldStartSumMs,
    expiresAt: Math.max(a.expiresAt, b.expiresAt),
  };
}

const round = (n: number): number => Math.round(n * 100) / 100;

function view(m: MetricAggregate): MinuteMetrics {
  return {
    minute: m.minute,
    requests: m.requests,
    errors4xx: m.errors4xx,
    errors5xx: m.errors5xx,
    p50Ms: percentile(m.histogram, 0.5) ?? null,
    p95Ms: percentile(m.histogram, 0.95) ?? null,
    p99Ms: percentile(m.histogram, 0.99) ?? null,
    avgMs: m.requests ? round(m.durationSumMs / m.requests) : null,
    maxMs: percentile(m.histogram, 1) ?? null,
    coldStarts: m.coldStarts,
    coldStartAvgMs: m.coldStarts ? round(m.coldStartSumMs / m.coldStarts) : null,
  };
}
