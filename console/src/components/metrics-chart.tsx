import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  readonly label: string;
  readonly color: string;
  readonly values: readonly (number | null)[];
  readonly dash?: number[];
  /** Dots on each value (for sparse series, whose minutes without requests are gaps). */
  readonly points?: boolean;
}

export interface MetricsChartProps {
  readonly title: string;
  /** What the chart shows, in words, for those who cannot see it. */
  readonly summary: string;
  /** Seconds since the epoch, one per point. */
  readonly times: readonly number[];
  readonly series: readonly ChartSeries[];
  readonly unit: string;
}

/** A time-series chart (uPlot on a canvas), as wide as its container, with its legend. */
export function MetricsChart({ title, summary, times, series, unit }: MetricsChartProps) {
  const holder = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = holder.current!;
    const plot = new uPlot(
      {
        width: Math.max(320, el.clientWidth),
        height: 200,
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, min, max) => [0, Math.max(max ?? 1, min ?? 0, 1) * 1.1] } },
        axes: [{}, { label: unit, size: 60 }],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            ...(s.dash ? { dash: s.dash } : {}),
            points: { show: s.points ?? false, size: 5 },
            spanGaps: false,
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : `${Math.round(v * 10) / 10} ${unit}`),
          })),
        ],
      },
      [times as number[], ...series.map((s) => s.values as (number | null)[])],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(320, el.clientWidth), height: 200 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, unit]);
  return (
    <figure class="chart">
      <figcaption>
        <h4>{title}</h4>
        <span class="visually-hidden">{summary}</span>
      </figcaption>
      <div ref={holder} aria-hidden="true" />
    </figure>
  );
}
