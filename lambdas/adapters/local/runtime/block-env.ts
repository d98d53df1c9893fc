import { blockUrlVariable } from '../../../core/auth/internal-entry';
import type { DeploymentPlan, PlannedBlock } from '../../../ports/runtime';
import { baseChildEnv } from './child-env';

/** Who a block's output line or lifecycle event belongs to. */
export interface BlockMeta {
  readonly envId: string;
  readonly project: string;
  readonly environment: string;
  readonly block: string;
  readonly release: string;
  readonly commit?: string;
}

/** A block's lifecycle event, for its instance log and metrics. */
export type BlockEvent = {
  type: 'start' | 'ready' | 'exit' | 'idle-stop' | 'job-start' | 'job-end';
  ms?: number;
  code?: number | null;
  signal?: string | null;
  ok?: boolean;
  reason?: string;
};

/** Block types the gateway serves (every other type is a job). */
export const SERVED_TYPES: ReadonlySet<string> = new Set(['website', 'microservice', 'custom-service']);

export function blockMetaOf(plan: DeploymentPlan, planned: PlannedBlock): BlockMeta {
  return {
    envId: plan.environment.id,
    project: plan.project.name,
    environment: plan.environment.name,
    block: planned.block.name,
    release: plan.release.version,
    ...(planned.block.commit ? { commit: planned.block.commit } : {}),
  };
}

/** Where a block's process calls the platform: its environment's gateway, and the internal entry. */
export interface BlockUrls {
  readonly gatewayUrl: string;
  /** Base of `KINTO_BLOCK_<NAME>_URL` (the environment's internal entry). */
  readonly internalBase: string;
}

/**
 * A block's (or job's) process environment: what programs need, its variables and secrets, then
 * the platform's facts, which always win.
 */
export function blockEnvironment(plan: DeploymentPlan, planned: PlannedBlock, urls: BlockUrls, port?: number): Record<string, string> {
  const { block, config, build } = planned;
  const env: Record<string, string> = {
    ...baseChildEnv(),
    ...config.variables,
    ...planned.secrets,
    ...(port ? { PORT: String(port) } : {}),
    KINTO_PROJECT: plan.project.name,
    KINTO_ENVIRONMENT: plan.environment.name,
    KINTO_BLOCK: block.name,
    KINTO_RELEASE: plan.release.version,
    KINTO_DEPLOYMENT: plan.deployment.id,
    KINTO_MEMORY_MB: String(config.memoryMb),
    ...(build ? { KINTO_BUILD: build.id } : {}),
    ...(block.commit ? { KINTO_COMMIT: block.commit } : {}),
    KINTO_GATEWAY_URL: urls.gatewayUrl,
  };
  for (const { block: other } of plan.blocks) {
    if (SERVED_TYPES.has(other.type)) env[blockUrlVariable(other.name)] = `${urls.internalBase}/${other.name}`;
  }
  return env;
}
