import { missingRequiredVariables, resolveBlockConfig } from './block-config';
import { nowIso, type CoreContext } from './context';
import { conflict, KintoError } from './errors';
import { listAll, requireEnvironment, requireProject, requireRelease } from './lookups';
import type { Build, Deployment, DeploymentAction, Environment, Project, Release, ResolvedBlockConfig } from './model';
import { compareReleaseVersions, parseReleaseVersion } from './release-version';
import type { DeploymentPlan, PlannedBlock } from '../ports/runtime';
import { WriteConflictError, type ListOptions, type Page } from '../ports/store';

/** A deployment lock older than this was left by a crash and may be taken over. */
export const STALE_DEPLOYMENT_MS = 15 * 60_000;

/**
 * Deploys a release to an environment: all of its blocks switch at once, with the environment's
 * configuration as it is now (frozen into the deployment record). Deploying an older release than
 * the running one is a rollback.
 *
 * Order of writes, so that a crash anywhere leaves the environment serving its last completed
 * deployment: lock the environment -> record the deployment (in-progress) -> runtime.prepare ->
 * commit `running` on the environment item (the commit point) -> runtime.activate -> mark the
 * record succeeded. `recoverInterruptedDeployments` settles records a crash left in-progress.
 */
export async function deployRelease(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  version: string,
  options: { action?: DeploymentAction; promotedFrom?: string } = {},
): Promise<Deployment> {
  const project = await requireProject(ctx, projectName);
  const env = await requireEnvironment(ctx, project, envName);
  const release = await requireRelease(ctx, project, version);
  const blocks = await planBlocks(ctx, env, release);
  const action = options.action ?? (isOlder(release.version, env.running?.release) ? 'rollback' : 'deploy');

  const at = nowIso(ctx);
  const deploymentId = ctx.ids.timeOrderedId();
  const locked = await lockEnvironment(ctx, env, deploymentId, at);
  const deployment: Deployment = {
    id: deploymentId,
    envId: env.id,
    projectId: project.id,
    release: release.version,
    action,
    ...(options.promotedFrom ? { promotedFrom: options.promotedFrom } : {}),
    status: 'in-progress',
    config: Object.fromEntries(blocks.map((b) => [b.block.name, b.config])),
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  let record = await ctx.store.deployments.create(deployment);
  const plan: DeploymentPlan = { project, environment: locked, release, deployment: record, blocks };
  try {
    await ctx.runtime.prepare(plan);
  } catch (e) {
    const reason = e instanceof KintoError ? e.message : `the runtime could not prepare the release: ${(e as Error).message}`;
    record = await finishDeployment(ctx, record, 'failed', reason);
    await unlockEnvironment(ctx, locked, deploymentId);
    throw conflict(
      'DEPLOYMENT_FAILED',
      `Deployment ${deploymentId} of ${release.version} to "${env.name}" failed: ${reason}. "${env.name}" still serves what it served before.`,
    );
  }
  let committed: Environment;
  try {
    committed = await ctx.store.environments.update({
      ...locked,
      status: 'active',
      running: { deploymentId, release: release.version, at: nowIso(ctx) },
      deploying: undefined,
      updatedAt: nowIso(ctx),
    });
  } catch (e) {
    await finishDeployment(ctx, record, 'failed', 'the environment changed during the deployment');
    throw e instanceof WriteConflictError
      ? conflict('CONCURRENT_UPDATE', `Environment "${env.name}" changed during deployment ${deploymentId}; deploy again.`)
      : e;
  }
  await ctx.runtime.activate({ ...plan, environment: committed });
  return finishDeployment(ctx, record, 'succeeded');
}

/** Deploys the release running in `from` to `envName`, with `envName`'s own configuration. */
export async function promote(ctx: CoreContext, projectName: string, envName: string, from: string): Promise<Deployment> {
  const project = await requireProject(ctx, projectName);
  const source = await requireEnvironment(ctx, project, from);
  if (!source.running)
    throw conflict(
      'NOTHING_TO_PROMOTE',
      `Environment "${source.name}" has no completed deployment to promote; deploy a release to it first.`,
    );
  if (source.name === envName)
    throw conflict('NOTHING_TO_PROMOTE', 'Promote from another environment: "from" names the environment the target is promoted from.');
  return deployRelease(ctx, projectName, envName, source.running.release, { action: 'promote', promotedFrom: source.name });
}

export async function listDeployments(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  options: ListOptions = {},
): Promise<Page<Deployment>> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  return ctx.store.deployments.list({ envId: env.id }, { ...options, descending: true });
}

/** What a gateway needs to know about an environment to answer a request for it. */
export type EnvironmentState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'shut-down' | 'not-deployed'; readonly environment: Environment }
  | { readonly kind: 'running'; readonly plan: DeploymentPlan };

/**
 * The plan an environment serves now, from its last completed deployment (the commit point):
 * what a runtime loads when it (re)starts, so that a crash mid-deploy serves the last completed one.
 */
