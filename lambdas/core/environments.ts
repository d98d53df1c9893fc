import { issueClient, type IssuedClient } from './auth/clients';
import { nowIso, type CoreContext } from './context';
import { badRequest, conflict } from './errors';
import { settleEnvironmentData, type DataOutcome } from './environment-data';
import type { CreateEnvironmentInput } from './request-schemas';
import { listAll, requireEnvironment, requireProject } from './lookups';
import type { Environment, Project, SealedSecret } from './model';
import { openSecret, sealSecret } from './secrets';
import { assertNotDeploying } from './deployments/environment-lock';
import { assertName } from './names';
import { WriteConflictError, type ListOptions, type Page } from '../ports/store';

/** A new environment, with its first client when the platform has key material (the secret shows only here). */
export type CreatedEnvironment = Environment & { readonly firstClient?: IssuedClient };

/**
 * Creates an environment, optionally cloning another one's per-block configuration (never its
 * clients: each environment has its own credentials), and issues its first client.
 * Config and client items are keyed by the new environment's id and written first; the environment
 * item is the commit point, so a crash or a lost race leaves nothing reachable behind.
 */
export async function createEnvironment(ctx: CoreContext, projectName: string, input: CreateEnvironmentInput): Promise<CreatedEnvironment> {
  const project = await requireProject(ctx, projectName);
  const name = assertName('environment', input.name);
  if (await ctx.store.environments.get({ projectId: project.id, name })) throw environmentExists(project, name);
  const source = input.cloneFrom ? await requireEnvironment(ctx, project, input.cloneFrom) : undefined;
  const at = nowIso(ctx);
  const env: Environment = {
    id: ctx.ids.randomId(),
    projectId: project.id,
    name,
    status: 'active',
    clonedFrom: source?.name,
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  if (source) {
    for (const config of await listAll(ctx.store.blockConfigs, { envId: source.id })) {
      // Secrets are sealed for their environment: the clone's are sealed again for it.
      const secrets: Record<string, SealedSecret> = {};
      for (const [name, secret] of Object.entries(config.secrets ?? {})) {
        const value = await openSecret(ctx, { envId: source.id, blockId: config.blockId, name }, secret);
        secrets[name] = {
          ...(await sealSecret(ctx, { envId: env.id, blockId: config.blockId, name }, value, at)),
          updatedAt: secret.updatedAt,
        };
      }
      await ctx.store.blockConfigs.create({
        ...config,
        envId: env.id,
        ...(config.secrets ? { secrets } : {}),
        rev: 1,
        createdAt: at,
        updatedAt: at,
      });
    }
  }
  const firstClient = ctx.keys ? await issueClient(ctx, env.id, 'default') : undefined;
  try {
    const saved = await ctx.store.environments.create(env);
    return firstClient ? { ...saved, firstClient } : saved;
  } catch (e) {
    if (e instanceof WriteConflictError) {
      await ctx.store.blockConfigs.removeAll({ envId: env.id });
      await ctx.store.clients.removeAll({ envId: env.id });
      throw environmentExists(project, name);
    }
    throw e;
  }
}

const environmentExists = (project: Project, name: string) =>
  conflict('ENVIRONMENT_EXISTS', `Project "${project.name}" already has an environment "${name}"; choose another name.`);

export async function listEnvironments(ctx: CoreContext, projectName: string, options: ListOptions = {}): Promise<Page<Environment>> {
  const project = await requireProject(ctx, projectName);
  return ctx.store.environments.list({ projectId: project.id }, options);
}

export async function getEnvironment(ctx: CoreContext, projectName: string, envName: string): Promise<Environment> {
  return requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
}

/** Stops serving an environment: its gateway answers 503 until the next deploy. Its config stays. */
export async function shutDownEnvironment(ctx: CoreContext, projectName: string, envName: string): Promise<Environment> {
  const project = await requireProject(ctx, projectName);
  const env = await requireEnvironment(ctx, project, envName);
  assertNotDeploying(ctx, env);
  let updated = env;
  if (env.status !== 'shut-down') {
    try {
      updated = await ctx.store.environments.update({ ...env, status: 'shut-down', updatedAt: nowIso(ctx) });
    } catch (e) {
      if (e instanceof WriteConflictError)
        throw conflict('CONCURRENT_UPDATE', `Environment "${env.name}" changed while this request ran; retry.`);
      throw e;
    }
  }
  await ctx.runtime.stop(env.id);
  return updated;
}

/**
 * Deletes an environment; the caller must repeat its name in `confirm`. Its custom services' data
 * is kept (and named in the outcome) unless `deleteData` asks for it to go too.
 */
export async function deleteEnvironment(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  confirm: string,
  options: { readonly deleteData?: boolean } = {},
): Promise<DataOutcome> {
  const project = await requireProject(ctx, projectName);
  const env = await requireEnvironment(ctx, project, envName);
  if (confirm !== env.name) {
    throw badRequest(
      'CONFIRMATION_MISMATCH',
      `To delete environment "${env.name}", send {"confirm": "${env.name}"}; got ${JSON.stringify(confirm)}.`,
    );
  }
  assertNotDeploying(ctx, env);
  await ctx.store.environments.remove({ projectId: project.id, name: env.name });
  return tearDownEnvironment(ctx, env, options.deleteData === true);
}

/**
 * What deleting an environment does once its item is gone: the runtime releases (and removes)
 * what it holds, what lives under it goes, then its custom services' data is kept or deleted
 * (last: a failure there, a `DataSettlementError`, leaves nothing else behind).
 */
export async function tearDownEnvironment(ctx: CoreContext, env: Environment, deleteData: boolean): Promise<DataOutcome> {
  await (ctx.runtime.remove ? ctx.runtime.remove(env.id) : ctx.runtime.stop(env.id));
  await removeEnvironmentState(ctx, env);
  return settleEnvironmentData(ctx, env, deleteData);
}

/** Removes what lives under an environment once the environment item itself is gone. */
async function removeEnvironmentState(ctx: CoreContext, env: Environment): Promise<void> {
  await ctx.store.blockConfigs.removeAll({ envId: env.id });
  await ctx.store.deployments.removeAll({ envId: env.id });
  await ctx.store.clients.removeAll({ envId: env.id });
  await ctx.store.jobRuns.removeAll({ envId: env.id });
  await ctx.store.jobLocks.removeAll({ envId: env.id });
}
