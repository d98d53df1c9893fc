import { nowIso, type CoreContext } from '../context';
import { conflict, KintoError, notFound } from '../errors';
import { abandonJobRun, failInterruptedJobRuns } from '../jobs/job-runs';
import { listAll, requireEnvironment, requireProject, requireRelease } from '../lookups';
import type { Deployment, DeploymentAction, DeploymentStep, Project } from '../model';
import { compareReleaseVersions, parseReleaseVersion } from '../release-version';
import { tagRelease } from '../releases';
import type { DeployInput } from '../request-schemas';
import type { ListOptions, Page } from '../../ports/store';
import { assertNotDeploying, lockEnvironment, unlockEnvironment } from './environment-lock';
import { planBlocks, stepsFor } from './plan';
import { fail } from './run-deployment';

/**
 * Records a deployment of a release to an environment and hands it to the deployer: the answer
 * comes at once (202), the steps advance in the background (`advanceDeployment`). All of the
 * release's blocks switch at once, with the environment's configuration as it is now (frozen into
 * the record). Deploying an older release than the running one is a rollback; `{tag}` is Tag &
 * Deploy: the project is frozen as a new release first. One deployment at a time per environment.
 */
export async function deployRelease(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  input: DeployInput,
  options: { action?: DeploymentAction; promotedFrom?: string } = {},
): Promise<Deployment> {
  const project = await requireProject(ctx, projectName);
  const env = await requireEnvironment(ctx, project, envName);
  assertNotDeploying(ctx, env);
  const release = 'tag' in input ? await tagRelease(ctx, projectName, input.tag) : await requireRelease(ctx, project, input.release);
  const blocks = await planBlocks(ctx, env, release);
  const action = options.action ?? (isOlder(release.version, env.running?.release) ? 'rollback' : 'deploy');

  const at = nowIso(ctx);
  const deploymentId = ctx.ids.timeOrderedId();
  await lockEnvironment(ctx, env, deploymentId, at);
  const record = await ctx.store.deployments.create({
    id: deploymentId,
    envId: env.id,
    projectId: project.id,
    release: release.version,
    action,
    ...(options.promotedFrom ? { promotedFrom: options.promotedFrom } : {}),
    ...('tag' in input ? { tagged: true } : {}),
    status: 'in-progress',
    steps: stepsFor(release),
    config: Object.fromEntries(blocks.map((b) => [b.block.name, b.config])),
    rev: 1,
    createdAt: at,
    updatedAt: at,
  });
  try {
    await ctx.deployer.start(env.id, deploymentId);
  } catch (e) {
    await fail(ctx, record, undefined, `the deployer could not be started: ${(e as Error).message}`);
    throw new KintoError(
      503,
      'DEPLOYER_UNAVAILABLE',
      `Deployment ${deploymentId} could not start (${(e as Error).message}); "${env.name}" still serves what it served. Retry.`,
    );
  }
  return (await ctx.store.deployments.get({ envId: env.id, id: deploymentId })) ?? record;
}

/** Deploys the release running in `from` to `envName`, with `envName`'s own configuration. */
export async function promote(ctx: CoreContext, projectName: string, envName: string, from: string): Promise<Deployment> {
  const project = await requireProject(ctx, projectName);
  const source = await requireEnvironment(ctx, project, from);
  if (!source.running) {
    throw conflict(
      'NOTHING_TO_PROMOTE',
      `Environment "${source.name}" has no completed deployment to promote; deploy a release to it first.`,
    );
  }
  if (source.name === envName) {
    throw conflict('NOTHING_TO_PROMOTE', 'Promote from another environment: "from" names the environment the target is promoted from.');
  }
  return deployRelease(ctx, projectName, envName, { release: source.running.release }, { action: 'promote', promotedFrom: source.name });
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

export async function getDeployment(ctx: CoreContext, projectName: string, envName: string, deploymentId: string): Promise<Deployment> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  const d = /^[A-Za-z0-9_-]{1,64}$/.test(deploymentId) ? await ctx.store.deployments.get({ envId: env.id, id: deploymentId }) : undefined;
  if (!d)
    throw notFound(
      'DEPLOYMENT_NOT_FOUND',
      `Environment "${env.name}" has no deployment "${deploymentId}". List them with GET .../environments/${env.name}/deployments.`,
    );
  return d;
}

/**
 * After a restart: settles what a crash left running. A deployment the environment committed to
 * (its switch was recorded) succeeded, its post-deploy jobs that did not run named as failed; any
 * other ends failed (`interrupted`), and the environment serves its last completed deployment. Job
 * runs that were running are failed, their jobs freed.
 */
export async function recoverInterruptedDeployments(ctx: CoreContext, projects: readonly Project[]): Promise<number> {
  let settled = 0;
  for (const project of projects) {
    for (const env of await listAll(ctx.store.environments, { projectId: project.id })) {
      await failInterruptedJobRuns(ctx, env.id);
      const page = await ctx.store.deployments.list({ envId: env.id }, { descending: true, limit: 20 });
      for (const d of page.items.filter((x) => x.status === 'in-progress')) {
        if (env.running?.deploymentId === d.id) await finishCommitted(ctx, d);
        else
          await fail(
            ctx,
            d,
            d.steps.find((s) => s.status === 'running'),
            'interrupted: the platform stopped during this deployment',
          );
        settled++;
      }
      if (env.deploying) await unlockEnvironment(ctx, env.id, env.deploying.deploymentId);
    }
  }
  return settled;
}

/**
 * The process carrying a deployment gave up for good (on AWS: its state machine's execution failed
 * or timed out): settled as after a restart, with `reason`, and the job run it was waiting for ended.
 */
export async function abandonDeployment(
  ctx: CoreContext,
  envId: string,
  deploymentId: string,
  reason: string,
): Promise<Deployment | undefined> {
  const d = await ctx.store.deployments.get({ envId, id: deploymentId });
  if (!d || d.status !== 'in-progress') return d;
  for (const s of d.steps) if (s.status === 'running' && s.runId && s.block) await abandonJobRun(ctx, envId, s.block, s.runId, reason);
  const env = await ctx.store.environments.getById(envId);
  if (env?.running?.deploymentId === d.id) await finishCommitted(ctx, d, reason);
  else
    await fail(
      ctx,
      d,
      d.steps.find((s) => s.status === 'running'),
      reason,
    );
  return ctx.store.deployments.get({ envId, id: deploymentId });
}

async function finishCommitted(
  ctx: CoreContext,
  d: Deployment,
  reason = 'interrupted: the platform stopped before this job ended',
): Promise<void> {
  const at = nowIso(ctx);
  const steps = d.steps.map((s): DeploymentStep =>
    s.status === 'pending' || s.status === 'running' ? { ...s, status: 'failed', endedAt: at, message: reason } : s,
  );
  const failedJobs = [
    ...(d.failedJobs ?? []),
    ...d.steps.filter((s) => s.kind === 'post-deploy' && (s.status === 'pending' || s.status === 'running')).map((s) => s.block!),
  ];
  await unlockEnvironment(ctx, d.envId, d.id);
  await ctx.store.deployments.update({
    ...d,
    steps,
    status: 'succeeded',
    ...(failedJobs.length ? { failedJobs } : {}),
    finishedAt: at,
    updatedAt: at,
  });
}

function isOlder(version: string, running: string | undefined): boolean {
  return running !== undefined && compareReleaseVersions(parseReleaseVersion(version), parseReleaseVersion(running)) < 0;
}
