import { blockUrlVariable } from '../../../core/auth/internal-entry';
import { DATA_DIR_VARIABLE, serviceHostVariable, servicePortVariable } from '../../../core/service-variables';
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
  type: 'start' | 'ready' | 'exit' | 'idle-stop' | 'job-start' | 'job-end' | 'start-failed' | 'restart';
  ms?: number;
  code?: number | null;
  signal?: string | null;
  crashed?: boolean;
  ok?: boolean;
  reason?: string;
};

/** Block types the gateway serves over HTTP (custom services speak TCP to their environment only; jobs run to an end). */
export const HTTP_TYPES: ReadonlySet<string> = new Set(['website', 'microservice']);

export const isCustomService = (planned: PlannedBlock): boolean => planned.block.type === 'custom-service';

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
  /** The environment's custom services: block name -> loopback port of its address. */
  readonly services?: Readonly<Record<string, number>>;
}

/** What one process of a block gets besides the plan's facts. */
export interface ProcessFacts {
  /** `PORT`: where it listens. */
  readonly port?: number;
  /** `KINTO_DATA_DIR` (custom services). */
  readonly dataDir?: string;
}

/**
 * A block's (or job's) process environment: what programs need, its variables and secrets, then
 * the platform's facts, which always win.
 */
export function blockEnvironment(
  plan: DeploymentPlan,
  planned: PlannedBlock,
  urls: BlockUrls,
  facts: ProcessFacts = {},
): Record<string, string> {
  const { port, dataDir } = facts;
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
    ...(dataDir ? { [DATA_DIR_VARIABLE]: dataDir } : {}),
  };
  for (const { block: other } of plan.blocks) {
    if (HTTP_TYPES.has(other.type)) env[blockUrlVariable(other.name)] = `${urls.internalBase}/${other.name}`;
    const servicePort = other.type === 'custom-service' ? urls.services?.[other.name] : undefined;
    if (servicePort !== undefined) {
      env[serviceHostVariable(other.name)] = '127.0.0.1';
      env[servicePortVariable(other.name)] = String(servicePort);
    }
  }
  return env;
}
