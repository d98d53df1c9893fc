import type { CoreContext } from './context';
import { badRequest, conflict, KintoError, notFound } from './errors';

/** A custom service's data that outlived its environment (deleted without `deleteData`). */
export interface KeptData {
  /** The deleted environment's id (its name may since have been given to a new one). */
  readonly environmentId: string;
  readonly block: string;
  /** Where it is (locally a folder under KINTO_HOME; on AWS `efs://<file system>/kinto/<env id>/<block>`). */
  readonly location: string;
}

/** Environment ids as runtimes name their data folders: nothing that could climb out of them. */
const ENVIRONMENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * `GET /v1/kept-data`: the custom services' data that deleted environments left behind, which
 * nothing else names any more (a deletion names it once, in its answer). Environments that exist
 * are not listed: their data goes with their deletion.
 */
export async function listKeptData(ctx: CoreContext): Promise<KeptData[]> {
  const kept: KeptData[] = [];
  for (const envId of await orphans(ctx)) {
    for (const d of (await ctx.runtime.dataOf?.(envId)) ?? []) kept.push({ environmentId: envId, block: d.block, location: d.location });
  }
  return kept;
}

/**
 * `DELETE /v1/kept-data/{environmentId}` with `{"confirm": "<environmentId>"}`: deletes what a
 * deleted environment left. An environment that exists is refused (409): its data is deleted with
 * it (`deleteData`), never from under its running services.
 */
export async function deleteKeptData(ctx: CoreContext, envId: string, confirm: string | undefined): Promise<KeptData[]> {
  if (!ENVIRONMENT_ID.test(envId)) {
    throw badRequest('INVALID_ENVIRONMENT_ID', 'An environment id is letters, digits, - and _ (GET /v1/kept-data lists them).');
  }
  if (confirm !== envId) {
    throw badRequest(
      'CONFIRMATION_MISMATCH',
      `To delete the data environment ${envId} left, send {"confirm": "${envId}"}; got ${JSON.stringify(confirm ?? null)}.`,
    );
  }
  const env = await ctx.store.environments.getById(envId);
  if (env) {
    const project = await ctx.store.projects.getById(env.projectId);
    throw conflict(
      'ENVIRONMENT_EXISTS',
      `Environment ${envId} is "${env.name}" of project "${project?.name ?? env.projectId}", which still exists: its data is deleted with it (DELETE /v1/projects/${project?.name ?? '{project}'}/environments/${env.name} with {"confirm": "${env.name}", "deleteData": true}).`,
    );
  }
  if (!ctx.runtime.deleteData || !(await orphans(ctx)).includes(envId)) {
    throw notFound('KEPT_DATA_NOT_FOUND', `No deleted environment ${envId} left data here (GET /v1/kept-data lists what is kept).`);
  }
  try {
    const deleted = await ctx.runtime.deleteData(envId);
    return deleted.map((d) => ({ environmentId: envId, block: d.block, location: d.location }));
  } catch (e) {
    if (e instanceof KintoError) throw e;
    throw new KintoError(502, 'SERVICE_DATA_FAILED', `Deleting the data environment ${envId} left failed: ${(e as Error).message}`);
  }
}

/** Environments with data and no item: deleted ones. */
async function orphans(ctx: CoreContext): Promise<string[]> {
  const ids = (await ctx.runtime.dataEnvironments?.()) ?? [];
  const gone: string[] = [];
  for (const id of ids) if (ENVIRONMENT_ID.test(id) && !(await ctx.store.environments.getById(id))) gone.push(id);
  return gone;
}
