import { nowIso, type CoreContext } from './context';
import { badRequest, conflict } from './errors';
import { DEFAULT_MEMORY_MB, DEFAULT_SERVICE_IDLE_SECONDS, type BlockConfigInput } from './request-schemas';
import { sealSecret } from './secrets';
import { requireBlock, requireEnvironment, requireProject } from './lookups';
import type { Block, BlockConfig, BlockType, ReleaseBlock, ResolvedBlockConfig, SealedSecret, Visibility } from './model';
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
  // A secret set in the environment overrides a plain default of the same name.
  for (const name of Object.keys(config?.secrets ?? {})) delete variables[name];
  return {
    variables,
    ...(config?.secrets && Object.keys(config.secrets).length > 0 ? { secrets: config.secrets } : {}),
    memoryMb: config?.memoryMb ?? DEFAULT_MEMORY_MB,
    visibility: config?.visibility ?? defaultVisibility(block.type),
    ...(config?.basicAuth ? { basicAuth: config.basicAuth } : {}),
    ...(config?.timeoutSeconds !== undefined ? { timeoutSeconds: config.timeoutSeconds } : {}),
    ...(block.type === 'custom-service'
      ? { idleTimeoutSeconds: config?.idleTimeoutSeconds ?? DEFAULT_SERVICE_IDLE_SECONDS, alwaysOn: config?.alwaysOn ?? false }
      : {}),
  };
}

/** Required variables that neither a default nor the environment sets. */
export function missingRequiredVariables(block: Pick<Block | ReleaseBlock, 'variables'>, resolved: ResolvedBlockConfig): string[] {
  return Object.entries(block.variables)
    .filter(([name, spec]) => spec.required && resolved.variables[name] === undefined && resolved.secrets?.[name] === undefined)
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
  if (input.timeoutSeconds !== undefined && block.type !== 'job') {
    throw badRequest('INVALID_CONFIG', `timeoutSeconds limits job runs; block "${block.name}" is a ${block.type}.`);
  }
  if ((input.idleTimeoutSeconds !== undefined || input.alwaysOn !== undefined) && block.type !== 'custom-service') {
    throw badRequest(
      'INVALID_CONFIG',
      `idleTimeoutSeconds and alwaysOn say when a custom service sleeps; block "${block.name}" is a ${block.type}, which stops when idle by the platform's setting.`,
    );
  }
  if (block.type === 'custom-service' && input.visibility !== undefined && input.visibility !== 'internal') {
    throw badRequest(
      'INVALID_CONFIG',
      `Custom service "${block.name}" is reached only by the blocks of its environment (KINTO_BLOCK_*_HOST and _PORT), never through the gateway: its visibility is "internal"; leave it out.`,
    );
  }
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
  const variables: Record<string, string> = {};
  const secrets: Record<string, SealedSecret> = {};
  for (const [name, setting] of Object.entries(input.variables ?? {})) {
    if (typeof setting === 'string') variables[name] = setting;
    else if (setting.secret === true) {
      const kept = current?.secrets?.[name];
      if (!kept) {
        throw badRequest('SECRET_NOT_SET', `${name} has no secret value in "${env.name}" to keep; send {"secret": "<value>"} to set one.`);
      }
      secrets[name] = kept;
    } else secrets[name] = await sealSecret(ctx, { envId: env.id, blockId: block.id, name }, setting.secret, at);
  }
  const next: BlockConfig = {
    envId: env.id,
    blockId: block.id,
    variables,
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
    memoryMb: input.memoryMb ?? DEFAULT_MEMORY_MB,
    ...(input.timeoutSeconds !== undefined ? { timeoutSeconds: input.timeoutSeconds } : {}),
    ...(input.idleTimeoutSeconds !== undefined ? { idleTimeoutSeconds: input.idleTimeoutSeconds } : {}),
    ...(input.alwaysOn !== undefined ? { alwaysOn: input.alwaysOn } : {}),
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

/**
 * Resets a block's configuration in an environment to its defaults (`variable` unset: everything;
 * set: that one variable, plain or secret, back to its default or to unset).
 */
export async function resetBlockConfig(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  blockName: string,
  variable?: string,
): Promise<BlockConfigView> {
  const project = await requireProject(ctx, projectName);
  const [env, block] = await Promise.all([requireEnvironment(ctx, project, envName), requireBlock(ctx, project, blockName)]);
  const current = await ctx.store.blockConfigs.get({ envId: env.id, blockId: block.id });
  let saved: BlockConfig | undefined;
  if (variable === undefined) {
    if (current) await ctx.store.blockConfigs.remove({ envId: env.id, blockId: block.id });
  } else if (current && (variable in current.variables || variable in (current.secrets ?? {}))) {
    const { [variable]: _plain, ...variables } = current.variables;
    const { [variable]: _secret, ...secrets } = current.secrets ?? {};
    try {
      saved = await ctx.store.blockConfigs.update({ ...current, variables, secrets, updatedAt: nowIso(ctx) });
    } catch (e) {
      if (e instanceof WriteConflictError) {
        throw conflict('CONFIG_CHANGED', `The config of "${block.name}" in "${env.name}" changed while this request ran; retry.`);
      }
      throw e;
    }
  } else saved = current;
  const resolved = resolveBlockConfig(block, saved);
  return { config: saved, block, resolved, missingRequired: missingRequiredVariables(block, resolved) };
}
