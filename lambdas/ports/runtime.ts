import type { Build, Deployment, Environment, JobRun, Project, Release, ReleaseBlock, ResolvedBlockConfig } from '../core/model';

/** A block as one deployment runs it: its frozen definition, its build and its environment's config. */
export interface PlannedBlock {
  readonly block: ReleaseBlock;
  readonly config: ResolvedBlockConfig;
  readonly build?: Build;
  /**
   * The block's secret variables, opened (plain text) for the runtime to hand to the block's
   * process or function only: never stored in this form, never returned by the API.
   */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** Everything a runtime needs to serve one release in one environment. */
export interface DeploymentPlan {
  readonly project: Project;
  readonly environment: Environment;
  readonly release: Release;
  readonly deployment: Deployment;
  readonly blocks: readonly PlannedBlock[];
}

/** What a runtime's `prepare` made for one block (JSON; kept on the deployment record). */
export type PreparedBlock = Readonly<Record<string, unknown>>;

/**
 * How far a step that a runtime carries out has come. A runtime that waits on something slow (a
 * CloudFormation stack, a function update) answers `done: false` with what it has started and when
 * to ask again, instead of waiting: the core keeps `result` on the deployment record and calls
 * again with it, from whichever process drives the deployment then.
 */
export type StepProgress<T> =
  | { readonly done: true; readonly result: T }
  | { readonly done: false; readonly result?: T; readonly checkAfterMs: number; readonly message?: string };

/** How a job run ended, as the runtime saw it. */
export interface JobOutcome {
  readonly status: 'succeeded' | 'failed' | 'timed-out';
  readonly exitCode: number | null;
  /** Why it did not succeed, in one line. */
  readonly reason?: string;
}

/** A slice of a job run's output, readable while it runs. */
export interface JobLogChunk {
  readonly text: string;
  readonly nextOffset: number;
}

/** Data a custom service keeps for one environment (locally a folder; its `KINTO_DATA_DIR`). */
export interface ServiceData {
  readonly block: string;
  /** Where it is (locally an absolute path). */
  readonly location: string;
}

/** What `activate` reports once traffic has moved. */
export interface Activated {
  /** Where clients call the environment, when the runtime made or knows it (kept on the environment). */
  readonly gatewayUrl?: string;
}

/**
 * Runs blocks. The core decides what runs, in which order and what a failure means (the
 * deployment's steps, the job policy); a runtime only carries out one step at a time: locally
 * with child processes, on AWS with Lambda functions, Fargate services and a CloudFormation stack
 * per environment.
 *
 * The contract every runtime keeps:
 * - `prepare` and `activate` are idempotent and may be retried after any failure, with or without
 *   what an earlier call returned: a repeated call where nothing changed creates nothing new and
 *   changes nothing. They may answer `done: false` to be asked again later (see `StepProgress`).
 * - `prepare` never moves traffic: an environment serves what it served until `activate`.
 * - `activate` moves all of an environment's traffic at once (in-flight requests finish where they
 *   are) and arms the plan's cron schedules; when it fails, the environment serves what it served.
 * - `runJob` is not idempotent: the core calls it once per recorded run and waits for its end (a
 *   runtime stops a job at the plan's timeout and says `timed-out`). Cron runs are started by the
 *   runtime's scheduler calling the core (`runScheduledJob`), so that every run is recorded.
 * - `stop` releases everything an environment holds (idempotent); `remove`, where a runtime has
 *   it, also deletes what a later deployment would reuse (on AWS the environment's stack).
 * - Custom services' data is never deleted by `stop` nor `remove`: only `deleteData`, which the
 *   core calls when a deletion asks for it; otherwise `dataOf` names what is kept.
 */
export interface Runtime {
  /**
   * Makes one block of the plan ready to take traffic, without moving any (locally: checks that its
   * build is on this machine and can start; on AWS: the block's function version).
   * @param previous what an earlier call for this block and deployment returned, if any
   */
  prepare(plan: DeploymentPlan, block: PlannedBlock, previous?: PreparedBlock): Promise<StepProgress<PreparedBlock>>;
  /**
   * Moves all of the environment's traffic to the plan and arms its schedules.
   * @param prepared what `prepare` returned per block name
   */
  activate(plan: DeploymentPlan, prepared: Readonly<Record<string, PreparedBlock>>): Promise<StepProgress<Activated>>;
  /** Runs a job of the plan to its end, keeping its output for `readJobLog`. */
  runJob(plan: DeploymentPlan, job: PlannedBlock, run: JobRun): Promise<JobOutcome>;
  readJobLog(run: JobRun, offset: number): Promise<JobLogChunk>;
  /** Stops serving the environment (shut down or deleted) and releases what it holds. */
  stop(envId: string): Promise<void>;
  /** The environment is deleted: removes everything it had (idempotent). Without it, `stop` is called. */
  remove?(envId: string): Promise<void>;
  /** The data the environment's custom services keep (called once it is stopped). */
  dataOf?(envId: string): Promise<readonly ServiceData[]>;
  /** Deletes that data (the environment is stopped); returns what it deleted (idempotent). */
  deleteData?(envId: string): Promise<readonly ServiceData[]>;
  /** The ids of every environment with custom services' data, deleted environments' included. */
  dataEnvironments?(): Promise<readonly string[]>;
  /**
   * The runtime still holds a (deleted) environment: its services may still run (locally while
   * they stop; on AWS while its stack exists), so its data is not to be deleted from under them.
   */
  holds?(envId: string): Promise<boolean>;
  /** Where clients call the environment when the runtime knows it without a deployment (locally: the platform's port). */
  gatewayUrl?(env: Environment): string | undefined;
}
