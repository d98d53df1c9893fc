import type { CoreContext } from './context';
import { notFound } from './errors';
import type { Block, Environment, Project, Release } from './model';
import { assertName } from './names';
import { formatReleaseVersion, parseReleaseVersion } from './release-version';

/** Finds what a request names, or says precisely what does not exist (404). */

export async function requireProject(ctx: CoreContext, name: string): Promise<Project> {
  const project = await ctx.store.projects.get({ name: assertName('project', name) });
  if (!project) throw notFound('PROJECT_NOT_FOUND', `There is no project "${name}". List projects with GET /v1/projects.`);
  return project;
}

export async function requireBlock(ctx: CoreContext, project: Project, name: string): Promise<Block> {
  const block = await ctx.store.blocks.get({ projectId: project.id, name: assertName('block', name) });
  if (!block)
    throw notFound(
      'BLOCK_NOT_FOUND',
      `Project "${project.name}" has no block "${name}". List them with GET /v1/projects/${project.name}/blocks.`,
    );
  return block;
}

export async function requireEnvironment(ctx: CoreContext, project: Project, name: string): Promise<Environment> {
  const env = await ctx.store.environments.get({ projectId: project.id, name: assertName('environment', name) });
  if (!env) {
    throw notFound(
      'ENVIRONMENT_NOT_FOUND',
      `Project "${project.name}" has no environment "${name}". List them with GET /v1/projects/${project.name}/environments.`,
    );
  }
  return env;
}

export async function requireRelease(ctx: CoreContext, project: Project, version: string): Promise<Release> {
  const normalized = formatReleaseVersion(parseReleaseVersion(version));
  const release = await ctx.store.releases.get({ projectId: project.id, version: normalized });
  if (!release) {
    throw notFound(
      'RELEASE_NOT_FOUND',
      `Project "${project.name}" has no release ${normalized}. List them with GET /v1/projects/${project.name}/releases.`,
    );
  }
  return release;
}

/** Reads every page of a listing (for the small, bounded listings inside one project). */
export async function listAll<T, P>(
  collection: { list(parent: P, options?: { cursor?: string; limit?: number }): Promise<{ items: T[]; cursor?: string }> },
  parent: P,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await collection.list(parent, { cursor, limit: 100 });
    all.push(...page.items);
    cursor = page.cursor;
  } while (cursor);
  return all;
}
