/** Years 2000..9999: ISO strings of one length, which sort as text. */
export const isUsableTime = (ms: number): boolean => Number.isFinite(ms) && ms >= 946_684_800_000 && ms < 253_402_300_800_000;

let cachedSecond = NaN;
let cachedPrefix = '';
let lastMs = NaN;
let lastIso = '';

/**
 * `new Date(ms).toISOString()` without a Date per call: lines of one batch mostly share their
 * second, so the `YYYY-MM-DDTHH:MM:SS.` prefix is cached. For years 2000..9999 (see isUsableTime).
 */
export function isoTime(ms: number): string {
  // Lines logged in the same millisecond share one string (fewer objects kept in the local index).
  if (ms === lastMs) return lastIso;
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    cachedSecond = second;
    cachedPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  const millis = Math.floor(frac);
  lastMs = ms;
  lastIso = `${cachedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
  return lastIso;
}
