import { buildNotReady, latestSucceededBuild, requireBuild } from './builds';
import { nowIso, type CoreContext } from './context';
import { conflict, notFound } from './errors';
import type { TagReleaseInput } from './request-schemas';
import { listAll, requireProject, requireRelease } from './lookups';
import type { Block, Build, Project, Release, ReleaseBlock } from './model';
import { formatReleaseVersion, parseReleaseVersion } from './release-version';
import { WriteConflictError, type ListOptions, type Page } from '../ports/store';

/**
 * Tags a release: freezes every block of the project — its definition and the succeeded build it
 * runs (pinned in `blocks`, else the block's newest) — under `MAJOR.MINOR.REVISION`.
 * Releases are immutable and their versions unique per project: of concurrent tags of one
 * version exactly one wins, the others get 409.
 */
export async function tagRelease(ctx: CoreContext, projectName: string, input: TagReleaseInput): Promise<Release> {
  const version = formatReleaseVersion(parseReleaseVersion(input.version));
  const project = await requireProject(ctx, projectName);
  const blocks = await listAll(ctx.store.blocks, { projectId: project.id });
  if (blocks.length === 0)
    throw conflict(
      'NO_BLOCKS',
      `Project "${project.name}" has no blocks to release; add one with POST /v1/projects/${project.name}/blocks.`,
    );
  if (await ctx.store.releases.get({ projectId: project.id, version })) throw releaseExists(project.name, version);
  const frozen = await freezeProject(ctx, project, blocks, input.blocks ?? {});
  const release: Release = {
    projectId: project.id,
    version,
    notes: input.notes ?? '',
    blocks: frozen,
    createdAt: nowIso(ctx),
    rev: 1,
  };
  try {
    return await ctx.store.releases.create(release);
  } catch (e) {
    if (e instanceof WriteConflictError) throw releaseExists(project.name, version);
    throw e;
  }
}

/**
 * Each block as tagging a release now would freeze it: its newest succeeded build, or the build
 * pinned for it. (Tag & Deploy's preview compares with this before the release exists.)
 */
export async function freezeProject(
  ctx: CoreContext,
  project: Project,
  blocks: readonly Block[],
  pins: Readonly<Record<string, { build: string }>>,
): Promise<ReleaseBlock[]> {
  for (const name of Object.keys(pins)) {
    if (!blocks.some((b) => b.name === name))
      throw notFound('BLOCK_NOT_FOUND', `Project "${project.name}" has no block "${name}" to pin a build for.`);
  }
  const frozen: ReleaseBlock[] = [];
  for (const block of blocks) {
    const pinned = pins[block.name]?.build;
    const build = pinned ? await requireBuild(ctx, block, pinned) : await latestSucceededBuild(ctx, block);
    if (!build)
      throw buildNotReady(
        block.name,
        `has no succeeded build; build it with POST /v1/projects/${project.name}/blocks/${block.name}/builds.`,
      );
    if (build.status !== 'succeeded')
      throw buildNotReady(block.name, `build ${build.id} is ${build.status}; pin a succeeded build or build again.`);
    frozen.push(freezeBlock(block, build));
  }
  return frozen;
}

/**
 * What was built comes from the build (source at its commit, build command, output folder);
 * how it runs and is configured comes from the block as it is now (start command, port, variables).
 */
function freezeBlock(block: Block, build: Build): ReleaseBlock {
  return {
    blockId: block.id,
    name: block.name,
    type: block.type,
    ...(block.kind ? { kind: block.kind } : {}),
    ...(block.schedule ? { schedule: block.schedule } : {}),
    source: build.source,
    build: { ...build.settings, startCommand: block.build.startCommand, port: block.build.port },
    variables: block.variables,
    buildId: build.id,
    ...(build.commit ? { commit: build.commit } : {}),
  };
}

const releaseExists = (project: string, version: string) =>
  conflict('RELEASE_EXISTS', `Project "${project}" already has release ${version}; releases are immutable, tag a new version.`);

export async function listReleases(ctx: CoreContext, projectName: string, options: ListOptions = {}): Promise<Page<Release>> {
  const project = await requireProject(ctx, projectName);
  return ctx.store.releases.list({ projectId: project.id }, { ...options, descending: true });
}

export async function getRelease(ctx: CoreContext, projectName: string, version: string): Promise<Release> {
  return requireRelease(ctx, await requireProject(ctx, projectName), version);
}
