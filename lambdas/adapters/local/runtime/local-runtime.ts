import { stat } from 'node:fs/promises';
import type { EnvironmentState } from '../../../core/deployments/environment-state';
import { conflict } from '../../../core/errors';
import type { Environment } from '../../../core/model';
import { parseCommand } from '../../../core/parse-command';
import { DEFAULT_SERVICE_IDLE_SECONDS } from '../../../core/request-schemas';
import type { DeploymentPlan, PlannedBlock } from '../../../ports/runtime';
import { blockEnvironment, blockMetaOf, HTTP_TYPES, isCustomService, type BlockEvent, type BlockMeta } from './block-env';
import { BlockProcess } from './block-process';
import { CrashRestarts } from './crash-restarts';
import type { ProcessTracker } from './process-tracker';
import type { Sandbox } from './sandbox';
import type { ServiceDataFolders } from './service-data';
import { ServiceProxy } from './service-proxy';
import { confinedRoot, StaticSite } from './static-site';

export type { BlockEvent, BlockMeta } from './block-env';

export interface LocalRuntimeOptions {
  /** The platform's base URL (known once it listens), for gateway URLs. */
  readonly baseUrl: () => string;
  /** The environment as the store has it (its last completed deployment). */
  readonly load: (envId: string) => Promise<EnvironmentState>;
  /** @default 30000 */
  readonly idleTimeoutMs?: number;
  /** @default 15000 */
  readonly startTimeoutMs?: number;
  /** Where custom services keep their data (`KINTO_DATA_DIR`). */
  readonly data: ServiceDataFolders;
  /** Records block processes, so that a restart after a crash can stop them. */
  readonly tracker?: ProcessTracker;
  /** Where block processes run (never with the platform's rights). */
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
  /** Dynamic websites and microservices: the process, started on demand. */
  readonly process?: BlockProcess;
}

/** How long a custom service may take to stop after SIGTERM (a database flushing) before SIGKILL. */
export const SERVICE_STOP_GRACE_MS = 10_000;

/** One environment's running release: every block of it, switched as one. */
export class ActiveEnvironment {
  constructor(
    public readonly plan: DeploymentPlan,
    public readonly blocks: ReadonlyMap<string, RoutedBlock>,
  ) {}

  get envId(): string {
    return this.plan.environment.id;
  }

  /** Processes stop once their in-flight requests finish. */
  retire(): void {
    for (const b of this.blocks.values()) b.process?.retire();
  }

  async stopNow(): Promise<void> {
    await Promise.all([...this.blocks.values()].map((b) => b.process?.stop() ?? Promise.resolve()));
  }
}

export type Lookup =
  { readonly kind: 'running'; readonly env: ActiveEnvironment } | { readonly kind: 'unknown' | 'shut-down' | 'not-deployed' };

const NEGATIVE_CACHE_MS = 1000;

/**
 * The serving side of the Runtime port on this machine (the data plane's): blocks are child
 * processes that start on their first request and stop when idle; static websites are files
 * served by the gateway; custom services sit behind a TCP port each (`ServiceProxy`) that starts
 * them on their first connection. State lives in memory and is rebuilt lazily from the store, so
 * a restart serves each environment's last completed deployment. (Jobs run in the control plane:
 * job-runner.ts, cron-scheduler.ts.)
 */
export class LocalRuntime {
  private readonly active = new Map<string, ActiveEnvironment>();
  /** Per environment, its custom services' addresses (kept across deployments). */
  private readonly services = new Map<string, Map<string, ServiceProxy>>();
  /** Where each service's events go: its current deployment's log (and restarts, when always on). */
  private readonly serviceEvents = new WeakMap<ServiceProxy, (event: BlockEvent) => void>();
  private readonly negative = new Map<string, { kind: 'unknown' | 'shut-down' | 'not-deployed'; until: number }>();
  private readonly loading = new Map<string, Promise<Lookup>>();

  constructor(private readonly options: LocalRuntimeOptions) {}

  gatewayUrl(env: Environment): string {
    return `${this.options.baseUrl()}/gw/${env.id}`;
  }

