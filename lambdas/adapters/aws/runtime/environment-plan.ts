import { createHash, createHmac } from 'node:crypto';
import { KintoError } from '../../../core/errors';
import type { DeploymentPlan, PlannedBlock } from '../../../ports/runtime';
import { serviceVariablesOf } from '../services/service-names';
import {
  functionNameOf,
  stackParameters,
  type EnvironmentBlock,
  type EnvironmentDescription,
  type PlatformRefs,
} from './environment-description';

/** Block types that run as Lambda functions (websites and microservices behind routes, jobs without). */
export const FUNCTION_TYPES: ReadonlySet<string> = new Set(['website', 'microservice', 'job']);

/** What a block's function must be for a deployment: the deployer compares it with what runs. */
export interface DesiredFunction {
  readonly block: string;
  readonly functionName: string;
  readonly image: string;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** Every variable the function gets, secrets and the platform's facts included. */
  readonly environment: Readonly<Record<string, string>>;
  /** Identifies this code and configuration: a published version's description names it. */
  readonly hash: string;
}

/** Where the environment's blocks call the platform (known once its stack made the HTTP API). */
export interface GatewayFacts {
  readonly gatewayUrl: string;
  readonly internalKey: string;
}

/** HTTP requests reach a block for at most this long: API Gateway's integration limit. */
export const HTTP_TIMEOUT_SECONDS = 30;
export const DEFAULT_JOB_TIMEOUT_SECONDS = 900;
/**
 * Jobs run inside a deployer invocation (it waits for their end), and a Lambda runs at most 900 s:
 * on AWS a job gets at most 840 s, leaving the deployer a minute to record how it ended.
 */
export const MAX_JOB_SECONDS_ON_AWS = 840;

/** A job's timeout on AWS: its configured one, within `MAX_JOB_SECONDS_ON_AWS`. */
export const jobTimeoutSeconds = (configured: number | undefined): number =>
  Math.min(configured ?? DEFAULT_JOB_TIMEOUT_SECONDS, MAX_JOB_SECONDS_ON_AWS);

/**
 * The variables the platform sets on every block (they win over the block's own). No
 * `KINTO_DEPLOYMENT` on AWS: a deployment's id would make every function version new, and a
 * rollback to a release whose versions exist could no longer be an alias move.
 */
export function platformVariables(plan: DeploymentPlan, planned: PlannedBlock): Record<string, string> {
  const { block, config, build } = planned;
  return {
    KINTO_PROJECT: plan.project.name,
    KINTO_ENVIRONMENT: plan.environment.name,
    KINTO_BLOCK: block.name,
    KINTO_RELEASE: plan.release.version,
    KINTO_MEMORY_MB: String(config.memoryMb),
    ...(build ? { KINTO_BUILD: build.id } : {}),
    ...(block.commit ? { KINTO_COMMIT: block.commit } : {}),
  };
}

/**
 * `KINTO_GATEWAY_URL`, `KINTO_BLOCK_<NAME>_URL` (through the internal entry) of every served block,
 * and `KINTO_BLOCK_<NAME>_HOST` / `_PORT` of every custom service (its Cloud Map name): the same
 * values the environment stack gives its functions, so the fast path never takes them away.
 */
export function gatewayVariables(plan: DeploymentPlan, facts: GatewayFacts): Record<string, string> {
  const vars: Record<string, string> = { KINTO_GATEWAY_URL: facts.gatewayUrl };
  for (const { block } of plan.blocks) {
    if (block.type === 'website' || block.type === 'microservice') {
      vars[`KINTO_BLOCK_${block.name.toUpperCase().replace(/-/g, '_')}_URL`] =
        `${facts.gatewayUrl}/_internal/${facts.internalKey}/${block.name}`;
    }
  }
  const services = plan.blocks
    .filter((p) => p.block.type === 'custom-service')
    .map((p) => ({ name: p.block.name, port: p.block.build.port }));
  return { ...vars, ...serviceVariablesOf(plan.environment.id, services) };
}

/**
 * What a custom service's block carries besides what every block does: its sleep settings (from
 * its configuration; a core without them yet reads as absent, and the stack applies the defaults)
 * and a digest of its secret values, keyed with the environment's internal key (a secret itself),
 * so that the shape output, which it feeds, cannot be used to guess a weak secret.
 */
function serviceFields(planned: PlannedBlock, key: string): Pick<EnvironmentBlock, 'idleSeconds' | 'alwaysOn' | 'secretDigest'> {
  const c = planned.config as { idleTimeoutSeconds?: unknown; alwaysOn?: unknown };
  const secrets = Object.entries(planned.secrets ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    ...(typeof c.idleTimeoutSeconds === 'number' ? { idleSeconds: c.idleTimeoutSeconds } : {}),
    ...(c.alwaysOn === true ? { alwaysOn: true } : {}),
    ...(secrets.length ? { secretDigest: createHmac('sha256', key).update(JSON.stringify(secrets)).digest('hex').slice(0, 32) } : {}),
  };
}

