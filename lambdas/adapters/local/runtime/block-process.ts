import { createServer, connect } from 'node:net';
import type { CommandStep } from '../../../core/parse-command';
import { KintoError } from '../../../core/errors';
import { cutLine, MAX_LINE_BYTES } from '../../../core/logs/long-lines';
import type { ProcessTracker } from './process-tracker';
import { runSteps } from './run-steps';
import type { Sandbox, SandboxedProcess } from './sandbox';
import { Writable } from 'node:stream';

export interface BlockProcessOptions {
  /** For messages: `<block> (release <version>)`. */
  readonly label: string;
  readonly cwd: string;
  /** Where its processes run, and as whom (a block id): they see `cwd` read-only, and `writable`. */
  readonly sandbox: Sandbox;
  readonly identity: string;
  /** Its environment (an environment id): the sandbox's gid (see `Sandbox.idsOf`). */
  readonly group?: string;
  readonly writable?: readonly string[];
  /** How long a stopping process may take after SIGTERM before SIGKILL. @default 3000 */
  readonly stopGraceMs?: number;
  /** Start command steps; all but the last run to completion first, the last is the server. */
  readonly steps: (port: number) => readonly CommandStep[];
  readonly env: (port: number) => Record<string, string>;
  /** A fixed port the block always listens on; by default a free one is passed as `PORT`. */
  readonly fixedPort?: number;
  readonly startTimeoutMs: number;
  /** Idle time before it stops; undefined: it never stops for being idle (always-on services). */
  readonly idleTimeoutMs: number | undefined;
  /** Awaited before each start (a custom service's previous process must have stopped first). */
  readonly beforeStart?: () => Promise<void>;
  /** Records the process, so that a restart after a crash can stop it. */
  readonly tracker?: ProcessTracker;
  /** Each line the process writes (stdout or stderr). */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Lifecycle events, for logs and metrics. */
  readonly onEvent?: (event: {
    type: 'start' | 'ready' | 'exit' | 'idle-stop';
    ms?: number;
    code?: number | null;
    signal?: string | null;
    /** On `exit`: the process ended while serving, not because it was told to stop (a crash). */
    crashed?: boolean;
  }) => void;
}

type State = 'stopped' | 'starting' | 'ready' | 'stopping';

const POLL_MS = 5;
const KILL_GRACE_MS = 3000;
/** How long a process the gateway suspects of dying is given to show it (its exit event). */
const SUSPECT_MS = 200;

/**
 * One block of one deployment as a child process that exists only while it is used: it starts
 * on the first request, serves many, and stops after an idle time. A process that dies is
 * started again by the next request.
 */
export class BlockProcess {
  private state: State = 'stopped';
  private child?: SandboxedProcess;
  private starting?: Promise<number>;
  private port = 0;
  private inflight = 0;
  private lastActive = 0;
  private idleTimer?: NodeJS.Timeout;
  private retired = false;
  private suspected?: Promise<void>;

  constructor(private readonly options: BlockProcessOptions) {}

  /** Ensures the process is up and counts a request in; resolves to its port. Pair with `release`. */
  acquire(): Promise<number> | number {
    this.inflight++;
    if (this.state === 'ready') {
      if (!this.suspected) return this.port;
      // Wait to see whether the process is dying, then take it, or a fresh one.
      return this.suspected.then(() => {
        this.inflight--;
        return this.acquire();
      });
    }
    if (this.retired) {
      this.inflight--;
      return Promise.reject(new KintoError(503, 'BLOCK_RETIRED', `${this.options.label} was replaced by a newer deployment; retry.`));
    }
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting.catch((e) => {
      this.inflight--;
      throw e;
    });
  }

  release(): void {
    this.inflight--;
    this.lastActive = performance.now();
    if (this.inflight === 0 && this.retired) void this.stop();
  }

  /**
   * The gateway saw a connection to this process close without an answer: the process may be
   * dying, its exit not yet seen (a crash). New requests wait until it exits or `SUSPECT_MS` pass,
   * rather than meet its half-closed port, where a reset connection cannot safely be retried (the
   * block may have read the request).
   */
  suspect(): void {
    const child = this.child;
    if (this.state !== 'ready' || this.suspected || !child) return;
    this.suspected = new Promise<void>((resolve) => {
      const settle = () => {
        clearTimeout(timer);
        this.suspected = undefined;
        resolve();
      };
      const timer = setTimeout(settle, SUSPECT_MS);
      void child.exited.then(settle);
    });
  }

  get isRunning(): boolean {
    return this.state === 'ready' || this.state === 'starting';
  }

  /**
   * The gateway found nothing listening on the port: the process died (its exit event may not have
   * been handled yet) or closed its server. Forget it, kill what is left, and let the next
   * `acquire` start a fresh one.
   */
  markDead(): void {
    if (this.state !== 'ready') return;
    const child = this.child;
    this.state = 'stopped';
    this.child = undefined;
    clearTimeout(this.idleTimer);
    if (child?.running) child.kill();
  }

  /** Marks the process as replaced: it stops as soon as its in-flight requests finish. */
  retire(): void {
    this.retired = true;
    if (this.inflight === 0) void this.stop();
  }

