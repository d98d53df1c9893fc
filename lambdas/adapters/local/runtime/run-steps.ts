import type { Writable } from 'node:stream';
import type { CommandStep } from '../../../core/parse-command';
import type { ProcessTracker } from './process-tracker';
import type { Sandbox } from './sandbox';

export interface RunResult {
  readonly ok: boolean;
  readonly reason?: string;
  /** The last step's exit code (null when killed). */
  readonly exitCode?: number | null;
  readonly timedOut?: boolean;
}

/**
 * Runs command steps one after another (`a && b`), each as an argument array without a shell, in
 * the sandbox, writing their output to `log`. Stops at the first failing step or at the timeout.
 */
export async function runSteps(steps: readonly CommandStep[], options: RunOptions): Promise<RunResult> {
  let last: RunResult = { ok: true, exitCode: 0 };
  for (const step of steps) {
    options.log.write(`$ ${step.argv.map(quote).join(' ')}\n`);
    last = await runOne(step, options);
    if (!last.ok) return last;
  }
  return last;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly log: Writable;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  readonly what: string;
  readonly sandbox: Sandbox;
  /** Whose code runs (a block id): its sandbox identity. */
  readonly identity: string;
  /** The environment it runs for, if any (its sandbox gid). */
  readonly group?: string;
  readonly writable?: readonly string[];
  readonly readable?: readonly string[];
  /** Records the processes, so that a restart after a crash can stop them. */
  readonly tracker?: ProcessTracker;
}

function runOne(step: CommandStep, o: RunOptions): Promise<RunResult> {
  return new Promise((resolve) => {
    const [program] = step.argv;
    const proc = o.sandbox.spawn({
      argv: step.argv,
      cwd: o.cwd,
      env: { ...o.env, ...step.env },
      identity: o.identity,
      ...(o.group !== undefined ? { group: o.group } : {}),
      ...(o.writable ? { writable: o.writable } : {}),
      ...(o.readable ? { readable: o.readable } : {}),
    });
    const { child } = proc;
    const untrack = o.tracker?.track(child.pid, o.what);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      o.log.write(`\n[kinto] the ${o.what} ran longer than ${Math.round(o.timeoutMs / 1000)} s and was stopped\n`);
      proc.kill();
    }, o.timeoutMs);
    const onAbort = () => {
      o.log.write(`\n[kinto] stopped: the platform is shutting down\n`);
      proc.kill();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.pipe(o.log, { end: false });
    child.stderr!.pipe(o.log, { end: false });
    let spawnError: Error | undefined;
    child.on('error', (e) => (spawnError = e));
    // Inside bubblewrap a missing program is bwrap's own message, not a spawn error.
    let head = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      if (head.length < 512) head += chunk.toString('utf8', 0, 512);
      if (!spawnError && /^bwrap: execvp [^:]*: No such file or directory/m.test(head))
        spawnError = Object.assign(new Error('not found'), { code: 'ENOENT' });
    });
    child.on('close', (code, signal) => {
      untrack?.();
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (spawnError) {
        const hint = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' ? ` (is "${program}" installed and on PATH?)` : '';
        resolve({ ok: false, reason: `the ${o.what} could not start ${program}: ${spawnError.message}${hint}`, exitCode: null });
      } else if (code === 0) {
        resolve({ ok: true, exitCode: 0 });
      } else if (timedOut) {
        resolve({
          ok: false,
          reason: `the ${o.what} ran longer than ${Math.round(o.timeoutMs / 1000)} s and was stopped`,
          exitCode: null,
          timedOut: true,
        });
      } else {
        const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
        resolve({ ok: false, reason: `the ${o.what} "${step.argv.join(' ').slice(0, 200)}" ${how}`, exitCode: code });
      }
    });
  });
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);
