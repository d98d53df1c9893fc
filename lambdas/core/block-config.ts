import { nowIso, type CoreContext } from './context';
import { badRequest, conflict } from './errors';
import { DEFAULT_MEMORY_MB, type BlockConfigInput } from './request-schemas';
import { requireBlock, requireEnvironment, requireProject } from './lookups';
import type { Block, BlockConfig, BlockType, ReleaseBlock, ResolvedBlockConfig, Visibility } from './model';
import { hashPassword } from './passwords';
import { WriteConflictError } from '../ports/store';

/**
 * Visibility when an environment sets none: websites face browsers (public; password-protect
 * them with basic auth), custom services and jobs are reached only from inside the environment,
 * and microservices need a client token.
 */
export function defaultVisibility(type: BlockType): Visibility {
  switch (type) {
    case 'website':
      return 'public';
    case 'custom-service':
    case 'job':
      return 'internal';
    case 'microservice':
      return 'protected';
  }
}

/** The configuration a block runs with: declared defaults, overridden by the environment's values. */
export function resolveBlockConfig(block: Pick<Block | ReleaseBlock, 'type' | 'variables'>, config?: BlockConfig): ResolvedBlockConfig {
  const variables: Record<string, string> = {};
  for (const [name, spec] of Object.entries(block.variables)) {
    if (spec.default !== undefined) variables[name] = spec.default;
  }
  Object.assign(variables, config?.variables ?? {});
  return {
    variables,
    memoryMb: config?.memoryMb ?? DEFAULT_MEMORY_MB,
    visibility: config?.visibility ?? defaultVisibility(block.type),
    ...(config?.basicAuth ? { basicAuth: config.basicAuth } : {}),
  };
}

/** Required variables that neither a default nor the environment sets. */
export function missingRequiredVariables(block: Pick<Block | ReleaseBlock, 'variables'>, resolved: ResolvedBlockConfig): string[] {
  return Object.entries(block.variables)
    .filter(([name, spec]) => spec.required && resolved.variables[name] === undefined)
    .map(([name]) => name);
}

export interface BlockConfigView {
  readonly config?: BlockConfig;
  readonly block: Block;
  readonly resolved: ResolvedBlockConfig;
  readonly missingRequired: string[];
}

export async function getBlockConfig(ctx: CoreContext, projectName: string, envName: string, blockName: string): Promise<BlockConfigView> {
  const project = await requireProject(ctx, projectName);
  const [env, block] = await Promise.all([requireEnvironment(ctx, project, envName), requireBlock(ctx, project, blockName)]);
  const config = await ctx.store.blockConfigs.get({ envId: env.id, blockId: block.id });
  const resolved = resolveBlockConfig(block, config);
  return { config, block, resolved, missingRequired: missingRequiredVariables(block, resolved) };
}

/**
 * Replaces a block's configuration in one environment (PUT semantics: what is left out goes back
 * to its default). The write is conditional on the revision read, or on `expectedRev` when the
 * caller sends one (If-Match), so concurrent updates never overwrite each other silently.
 */
export async function putBlockConfig(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  blockName: string,
  input: BlockConfigInput,
  expectedRev?: number,
): Promise<BlockConfigView> {
  const project = await requireProject(ctx, projectName);
  const [env, block] = await Promise.all([requireEnvironment(ctx, project, envName), requireBlock(ctx, project, blockName)]);
  if (input.basicAuth && block.type !== 'website') {
    throw badRequest(
      'INVALID_CONFIG',
      `Basic auth protects websites; block "${block.name}" is a ${block.type}. Use visibility "protected" (client tokens) instead.`,
    );
  }
  const current = await ctx.store.blockConfigs.get({ envId: env.id, blockId: block.id });
  const currentRev = current?.rev ?? 0;
  if (expectedRev !== undefined && expectedRev !== currentRev) {
    throw conflict(
      'CONFIG_CHANGED',
      `The config of "${block.name}" in "${env.name}" is at revision ${currentRev}, not ${expectedRev}; GET it again and retry.`,
    );
  }
  const at = nowIso(ctx);
  const basicAuth =
    input.basicAuth === undefined
      ? current?.basicAuth
      : input.basicAuth === null
        ? undefined
        : { username: input.basicAuth.username, passwordHash: await hashPassword(input.basicAuth.password) };
  const next: BlockConfig = {
    envId: env.id,
    blockId: block.id,
    variables: input.variables ?? {},
    memoryMb: input.memoryMb ?? DEFAULT_MEMORY_MB,
    visibility: input.visibility ?? defaultVisibility(block.type),
    ...(basicAuth ? { basicAuth } : {}),
    rev: currentRev,
    createdAt: current?.createdAt ?? at,
    updatedAt: at,
  };
  let saved: BlockConfig;
  try {
    saved = current ? await ctx.store.blockConfigs.update(next) : await ctx.store.blockConfigs.create({ ...next, rev: 1 });
  } catch (e) {
    if (e instanceof WriteConflictError) {
      throw conflict(
        'CONFIG_CHANGED',
        `The config of "${block.name}" in "${env.name}" changed while this request ran; GET it again and retry.`,
      );
    }
    throw e;
  }
  const resolved = resolveBlockConfig(block, saved);
  return { config: saved, block, resolved, missingRequired: missingRequiredVariables(block, resolved) };
}
