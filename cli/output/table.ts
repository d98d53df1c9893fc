import Table from 'cli-table3';
import { out } from './colors';

/** A cell: text, or nothing (shown as "-"). */
export type Cell = string | number | boolean | null | undefined;

const NO_BORDERS = {
  top: '',
  'top-mid': '',
  'top-left': '',
  'top-right': '',
  bottom: '',
  'bottom-mid': '',
  'bottom-left': '',
  'bottom-right': '',
  left: '',
  'left-mid': '',
  mid: '',
  'mid-mid': '',
  right: '',
  'right-mid': '',
  middle: '  ',
};

const cell = (v: Cell): string => (v === null || v === undefined || v === '' ? '-' : String(v));

/**
 * Rows in aligned columns under upper-case headings, without borders (easy to read, to grep and
 * to cut), like `kubectl get` or `heroku apps`.
 *
 * @example
 * table(['NAME', 'STATUS'], [['dev', 'active']]);
 * // NAME  STATUS
 * // dev   active
 */
export function table(headings: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const t = new Table({
    head: headings.map((h) => out.bold(h)),
    chars: NO_BORDERS,
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
  });
  for (const row of rows) t.push(row.map(cell));
  return `${t.toString().replace(/[ \t]+$/gm, '')}\n${rows.length ? '' : `${out.dim('(none)')}\n`}`;
}

/** One record as `key  value` lines (what `show` commands print); empty values are left out. */
export function details(all: readonly (readonly [string, Cell])[]): string {
  const pairs = all.filter(([, v]) => v !== null && v !== undefined && v !== '');
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.map(([k, v]) => `${out.dim(`${k}:`.padEnd(width + 1))}  ${cell(v)}`).join('\n') + '\n';
}
