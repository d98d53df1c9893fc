import { stat } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { Cron } from 'croner';
import { parseCommand } from '../../../core/parse-command';
import type { EnvironmentState } from '../../../core/deployments';
import { conflict } from '../../../core/errors';
import type { Environment } from '../../../core/model';
import type { DeploymentPlan, PlannedBlock, Runtime } from '../../../ports/runtime';
import { BlockProcess } from './block-process';
import { blockUrlVariable } from '../../../core/auth/internal-entry';
import { baseChildEnv } from './child-env';
import type { ProcessTracker } from './process-tracker';
import { runSteps } from './run-steps';
import type { Sandbox } from './sandbox';
import { confinedRoot, StaticSite } from './static-site';

/** Who a block's output line or lifecycle event belongs to. */
export interface BlockMeta {
  readonly envId: string;
  readonly project: string;
  readonly environment: string;
  readonly block: string;
  readonly release: string;
  readonly commit?: string;
}

export type BlockEvent = {
  type: 'start' | 'ready' | 'exit' | 'idle-stop' | 'job-start' | 'job-end';
  ms?: number;
  code?: number | null;
  signal?: string | null;
  ok?: boolean;
  reason?: string;
};

export interface LocalRuntimeOptions {
  /** The platform's base URL (known once it listens), for gateway URLs. */
  readonly baseUrl: () => string;
  /** The environment as the store has it (its last completed deployment). */
  readonly load: (envId: string) => Promise<EnvironmentState>;
  /** @default 30000 */
  readonly idleTimeoutMs?: number;
  /** @default 15000 */
  readonly startTimeoutMs?: number;
  /** @default 15 minutes */
  readonly jobTimeoutMs?: number;
  /** Records block and job processes, so that a restart after a crash can stop them. */
  readonly tracker?: ProcessTracker;
  /** Where block and job processes run (never with the platform's rights). */
  readonly sandbox: Sandbox;
  readonly onBlockLine?: (meta: BlockMeta, line: string, stream: 'stdout' | 'stderr') => void;
  readonly onBlockEvent?: (meta: BlockMeta, event: BlockEvent) => void;
  /**
   * Base URL through which an environment's blocks call each other (internal blocks included):
   * `KINTO_BLOCK_<NAME>_URL` is `<base>/<name>`. @default the environment's gateway URL
   */
  readonly internalUrl?: (gatewayUrl: string, envId: string) => string;
}

/** A block as the gateway routes to it. */
export interface RoutedBlock {
  readonly name: string;
  readonly planned: PlannedBlock;
  readonly meta: BlockMeta;
  /** Static websites: their files. */
  readonly site?: StaticSite;
  /** Dynamic websites, microservices, custom services: the process, started on demand. */
  readonly process?: BlockProcess;
}

/** One environment's running release: every block of it, switched as one. */
export class ActiveEnvironment {
  private readonly crons: Cron[] = [];

  constructor(
    public readonly plan: DeploymentPlan,
    public readonly blocks: ReadonlyMap<string, RoutedBlock>,
  ) {}

  get envId(): string {
    return this.plan.environment.id;
  }

  addCron(job: Cron): void {
    this.crons.push(job);
  }

  /** Stops the crons; processes stop once their in-flight requests finish. */
  retire(): void {
    for (const c of this.crons) c.stop();
    for (const b of this.blocks.values()) b.process?.retire();
  }

  async stopNow(): Promise<void> {
    for (const c of this.crons) c.stop();
    await Promise.all([...this.blocks.values()].map((b) => b.process?.stop() ?? Promise.resolve()));
  }
}

export type Lookup =
  { readonly kind: 'running'; readonly env: ActiveEnvironment } | { readonly kind: 'unknown' | 'shut-down' | 'not-deployed' };

const NEGATIVE_CACHE_MS = 1000;
const SERVED_TYPES = new Set(['website', 'microservice', 'custom-service']);

/**
 * The Runtime port on this machine: blocks are child processes that start on their first request
 * and stop when idle; static websites are files served by the gateway; jobs are processes run
 * around deploys or on their schedule. State lives in memory and is rebuilt lazily from the
 * store, so a restart serves each environment's last completed deployment.
 */
export class LocalRuntime implements Runtime {
  private readonly active = new Map<string, ActiveEnvironment>();
  private readonly negative = new Map<string, { kind: 'unknown' | 'shut-down' | 'not-deployed'; until: number }>();
  private readonly loading = new Map<string, Promise<Lookup>>();
  private readonly jobs = new Set<Promise<unknown>>();

  constructor(private readonly options: LocalRuntimeOptions) {}

