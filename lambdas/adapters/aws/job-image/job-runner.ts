/**
 * The Lambda custom runtime of a job image: `buildspec.yml` makes it the entrypoint of every job
 * block's image. Each invocation runs the job's command to its end and answers its exit code; the
 * command's output goes to the function's log, each line prefixed `[<run id>] ` so the deployer
 * finds a run's lines with FilterLogEvents.
 *
 * It imports nothing but node:http and node:child_process: it is bundled into one small file,
 * copied into images whose own node may be old, and must not pull the platform's code along.
 */
import { spawn } from 'node:child_process';
import { request, type IncomingHttpHeaders } from 'node:http';

/** What starts a job run (the core's JobTrigger). */
export type JobTrigger = 'pre-deploy' | 'post-deploy' | 'cron' | 'manual';

/** The payload the deployer invokes a job with: `{"runId": "...", "trigger": "pre-deploy"}`. */
export interface JobInvocation {
  readonly runId: string;
  readonly trigger: JobTrigger;
}

/**
 * The runner's answer: the command's exit code (null when a signal ended it) and, when the
 * function's deadline stopped it, `timedOut: true`.
 */
export interface JobAnswer {
  readonly exitCode: number | null;
  readonly timedOut?: true;
}

/** A failure answered through the Runtime API's error routes; `type` becomes the answer's `errorType`. */
export class JobRunnerError extends Error {
  constructor(
    readonly type: 'Kinto.InvalidPayload' | 'Kinto.NoJobCommand' | 'Kinto.JobNotStarted',
    message: string,
  ) {
    super(message);
    this.name = 'JobRunnerError';
  }
}

const TRIGGERS: ReadonlySet<string> = new Set(['pre-deploy', 'post-deploy', 'cron', 'manual']);
/** The core's run ids; a run id goes into every log line and into the deployer's filter pattern. */
const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Reads an invocation payload.
 * @throws JobRunnerError (`Kinto.InvalidPayload`) saying what was wrong, for anything but the deployer's shape
 */
export function parseInvocation(body: string): JobInvocation {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new JobRunnerError(
      'Kinto.InvalidPayload',
      `the payload is not JSON (expected {"runId": "<id>", "trigger": "<trigger>"}): ${preview(body)}`,
    );
  }
  const { runId, trigger } = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
  if (typeof runId !== 'string' || !RUN_ID.test(runId)) {
    throw new JobRunnerError('Kinto.InvalidPayload', `the payload's runId must be 1-64 letters, digits, "-" or "_": ${preview(body)}`);
  }
  if (typeof trigger !== 'string' || !TRIGGERS.has(trigger)) {
    throw new JobRunnerError('Kinto.InvalidPayload', `the payload's trigger must be one of ${[...TRIGGERS].join(', ')}: ${preview(body)}`);
  }
  return { runId, trigger: trigger as JobTrigger };
}

/**
 * The job's command as argv: `KINTO_JOB_COMMAND` (a JSON array: a Dockerfile image's own
 * ENTRYPOINT and CMD, run without a shell as `docker run` would), else
 * `/bin/sh -c "$KINTO_START_COMMAND"` (images generated from the block's commands).
 * @throws JobRunnerError (`Kinto.NoJobCommand`) when the image names no command
 */
export function jobCommand(env: NodeJS.ProcessEnv): string[] {
  const json = env.KINTO_JOB_COMMAND;
  if (json) {
    let argv: unknown;
    try {
      argv = JSON.parse(json);
    } catch {
      argv = undefined;
    }
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) {
      throw new JobRunnerError(
        'Kinto.NoJobCommand',
        `KINTO_JOB_COMMAND must be a non-empty JSON array of strings (the image's ENTRYPOINT and CMD), got ${preview(json)}`,
      );
    }
    return argv;
  }
  const start = env.KINTO_START_COMMAND;
  if (start?.trim()) return ['/bin/sh', '-c', start];
  throw new JobRunnerError(
    'Kinto.NoJobCommand',
    'the image names no job command: set KINTO_JOB_COMMAND (a JSON array) or KINTO_START_COMMAND (a shell command); rebuild the block so that the build sets them',
  );
}

/**
 * When to stop a job that is still running: SIGTERM, then SIGKILL after a grace, early enough to
 * answer before Lambda's deadline (which would otherwise end the invocation without an exit code).
 * A few seconds before a long deadline; proportionally less for a short one.
 */
export function stopTimes(deadlineMs: number, nowMs: number): { readonly termAt: number; readonly killAt: number } {
  const remaining = Math.max(0, deadlineMs - nowMs);
  const answerMargin = Math.min(1000, remaining * 0.1);
  const grace = Math.min(3000, remaining * 0.2);
  const killAt = deadlineMs - answerMargin;
  return { termAt: killAt - grace, killAt };
}

/**
 * The longest line written (run id prefix included): one CloudWatch Logs event holds 256 KB, so a
 * longer line is cut to fit, with a note, and the rest of it is dropped.
 */
export const MAX_LINE_BYTES = 256 * 1024 - 512;
const CUT_NOTE = ' [kinto: line cut, over 256 KB]';

