/** Small formatters for what tables show: times, durations, short ids. */

/** An ISO time as local `YYYY-MM-DD HH:MM:SS`. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** An ISO time as local `HH:MM:SS.mmm` (log lines). */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Milliseconds as `850 ms`, `2.4 s`, `3 min 5 s`. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** The time between two ISO times (or until now), formatted. */
export function elapsed(from: string | null | undefined, to?: string | null): string {
  if (!from) return '-';
  return duration((to ? Date.parse(to) : Date.now()) - Date.parse(from));
}

/** A git commit's short form. */
export const shortSha = (sha: string | null | undefined): string => (sha ? sha.slice(0, 7) : '-');

/**
 * A duration such as `90s`, `15m`, `1h`, `2d` in milliseconds.
 * @throws Error when `text` is not one.
 */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`"${text}" is not a duration: use a number and s, m, h or d, e.g. 15m or 1h`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}
