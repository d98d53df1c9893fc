/**
 * The vocabulary of Kinto, as stored and as returned by the control API.
 * Every stored entity carries `rev`, bumped on each write, for optimistic concurrency.
 */

export type BlockType = 'website' | 'microservice' | 'custom-service' | 'job';
export type WebsiteKind = 'static' | 'static-build' | 'dynamic';
export type JobKind = 'pre-deploy' | 'post-deploy' | 'cron';
export type Visibility = 'protected' | 'public' | 'internal';

export interface Stored {
  /** Revision: 1 on create, +1 on every update. */
  readonly rev: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface Project extends Stored {
  readonly id: string;
  readonly name: string;
  readonly description: string;
}

/** Where a block's code comes from. Exactly one of `branch` and `commit` is set. */
export interface BlockSource {
  /** Any git URL reachable from the builder; a local path counts. */
  readonly repo: string;
  readonly branch?: string;
  readonly commit?: string;
  /** Folder inside the repo holding the block, relative, without `..`. */
  readonly subfolder?: string;
}

export interface BuildSettings {
  readonly buildCommand?: string;
  readonly startCommand?: string;
  /** Port the block listens on when it ignores `PORT`; by default it must listen on `PORT`. */
  readonly port?: number;
  /** Folder (relative to the block) holding a website's files after the build. */
  readonly outputDir?: string;
  /** Dockerfile path (relative to the block): the block is built as a container image (AWS only). */
  readonly dockerfile?: string;
  /** Passed to the build as environment variables. */
  readonly buildArgs: Readonly<Record<string, string>>;
}

/** A variable a block declares: its default value and whether every environment must set one. */
export interface VariableSpec {
  readonly default?: string;
  readonly required?: boolean;
}

export interface Block extends Stored {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly description: string;
  readonly type: BlockType;
  /** Website kind (`static` | `static-build` | `dynamic`) or job kind (`pre-deploy` | `post-deploy` | `cron`). */
  readonly kind?: WebsiteKind | JobKind;
  /** Cron expression for `cron` jobs (5 fields, UTC). */
  readonly schedule?: string;
  readonly source: BlockSource;
  readonly build: BuildSettings;
  readonly variables: Readonly<Record<string, VariableSpec>>;
}

export type EnvironmentStatus = 'active' | 'shut-down';

/** What an environment is running now: the last completed deployment. */
export interface RunningRelease {
  readonly deploymentId: string;
  readonly release: string;
  readonly at: string;
}

export interface Environment extends Stored {
  readonly id: string;
  readonly projectId: string;
  readonly name: string;
  readonly status: EnvironmentStatus;
  readonly clonedFrom?: string;
  readonly running?: RunningRelease;
  /** Set while a deployment runs: at most one at a time per environment. */
  readonly deploying?: { readonly deploymentId: string; readonly since: string };
  /** Where clients call it, once a runtime has made its gateway (on AWS, the first deploy). */
  readonly gatewayUrl?: string;
}

export interface BasicAuth {
  readonly username: string;
  /** scrypt hash of the password; the password itself is never stored. */
  readonly passwordHash: string;
}

/**
 * A secret variable's value, sealed with a key derived from the platform key (AES-256-GCM, a
 * fresh nonce per value, bound to its environment, block and name). Never returned by the API.
 */
export interface SealedSecret {
  /** `v1.<nonce>.<ciphertext and tag>`, base64url. */
  readonly sealed: string;
  readonly updatedAt: string;
}

/** Per environment and block settings. A block without a stored config uses the defaults. */
export interface BlockConfig extends Stored {
  readonly envId: string;
  readonly blockId: string;
  /** Overrides of the block's declared defaults, and extra variables. */
  readonly variables: Readonly<Record<string, string>>;
  /** Secret variables, sealed. */
  readonly secrets?: Readonly<Record<string, SealedSecret>>;
  readonly memoryMb: number;
  readonly visibility: Visibility;
  readonly basicAuth?: BasicAuth;
  /** Jobs: how long a run may take before it is stopped. */
  readonly timeoutSeconds?: number;
  /** Custom services: how long the service runs with no open connection before it is stopped. */
  readonly idleTimeoutSeconds?: number;
  /** Custom services: never stopped for being idle (started at deploy). */
  readonly alwaysOn?: boolean;
}

/** What defines how a block is built and run: the part of a block a release freezes. */
export type BlockDefinition = Pick<Block, 'type' | 'kind' | 'schedule' | 'source' | 'build' | 'variables'>;

/** A block frozen into a release: its definition and the build it runs. */
export interface ReleaseBlock extends BlockDefinition {
  readonly blockId: string;
  readonly name: string;
  /** The succeeded build this release runs (absent only for blocks without builds). */
  readonly buildId?: string;
  readonly commit?: string;
}

export interface Release {
  readonly projectId: string;
  readonly version: string;
  readonly notes: string;
  readonly blocks: readonly ReleaseBlock[];
  readonly createdAt: string;
  readonly rev: number;
}

export type DeploymentStatus = 'in-progress' | 'succeeded' | 'failed';
export type DeploymentAction = 'deploy' | 'rollback' | 'promote';

/** The configuration a block runs with in one deployment (secrets sealed, passwords as hashes). */
export interface ResolvedBlockConfig {
  readonly variables: Readonly<Record<string, string>>;
  readonly secrets?: Readonly<Record<string, SealedSecret>>;
  readonly memoryMb: number;
  readonly visibility: Visibility;
  readonly basicAuth?: BasicAuth;
  /** Jobs: seconds a run may take (default 900, Lambda's limit). */
  readonly timeoutSeconds?: number;
  /** Custom services: seconds without an open connection before the service is stopped (default 300). */
  readonly idleTimeoutSeconds?: number;
  /** Custom services: kept running, never stopped for being idle (default false). */
  readonly alwaysOn?: boolean;
}

/** The parts of a deployment, in the order they run. */
export type DeploymentStepKind = 'prepare' | 'pre-deploy' | 'switch' | 'post-deploy';
export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

export interface DeploymentStep {
  /** `prepare:<block>`, `pre-deploy:<job>`, `switch`, `post-deploy:<job>`. */
  readonly id: string;
  readonly kind: DeploymentStepKind;
  readonly block?: string;
  readonly status: StepStatus;
  readonly startedAt?: string;
  readonly endedAt?: string;
  /** What happened, in one line (why it failed; what a runtime is waiting for). */
  readonly message?: string;
  /** Job steps: the run they started. */
  readonly runId?: string;
}

/**
 * One deployment of a release to an environment: a process of steps, carried out by a deployer
 * that keeps nothing in memory (every step's outcome is here, so another process can go on).
 */
export interface Deployment extends Stored {
  readonly id: string;
  readonly envId: string;
  readonly projectId: string;
  readonly release: string;
  readonly action: DeploymentAction;
  readonly promotedFrom?: string;
  /** Tag & Deploy: the release was tagged by this deployment. */
  readonly tagged?: boolean;
  readonly status: DeploymentStatus;
  readonly steps: readonly DeploymentStep[];
  readonly finishedAt?: string;
  /** Why it failed (the failing step's message). */
  readonly error?: string;
  readonly failedStep?: string;
  /** Post-deploy jobs that failed (the deployment itself succeeded). */
  readonly failedJobs?: readonly string[];
  /** What the runtime's `prepare` returned per block, so a later step (or process) can go on from it. */
  readonly prepared?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly config: Readonly<Record<string, ResolvedBlockConfig>>;
}

export type JobTrigger = 'pre-deploy' | 'post-deploy' | 'cron' | 'manual';
export type JobRunStatus = 'running' | 'succeeded' | 'failed' | 'timed-out' | 'skipped';

/** One run of a job in an environment. */
export interface JobRun extends Stored {
  readonly id: string;
  readonly envId: string;
  readonly projectId: string;
  /** The job block's name. */
  readonly job: string;
  readonly trigger: JobTrigger;
  readonly release: string;
  readonly deploymentId?: string;
  readonly status: JobRunStatus;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly exitCode?: number | null;
  /** Why it failed, timed out or was skipped. */
  readonly reason?: string;
}

/** Held while a job runs in an environment: at most one run of a job at a time. */
export interface JobLock {
  readonly envId: string;
  readonly job: string;
  readonly runId: string;
  readonly since: string;
  readonly rev: number;
}

export type BuildStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** One build of a block: its source at a resolved commit, built with the block's settings then. */
export interface Build extends Stored {
  readonly id: string;
  readonly projectId: string;
  readonly blockId: string;
  readonly blockName: string;
  readonly status: BuildStatus;
  /** Source and settings as they were when the build was asked for. */
  readonly source: BlockSource;
  readonly settings: BuildSettings;
  /** The commit sha the ref resolved to (set once the source is fetched). */
  readonly commit?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Why a failed build failed, in one line; the whole story is in the build log. */
  readonly error?: string;
  /** Where the runnable result is: a folder locally, an image digest on AWS. */
  readonly artifact?: string;
}

/**
 * A client of one environment: what calls `POST <gateway URL>/authorize` for tokens. The secret
 * itself is never stored, only its keyed hash (HMAC-SHA256 with the platform's key).
 */
export interface Client extends Stored {
  readonly envId: string;
  /** 128 random bits, hex: public, names the client in tokens (`sub`) and in `kinto-client-id`. */
  readonly clientId: string;
  /** A label for people (e.g. "mobile app"). */
  readonly name?: string;
  /** `hmac-sha256$<base64url>` of the secret. */
  readonly secretHash: string;
  /** 1 on create, +1 on every rotation; tokens carry it (`gen`), so older tokens stop working. */
  readonly generation: number;
  readonly rotatedAt?: string;
}