  gatewayUrl(env: Environment): string {
    return `${this.options.baseUrl()}/gw/${env.id}`;
  }

  async prepare(plan: DeploymentPlan): Promise<void> {
    for (const planned of plan.blocks) await this.checkRunnable(planned);
    for (const planned of plan.blocks.filter((b) => b.block.type === 'job' && b.block.kind === 'pre-deploy')) {
      const result = await this.runJob(plan, planned, 'pre-deploy');
      if (!result.ok) throw conflict('PRE_DEPLOY_JOB_FAILED', `the pre-deploy job "${planned.block.name}" failed (${result.reason})`);
    }
  }

  async activate(plan: DeploymentPlan): Promise<void> {
    const next = this.materialize(plan);
    const previous = this.active.get(plan.environment.id);
    this.active.set(plan.environment.id, next);
    this.negative.delete(plan.environment.id);
    previous?.retire();
    for (const planned of plan.blocks.filter((b) => b.block.type === 'job' && b.block.kind === 'post-deploy')) {
      this.track(this.runJob(plan, planned, 'post-deploy'));
    }
  }

  async stop(envId: string): Promise<void> {
    const env = this.active.get(envId);
    this.active.delete(envId);
    this.negative.delete(envId);
    await env?.stopNow();
  }

  /** The environment a gateway request names: from memory, else from the store (once). */
  lookup(envId: string): Lookup | Promise<Lookup> {
    const env = this.active.get(envId);
    if (env) return { kind: 'running', env };
    const cached = this.negative.get(envId);
    if (cached && cached.until > Date.now()) return { kind: cached.kind };
    let pending = this.loading.get(envId);
    if (!pending) {
      pending = this.loadFromStore(envId).finally(() => this.loading.delete(envId));
      this.loading.set(envId, pending);
    }
    return pending;
  }

  /** Stops everything this runtime started. */
  async close(): Promise<void> {
    const envs = [...this.active.values()];
    this.active.clear();
    await Promise.all(envs.map((e) => e.stopNow()));
    await Promise.allSettled([...this.jobs]);
  }

  private async loadFromStore(envId: string): Promise<Lookup> {
    const state = await this.options.load(envId);
    if (state.kind !== 'running') {
      this.negative.set(envId, { kind: state.kind, until: Date.now() + NEGATIVE_CACHE_MS });
      return { kind: state.kind };
    }
    const already = this.active.get(envId);
    if (already) return { kind: 'running', env: already };
    const env = this.materialize(state.plan);
    this.active.set(envId, env);
    return { kind: 'running', env };
  }

  private async checkRunnable(planned: PlannedBlock): Promise<void> {
    const { block, build } = planned;
    const artifact = build?.artifact;
    if (!build || build.status !== 'succeeded' || !artifact || !(await isDir(artifact))) {
      throw conflict(
        'BUILD_MISSING',
        `the files of block "${block.name}"'s build ${block.buildId ?? '(none)'} are not on this machine; build the block again and tag a new release`,
      );
    }
    if (isStaticWebsite(planned)) {
      if (!(await confinedRoot(artifact, block.build.outputDir))) {
        throw conflict(
          'BUILD_MISSING',
          `the website "${block.name}" has no folder "${block.build.outputDir ?? '.'}" inside build ${build.id} (missing, or a link that leads outside the build)`,
        );
      }
      return;
    }
    if (!block.build.startCommand) {
      throw conflict(
        'NEEDS_AWS',
        `block "${block.name}" runs from its Dockerfile, which needs AWS (no container engine runs locally); give it build.startCommand to run it here`,
      );
    }
    parseCommand(block.build.startCommand, {}, `start command of "${block.name}"`);
  }

  private materialize(plan: DeploymentPlan): ActiveEnvironment {
    const blocks = new Map<string, RoutedBlock>();
    const env = new ActiveEnvironment(plan, blocks);
    for (const planned of plan.blocks) {
      const meta = this.metaOf(plan, planned);
      const artifact = planned.build?.artifact ?? '';
      if (isStaticWebsite(planned)) {
        blocks.set(planned.block.name, {
          name: planned.block.name,
          planned,
          meta,
          site: new StaticSite(artifact, planned.block.build.outputDir),
        });
      } else if (SERVED_TYPES.has(planned.block.type)) {
        blocks.set(planned.block.name, {
          name: planned.block.name,
          planned,
          meta,
          process: this.processFor(plan, planned, meta, artifact),
        });
      } else if (planned.block.kind === 'cron' && planned.block.schedule) {
        env.addCron(
          new Cron(planned.block.schedule, { timezone: 'UTC', protect: true }, () => this.track(this.runJob(plan, planned, 'cron'))),
        );
      }
    }
    return env;
  }

