import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { JobRun } from '../../../core/model';
import { parseCommand } from '../../../core/parse-command';
import type { DeploymentPlan, JobLogChunk, JobOutcome, PlannedBlock } from '../../../ports/runtime';
import { blockEnvironment, blockMetaOf, type BlockEvent, type BlockMeta, type BlockUrls } from './block-env';
import type { ProcessTracker } from './process-tracker';
import { runSteps } from './run-steps';
import type { Sandbox } from './sandbox';
import { readFileChunk } from '../read-file-chunk';

export interface JobRunnerOptions {
  /** Run logs live in `<home>/runs/<run id>.log`. */
  readonly home: string;
  readonly sandbox: Sandbox;
  /** Where the job calls the platform (its gateway, the internal entry) and its environment's custom services. */
  readonly urls: (plan: DeploymentPlan) => BlockUrls | Promise<BlockUrls>;
  readonly tracker?: ProcessTracker;
  /** Each line a job writes also goes to its block's instance log. */
  readonly onLine?: (meta: BlockMeta, line: string, stream: 'stdout' | 'stderr') => void;
  /** A run's start and end, as platform events of the block's instance log. */
  readonly onEvent?: (meta: BlockMeta, event: BlockEvent) => void;
  /** @default 900 s (a job's config may set less) */
  readonly defaultTimeoutSeconds?: number;
  /** Output kept per run, at most. @default 10 MB */
  readonly maxLogBytes?: number;
}

const MAX_LOG_CHUNK = 256 * 1024;

/**
 * Runs jobs on this machine: the job's command in its block's sandbox, its build folder read-only,
 * stopped at its timeout. The output is kept per run (up to a bound, then cut with a note) and also
 * goes to the block's instance log line by line.
 */
export class LocalJobRunner {
  private readonly abort = new AbortController();

  constructor(private readonly options: JobRunnerOptions) {}

  async run(plan: DeploymentPlan, job: PlannedBlock, run: JobRun): Promise<JobOutcome> {
    if (this.abort.signal.aborted) return { status: 'failed', exitCode: null, reason: 'the platform is shutting down' };
    await mkdir(this.runsDir, { recursive: true });
    const log = createWriteStream(this.logFile(run.id), { flags: 'a' });
    const meta = blockMetaOf(plan, job);
    const sink = new LineSink(log, this.options.maxLogBytes ?? 10 * 1024 * 1024, (line) => this.options.onLine?.(meta, line, 'stdout'));
    const timeoutSeconds = job.config.timeoutSeconds ?? this.options.defaultTimeoutSeconds ?? 900;
    const cwd = job.build?.artifact ?? '.';
    const env = blockEnvironment(plan, job, await this.options.urls(plan));
    log.write(
      `[kinto] ${run.trigger} run ${run.id} of job ${job.block.name} (release ${plan.release.version}), timeout ${timeoutSeconds} s\n`,
    );
    const started = performance.now();
    this.options.onEvent?.(meta, { type: 'job-start', reason: run.trigger });
    let outcome: JobOutcome;
    try {
      const steps = parseCommand(job.block.build.startCommand ?? '', env, `command of job "${job.block.name}"`);
      const result = await runSteps(steps, {
        cwd,
        env,
        log: sink,
        timeoutMs: timeoutSeconds * 1000,
        signal: this.abort.signal,
        what: `${run.trigger} job`,
        tracker: this.options.tracker,
        sandbox: this.options.sandbox,
        identity: job.block.blockId,
        group: plan.environment.id,
        readable: [cwd],
      });
      outcome = result.ok
        ? { status: 'succeeded', exitCode: 0 }
        : {
            status: result.timedOut ? 'timed-out' : 'failed',
            exitCode: result.exitCode ?? null,
            ...(result.reason ? { reason: result.reason } : {}),
          };
    } catch (e) {
      outcome = { status: 'failed', exitCode: null, reason: (e as Error).message };
    }
    sink.end();
    this.options.onEvent?.(meta, {
      type: 'job-end',
      ms: Math.round(performance.now() - started),
      ok: outcome.status === 'succeeded',
      reason: outcome.reason ?? outcome.status,
    });
    log.write(
      `[kinto] ${outcome.status}${outcome.exitCode !== null ? ` (exit code ${outcome.exitCode})` : ''}${outcome.reason ? `: ${outcome.reason}` : ''}\n`,
    );
    await new Promise<void>((r) => log.end(() => r()));
    return outcome;
  }

  async readLog(run: JobRun, offset: number): Promise<JobLogChunk> {
    return readFileChunk(this.logFile(run.id), offset, MAX_LOG_CHUNK);
  }

  /** Stops running jobs (their runs end failed). */
  close(): void {
    this.abort.abort();
  }

  private get runsDir(): string {
    return join(this.options.home, 'runs');
  }

  private logFile(runId: string): string {
    return join(this.runsDir, `${runId.replace(/[^A-Za-z0-9_-]/g, '')}.log`);
  }
}

/** Writes a job's output to its log up to `maxBytes`, and hands on each whole line. */
class LineSink extends Writable {
  private written = 0;
  private cut = false;
  private carry = '';

  constructor(
    private readonly log: WriteStream,
    private readonly maxBytes: number,
    private readonly onLine: (line: string) => void,
  ) {
    super();
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    const text = String(chunk);
    if (!this.cut) {
      const bytes = Buffer.byteLength(text);
      if (this.written + bytes > this.maxBytes) {
        this.cut = true;
        this.log.write(`\n[kinto] output over ${Math.round(this.maxBytes / 1024 / 1024)} MB: the rest is not kept\n`);
      } else {
        this.written += bytes;
        this.log.write(text);
      }
    }
    const lines = (this.carry + text).split('\n');
    this.carry = lines.pop() ?? '';
    if (this.carry.length > 64 * 1024) {
      lines.push(this.carry);
      this.carry = '';
    }
    for (const line of lines) if (line) this.onLine(line);
    done();
  }

  override end(): this {
    if (this.carry) this.onLine(this.carry);
    this.carry = '';
    return this;
  }
}
