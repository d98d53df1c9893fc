/**
 * Builds the console (`npm run build:console`) when console/dist is missing or older than its
 * sources, so that `npm start` and `npm test` always serve the console as the code says. A failed
 * build is reported but does not stop the platform: `/` then says how to build it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const built = join(__dirname, 'dist', 'index.html');
// What the build reads: the app, its config, and the API client and its types it imports.
const sources = [join(__dirname, 'index.html'), join(__dirname, 'vite.config.mts'), join(__dirname, 'src'), join(root, 'client')];

function newest(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const lock = join(__dirname, '.build-lock');
/** A build older than this left its lock behind (it crashed): the next one takes it over. */
const STALE_LOCK_MS = 120_000;

/**
 * One build at a time (test suites start in parallel and each ensures the console): the lock is a
 * directory, made atomically; whoever waited checks again, and finds the console built.
 */
function withLock(build: () => number): number {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      const age = existsSync(lock) ? Date.now() - statSync(lock).mtimeMs : 0;
      if (age > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    return build();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

const upToDate = () => existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest));

function main(): number {
  const force = process.argv.includes('--force');
  if (!force && upToDate()) return 0;
  return withLock(() => (!force && upToDate() ? 0 : build()));
}

function build(): number {
  console.error(existsSync(built) ? 'console: sources changed since the last build; building it…' : 'console: not built yet; building it…');
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!existsSync(vite)) {
    console.error('console: vite is not installed (run npm ci); the platform serves a page saying how to build the console.');
    return 0;
  }
  const started = Date.now();
  const result = spawnSync(process.execPath, [vite, 'build', '--config', join(__dirname, 'vite.config.mts'), '--logLevel', 'warn'], {
    cwd: root,
    stdio: 'inherit',
    // A production build whoever runs this (jest sets NODE_ENV=test, which would keep development code in).
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (result.status !== 0) {
    console.error('console: the build failed (see above); the platform still starts, and / says how to build the console.');
    return process.argv.includes('--strict') ? 1 : 0;
  }
  console.error(`console: built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return 0;
}

process.exitCode = main();