  private processFor(plan: DeploymentPlan, planned: PlannedBlock, meta: BlockMeta, cwd: string): BlockProcess {
    const { block } = planned;
    return new BlockProcess({
      label: `block "${block.name}" (release ${plan.release.version})`,
      cwd,
      sandbox: this.options.sandbox,
      identity: block.blockId,
      fixedPort: block.build.port,
      steps: (port) => parseCommand(block.build.startCommand ?? '', this.blockEnv(plan, planned, port), `start command of "${block.name}"`),
      env: (port) => this.blockEnv(plan, planned, port),
      startTimeoutMs: this.options.startTimeoutMs ?? 15_000,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
      tracker: this.options.tracker,
      onLine: this.options.onBlockLine && ((line, stream) => this.options.onBlockLine!(meta, line, stream)),
      onEvent: this.options.onBlockEvent && ((event) => this.options.onBlockEvent!(meta, event)),
    });
  }

  /** A block's environment: its variables, then the platform's facts (which always win). */
  private blockEnv(plan: DeploymentPlan, planned: PlannedBlock, port?: number): Record<string, string> {
    const { block, config, build } = planned;
    return {
      ...baseChildEnv(),
      ...config.variables,
      ...(port ? { PORT: String(port) } : {}),
      KINTO_PROJECT: plan.project.name,
      KINTO_ENVIRONMENT: plan.environment.name,
      KINTO_BLOCK: block.name,
      KINTO_RELEASE: plan.release.version,
      KINTO_DEPLOYMENT: plan.deployment.id,
      ...(build ? { KINTO_BUILD: build.id } : {}),
      ...(block.commit ? { KINTO_COMMIT: block.commit } : {}),
      KINTO_GATEWAY_URL: this.gatewayUrl(plan.environment),
      ...this.blockUrls(plan),
    };
  }

  /** `KINTO_BLOCK_<NAME>_URL` of every block the gateway serves in the plan's environment. */
  private blockUrls(plan: DeploymentPlan): Record<string, string> {
    const gateway = this.gatewayUrl(plan.environment);
    const base = this.options.internalUrl?.(gateway, plan.environment.id) ?? gateway;
    const urls: Record<string, string> = {};
    for (const { block } of plan.blocks) {
      if (SERVED_TYPES.has(block.type)) urls[blockUrlVariable(block.name)] = `${base}/${block.name}`;
    }
    return urls;
  }

  private async runJob(
    plan: DeploymentPlan,
    planned: PlannedBlock,
    reason: 'pre-deploy' | 'post-deploy' | 'cron',
  ): Promise<{ ok: boolean; reason?: string }> {
    const meta = this.metaOf(plan, planned);
    const emit = (line: string) => this.options.onBlockLine?.(meta, line, 'stdout');
    const started = performance.now();
    this.options.onBlockEvent?.(meta, { type: 'job-start', reason });
    const env = this.blockEnv(plan, planned);
    const sink = new Writable({
      write: (chunk, _enc, cb) => {
        for (const line of String(chunk).split('\n')) if (line) emit(line);
        cb();
      },
    });
    let result: { ok: boolean; reason?: string };
    try {
      const steps = parseCommand(planned.block.build.startCommand ?? '', env, `command of job "${planned.block.name}"`);
      const cwd = planned.build?.artifact ?? '.';
      result = await runSteps(steps, {
        cwd,
        env,
        log: sink,
        timeoutMs: this.options.jobTimeoutMs ?? 15 * 60_000,
        what: `${reason} job`,
        tracker: this.options.tracker,
        sandbox: this.options.sandbox,
        identity: planned.block.blockId,
        readable: [cwd],
      });
    } catch (e) {
      result = { ok: false, reason: (e as Error).message };
    }
    this.options.onBlockEvent?.(meta, {
      type: 'job-end',
      ms: Math.round(performance.now() - started),
      ok: result.ok,
      reason: result.reason,
    });
    return result;
  }

  private metaOf(plan: DeploymentPlan, planned: PlannedBlock): BlockMeta {
    return {
      envId: plan.environment.id,
      project: plan.project.name,
      environment: plan.environment.name,
      block: planned.block.name,
      release: plan.release.version,
      ...(planned.block.commit ? { commit: planned.block.commit } : {}),
    };
  }

  private track(job: Promise<unknown>): void {
    this.jobs.add(job);
    void job.finally(() => this.jobs.delete(job));
  }
}

const isStaticWebsite = (p: PlannedBlock): boolean =>
  p.block.type === 'website' && (p.block.kind === 'static' || p.block.kind === 'static-build');

const isDir = (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
