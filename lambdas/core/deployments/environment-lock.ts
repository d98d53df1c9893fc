import { nowIso, type CoreContext } from '../context';
import { conflict } from '../errors';
import type { Environment } from '../model';
import { WriteConflictError } from '../../ports/store';

/** A deployment lock older than this was left by a crash and may be taken over. */
export const STALE_DEPLOYMENT_MS = 60 * 60_000;

export const deploymentRunning = (env: Environment) =>
  conflict(
    'DEPLOYMENT_IN_PROGRESS',
    `Environment "${env.name}" is being deployed (deployment ${env.deploying?.deploymentId}); follow it with GET .../environments/${env.name}/deployments/${env.deploying?.deploymentId} and retry when it ends.`,
  );

/** Refuses while another deployment holds the environment (a stale lock does not count). */
export function assertNotDeploying(ctx: CoreContext, env: Environment): void {
  if (env.deploying && ctx.clock.now().getTime() - Date.parse(env.deploying.since) < STALE_DEPLOYMENT_MS) throw deploymentRunning(env);
}

/** Takes the environment for one deployment (conditional on the revision read): at most one at a time. */
export async function lockEnvironment(ctx: CoreContext, env: Environment, deploymentId: string, at: string): Promise<Environment> {
  assertNotDeploying(ctx, env);
  try {
    return await ctx.store.environments.update({ ...env, deploying: { deploymentId, since: at }, updatedAt: at });
  } catch (e) {
    if (e instanceof WriteConflictError) {
      const now = await ctx.store.environments.get({ projectId: env.projectId, name: env.name });
      if (now?.deploying) throw deploymentRunning(now);
      throw conflict('CONCURRENT_UPDATE', `Environment "${env.name}" changed while this deployment started; retry.`);
    }
    throw e;
  }
}

/**
 * Applies `change` to the environment while `deploymentId` holds it (re-reading on a lost race);
 * does nothing once another deployment or none holds it.
 */
export async function updateLockedEnvironment(
  ctx: CoreContext,
  envId: string,
  deploymentId: string,
  change: (env: Environment) => Environment,
): Promise<Environment | undefined> {
  for (;;) {
    const current = await ctx.store.environments.getById(envId);
    const fresh = current && (await ctx.store.environments.get({ projectId: current.projectId, name: current.name }));
    if (fresh?.deploying?.deploymentId !== deploymentId) return undefined;
    try {
      return await ctx.store.environments.update({ ...change(fresh), updatedAt: nowIso(ctx) });
    } catch (e) {
      if (!(e instanceof WriteConflictError)) throw e;
    }
  }
}

/** Frees the environment of `deploymentId`'s lock (idempotent). */
export async function unlockEnvironment(ctx: CoreContext, envId: string, deploymentId: string): Promise<void> {
  await updateLockedEnvironment(ctx, envId, deploymentId, (env) => ({ ...env, deploying: undefined }));
}
