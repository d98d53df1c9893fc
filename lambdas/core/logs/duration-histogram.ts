/**
 * Durations are counted in log-spaced buckets so that partial counts from many batches add up and
 * percentiles come out within ±2 % without keeping every value. Bucket 0 holds up to 0.1 ms;
 * bucket i holds (0.1·G^(i-1), 0.1·G^i] ms with G = 1.04.
 */
const BASE_MS = 0.1;
const GROWTH = 1.04;
const LOG_GROWTH = Math.log(GROWTH);
/** 0.1 ms · 1.04^460 is past a day: no duration goes beyond the last bucket. */
const MAX_BUCKET = 460;

export function durationBucket(ms: number): number {
  if (!(ms > BASE_MS)) return 0;
  return Math.min(MAX_BUCKET, Math.ceil(Math.log(ms / BASE_MS) / LOG_GROWTH - 1e-9));
}

/** A representative value of a bucket: the geometric middle of its bounds (error ≤ 2 %). */
export function bucketValue(bucket: number): number {
  if (bucket <= 0) return BASE_MS;
  return BASE_MS * GROWTH ** (bucket - 0.5);
}

/** Adds `b` into `a` (bucket -> count). */
export function mergeHistogram(a: Record<string, number>, b: Readonly<Record<string, number>>): Record<string, number> {
  for (const k in b) a[k] = (a[k] ?? 0) + b[k];
  return a;
}

/** The q-quantile (0..1) of a histogram, rounded to 0.01 ms; undefined when it is empty. */
export function percentile(histogram: Readonly<Record<string, number>>, q: number): number | undefined {
  const buckets = Object.keys(histogram)
    .map(Number)
    .sort((x, y) => x - y);
  let total = 0;
  for (const b of buckets) total += histogram[b];
  if (total === 0) return undefined;
  // Nearest rank: the smallest value with at least q of the counts at or below it.
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (const b of buckets) {
    seen += histogram[b];
    if (seen >= rank) return Math.round(bucketValue(b) * 100) / 100;
  }
  return undefined;
}