/** Splits a stream of bytes into lines, each written whole with the prefix. */
export interface LineWriter {
  push(chunk: Buffer): void;
  /** Writes a last line that had no line end. */
  end(): void;
}

/** A LineWriter for one output stream of a job (`write` gets whole lines, each ending in "\n"). */
export function lineWriter(prefix: string, write: (text: string) => void, maxLineBytes = MAX_LINE_BYTES): LineWriter {
  const room = maxLineBytes - Buffer.byteLength(prefix) - Buffer.byteLength(CUT_NOTE) - 1;
  let parts: Buffer[] = [];
  let size = 0;
  let cut = false;
  const emit = (bytes: Buffer, wasCut: boolean) =>
    write(`${prefix}${bytes.toString('utf8').replace(/\r$/, '')}${wasCut ? CUT_NOTE : ''}\n`);
  const add = (piece: Buffer) => {
    if (cut) return;
    parts.push(piece);
    size += piece.length;
    if (size > room) {
      const all = Buffer.concat(parts);
      emit(all.subarray(0, utf8Boundary(all, room)), true);
      parts = [];
      size = 0;
      cut = true;
    }
  };
  return {
    push(chunk) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        add(chunk.subarray(start, nl));
        if (!cut) emit(Buffer.concat(parts), false);
        parts = [];
        size = 0;
        cut = false;
        start = nl + 1;
      }
      if (start < chunk.length) add(chunk.subarray(start));
    },
    end() {
      if (size > 0) emit(Buffer.concat(parts), false);
      parts = [];
      size = 0;
      cut = false;
    },
  };
}

/** The largest length <= `max` that does not split a UTF-8 character. */
function utf8Boundary(bytes: Buffer, max: number): number {
  let end = Math.min(max, bytes.length);
  while (end > 0 && end < bytes.length && (bytes[end] & 0xc0) === 0x80) end--;
  return end;
}

export interface RunJobOptions {
  readonly runId: string;
  /** The job's environment (the function's, without the Runtime API's address). */
  readonly env: NodeJS.ProcessEnv;
  /** Lambda's deadline of this invocation (epoch ms). @default - no deadline */
  readonly deadlineMs?: number;
  /** Where output lines go. @default process.stdout */
  readonly write?: (text: string) => void;
  /** @default the runner's own (the image's WORKDIR) */
  readonly cwd?: string;
}

/** After the job exits, its output pipes get this long to drain (a leftover could hold them open). */
const DRAIN_MS = 500;

/**
 * Runs the job's command once, in a process group of its own, its output written line by line with
 * the run id prefix; stops it before the deadline (SIGTERM to the group, then SIGKILL).
 * @throws JobRunnerError (`Kinto.JobNotStarted`) when the command cannot be started
 */
export function runJob(argv: readonly string[], options: RunJobOptions): Promise<JobAnswer> {
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  const prefix = `[${options.runId}] `;
  const note = (text: string) => write(`${prefix}[kinto] ${text}\n`);
  return new Promise<JobAnswer>((resolve, reject) => {
    // A group of its own: the deadline stops what the command started too (a shell's children).
    const child = spawn(argv[0], argv.slice(1), { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const out = lineWriter(prefix, write);
    const err = lineWriter(prefix, write);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        /* the group is gone already */
      }
    };

    const timers: NodeJS.Timeout[] = [];
    let timedOut = false;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let closed = false;
    const finish = () => {
      if (settled || !exit) return;
      settled = true;
      timers.forEach(clearTimeout);
      child.stdout.destroy();
      child.stderr.destroy();
      out.end();
      err.end();
      if (timedOut) note(`stopped at the function's deadline${exit.signal ? ` (${exit.signal})` : ''}`);
      else note(exit.signal ? `ended by ${exit.signal}` : `exit code ${exit.code}`);
      resolve({ exitCode: exit.code, ...(timedOut ? { timedOut: true as const } : {}) });
    };

    child.once('error', (e) => {
      if (settled) return;
      settled = true;
      timers.forEach(clearTimeout);
      reject(new JobRunnerError('Kinto.JobNotStarted', `could not start the job's command ${JSON.stringify(argv[0])}: ${e.message}`));
    });
    child.once('spawn', () => {
      if (options.deadlineMs === undefined || !Number.isFinite(options.deadlineMs)) return;
      const now = Date.now();
      const { termAt, killAt } = stopTimes(options.deadlineMs, now);
      timers.push(
        setTimeout(() => {
          timedOut = true;
          note(`the function's deadline is near: stopping the job (SIGTERM, SIGKILL in ${Math.round(killAt - termAt)} ms)`);
          signalGroup('SIGTERM');
        }, termAt - now),
        setTimeout(() => signalGroup('SIGKILL'), killAt - now),
      );
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      timers.forEach(clearTimeout);
      // What the job left running in its group must not run on into the next invocation.
      signalGroup('SIGKILL');
      if (closed) finish();
      else timers.push(setTimeout(finish, DRAIN_MS));
    });
    child.once('close', () => {
      closed = true;
      finish();
    });
  });
}

