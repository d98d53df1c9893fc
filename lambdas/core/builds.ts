import { nowIso, type CoreContext } from './context';
import { conflict, notFound } from './errors';
import { requireBlock, requireProject } from './lookups';
import type { Block, Build, BuildStatus, Project } from './model';
import type { BuildLogChunk } from '../ports/builder';
import { WriteConflictError, type ListOptions, type Page } from '../ports/store';

/**
 * Asks for a build of a block's source at its branch or commit, as the block is defined now.
 * "Build latest commit" and "retry" are this same call.
 */
export async function requestBuild(ctx: CoreContext, projectName: string, blockName: string): Promise<Build> {
  const project = await requireProject(ctx, projectName);
  const block = await requireBlock(ctx, project, blockName);
  const at = nowIso(ctx);
  const build: Build = {
    id: ctx.ids.timeOrderedId(),
    projectId: project.id,
    blockId: block.id,
    blockName: block.name,
    status: 'queued',
    source: block.source,
    settings: block.build,
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  await ctx.store.builds.create(build);
  try {
    await ctx.builder.start({ project, block, build });
  } catch (e) {
    return recordBuildEvent(ctx, build, { status: 'failed', error: `The builder did not accept the build: ${(e as Error).message}` });
  }
  return (await ctx.store.builds.get({ blockId: block.id, id: build.id })) ?? build;
}

export async function listBuilds(
  ctx: CoreContext,
  projectName: string,
  blockName: string,
  options: ListOptions = {},
): Promise<Page<Build>> {
  const block = await requireBlock(ctx, await requireProject(ctx, projectName), blockName);
  return ctx.store.builds.list({ blockId: block.id }, { ...options, descending: true });
}

export async function getBuild(ctx: CoreContext, projectName: string, blockName: string, buildId: string): Promise<Build> {
  const block = await requireBlock(ctx, await requireProject(ctx, projectName), blockName);
  return requireBuild(ctx, block, buildId);
}

export async function readBuildLog(
  ctx: CoreContext,
  projectName: string,
  blockName: string,
  buildId: string,
  offset: number,
): Promise<{ build: Build; log: BuildLogChunk }> {
  const build = await getBuild(ctx, projectName, blockName, buildId);
  return { build, log: await ctx.builder.readLog(build, offset) };
}

export async function requireBuild(ctx: CoreContext, block: Block, buildId: string): Promise<Build> {
  const build = /^[A-Za-z0-9_-]{1,64}$/.test(buildId) ? await ctx.store.builds.get({ blockId: block.id, id: buildId }) : undefined;
  if (!build)
    throw notFound(
      'BUILD_NOT_FOUND',
      `Block "${block.name}" has no build "${buildId}". List them with GET .../blocks/${block.name}/builds.`,
    );
  return build;
}

/** The newest succeeded build of a block, if any. */
export async function latestSucceededBuild(ctx: CoreContext, block: Block): Promise<Build | undefined> {
  let cursor: string | undefined;
  do {
    const page = await ctx.store.builds.list({ blockId: block.id }, { descending: true, limit: 50, cursor });
    const found = page.items.find((b) => b.status === 'succeeded');
    if (found) return found;
    cursor = page.cursor;
  } while (cursor);
  return undefined;
}

export interface BuildEvent {
  readonly status: BuildStatus;
  readonly commit?: string;
  readonly error?: string;
  readonly artifact?: string;
}

const ORDER: Record<BuildStatus, number> = { queued: 0, running: 1, succeeded: 2, failed: 2 };

/**
 * Applies a builder's report to a build. Builds only move forward (queued -> running ->
 * succeeded | failed); a late or repeated event is ignored, so redelivery is harmless.
 */
export async function recordBuildEvent(ctx: CoreContext, build: Pick<Build, 'blockId' | 'id'>, event: BuildEvent): Promise<Build> {
  for (;;) {
    const current = await ctx.store.builds.get({ blockId: build.blockId, id: build.id });
    if (!current) throw notFound('BUILD_NOT_FOUND', `Build ${build.id} does not exist.`);
    if (ORDER[event.status] <= ORDER[current.status] && !(current.status === 'queued' && event.status === 'queued')) return current;
    const at = nowIso(ctx);
    const next: Build = {
      ...current,
      status: event.status,
      commit: event.commit ?? current.commit,
      artifact: event.artifact ?? current.artifact,
      error: event.error ?? current.error,
      startedAt: current.startedAt ?? (event.status === 'queued' ? undefined : at),
      finishedAt: ORDER[event.status] === 2 ? at : undefined,
      updatedAt: at,
    };
    try {
      return await ctx.store.builds.update(next);
    } catch (e) {
      if (!(e instanceof WriteConflictError)) throw e;
    }
  }
}

/**
 * After a restart: builds that were queued or running when the platform stopped can never
 * finish, so they are marked failed (retry = ask for a new build).
 */
export async function failInterruptedBuilds(
  ctx: CoreContext,
  projects: readonly Project[],
  blocksOf: (p: Project) => Promise<Block[]>,
): Promise<Build[]> {
  const failed: Build[] = [];
  for (const project of projects) {
    for (const block of await blocksOf(project)) {
      let cursor: string | undefined;
      do {
        const page = await ctx.store.builds.list({ blockId: block.id }, { cursor, limit: 100 });
        for (const b of page.items.filter((x) => x.status === 'queued' || x.status === 'running')) {
          failed.push(
            await recordBuildEvent(ctx, b, {
              status: 'failed',
              error: 'interrupted: the platform stopped during this build; build again to retry',
            }),
          );
        }
        cursor = page.cursor;
      } while (cursor);
    }
  }
  return failed;
}

export const buildNotReady = (block: string, why: string) => conflict('BUILD_NOT_READY', `Block "${block}" ${why}`);
