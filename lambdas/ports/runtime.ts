import type { Build, Deployment, Environment, Project, Release, ReleaseBlock, ResolvedBlockConfig } from '../core/model';

/** A block as one deployment runs it: its frozen definition, its build and its environment's config. */
export interface PlannedBlock {
  readonly block: ReleaseBlock;
  readonly config: ResolvedBlockConfig;
  readonly build?: Build;
}

/** Everything a runtime needs to serve one release in one environment. */
export interface DeploymentPlan {
  readonly project: Project;
  readonly environment: Environment;
  readonly release: Release;
  readonly deployment: Deployment;
  readonly blocks: readonly PlannedBlock[];
}

/**
 * Runs blocks. The core decides what runs where; a runtime only carries it out:
 * locally with child processes, on AWS with Lambda functions and Fargate services.
 */
export interface Runtime {
  /** Makes everything the plan needs ready without moving traffic (may be slow; may fail). */
  prepare(plan: DeploymentPlan): Promise<void>;
  /** Moves all of the environment's traffic to the plan at once; in-flight requests finish where they are. */
  activate(plan: DeploymentPlan): Promise<void>;
  /** Stops serving the environment (shut down or deleted) and releases what it holds. */
  stop(envId: string): Promise<void>;
  /** Where clients call the environment: its gateway URL. */
  gatewayUrl(env: Environment): string | undefined;
}