/** The function a block must run as in this deployment. */
export function desiredFunction(plan: DeploymentPlan, planned: PlannedBlock, facts: GatewayFacts): DesiredFunction {
  const { block, config, build } = planned;
  const image = build?.artifact;
  if (!image || !/@sha256:[0-9a-f]{64}$/.test(image)) {
    throw new KintoError(
      409,
      'BUILD_MISSING',
      `block "${block.name}" has no container image (build ${block.buildId ?? '(none)'}); build it again and tag a new release`,
    );
  }
  const environment = { ...config.variables, ...planned.secrets, ...platformVariables(plan, planned), ...gatewayVariables(plan, facts) };
  const timeoutSeconds = block.type === 'job' ? jobTimeoutSeconds(config.timeoutSeconds) : HTTP_TIMEOUT_SECONDS;
  const hash = createHash('sha256')
    .update(JSON.stringify([image, config.memoryMb, timeoutSeconds, Object.entries(environment).sort(([a], [b]) => (a < b ? -1 : 1))]))
    .digest('hex')
    .slice(0, 32);
  return {
    block: block.name,
    functionName: functionNameOf(plan.environment.id, block.name),
    image,
    memoryMb: config.memoryMb,
    timeoutSeconds,
    environment,
    hash,
  };
}

/** The description the environment's stack is built from, and the values of its parameters. */
export function describeEnvironment(
  plan: DeploymentPlan,
  platform: PlatformRefs,
  options: { internalKey: string; versions: Readonly<Record<string, string>>; shutDown?: boolean },
): { description: EnvironmentDescription; parameters: Record<string, string>; shape: string } {
  const blocks: EnvironmentBlock[] = [];
  const parameters: Record<string, string> = { [stackParameters.internalKey]: options.internalKey };
  for (const planned of plan.blocks) {
    const { block, config } = planned;
    const secretNames = Object.keys(planned.secrets ?? {}).sort();
    blocks.push({
      name: block.name,
      type: block.type,
      ...(block.kind ? { kind: block.kind } : {}),
      ...(block.schedule ? { schedule: block.schedule } : {}),
      visibility: config.visibility,
      memoryMb: config.memoryMb,
      ...(block.type === 'job' ? { timeoutSeconds: jobTimeoutSeconds(config.timeoutSeconds) } : {}),
      variables: { ...config.variables, ...platformVariables(plan, planned) },
      ...(secretNames.length ? { secretNames } : {}),
      ...(config.basicAuth ? { basicAuth: { username: config.basicAuth.username, passwordHash: config.basicAuth.passwordHash } } : {}),
      ...(block.commit ? { commit: block.commit } : {}),
      ...(block.build.port ? { port: block.build.port } : {}),
      ...(block.type === 'custom-service' && planned.build?.artifact ? { image: planned.build.artifact } : {}),
      ...(block.type === 'custom-service' ? serviceFields(planned, options.internalKey) : {}),
    });
    if (!options.shutDown) {
      parameters[stackParameters.image(block.name)] = planned.build?.artifact ?? '';
      if (FUNCTION_TYPES.has(block.type)) parameters[stackParameters.version(block.name)] = options.versions[block.name] ?? '$LATEST';
      for (const name of secretNames) parameters[stackParameters.secret(block.name, name)] = planned.secrets![name]!;
    }
  }
  // Only an environment with a custom service uses (and is shaped by) the services' parts.
  const { services, ...functionsOnly } = platform;
  const hasServices = blocks.some((b) => b.type === 'custom-service');
  const description: EnvironmentDescription = {
    envId: plan.environment.id,
    project: plan.project.name,
    environment: plan.environment.name,
    platform: hasServices && services ? { ...functionsOnly, services } : functionsOnly,
    ...(options.shutDown ? { shutDown: true } : {}),
    release: plan.release.version,
    blocks,
  };
  return { description, parameters, shape: shapeOf(description) };
}

/**
 * What makes a stack update necessary: the infrastructure (blocks, routes, visibility, passwords,
 * schedules, the platform's parts), not what an alias move or a function update carries (images,
 * variables, memory: those take the fast path).
 */
export function shapeOf(d: EnvironmentDescription): string {
  const shape = {
    platform: d.platform,
    shutDown: d.shutDown ?? false,
    throttle: d.throttle ?? null,
    blocks: d.blocks.map((b) => ({
      // A custom service's task definition names its image: a new image is a stack update.
      ...(b.type === 'custom-service'
        ? {
            image: b.image ?? null,
            variables: b.variables,
            memoryMb: b.memoryMb,
            idleSeconds: b.idleSeconds ?? null,
            alwaysOn: b.alwaysOn ?? false,
            secretDigest: b.secretDigest ?? null,
          }
        : {}),
      name: b.name,
      type: b.type,
      kind: b.kind ?? null,
      schedule: b.schedule ?? null,
      visibility: b.visibility,
      basicAuth: b.basicAuth ?? null,
      secrets: b.secretNames ?? [],
      port: b.port ?? null,
    })),
  };
  return createHash('sha256').update(JSON.stringify(shape)).digest('hex').slice(0, 32);
}
