import { createColors } from 'picocolors';

type Stream = { isTTY?: boolean };
export type Colors = ReturnType<typeof createColors>;

/**
 * Colours for one stream, on only when it is a terminal: piped or redirected output (a script, a
 * file, CI) gets plain text. NO_COLOR turns them off, FORCE_COLOR on (https://no-color.org).
 */
export function colorsFor(stream: Stream): Colors {
  const env = process.env;
  const enabled = env.NO_COLOR ? false : env.FORCE_COLOR && env.FORCE_COLOR !== '0' ? true : Boolean(stream.isTTY) && env.TERM !== 'dumb';
  return createColors(enabled);
}

/** Colours for what commands print (stdout) and for progress and errors (stderr). */
export const out = colorsFor(process.stdout);
export const err = colorsFor(process.stderr);
