import { nowIso, type CoreContext } from './context';
import { badRequest, conflict } from './errors';
import type { CreateProjectInput, UpdateProjectInput } from './request-schemas';
import { listAll, requireProject } from './lookups';
import type { Project } from './model';
import { assertName } from './names';
import type { ListOptions, Page } from '../ports/store';
import { WriteConflictError } from '../ports/store';
import { tearDownEnvironment } from './environments';
import { DataSettlementError, mergeOutcomes, type DataOutcome } from './environment-data';

export async function createProject(ctx: CoreContext, input: CreateProjectInput): Promise<Project> {
  const at = nowIso(ctx);
  const project: Project = {
    id: ctx.ids.randomId(),
    name: assertName('project', input.name),
    description: input.description ?? '',
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  try {
    return await ctx.store.projects.create(project);
  } catch (e) {
    if (e instanceof WriteConflictError)
      throw conflict('PROJECT_EXISTS', `A project named "${project.name}" already exists; choose another name.`);
    throw e;
  }
}

export const listProjects = (ctx: CoreContext, options: ListOptions = {}): Promise<Page<Project>> => ctx.store.projects.list({}, options);

export async function updateProject(ctx: CoreContext, name: string, input: UpdateProjectInput): Promise<Project> {
  const project = await requireProject(ctx, name);
  try {
    return await ctx.store.projects.update({ ...project, description: input.description, updatedAt: nowIso(ctx) });
  } catch (e) {
    if (e instanceof WriteConflictError)
      throw conflict('CONCURRENT_UPDATE', `Project "${name}" changed while this request ran; read it again and retry.`);
    throw e;
  }
}

/**
 * Deletes a project. A project with environments is only deleted when the caller repeats its
 * name (`confirm`): its environments stop serving and everything under it goes, except their
 * custom services' data, which is kept (and named in the outcome) unless `deleteData` asks.
 * The project item is the commit point: once it is gone nothing under it is reachable, and the
 * clean-up after it is idempotent.
 */
export async function deleteProject(
  ctx: CoreContext,
  name: string,
  confirm?: string,
  options: { readonly deleteData?: boolean } = {},
): Promise<DataOutcome> {
  const project = await requireProject(ctx, name);
  const environments = await listAll(ctx.store.environments, { projectId: project.id });
  if (environments.length > 0 && confirm !== project.name) {
    if (confirm !== undefined) {
      throw badRequest(
        'CONFIRMATION_MISMATCH',
        `To delete project "${project.name}", send {"confirm": "${project.name}"}; got ${JSON.stringify(confirm)}.`,
      );
    }
    throw conflict(
      'PROJECT_HAS_ENVIRONMENTS',
      `Project "${project.name}" has ${environments.length} environment(s) (${environments.map((e) => e.name).join(', ')}). ` +
        `Send {"confirm": "${project.name}"} to delete it with all of them.`,
    );
  }
  await ctx.store.projects.remove({ name: project.name });
  const outcomes: DataOutcome[] = [];
  // A data failure in one environment does not stop the others' clean-up; it is answered at the end.
  const dataFailures: DataSettlementError[] = [];
  for (const env of environments) {
    try {
      outcomes.push(await tearDownEnvironment(ctx, env, options.deleteData === true));
    } catch (e) {
      if (!(e instanceof DataSettlementError)) throw e;
      dataFailures.push(e);
    }
  }
  const blocks = await listAll(ctx.store.blocks, { projectId: project.id });
  for (const block of blocks) await ctx.store.builds.removeAll({ blockId: block.id });
  await ctx.store.blocks.removeAll({ projectId: project.id });
  await ctx.store.environments.removeAll({ projectId: project.id });
  await ctx.store.releases.removeAll({ projectId: project.id });
  if (dataFailures.length > 0) {
    const done = mergeOutcomes(outcomes);
    const named = [...done.kept, ...done.deleted].map((d) => `${d.environment}/${d.block} (${d.location})`);
    throw new DataSettlementError(
      `Project "${project.name}" is deleted. ${dataFailures.map((f) => f.message).join(' ')}` +
        (named.length ? ` Other environments' data: ${done.deleted.length ? 'deleted' : 'kept'}: ${named.join(', ')}.` : ''),
    );
  }
  return mergeOutcomes(outcomes);
}
