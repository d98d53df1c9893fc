import type { CoreContext } from '../context';
import type { Environment } from '../model';
import type { DeploymentPlan } from '../../ports/runtime';
import { planOf } from './plan';

/** What a gateway needs to know about an environment to answer a request for it. */
export type EnvironmentState =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'shut-down' | 'not-deployed'; readonly environment: Environment }
  | { readonly kind: 'running'; readonly plan: DeploymentPlan };

/**
 * The plan an environment serves now, from its last switched deployment (the commit point): what a
 * runtime loads when it (re)starts, so that a crash mid-deploy serves the last completed one.
 */
export async function loadEnvironmentState(ctx: CoreContext, envId: string): Promise<EnvironmentState> {
  const environment = await ctx.store.environments.getById(envId);
  if (!environment) return { kind: 'unknown' };
  if (environment.status === 'shut-down') return { kind: 'shut-down', environment };
  if (!environment.running) return { kind: 'not-deployed', environment };
  const deployment = await ctx.store.deployments.get({ envId, id: environment.running.deploymentId });
  const plan = deployment && (await planOf(ctx, deployment));
  return plan ? { kind: 'running', plan: { ...plan, environment } } : { kind: 'unknown' };
}
