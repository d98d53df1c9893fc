import { checkBlockDefinition } from './block-rules';
import { nowIso, type CoreContext } from './context';
import { conflict } from './errors';
import type { CreateBlockInput, UpdateBlockInput } from './request-schemas';
import { listAll, requireBlock, requireProject } from './lookups';
import type { Block, BlockDefinition, BuildSettings } from './model';
import { assertName } from './names';
import { WriteConflictError, type ListOptions, type Page } from '../ports/store';

const buildSettings = (input: CreateBlockInput['build']): BuildSettings => ({ ...input, buildArgs: input?.buildArgs ?? {} });

export async function createBlock(ctx: CoreContext, projectName: string, input: CreateBlockInput): Promise<Block> {
  const project = await requireProject(ctx, projectName);
  const definition: BlockDefinition = {
    type: input.type,
    kind: input.kind,
    schedule: input.schedule,
    source: input.source,
    build: buildSettings(input.build),
    variables: input.variables ?? {},
  };
  checkBlockDefinition(definition);
  const at = nowIso(ctx);
  const block: Block = {
    id: ctx.ids.randomId(),
    projectId: project.id,
    name: assertName('block', input.name),
    description: input.description ?? '',
    ...definition,
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  try {
    return await ctx.store.blocks.create(block);
  } catch (e) {
    if (e instanceof WriteConflictError)
      throw conflict('BLOCK_EXISTS', `Project "${project.name}" already has a block "${block.name}"; choose another name or PATCH it.`);
    throw e;
  }
}

export async function listBlocks(ctx: CoreContext, projectName: string, options: ListOptions = {}): Promise<Page<Block>> {
  const project = await requireProject(ctx, projectName);
  return ctx.store.blocks.list({ projectId: project.id }, options);
}

export async function getBlock(ctx: CoreContext, projectName: string, blockName: string): Promise<Block> {
  return requireBlock(ctx, await requireProject(ctx, projectName), blockName);
}

/** Changes a block's definition. Releases already tagged keep the definition they froze. */
export async function updateBlock(ctx: CoreContext, projectName: string, blockName: string, input: UpdateBlockInput): Promise<Block> {
  const project = await requireProject(ctx, projectName);
  const block = await requireBlock(ctx, project, blockName);
  const merged: Block = {
    ...block,
    description: input.description ?? block.description,
    type: input.type ?? block.type,
    kind: input.kind === null ? undefined : (input.kind ?? block.kind),
    schedule: input.schedule === null ? undefined : (input.schedule ?? block.schedule),
    source: input.source ?? block.source,
    build: input.build ? buildSettings(input.build) : block.build,
    variables: input.variables ?? block.variables,
    updatedAt: nowIso(ctx),
  };
  checkBlockDefinition(merged);
  try {
    return await ctx.store.blocks.update(merged);
  } catch (e) {
    if (e instanceof WriteConflictError)
      throw conflict('CONCURRENT_UPDATE', `Block "${blockName}" changed while this request ran; read it again and retry.`);
    throw e;
  }
}

/**
 * Deletes a block from the project. Tagged releases keep it (they are immutable), so running
 * environments are untouched; its per-environment configs go.
 */
export async function deleteBlock(ctx: CoreContext, projectName: string, blockName: string): Promise<void> {
  const project = await requireProject(ctx, projectName);
  const block = await requireBlock(ctx, project, blockName);
  await ctx.store.blocks.remove({ projectId: project.id, name: block.name });
  for (const env of await listAll(ctx.store.environments, { projectId: project.id })) {
    await ctx.store.blockConfigs.remove({ envId: env.id, blockId: block.id });
  }
}