  /** Checks that a block can run here: its build on this machine, a start command (idempotent). */
  async prepare(planned: PlannedBlock): Promise<void> {
    await this.checkRunnable(planned);
  }

  /** Serves the plan from now on; the previous release's processes stop once their requests finish. */
  async activate(plan: DeploymentPlan): Promise<void> {
    const previous = this.active.get(plan.environment.id);
    if (previous?.plan.deployment.id === plan.deployment.id) return;
    const next = this.materialize(plan);
    this.active.set(plan.environment.id, next);
    this.negative.delete(plan.environment.id);
    previous?.retire();
  }

  async stop(envId: string): Promise<void> {
    const env = this.active.get(envId);
    this.active.delete(envId);
    this.negative.delete(envId);
    const services = this.services.get(envId);
    this.services.delete(envId);
    await Promise.all([env?.stopNow(), ...[...(services?.values() ?? [])].map((s) => s.close())]);
  }

  /**
   * The addresses of a plan's custom services (block name -> port), for a job of the plan: a
   * service already served keeps its process (its data is the same); a new one is served from the
   * plan (a pre-deploy job may reach a service the running release does not have yet).
   */
  async servicePorts(plan: DeploymentPlan): Promise<Record<string, number>> {
    const proxies = this.proxiesOf(plan.environment.id);
    for (const planned of plan.blocks) {
      if (!isCustomService(planned) || proxies.get(planned.block.name)?.deploymentId) continue;
      this.serveService(plan, planned);
    }
    await this.servicesReady(plan.environment.id);
    return this.portsOf(plan.environment.id);
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
    const services = [...this.services.values()].flatMap((m) => [...m.values()]);
    this.active.clear();
    this.services.clear();
    await Promise.all([...envs.map((e) => e.stopNow()), ...services.map((s) => s.close())]);
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
    if (block.type === 'job') {
      if (!block.build.startCommand) throw conflict('NEEDS_AWS', `job "${block.name}" has no command (build.startCommand) to run here`);
      parseCommand(block.build.startCommand, {}, `command of job "${block.name}"`);
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
    this.serveServices(plan);
    for (const planned of plan.blocks) {
      const meta = blockMetaOf(plan, planned);
      const artifact = planned.build?.artifact ?? '';
      if (isStaticWebsite(planned)) {
        blocks.set(planned.block.name, {
          name: planned.block.name,
          planned,
          meta,
          site: new StaticSite(artifact, planned.block.build.outputDir),
        });
      } else if (HTTP_TYPES.has(planned.block.type)) {
        blocks.set(planned.block.name, {
          name: planned.block.name,
          planned,
          meta,
          process: this.processFor(plan, planned, meta, artifact),
        });
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
      group: plan.environment.id,
      fixedPort: block.build.port,
      // Its environment's custom services' addresses are part of its variables.
      beforeStart: () => this.servicesReady(plan.environment.id),
      steps: (port) => parseCommand(block.build.startCommand ?? '', this.blockEnv(plan, planned, port), `start command of "${block.name}"`),
      env: (port) => this.blockEnv(plan, planned, port),
      startTimeoutMs: this.options.startTimeoutMs ?? 15_000,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 30_000,
      tracker: this.options.tracker,
      onLine: this.options.onBlockLine && ((line, stream) => this.options.onBlockLine!(meta, line, stream)),
      onEvent: this.options.onBlockEvent && ((event) => this.options.onBlockEvent!(meta, event)),
    });
  }

  /** Serves every custom service of the plan (their addresses stay); closes those it no longer has. */
  private serveServices(plan: DeploymentPlan): void {
    const proxies = this.proxiesOf(plan.environment.id);
    const names = new Set<string>();
    for (const planned of plan.blocks) {
      if (!isCustomService(planned)) continue;
      names.add(planned.block.name);
      this.serveService(plan, planned);
    }
    for (const [name, proxy] of proxies) {
      if (names.has(name)) continue;
      proxies.delete(name);
      void proxy.close();
    }
  }

  private serveService(plan: DeploymentPlan, planned: PlannedBlock): void {
    const envId = plan.environment.id;
    const proxies = this.proxiesOf(envId);
    const { block, config } = planned;
    const meta = blockMetaOf(plan, planned);
    let proxy = proxies.get(block.name);
    if (!proxy) {
      const created: ServiceProxy = new ServiceProxy({
        label: `custom service "${block.name}"`,
        envId,
        sandbox: this.options.sandbox,
        onRefused: (reason) => this.serviceEvents.get(created)?.({ type: 'start-failed', reason }),
      });
      proxy = created;
      proxies.set(block.name, proxy);
    }
    const data = this.options.data;
    const { sandbox } = this.options;
    const deploymentId = plan.deployment.id;
    const restarts = config.alwaysOn ? new CrashRestarts(() => proxy.deploymentId === deploymentId && proxy.wake()) : undefined;
    const onEvent = (event: BlockEvent) => {
      this.options.onBlockEvent?.(meta, event);
      const delayMs = restarts?.after(event);
      if (delayMs !== undefined) this.options.onBlockEvent?.(meta, { type: 'restart', ms: delayMs });
    };
    if (proxy.deploymentId !== deploymentId) this.serviceEvents.set(proxy, onEvent);
    const create = (previousStopped: () => Promise<void>) => {
      const dataDir = data.folderOf(envId, block.name);
      return new BlockProcess({
        label: `custom service "${block.name}" (release ${plan.release.version})`,
        cwd: planned.build?.artifact ?? '',
        sandbox,
        identity: block.blockId,
        group: envId,
        writable: [dataDir],
        stopGraceMs: SERVICE_STOP_GRACE_MS,
        fixedPort: block.build.port,
        // Its folder is made (and given to its uid) before each start: it may have been deleted.
        beforeStart: async () => {
          await previousStopped();
          await this.servicesReady(envId);
          await data.prepare(envId, block.name, sandbox, block.blockId);
        },
        steps: (port) =>
          parseCommand(block.build.startCommand ?? '', this.blockEnv(plan, planned, port, dataDir), `start command of "${block.name}"`),
        env: (port) => this.blockEnv(plan, planned, port, dataDir),
        startTimeoutMs: this.options.startTimeoutMs ?? 15_000,
        idleTimeoutMs: config.alwaysOn ? undefined : (config.idleTimeoutSeconds ?? DEFAULT_SERVICE_IDLE_SECONDS) * 1000,
        tracker: this.options.tracker,
        onLine: this.options.onBlockLine && ((line, stream) => this.options.onBlockLine!(meta, line, stream)),
        onEvent,
      });
    };
    proxy.serve(deploymentId, create, config.alwaysOn === true);
  }

  private proxiesOf(envId: string): Map<string, ServiceProxy> {
    let proxies = this.services.get(envId);
    if (!proxies) {
      proxies = new Map<string, ServiceProxy>();
      this.services.set(envId, proxies);
    }
    return proxies;
  }

  /** Resolves once every custom service of the environment listens (their ports are known). */
  private async servicesReady(envId: string): Promise<void> {
    await Promise.all([...(this.services.get(envId)?.values() ?? [])].map((p) => p.ready));
  }

  private portsOf(envId: string): Record<string, number> {
    const ports: Record<string, number> = {};
    for (const [name, proxy] of this.services.get(envId) ?? []) ports[name] = proxy.port;
    return ports;
  }

  private blockEnv(plan: DeploymentPlan, planned: PlannedBlock, port?: number, dataDir?: string): Record<string, string> {
    const gatewayUrl = this.gatewayUrl(plan.environment);
    const internalBase = this.options.internalUrl?.(gatewayUrl, plan.environment.id) ?? gatewayUrl;
    const services = this.portsOf(plan.environment.id);
    return blockEnvironment(plan, planned, { gatewayUrl, internalBase, services }, { port, ...(dataDir ? { dataDir } : {}) });
  }
}

const isStaticWebsite = (p: PlannedBlock): boolean =>
  p.block.type === 'website' && (p.block.kind === 'static' || p.block.kind === 'static-build');

const isDir = (path: string): Promise<boolean> =>
  stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