  /**
   * Replaced, and stopped now whatever it serves (connections are cut): resolves once no process of
   * it runs, a start under way included, so that a successor may take over its data.
   */
  async shutdown(): Promise<void> {
    this.retired = true;
    await this.starting?.catch(() => undefined);
    await this.stop();
  }

  async stop(): Promise<void> {
    clearTimeout(this.idleTimer);
    const child = this.child;
    if (!child || this.state === 'stopped') return;
    this.state = 'stopping';
    await child.stop(this.options.stopGraceMs ?? KILL_GRACE_MS);
  }

  private async start(): Promise<number> {
    const began = performance.now();
    this.state = 'starting';
    await this.options.beforeStart?.();
    const port = this.options.fixedPort ?? (await freePort());
    const steps = this.options.steps(port);
    const env = this.options.env(port);
    const last = steps[steps.length - 1];
    if (steps.length > 1) {
      const sink = new Writable({ write: (chunk, _enc, cb) => (this.collect(String(chunk), 'stdout'), cb()) });
      const setup = await runSteps(steps.slice(0, -1), {
        cwd: this.options.cwd,
        env,
        log: sink,
        timeoutMs: this.options.startTimeoutMs,
        what: 'start command',
        tracker: this.options.tracker,
        ...this.confinement(),
      });
      if (!setup.ok) {
        this.state = 'stopped';
        throw new KintoError(502, 'BLOCK_START_FAILED', `${this.options.label} could not start: ${setup.reason}.`);
      }
    }
    this.options.onEvent?.({ type: 'start' });
    const program = last.argv[0];
    const proc = this.options.sandbox.spawn({
      argv: last.argv,
      cwd: this.options.cwd,
      env: { ...env, ...last.env },
      listenPort: port,
      ...this.confinement(),
    });
    const child = proc.child;
    this.child = proc;
    const untrack = this.options.tracker?.track(child.pid, this.options.label);
    this.pipeLines(child);
    let exited: string | undefined;
    child.on('error', (e) => (exited = `could not run ${program}: ${e.message}`));
    child.on('exit', (code, signal) => {
      untrack?.();
      exited ??= signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const crashed = this.child === proc && this.state === 'ready' && !this.retired;
      if (this.child === proc) {
        this.state = 'stopped';
        this.child = undefined;
        clearTimeout(this.idleTimer);
      }
      this.options.onEvent?.({ type: 'exit', code, signal, ...(crashed ? { crashed } : {}) });
    });
    const deadline = began + this.options.startTimeoutMs;
    for (;;) {
      if (exited) {
        this.state = 'stopped';
        throw new KintoError(
          502,
          'BLOCK_EXITED',
          `${this.options.label} ${exited} before it opened port ${port}. Its output is in the block's instance log (GET .../environments/{env}/blocks/{block}/logs).`,
        );
      }
      if (await canConnect(port)) break;
      if (performance.now() > deadline) {
        await this.stop();
        throw new KintoError(
          504,
          'BLOCK_START_TIMEOUT',
          `${this.options.label} did not open port ${port} within ${Math.round(this.options.startTimeoutMs / 1000)} s: it must listen on $PORT (${port}) or on build.port. Its output is in the block's instance log (GET .../environments/{env}/blocks/{block}/logs).`,
        );
      }
      await sleep(POLL_MS);
    }
    await this.options.sandbox.portsSettled();
    this.port = port;
    this.state = 'ready';
    this.lastActive = performance.now();
    this.options.onEvent?.({ type: 'ready', ms: Math.round(performance.now() - began) });
    if (this.options.idleTimeoutMs !== undefined) this.scheduleIdleCheck(this.options.idleTimeoutMs, this.options.idleTimeoutMs);
    return port;
  }

  private scheduleIdleCheck(afterMs: number, idleTimeoutMs: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.state !== 'ready') return;
      const idleFor = performance.now() - this.lastActive;
      if (this.inflight === 0 && idleFor >= idleTimeoutMs) {
        this.options.onEvent?.({ type: 'idle-stop' });
        void this.stop();
      } else {
        this.scheduleIdleCheck(Math.max(10, idleTimeoutMs - idleFor), idleTimeoutMs);
      }
    }, afterMs);
    this.idleTimer.unref();
  }

  private confinement() {
    return {
      sandbox: this.options.sandbox,
      identity: this.options.identity,
      ...(this.options.group !== undefined ? { group: this.options.group } : {}),
      readable: [this.options.cwd],
      ...(this.options.writable ? { writable: this.options.writable } : {}),
    };
  }

  private pipeLines(child: SandboxedProcess['child']): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      let carry = '';
      child[stream]!.setEncoding('utf8');
      child[stream]!.on('data', (chunk: string) => {
        const lines = (carry + chunk).split('\n');
        carry = lines.pop() ?? '';
        // An endless line is cut into pieces of 256 KB, each kept whole as a line of its own.
        while (carry.length * 3 > MAX_LINE_BYTES && Buffer.byteLength(carry) > MAX_LINE_BYTES) {
          const [piece, rest] = cutLine(carry);
          lines.push(piece);
          carry = rest;
        }
        for (const line of lines) this.collect(line, stream);
      });
      child[stream]!.on('end', () => carry && this.collect(carry, stream));
    }
  }

  private collect(text: string, stream: 'stdout' | 'stderr'): void {
    for (const line of text.split('\n')) {
      if (line) this.options.onLine?.(line, stream);
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A free loopback port, from the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
