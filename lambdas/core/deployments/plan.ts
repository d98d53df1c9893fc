import { missingRequiredVariables, resolveBlockConfig } from '../block-config';
import type { CoreContext } from '../context';
import { conflict } from '../errors';
import { listAll } from '../lookups';
import type { Build, Deployment, DeploymentStep, Environment, Release, ResolvedBlockConfig } from '../model';
import { openSecrets } from '../secrets';
import type { DeploymentPlan, PlannedBlock } from '../../ports/runtime';

/**
 * The blocks of a release as an environment would run them now: each with the environment's
 * configuration as it is (what a deployment freezes). Refuses when a required variable is unset.
 */
export async function planBlocks(
  ctx: CoreContext,
  env: Environment,
  release: Release,
  options: { checkRequired?: boolean } = {},
): Promise<PlannedBlock[]> {
  const configs = new Map((await listAll(ctx.store.blockConfigs, { envId: env.id })).map((c) => [c.blockId, c]));
  const planned: PlannedBlock[] = [];
  const missing: string[] = [];
  for (const block of release.blocks) {
    const config: ResolvedBlockConfig = resolveBlockConfig(block, configs.get(block.blockId));
    const absent = missingRequiredVariables(block, config);
    if (absent.length > 0) missing.push(`${block.name}: ${absent.join(', ')}`);
    planned.push({ block, config, build: await getBuild(ctx, block.blockId, block.buildId) });
  }
  if (missing.length > 0 && options.checkRequired !== false) {
    throw conflict(
      'MISSING_VARIABLES',
      `Environment "${env.name}" does not set required variables (${missing.join('; ')}). Set them with PUT .../environments/${env.name}/blocks/{block}/config.`,
    );
  }
  return planned;
}

/**
 * The plan of a recorded deployment: the release's blocks with the configuration the deployment
 * froze, secrets opened for the runtime. What a deployer without memory rebuilds at every step,
 * and what a gateway serves for an environment's running deployment.
 */
export async function planOf(ctx: CoreContext, deployment: Deployment): Promise<DeploymentPlan | undefined> {
  const [project, environment] = await Promise.all([
    ctx.store.projects.getById(deployment.projectId),
    ctx.store.environments.getById(deployment.envId),
  ]);
  const release = project && (await ctx.store.releases.get({ projectId: project.id, version: deployment.release }));
  if (!project || !environment || !release) return undefined;
  const blocks = await Promise.all(
    release.blocks.map(async (block): Promise<PlannedBlock> => {
      const config = deployment.config[block.name] ?? resolveBlockConfig(block);
      const secrets = await openSecrets(ctx, environment.id, block.blockId, config.secrets);
      return { block, config, build: await getBuild(ctx, block.blockId, block.buildId), ...(secrets ? { secrets } : {}) };
    }),
  );
  return { project, environment, release, deployment, blocks };
}

/**
 * A deployment's steps, in the order they run: every block is prepared first (a pre-deploy job
 * runs the release's own code, which the runtime must have made ready, and a release that cannot
 * start should fail before a migration changes anything), then the pre-deploy jobs, the switch,
 * and the post-deploy jobs.
 */
export function stepsFor(release: Release): DeploymentStep[] {
  const jobsOf = (kind: 'pre-deploy' | 'post-deploy') => release.blocks.filter((b) => b.type === 'job' && b.kind === kind);
  return [
    ...release.blocks.map((b): DeploymentStep => ({ id: `prepare:${b.name}`, kind: 'prepare', block: b.name, status: 'pending' })),
    ...jobsOf('pre-deploy').map((b): DeploymentStep => ({
      id: `pre-deploy:${b.name}`,
      kind: 'pre-deploy',
      block: b.name,
      status: 'pending',
    })),
    { id: 'switch', kind: 'switch', status: 'pending' },
    ...jobsOf('post-deploy').map((b): DeploymentStep => ({
      id: `post-deploy:${b.name}`,
      kind: 'post-deploy',
      block: b.name,
      status: 'pending',
    })),
  ];
}

const getBuild = (ctx: CoreContext, blockId: string, buildId: string | undefined): Promise<Build | undefined> =>
  buildId ? ctx.store.builds.get({ blockId, id: buildId }) : Promise.resolve(undefined);