/** One invocation as the Runtime API hands it out. */
export interface Invocation {
  readonly requestId: string;
  /** Epoch ms (`Lambda-Runtime-Deadline-Ms`); NaN when absent. */
  readonly deadlineMs: number;
  readonly traceId?: string;
  readonly body: string;
}

/** The body of an error answer (Lambda shows it as the invocation's FunctionError payload). */
export interface ErrorAnswer {
  readonly errorType: string;
  readonly errorMessage: string;
}

const API_VERSION = '2018-06-01';

/** A client of the Lambda Runtime API (`AWS_LAMBDA_RUNTIME_API` is its host:port). */
export class RuntimeApi {
  constructor(private readonly address: string) {}

  /** Waits for the next invocation (Lambda freezes the process while there is none). */
  async next(): Promise<Invocation> {
    const res = await this.call('GET', 'runtime/invocation/next');
    const requestId = header(res.headers, 'lambda-runtime-aws-request-id');
    if (res.status !== 200 || !requestId) {
      throw new Error(
        `the Runtime API answered ${res.status} to invocation/next${requestId ? '' : ' without a request id'}: ${preview(res.body)}`,
      );
    }
    return {
      requestId,
      deadlineMs: Number(header(res.headers, 'lambda-runtime-deadline-ms') ?? NaN),
      traceId: header(res.headers, 'lambda-runtime-trace-id'),
      body: res.body,
    };
  }

  async respond(requestId: string, answer: JobAnswer): Promise<void> {
    await this.post(`runtime/invocation/${encodeURIComponent(requestId)}/response`, answer);
  }

  async fail(requestId: string, error: ErrorAnswer): Promise<void> {
    await this.post(`runtime/invocation/${encodeURIComponent(requestId)}/error`, error, error.errorType);
  }

  /** Reports that the runtime cannot start (Lambda then fails the invocation with this error). */
  async initError(error: ErrorAnswer): Promise<void> {
    await this.post('runtime/init/error', error, error.errorType);
  }

  private async post(path: string, body: unknown, errorType?: string): Promise<void> {
    const res = await this.call('POST', path, JSON.stringify(body), errorType ? { 'Lambda-Runtime-Function-Error-Type': errorType } : {});
    if (res.status >= 300) throw new Error(`the Runtime API answered ${res.status} to ${path}: ${preview(res.body)}`);
  }

  private call(method: string, path: string, body?: string, headers: Record<string, string> = {}) {
    return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = request(
        `http://${this.address}/${API_VERSION}/${path}`,
        {
          method,
          headers:
            body === undefined ? headers : { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** The job's environment: the function's, without the Runtime API (a job has no business with it). */
export function childEnvironment(env: NodeJS.ProcessEnv, invocation?: Pick<Invocation, 'traceId'>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  delete out.AWS_LAMBDA_RUNTIME_API;
  if (invocation?.traceId) out._X_AMZN_TRACE_ID = invocation.traceId;
  return out;
}

/** Handles one invocation: runs the job and answers, or answers the error (a bad payload, a command that cannot start). */
export async function handleInvocation(
  api: RuntimeApi,
  invocation: Invocation,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
): Promise<void> {
  let job: JobInvocation;
  try {
    job = parseInvocation(invocation.body);
  } catch (e) {
    write(`[kinto] refused invocation ${invocation.requestId}: ${(e as Error).message}\n`);
    return api.fail(invocation.requestId, errorAnswer(e));
  }
  write(`[${job.runId}] [kinto] ${job.trigger} run ${job.runId}: ${JSON.stringify(argv)}\n`);
  let answer: JobAnswer;
  try {
    answer = await runJob(argv, { runId: job.runId, env: childEnvironment(env, invocation), deadlineMs: invocation.deadlineMs, write });
  } catch (e) {
    write(`[${job.runId}] [kinto] ${(e as Error).message}\n`);
    return api.fail(invocation.requestId, errorAnswer(e));
  }
  await api.respond(invocation.requestId, answer);
}

/** Serves invocations one after another, for as long as the Runtime API hands them out. */
export async function serve(
  api: RuntimeApi,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
): Promise<never> {
  for (;;) await handleInvocation(api, await api.next(), argv, env, write);
}

/** The runtime's entry: reads the job's command once (an image without one fails at init), then serves. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<never> {
  const address = env.AWS_LAMBDA_RUNTIME_API;
  if (!address) throw new Error('AWS_LAMBDA_RUNTIME_API is not set: the job runner runs as the Lambda runtime of a job image');
  const api = new RuntimeApi(address);
  let argv: string[];
  try {
    argv = jobCommand(env);
  } catch (e) {
    await api.initError(errorAnswer(e));
    throw e;
  }
  return serve(api, argv, env, (text) => void process.stdout.write(text));
}

function errorAnswer(e: unknown): ErrorAnswer {
  return e instanceof JobRunnerError
    ? { errorType: e.type, errorMessage: e.message }
    : { errorType: 'Kinto.RunnerError', errorMessage: e instanceof Error ? e.message : String(e) };
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`[kinto] the job runner stopped: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
