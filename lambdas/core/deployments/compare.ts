import { nowIso, type CoreContext } from '../context';
import { badRequest, conflict } from '../errors';
import { listAll, requireEnvironment, requireProject, requireRelease } from '../lookups';
import type { Project, Release, ReleaseBlock, ResolvedBlockConfig } from '../model';
import { freezeProject } from '../releases';
import { planBlocks } from './plan';

/** One field that differs: its value in what runs and in what would run. */
export interface FieldChange {
  readonly field: string;
  readonly from: unknown;
  readonly to: unknown;
}

/** A variable that differs; a secret one says only that it changed. */
export interface VariableChange {
  readonly name: string;
  readonly secret?: true;
  readonly from?: string;
  readonly to?: string;
}

export interface BlockConfigChange {
  readonly block: string;
  readonly variables: { readonly added: VariableChange[]; readonly removed: VariableChange[]; readonly changed: VariableChange[] };
  readonly settings: FieldChange[];
}

/** What a deployment would change in an environment: blocks and their configuration. */
export interface Comparison {
  /** What the environment runs now (null: nothing yet). */
  readonly from: { readonly release: string; readonly deploymentId: string } | null;
  readonly to: { readonly release: string; readonly promotedFrom?: string };
  readonly blocks: {
    readonly added: string[];
    readonly removed: string[];
    readonly changed: { readonly block: string; readonly changes: FieldChange[] }[];
    readonly unchanged: string[];
  };
  /** Blocks whose configuration differs (blocks in both). */
  readonly config: BlockConfigChange[];
}

/**
 * Compares what an environment runs with what deploying `release` (or promoting from `from`) would
 * run: blocks added, removed and changed (build, commit, definition) and, for blocks in both, the
 * configuration the deployment would apply (the environment's as it is now). Secret values are
 * never shown: only that they changed.
 */
export async function compareDeployment(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  target: { readonly release?: string; readonly from?: string; readonly untagged?: boolean },
): Promise<Comparison> {
  if ([target.release !== undefined, target.from !== undefined, target.untagged === true].filter(Boolean).length !== 1) {
    throw badRequest(
      'INVALID_QUERY',
      'Compare with ?release=<version>, with ?from=<environment>, or with ?untagged=true (the project as tagging now would freeze it): one of the three.',
    );
  }
  const project = await requireProject(ctx, projectName);
  const env = await requireEnvironment(ctx, project, envName);
  let version = target.release;
  if (target.from !== undefined) {
    const source = await requireEnvironment(ctx, project, target.from);
    if (!source.running) throw conflict('NOTHING_TO_PROMOTE', `Environment "${source.name}" runs no release to compare with.`);
    version = source.running.release;
  }
  const release = target.untagged ? await untaggedRelease(ctx, project) : await requireRelease(ctx, project, version!);
  const running = env.running && (await ctx.store.deployments.get({ envId: env.id, id: env.running.deploymentId }));
  const current = running && (await ctx.store.releases.get({ projectId: project.id, version: running.release }));
  // A missing required variable fails a deploy, not a comparison: compare what is set.
  const next = await planBlocks(ctx, env, release, { checkRequired: false });

  const before = new Map((current?.blocks ?? []).map((b) => [b.name, b]));
  const after = new Map(release.blocks.map((b) => [b.name, b]));
  const changed: { block: string; changes: FieldChange[] }[] = [];
  const unchanged: string[] = [];
  const config: BlockConfigChange[] = [];
  for (const [name, b] of after) {
    const old = before.get(name);
    if (!old) continue;
    const changes = blockChanges(old, b);
    if (changes.length) changed.push({ block: name, changes });
    else unchanged.push(name);
    const oldConfig = running?.config[name];
    const newConfig = next.find((p) => p.block.name === name)?.config;
    if (oldConfig && newConfig) {
      const diff = configChanges(name, oldConfig, newConfig);
      if (diff) config.push(diff);
    }
  }
  return {
    from: running ? { release: running.release, deploymentId: running.id } : null,
    to: { release: release.version, ...(target.from ? { promotedFrom: target.from } : {}) },
    blocks: {
      added: [...after.keys()].filter((n) => !before.has(n)),
      removed: [...before.keys()].filter((n) => !after.has(n)),
      changed,
      unchanged,
    },
    config,
  };
}

