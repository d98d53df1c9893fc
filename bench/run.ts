/**
 * `npm run bench [-- <name>...]`: runs every `bench/<name>.bench.ts` (or the named ones) one after
 * another in its own process, so suites never share a CPU. Each prints its table; results go to
 * bench/results/<name>.json (not committed). Curated medians live in bench/README.md.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = __dirname;
const wanted = process.argv.slice(2);
const suites = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();
if (suites.length === 0) {
  console.error(`No bench suite matches ${wanted.join(', ')}.`);
  process.exit(1);
}
let failed = 0;
for (const name of suites) {
  console.log(`\n=== bench: ${name} ===`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(dir, `${name}.bench.ts`)], {
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
