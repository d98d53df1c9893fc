import { useId, useMemo, useState } from 'preact/hooks';
import { unwrap } from '../../../client/kinto-client';
import { useKinto } from '../api/kinto-context';
import type { BlockMetrics, Metrics, MinuteMetrics } from '../api/types';
import { EmptyState, Loading } from '../components/empty-state';
import { EnvTabs } from '../components/env-tabs';
import { ErrorNote } from '../components/error-note';
import { MetricsChart, type ChartSeries } from '../components/metrics-chart';
import { usePageTitle } from '../components/page-title';
import { duration } from '../components/time';
import { useLoad } from '../components/use-load';

const RANGES = [
  { minutes: 15, label: 'last 15 minutes' },
  { minutes: 60, label: 'last hour' },
  { minutes: 360, label: 'last 6 hours' },
  { minutes: 1440, label: 'last 24 hours' },
];
const MINUTE = 60_000;

/** Metrics per block: requests, 4xx/5xx and p50/p95/p99 latency per minute, over a chosen range. */
export function MetricsPage({ project, env }: { readonly project: string; readonly env: string }) {
  usePageTitle(`Metrics · ${env} · ${project}`);
  const { api } = useKinto();
  const id = useId();
  const [range, setRange] = useState('60');
  const [custom, setCustom] = useState({ from: '', to: '' });
  const [refreshed, setRefreshed] = useState(0);
  const metrics = useLoad(
    async (signal) => {
      const query =
        range === 'custom' && custom.from && custom.to
          ? { from: new Date(custom.from).toISOString(), to: new Date(custom.to).toISOString() }
          : { from: new Date(Date.now() - Number(range === 'custom' ? 60 : range) * MINUTE).toISOString(), to: new Date().toISOString() };
      return unwrap(
        await api.GET('/v1/projects/{project}/environments/{env}/metrics', { params: { path: { project, env }, query }, signal }),
      ).data;
    },
    [project, env, range, custom.from, custom.to, refreshed],
  );
  return (
    <>
      <div class="page-head">
        <div>
          <h1>Metrics of {env}</h1>
          <p>Per block and minute, from the gateway's requests: how many, how many failed, how long they took.</p>
        </div>
      </div>
      <EnvTabs project={project} env={env} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div>
          <label for={`${id}-range`}>Range</label>
          <select id={`${id}-range`} value={range} onChange={(e) => setRange(e.currentTarget.value)}>
            {RANGES.map((r) => (
              <option key={r.minutes} value={String(r.minutes)}>
                {r.label}
              </option>
            ))}
            <option value="custom">from … to …</option>
          </select>
        </div>
        {range === 'custom' ? (
          <>
            <div>
              <label for={`${id}-from`}>From</label>
              <input
                id={`${id}-from`}
                type="datetime-local"
                value={custom.from}
                onInput={(e) => setCustom({ ...custom, from: e.currentTarget.value })}
              />
            </div>
            <div>
              <label for={`${id}-to`}>To (at most 24 h later)</label>
              <input
                id={`${id}-to`}
                type="datetime-local"
                value={custom.to}
                onInput={(e) => setCustom({ ...custom, to: e.currentTarget.value })}
              />
            </div>
          </>
        ) : null}
        <button type="button" class="secondary" onClick={() => setRefreshed(Date.now())} disabled={metrics.loading}>
          {metrics.loading ? 'Refreshing…' : 'Refresh'}
        </button>
      </form>
      <ErrorNote error={metrics.error} />
      {!metrics.data ? (
        metrics.error ? null : (
          <Loading what="metrics" />
        )
      ) : metrics.data.blocks.length === 0 ? (
        <EmptyState title="No requests in this range">
          <p>Metrics come from requests through the gateway: call a block, or choose a longer range.</p>
        </EmptyState>
      ) : (
        metrics.data.blocks.map((b) => <BlockCharts key={b.block ?? '(gateway)'} metrics={metrics.data!} block={b} />)
      )}
    </>
  );
}

function BlockCharts({ metrics, block }: { readonly metrics: Metrics; readonly block: BlockMetrics }) {
  const t = block.total;
  const name = block.block ?? 'gateway (no block)';
  // The API lists only minutes with requests; the charts show every minute of the range.
  const { times, byMinute } = useMemo(() => {
    const start = Math.floor(Date.parse(metrics.from) / MINUTE) * MINUTE;
    const end = Date.parse(metrics.to);
    const known = new Map(block.minutes.map((m) => [Date.parse(m.minute), m]));
    const times: number[] = [];
    const byMinute: (MinuteMetrics | undefined)[] = [];
    for (let at = start; at <= end; at += MINUTE) {
      times.push(at / 1000);
      byMinute.push(known.get(at));
    }
    return { times, byMinute };
  }, [metrics, block]);
  const traffic: ChartSeries[] = useMemo(
    () => [
      { label: 'requests', color: '#0b57d0', values: byMinute.map((m) => m?.requests ?? 0) },
      { label: '4xx', color: '#b06000', values: byMinute.map((m) => m?.errors4xx ?? 0) },
      { label: '5xx', color: '#b3261e', values: byMinute.map((m) => m?.errors5xx ?? 0) },
    ],
    [byMinute],
  );
  const latency: ChartSeries[] = useMemo(
    () => [
      { label: 'p50', color: '#0d652d', values: byMinute.map((m) => m?.p50Ms ?? null), points: true },
      { label: 'p95', color: '#b06000', values: byMinute.map((m) => m?.p95Ms ?? null), dash: [6, 3], points: true },
      { label: 'p99', color: '#b3261e', values: byMinute.map((m) => m?.p99Ms ?? null), dash: [2, 3], points: true },
    ],
    [byMinute],
  );
  return (
    <section class="card block-metrics" aria-labelledby={`metrics-${name}`}>
      <h2 id={`metrics-${name}`}>{name}</h2>
      <div class="totals">
        <div>
          <span class="hint">Requests</span>
          <strong>{t.requests}</strong>
        </div>
        <div>
          <span class="hint">4xx</span>
          <strong>{t.errors4xx}</strong>
        </div>
        <div>
          <span class="hint">5xx</span>
          <strong>{t.errors5xx}</strong>
        </div>
        <div>
          <span class="hint">p50 / p95 / p99</span>
          <strong>
            {duration(t.p50Ms)} / {duration(t.p95Ms)} / {duration(t.p99Ms)}
          </strong>
        </div>
        <div>
          <span class="hint">Cold starts (wakes)</span>
          <strong>
            {t.coldStarts}
            {t.coldStartAvgMs !== null ? `, ${duration(t.coldStartAvgMs)} avg` : ''}
          </strong>
        </div>
      </div>
      <MetricsChart
        title="Requests per minute"
        unit="req"
        times={times}
        series={traffic}
        summary={`${t.requests} requests in the range, ${t.errors4xx} answered 4xx and ${t.errors5xx} 5xx.`}
      />
      <MetricsChart
        title="Latency per minute"
        unit="ms"
        times={times}
        series={latency}
        summary={`Median ${duration(t.p50Ms)}, 95th percentile ${duration(t.p95Ms)}, 99th ${duration(t.p99Ms)}.`}
      />
    </section>
  );
}
