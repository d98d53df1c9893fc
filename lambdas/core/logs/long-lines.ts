/** Longest console line kept whole. Local output is cut into pieces of this size (`cutLine`); a longer line that still arrives (on AWS) keeps its first 256 KB and a marker. */
export const MAX_LINE_BYTES = 256 * 1024;

export interface LineText {
  readonly text: string;
  readonly truncated: boolean;
  readonly invalidUtf8: boolean;
}

const encoder = new TextEncoder();
let scratch = new Uint8Array(0);

/**
 * A raw line as it will be kept: at most `maxBytes` of UTF-8 (cut on a character boundary, with a
 * marker saying how much was dropped). `lossy` says the bytes were decoded with replacement, so a
 * U+FFFD in the text marks invalid UTF-8 in the source.
 */
export function lineText(raw: string, lossy: boolean, maxBytes: number = MAX_LINE_BYTES): LineText {
  const invalidUtf8 = lossy && raw.includes('\uFFFD');
  // A UTF-16 unit is at most 3 UTF-8 bytes: most lines need no byte count at all.
  if (raw.length * 3 <= maxBytes) return { text: raw, truncated: false, invalidUtf8 };
  const bytes = Buffer.byteLength(raw, 'utf8');
  if (bytes <= maxBytes) return { text: raw, truncated: false, invalidUtf8 };
  if (scratch.length < maxBytes) scratch = new Uint8Array(maxBytes);
  // encodeInto never writes half a character, so the kept prefix stays valid UTF-8.
  const { read } = encoder.encodeInto(raw, scratch.subarray(0, maxBytes));
  const kept = raw.slice(0, read);
  return { text: `${kept}${truncationMarker(bytes, Buffer.byteLength(kept, 'utf8'))}`, truncated: true, invalidUtf8 };
}

export const truncationMarker = (totalBytes: number, keptBytes: number): string =>
  ` …[kinto: line truncated, ${totalBytes - keptBytes} of ${totalBytes} bytes dropped]`;

/** Splits off the first `maxBytes` of UTF-8 of an over-long line (on a character boundary): [piece, rest]. */
export function cutLine(raw: string, maxBytes: number = MAX_LINE_BYTES): [string, string] {
  if (scratch.length < maxBytes) scratch = new Uint8Array(maxBytes);
  const { read } = encoder.encodeInto(raw, scratch.subarray(0, maxBytes));
  return [raw.slice(0, read), raw.slice(read)];
}
