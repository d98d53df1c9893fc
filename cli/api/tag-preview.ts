import { data } from './calls';
import type { Block, BlockConfig, Build, Comparison, Deployment, Release } from './types';
import type { Connection } from '../session';
import { CliError } from '../errors';
import { KintoApiError } from '../../client/kinto-client';

type Resolved = Deployment['config'][string];
type FieldChange = Comparison['blocks']['changed'][number]['changes'][number];
type VariableChange = Comparison['config'][number]['variables']['added'][number];

/**
 * What Tag & Deploy of `version` would change in an environment, before the release exists (the
 * API's compare needs one): each block frozen as tagging would freeze it (its newest succeeded
 * build, its definition as it is now) against the release the environment runs, and the
 * environment's configuration now against the one its running deployment froze. Same shape as
 * the API's compare answer.
 */
export async function previewTag(conn: Connection, project: string, env: string, version: string): Promise<Comparison> {
  const { api } = conn;
  const existing = await api.GET('/v1/projects/{project}/releases/{version}', { params: { path: { project, version } } });
  if (existing.response.ok) {
    throw new CliError(
      'RELEASE_EXISTS',
      `${project} already has release ${version}: deploy it with --release ${version}, or tag a new version`,
    );
  }
  const environment = await data(api.GET('/v1/projects/{project}/environments/{env}', { params: { path: { project, env } } }));
  const blocks = await data(api.GET('/v1/projects/{project}/blocks', { params: { path: { project }, query: { limit: '1000' } } }));
  const running = environment.running;
  const [release, deployment] = running
    ? await Promise.all([
        data(api.GET('/v1/projects/{project}/releases/{version}', { params: { path: { project, version: running.release } } })),
        data(
          api.GET('/v1/projects/{project}/environments/{env}/deployments/{deployment}', {
            params: { path: { project, env, deployment: running.deploymentId } },
          }),
        ),
      ])
    : [undefined, undefined];
  const next = await Promise.all(blocks.map(async (b) => freeze(b, await newestSucceededBuild(conn, project, b.name))));
  const before = new Map((release?.blocks ?? []).map((b) => [b.name, b]));
  const after = new Map(next.map((b) => [b.name, b]));
  const changed: Comparison['blocks']['changed'] = [];
  const unchanged: string[] = [];
  const config: Comparison['config'] = [];
  for (const [name, b] of after) {
    const old = before.get(name);
    if (!old) continue;
    const changes = FIELDS.filter((f) => !same(old[f], b[f])).map((field) => ({ field, from: old[field] ?? null, to: b[field] ?? null }));
    if (changes.length) changed.push({ block: name, changes });
    else unchanged.push(name);
    const frozen = deployment?.config[name];
    if (frozen) {
      const now = await data(
        api.GET('/v1/projects/{project}/environments/{env}/blocks/{block}/config', { params: { path: { project, env, block: name } } }),
      );
      const diff = configChanges(name, frozen, now);
      if (diff) config.push(diff);
    }
  }
  return {
    from: running ? { release: running.release, deploymentId: running.deploymentId } : null,
    to: { release: version },
    blocks: {
      added: [...after.keys()].filter((n) => !before.has(n)),
      removed: [...before.keys()].filter((n) => !after.has(n)),
      changed,
      unchanged,
    },
    config,
  };
}

type Frozen = Pick<Release['blocks'][number], (typeof FIELDS)[number] | 'name'>;
const FIELDS = ['type', 'kind', 'schedule', 'buildId', 'commit', 'source', 'build', 'variables'] as const;

/** A block as tagging freezes it: what was built from the build, how it runs from the block. */
function freeze(block: Block, build: Build): Frozen {
  return {
    name: block.name,
    type: block.type,
    kind: block.kind,
    schedule: block.schedule,
    source: build.source,
    build: { ...build.settings, startCommand: block.build.startCommand, port: block.build.port },
    variables: block.variables,
    buildId: build.id,
    commit: build.commit ?? undefined,
  };
}

async function newestSucceededBuild(conn: Connection, project: string, block: string): Promise<Build> {
  const builds = await data(
    conn.api.GET('/v1/projects/{project}/blocks/{block}/builds', { params: { path: { project, block }, query: { limit: '100' } } }),
  );
  const build = builds.find((b) => b.status === 'succeeded');
  if (!build) throw new KintoApiError(409, 'BUILD_NOT_READY', `block ${block} has no succeeded build: run kinto build ${block} --follow`);
  return build;
}

function configChanges(block: string, a: Resolved, b: BlockConfig): Comparison['config'][number] | undefined {
  const added: VariableChange[] = [];
  const removed: VariableChange[] = [];
  const changedVars: VariableChange[] = [];
  for (const name of [...new Set([...Object.keys(a.variables), ...Object.keys(b.variables)])].sort()) {
    const [x, y] = [a.variables[name], b.variables[name]];
    const secret = (x !== undefined && typeof x !== 'string') || (y !== undefined && typeof y !== 'string');
    const view = (v: VariableChange): VariableChange => (secret ? { name, secret: true } : v);
    if (x === undefined) added.push(view({ name, to: y as string }));
    else if (y === undefined) removed.push(view({ name, from: x as string }));
    else if (!same(x, y)) changedVars.push(view({ name, from: x as string, to: y as string }));
  }
  const settings: FieldChange[] = [];
  if (a.memoryMb !== b.memoryMb) settings.push({ field: 'memoryMb', from: a.memoryMb, to: b.memoryMb });
  if (a.visibility !== b.visibility) settings.push({ field: 'visibility', from: a.visibility, to: b.visibility });
  if ((a.timeoutSeconds ?? null) !== (b.timeoutSeconds ?? null))
    settings.push({ field: 'timeoutSeconds', from: a.timeoutSeconds ?? null, to: b.timeoutSeconds ?? null });
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