/** The release tagging now would make (never stored): what Tag & Deploy previews. */
async function untaggedRelease(ctx: CoreContext, project: Project): Promise<Release> {
  const blocks = await listAll(ctx.store.blocks, { projectId: project.id });
  return {
    projectId: project.id,
    version: 'untagged',
    notes: '',
    blocks: await freezeProject(ctx, project, blocks, {}),
    createdAt: nowIso(ctx),
    rev: 0,
  };
}

const BLOCK_FIELDS = ['type', 'kind', 'schedule', 'buildId', 'commit', 'source', 'build', 'variables'] as const;

function blockChanges(a: ReleaseBlock, b: ReleaseBlock): FieldChange[] {
  return BLOCK_FIELDS.filter((f) => !same(a[f], b[f])).map((field) => ({ field, from: a[field] ?? null, to: b[field] ?? null }));
}

function configChanges(block: string, a: ResolvedBlockConfig, b: ResolvedBlockConfig): BlockConfigChange | undefined {
  const added: VariableChange[] = [];
  const removed: VariableChange[] = [];
  const changedVars: VariableChange[] = [];
  const names = new Set([
    ...Object.keys(a.variables),
    ...Object.keys(b.variables),
    ...Object.keys(a.secrets ?? {}),
    ...Object.keys(b.secrets ?? {}),
  ]);
  for (const name of [...names].sort()) {
    const secret = a.secrets?.[name] !== undefined || b.secrets?.[name] !== undefined;
    const had = a.variables[name] !== undefined || a.secrets?.[name] !== undefined;
    const has = b.variables[name] !== undefined || b.secrets?.[name] !== undefined;
    const view = (v: VariableChange): VariableChange => (secret ? { name, secret: true } : v);
    if (!had) added.push(view({ name, to: b.variables[name] }));
    else if (!has) removed.push(view({ name, from: a.variables[name] }));
    else if (
      secret
        ? a.secrets?.[name]?.sealed !== b.secrets?.[name]?.sealed || a.variables[name] !== b.variables[name]
        : a.variables[name] !== b.variables[name]
    ) {
      changedVars.push(view({ name, from: a.variables[name], to: b.variables[name] }));
    }
  }
  const settings: FieldChange[] = [];
  if (a.memoryMb !== b.memoryMb) settings.push({ field: 'memoryMb', from: a.memoryMb, to: b.memoryMb });
  if (a.visibility !== b.visibility) settings.push({ field: 'visibility', from: a.visibility, to: b.visibility });
  if ((a.timeoutSeconds ?? null) !== (b.timeoutSeconds ?? null))
    settings.push({ field: 'timeoutSeconds', from: a.timeoutSeconds ?? null, to: b.timeoutSeconds ?? null });
  if ((a.idleTimeoutSeconds ?? null) !== (b.idleTimeoutSeconds ?? null))
    settings.push({ field: 'idleTimeoutSeconds', from: a.idleTimeoutSeconds ?? null, to: b.idleTimeoutSeconds ?? null });
  if ((a.alwaysOn ?? null) !== (b.alwaysOn ?? null)) settings.push({ field: 'alwaysOn', from: a.alwaysOn ?? null, to: b.alwaysOn ?? null });
  if (!same(a.basicAuth, b.basicAuth))
    settings.push({ field: 'basicAuth', from: a.basicAuth ? 'set' : null, to: b.basicAuth ? 'set' : null });
  if (!added.length && !removed.length && !changedVars.length && !settings.length) return undefined;
  return { block, variables: { added, removed, changed: changedVars }, settings };
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .sort(([x], [y]) => (x < y ? -1 : 1))
        .map(([k, x]) => [k, canonical(x)]),
    );
  return v ?? null;
}
