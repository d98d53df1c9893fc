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
 * `GET /v1/kept-data`: the custom services' data that deleted environments left, which nothing
 * else names any more (a deletion names it once, in its answer). Environments that exist, or whose
 * deletion is still stopping their services, are not listed: their data is not left yet.
 */
export async function listKeptData(ctx: CoreContext): Promise<KeptData[]> {
  const ids = ((await ctx.runtime.dataEnvironments?.()) ?? []).filter((id) => ENVIRONMENT_ID.test(id));
  // Side by side: on AWS each look is a call (the table, the stack, the service-data Lambda).
  const found = await Promise.all(
    ids.map(async (envId): Promise<KeptData[]> => {
      if ((await ctx.store.environments.getById(envId)) || (await ctx.runtime.holds?.(envId))) return [];
      return ((await ctx.runtime.dataOf?.(envId)) ?? []).map((d) => ({ environmentId: envId, block: d.block, location: d.location }));
    }),
  );
  return found.flat();
}

/**
 * `DELETE /v1/kept-data/{environmentId}` with `{"confirm": "<environmentId>"}`: deletes what a
 * deleted environment left. An environment that exists is refused (409), and so is one whose
 * deletion still stops its services: its data is deleted with it (`deleteData`), or once nothing
 * of it runs, never from under its running services. 404 when there was nothing to delete.
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
      project
        ? `Environment ${envId} is "${env.name}" of project "${project.name}", which still exists: its data is deleted with it (DELETE /v1/projects/${project.name}/environments/${env.name} with {"confirm": "${env.name}", "deleteData": true}).`
        : `Environment ${envId} ("${env.name}") still has its record, though its project is gone (a deletion stopped half-way): its data stays until that record is gone.`,
    );
  }
  if (await ctx.runtime.holds?.(envId)) {
    throw conflict(
      'ENVIRONMENT_STOPPING',
      `Environment ${envId} is deleted, but its services may still be running (on AWS its stack is being deleted, which can take some minutes): try again once they are gone.`,
    );
  }
  let deleted: readonly { block: string; location: string }[] = [];
  try {
    deleted = (await ctx.runtime.deleteData?.(envId)) ?? [];
  } catch (e) {
    if (e instanceof KintoError) throw e;
    throw new KintoError(502, 'SERVICE_DATA_FAILED', `Deleting the data environment ${envId} left failed: ${(e as Error).message}`);
  }
  if (deleted.length === 0) {
    throw notFound('KEPT_DATA_NOT_FOUND', `No deleted environment ${envId} left data here (GET /v1/kept-data lists what is kept).`);
  }
  return deleted.map((d) => ({ environmentId: envId, block: d.block, location: d.location }));
}
