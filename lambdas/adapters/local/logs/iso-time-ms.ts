import { isoTime, isUsableTime } from '../../../core/logs/iso-time';

let readPrefix = '';
let readSecondMs = NaN;

/**
 * Epoch milliseconds of a time in `isoTime`'s form (`YYYY-MM-DDTHH:MM:SS.mmmZ`, years 2000..9999)
 * at `at` in `text`, read in place; NaN when the text there is not one. The second is cached:
 * the times of one batch mostly share it, so they are read without a Date or a string.
 */
export function isoTimeMs(text: string, at = 0): number {
  const d0 = text.charCodeAt(at + 20) - 48;
  const d1 = text.charCodeAt(at + 21) - 48;
  const d2 = text.charCodeAt(at + 22) - 48;
  if (!(d0 >= 0 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9) || text.charCodeAt(at + 23) !== 90 /* Z */) return NaN;
  if (readPrefix === '' || !text.startsWith(readPrefix, at)) {
    const second = `${text.slice(at, at + 20)}000Z`;
    const ms = Date.parse(second);
    // Only the canonical form: what isoTime writes back for it, byte for byte.
    if (!isUsableTime(ms) || isoTime(ms) !== second) return NaN;
    readPrefix = second.slice(0, 20);
    readSecondMs = ms;
  }
  return readSecondMs + d0 * 100 + d1 * 10 + d2;
}