export async function loadEnvironmentState(ctx: CoreContext, envId: string): Promise<EnvironmentState> {
  const environment = await ctx.store.environments.getById(envId);
  if (!environment) return { kind: 'unknown' };
  if (environment.status === 'shut-down') return { kind: 'shut-down', environment };
  if (!environment.running) return { kind: 'not-deployed', environment };
  const [project, deployment] = await Promise.all([
    ctx.store.projects.getById(environment.projectId),
    ctx.store.deployments.get({ envId, id: environment.running.deploymentId }),
  ]);
  const release = project && (await ctx.store.releases.get({ projectId: project.id, version: environment.running.release }));
  if (!project || !deployment || !release) return { kind: 'unknown' };
  const blocks = await Promise.all(
    release.blocks.map(async (block): Promise<PlannedBlock> => ({
      block,
      config: deployment.config[block.name] ?? resolveBlockConfig(block),
      build: await getBuild(ctx, block.blockId, block.buildId),
    })),
  );
  return { kind: 'running', plan: { project, environment, release, deployment, blocks } };
}

/**
 * After a restart: settles deployments a crash left in-progress (succeeded if the environment
 * committed to them, else failed) and frees their environments' locks.
 */
export async function recoverInterruptedDeployments(ctx: CoreContext, projects: readonly Project[]): Promise<number> {
  let settled = 0;
  for (const project of projects) {
    for (const env of await listAll(ctx.store.environments, { projectId: project.id })) {
      const page = await ctx.store.deployments.list({ envId: env.id }, { descending: true, limit: 20 });
      for (const d of page.items.filter((x) => x.status === 'in-progress')) {
        const committed = env.running?.deploymentId === d.id;
        await finishDeployment(
          ctx,
          d,
          committed ? 'succeeded' : 'failed',
          committed ? undefined : 'interrupted: the platform stopped during this deployment',
        );
        settled++;
      }
      if (env.deploying) await unlockEnvironment(ctx, env, env.deploying.deploymentId);
    }
  }
  return settled;
}

async function planBlocks(ctx: CoreContext, env: Environment, release: Release): Promise<PlannedBlock[]> {
  const configs = new Map((await listAll(ctx.store.blockConfigs, { envId: env.id })).map((c) => [c.blockId, c]));
  const planned: PlannedBlock[] = [];
  const missing: string[] = [];
  for (const block of release.blocks) {
    const config: ResolvedBlockConfig = resolveBlockConfig(block, configs.get(block.blockId));
    const absent = missingRequiredVariables(block, config);
    if (absent.length > 0) missing.push(`${block.name}: ${absent.join(', ')}`);
    planned.push({ block, config, build: await getBuild(ctx, block.blockId, block.buildId) });
  }
  if (missing.length > 0) {
    throw conflict(
      'MISSING_VARIABLES',
      `Environment "${env.name}" does not set required variables (${missing.join('; ')}). Set them with PUT .../environments/${env.name}/blocks/{block}/config.`,
    );
  }
  return planned;
}

const getBuild = (ctx: CoreContext, blockId: string, buildId: string | undefined): Promise<Build | undefined> =>
  buildId ? ctx.store.builds.get({ blockId, id: buildId }) : Promise.resolve(undefined);

function isOlder(version: string, running: string | undefined): boolean {
  return running !== undefined && compareReleaseVersions(parseReleaseVersion(version), parseReleaseVersion(running)) < 0;
}

async function lockEnvironment(ctx: CoreContext, env: Environment, deploymentId: string, at: string): Promise<Environment> {
  if (env.deploying && ctx.clock.now().getTime() - Date.parse(env.deploying.since) < STALE_DEPLOYMENT_MS) {
    throw conflict(
      'DEPLOYMENT_IN_PROGRESS',
      `Environment "${env.name}" is being deployed (deployment ${env.deploying.deploymentId}); retry when it ends.`,
    );
  }
  try {
    return await ctx.store.environments.update({ ...env, deploying: { deploymentId, since: at }, updatedAt: at });
  } catch (e) {
    if (e instanceof WriteConflictError)
      throw conflict(
        'DEPLOYMENT_IN_PROGRESS',
        `Environment "${env.name}" changed while this deployment started (another deployment?); retry.`,
      );
    throw e;
  }
}

async function unlockEnvironment(ctx: CoreContext, env: Environment, deploymentId: string): Promise<void> {
  for (let current: Environment | undefined = env; current?.deploying?.deploymentId === deploymentId;) {
    try {
      await ctx.store.environments.update({ ...current, deploying: undefined, updatedAt: nowIso(ctx) });
      return;
    } catch (e) {
      if (!(e instanceof WriteConflictError)) throw e;
      current = await ctx.store.environments.get({ projectId: env.projectId, name: env.name });
    }
  }
}

function finishDeployment(ctx: CoreContext, d: Deployment, status: 'succeeded' | 'failed', error?: string): Promise<Deployment> {
  const at = nowIso(ctx);
  return ctx.store.deployments.update({ ...d, status, ...(error ? { error } : {}), finishedAt: at, updatedAt: at });
}
