import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuildEvent } from '../../../core/builds';
import { parseCommand } from '../../../core/parse-command';
import { KintoError } from '../../../core/errors';
import type { Build } from '../../../core/model';
import type { Builder, BuildLogChunk, BuildRequest } from '../../../ports/builder';
import { baseChildEnv } from '../runtime/child-env';
import { fetchSource, SourceError } from './git-source';
import type { ProcessTracker } from '../runtime/process-tracker';
import { runSteps } from '../runtime/run-steps';
import type { Sandbox } from '../runtime/sandbox';
import { confinedRoot } from '../runtime/static-site';
import { readFileChunk } from '../read-file-chunk';

export interface LocalBuilderOptions {
  /** Builds live in `<home>/builds/<build id>/` with their log beside them. */
  readonly home: string;
  /** Reports progress to the core (`recordBuildEvent`). */
  readonly report: (build: Build, event: BuildEvent) => Promise<unknown>;
  /** @default 2 builds at once (this kind of machine has two cores) */
  readonly concurrency?: number;
  /** @default 15 minutes for the build command, 5 minutes for git */
  readonly buildTimeoutMs?: number;
  readonly gitTimeoutMs?: number;
  /** Records build processes, so that a restart after a crash can stop them. */
  readonly tracker?: ProcessTracker;
  /** Where git and build commands run (never with the platform's rights). */
  readonly sandbox: Sandbox;
}

const MAX_LOG_CHUNK = 256 * 1024;

/**
 * Builds blocks on this machine: clone the source at its ref, run the build command with the
 * build arguments as environment variables, and keep the folder as the build's artifact.
 * Dockerfile-only blocks need a container engine and are refused with a clear reason.
 */
export class LocalBuilder implements Builder {
  private readonly queue: BuildRequest[] = [];
  private running = 0;
  private readonly abort = new AbortController();
  private readonly active = new Set<Promise<void>>();

  constructor(private readonly options: LocalBuilderOptions) {}

  async start(request: BuildRequest): Promise<void> {
    if (this.abort.signal.aborted) throw new Error('the platform is shutting down');
    await mkdir(this.buildsDir, { recursive: true });
    this.queue.push(request);
    this.pump();
  }

  async readLog(build: Build, offset: number): Promise<BuildLogChunk> {
    return readFileChunk(this.logFile(build.id), offset, MAX_LOG_CHUNK);
  }

  /** Stops running builds (they are then reported failed) and waits for them to settle. */
  async close(): Promise<void> {
    this.queue.length = 0;
    this.abort.abort();
    await Promise.allSettled([...this.active]);
  }

  private get buildsDir(): string {
    return join(this.options.home, 'builds');
  }

  private logFile(buildId: string): string {
    return join(this.buildsDir, `${buildId}.log`);
  }

  private pump(): void {
    while (this.running < (this.options.concurrency ?? 2) && this.queue.length > 0) {
      const request = this.queue.shift()!;
      this.running++;
      const task = this.run(request)
        .catch((e) =>
          console.error(JSON.stringify({ level: 'error', message: 'build runner failed', buildId: request.build.id, error: String(e) })),
        )
        .finally(() => {
          this.running--;
          this.active.delete(task);
          this.pump();
        });
      this.active.add(task);
    }
  }

  private async run({ build }: BuildRequest): Promise<void> {
    const log = createWriteStream(this.logFile(build.id), { flags: 'a' });
    const dir = join(this.buildsDir, build.id);
    const started = Date.now();
    let event: BuildEvent;
    try {
      await this.options.report(build, { status: 'running' });
      log.write(`[kinto] build ${build.id} of block ${build.blockName} from ${build.source.repo} (${describeRef(build)})\n`);
      event = await this.buildIn(build, dir, log);
    } catch (e) {
      const reason = e instanceof SourceError || e instanceof KintoError ? e.message : `unexpected builder error: ${(e as Error).message}`;
      event = { status: 'failed', error: reason };
    }
    if (this.abort.signal.aborted && event.status !== 'succeeded')
      event = { status: 'failed', error: 'interrupted: the platform stopped during this build; build again to retry' };
    log.write(
      event.status === 'succeeded' ? `[kinto] build succeeded in ${Date.now() - started} ms\n` : `[kinto] build failed: ${event.error}\n`,
    );
    await closeStream(log);
    if (event.status === 'failed') await rm(dir, { recursive: true, force: true });
    await this.options.report(build, event);
  }

  /** Removes what builds a crash interrupted left on disk (their checkouts). */
  async discard(buildIds: readonly string[]): Promise<void> {
    await Promise.all(buildIds.map((id) => rm(join(this.buildsDir, id), { recursive: true, force: true })));
  }

  private async buildIn(build: Build, dir: string, log: WriteStream): Promise<BuildEvent> {
    const env = baseChildEnv();
    const { sandbox } = this.options;
    await mkdir(dir, { recursive: true });
    const { commit, blockDir } = await fetchSource(build.source, dir, {
      log,
      env,
      timeoutMs: this.options.gitTimeoutMs ?? 5 * 60_000,
      sandbox,
      home: this.options.home,
    });
    // The build's checkout belongs to its block's sandbox user from here on.
    await sandbox.own(dir, build.blockId);
    await this.options.report(build, { status: 'running', commit });
    const { settings } = build;
    if (settings.dockerfile && !settings.startCommand && !settings.buildCommand) {
      return {
        status: 'failed',
        commit,
        error: `block "${build.blockName}" builds from ${settings.dockerfile}, and container images need AWS (CodeBuild): no container engine runs locally. Give it build.startCommand to run it locally`,
      };
    }
    if (settings.buildCommand) {
      const steps = parseCommand(settings.buildCommand, { ...env, ...settings.buildArgs }, 'build command');
      const result = await runSteps(steps, {
        cwd: blockDir,
        env: { ...env, ...settings.buildArgs, CI: 'true' },
        log,
        timeoutMs: this.options.buildTimeoutMs ?? 15 * 60_000,
        signal: this.abort.signal,
        what: 'build command',
        tracker: this.options.tracker,
        sandbox,
        identity: build.blockId,
        writable: [dir],
      });
      if (!result.ok) return { status: 'failed', commit, error: result.reason };
    }
    if (settings.outputDir && !(await confinedRoot(blockDir, settings.outputDir))) {
      const exists = await stat(join(blockDir, settings.outputDir)).then(
        () => true,
        () => false,
      );
      return {
        status: 'failed',
        commit,
        error: exists
          ? `the output folder "${settings.outputDir}" leads outside the block's folder (a symbolic link): a website may serve only files of its own build`
          : `the output folder "${settings.outputDir}" does not exist after the build`,
      };
    }
    return { status: 'succeeded', commit, artifact: blockDir };
  }
}

const describeRef = (build: Build): string =>
  build.source.commit ? `commit ${build.source.commit}` : build.source.branch ? `branch ${build.source.branch}` : 'default branch';

const closeStream = (stream: WriteStream): Promise<void> => new Promise((r) => stream.end(() => r()));
