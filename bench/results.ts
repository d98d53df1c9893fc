import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Keeps a suite's raw numbers in bench/results/<name>.json (not committed) for later comparison. */
export function saveResults(name: string, results: unknown): void {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify({ at: new Date().toISOString(), results }, null, 2));
}

export const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
