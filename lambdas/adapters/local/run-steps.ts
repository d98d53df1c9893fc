import { spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { CommandStep } from '../../core/commands';
import type { ProcessTracker } from './process-tracker';

export interface RunResult {
  readonly ok: boolean;
  readonly reason?: string;
}

/**
 * Runs command steps one after another (`a && b`), each as an argument array without a shell,
 * writing their output to `log`. Stops at the first failing step or at the timeout.
 */
export async function runSteps(
  steps: readonly CommandStep[],
  options: RunOptions,
): Promise<RunResult> {
  for (const step of steps) {
    options.log.write(`$ ${step.argv.map(quote).join(' ')}\n`);
    const result = await runOne(step, options);
    if (!result.ok) return result;
  }
  return { ok: true };
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly log: Writable;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly what: string;
  /** Records the processes, so that a restart after a crash can stop them. */
  readonly tracker?: ProcessTracker;
}

function runOne(step: CommandStep, o: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const [program, ...args] = step.argv;
    const child = spawn(program!, args, { cwd: o.cwd, env: { ...o.env, ...step.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const untrack = o.tracker?.track(child.pid, o.what);
    const killGroup = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(() => {
      o.log.write(`\n[kinto] the ${o.what} ran longer than ${Math.round(o.timeoutMs / 1000)} s and was stopped\n`);
      killGroup();
    }, o.timeoutMs);
    const onAbort = () => {
      o.log.write(`\n[kinto] stopped: the platform is shutting down\n`);
      killGroup();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.pipe(o.log, { end: false });
    child.stderr.pipe(o.log, { end: false });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    child.on('close', (code, signal) => {
      untrack?.();
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (spawnError) {
        const hint = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ` (is "${program}" installed and on PATH?)` : '';
        resolve({ ok: false, reason: `the ${o.what} could not start ${program}: ${spawnError.message}${hint}` });
      } else if (code === 0) {
        resolve({ ok: true });
      } else {
        resolve({ ok: false, reason: `the ${o.what} "${step.argv.join(' ').slice(0, 200)}" ${signal ? `was killed by ${signal}` : `exited with code ${code}`}` });
      }
    });
  });
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
