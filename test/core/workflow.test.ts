import { getBlockConfig, putBlockConfig } from '../../lambdas/core/block-config';
import { createBlock, deleteBlock, updateBlock } from '../../lambdas/core/blocks';
import { requestBuild } from '../../lambdas/core/builds';
import { deployRelease, listDeployments, promote, recoverInterruptedDeployments } from '../../lambdas/core/deployments/deploy-release';
import { loadEnvironmentState } from '../../lambdas/core/deployments/environment-state';
import { createEnvironment, deleteEnvironment, shutDownEnvironment } from '../../lambdas/core/environments';
import type { KintoError } from '../../lambdas/core/errors';
import type { CreateBlockInput } from '../../lambdas/core/request-schemas';
import { listAll } from '../../lambdas/core/lookups';
import { createProject, deleteProject } from '../../lambdas/core/projects';
import { tagRelease } from '../../lambdas/core/releases';
import { rejects, startTestCore, type TestCore } from '../support/core-context';

const api: CreateBlockInput = {
  name: 'api',
  type: 'microservice',
  source: { repo: '/tmp/repo' },
  build: { startCommand: 'node server.js' },
  variables: { GREETING: { default: 'hello' }, API_KEY: { required: true } },
};

describe('Core: projects, blocks, environments, config, releases, deployments', () => {
  let core: TestCore;
  let n = 0;
  let project: string;

  beforeAll(async () => {
    core = await startTestCore();
  });
  afterAll(() => core.close());
  beforeEach(async () => {
    project = `p${++n}`;
    await createProject(core.ctx, { name: project });
  });

  /** Builds the block (the builder double reports success) and returns the build. */
  async function built(block: string) {
    const build = await requestBuild(core.ctx, project, block);
    return core.finish(build);
  }

  describe('Function: createProject', () => {
    it('refuses a duplicate name with 409 PROJECT_EXISTS', async () => {
      const e = await rejects(createProject(core.ctx, { name: project }));
      expect([e.status, e.code]).toEqual([409, 'PROJECT_EXISTS']);
    });

    it('keeps one project when 10 creates of one name race', async () => {
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => createProject(core.ctx, { name: `${project}-race` })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const all = await listAll(core.ctx.store.projects, {});
      expect(all.filter((p) => p.name === `${project}-race`)).toHaveLength(1);
    });
  });

  describe('Function: createBlock', () => {
    it.each([
      [{ type: 'website', build: { startCommand: 'x' } }, /needs "kind"/],
      [{ type: 'website', kind: 'static-build', build: { buildCommand: 'npm run build' } }, /outputDir/],
      [{ type: 'website', kind: 'dynamic', build: {} }, /startCommand/],
      [{ type: 'microservice', build: {} }, /startCommand/],
      [{ type: 'job', kind: 'cron', build: { startCommand: 'x' } }, /schedule/],
      [{ type: 'microservice', kind: 'cron', build: { startCommand: 'x' } }, /no "kind"/],
      [{ type: 'microservice', schedule: '* * * * *', build: { startCommand: 'x' } }, /Only cron jobs/],
    ])('refuses an inconsistent block %p', async (fields, message) => {
      const e = await rejects(
        createBlock(core.ctx, project, { name: 'b', source: { repo: '/r' }, ...(fields as object) } as CreateBlockInput),
      );
      expect([e.status, e.code]).toEqual([400, 'INVALID_BLOCK']);
      expect(e.message).toMatch(message);
    });

    it('refuses a duplicate block name with 409', async () => {
      await createBlock(core.ctx, project, api);
      expect((await rejects(createBlock(core.ctx, project, api))).code).toBe('BLOCK_EXISTS');
    });

    it('PATCH re-checks the merged block', async () => {
      await createBlock(core.ctx, project, api);
      const e = await rejects(updateBlock(core.ctx, project, 'api', { type: 'website' }));
      expect(e.code).toBe('INVALID_BLOCK');
      const changed = await updateBlock(core.ctx, project, 'api', { description: 'the API' });
      expect([changed.description, changed.rev]).toEqual(['the API', 2]);
    });
  });

  describe('Function: putBlockConfig', () => {
    beforeEach(async () => {
      await createBlock(core.ctx, project, api);
      await createBlock(core.ctx, project, { name: 'site', type: 'website', kind: 'static', source: { repo: '/r' } });
      await createEnvironment(core.ctx, project, { name: 'dev' });
    });

    it('overrides defaults, and resets to them when left out', async () => {
      const before = await getBlockConfig(core.ctx, project, 'dev', 'api');
      expect(before.resolved.variables).toEqual({ GREETING: 'hello' });
      expect(before.missingRequired).toEqual(['API_KEY']);
      expect(before.resolved.visibility).toBe('protected');

      const set = await putBlockConfig(core.ctx, project, 'dev', 'api', {
        variables: { GREETING: 'hi', API_KEY: 'k' },
        memoryMb: 1024,
        visibility: 'public',
      });
      expect(set.resolved).toMatchObject({ variables: { GREETING: 'hi', API_KEY: 'k' }, memoryMb: 1024, visibility: 'public' });
      expect(set.missingRequired).toEqual([]);

      const reset = await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      expect(reset.resolved.variables).toEqual({ GREETING: 'hello', API_KEY: 'k' });
      expect(reset.resolved.visibility).toBe('protected');
      expect(reset.config?.rev).toBe(2);
    });

    it('stores a website password only as a hash, and refuses basic auth on other blocks', async () => {
      const set = await putBlockConfig(core.ctx, project, 'dev', 'site', { basicAuth: { username: 'team', password: 'correct horse' } });
      expect(set.config?.basicAuth?.username).toBe('team');
      expect(set.config?.basicAuth?.passwordHash).toMatch(/^scrypt\$/);
      expect(JSON.stringify(set.config)).not.toContain('correct horse');
      expect(
        (await rejects(putBlockConfig(core.ctx, project, 'dev', 'api', { basicAuth: { username: 'a', password: '12345678' } }))).code,
      ).toBe('INVALID_CONFIG');
    });

    it('honours If-Match: a stale revision gets 409 CONFIG_CHANGED', async () => {
      await putBlockConfig(core.ctx, project, 'dev', 'api', { memoryMb: 256 }, 0);
      const e = await rejects(putBlockConfig(core.ctx, project, 'dev', 'api', { memoryMb: 512 }, 0));
      expect([e.status, e.code]).toEqual([409, 'CONFIG_CHANGED']);
    });

    it('never loses a concurrent write silently: every success is one revision', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 12 }, (_, i) => putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: `v${i}` } })),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(ok.length).toBeGreaterThanOrEqual(1);
      for (const f of failed) expect((f.reason as KintoError).code).toBe('CONFIG_CHANGED');
      const final = await getBlockConfig(core.ctx, project, 'dev', 'api');
      expect(final.config?.rev).toBe(ok.length);
    });
  });

  describe('Function: createEnvironment', () => {
    it("clones another environment's config under a new id", async () => {
      await createBlock(core.ctx, project, api);
      await createEnvironment(core.ctx, project, { name: 'dev' });
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'dev-key' } });
      const test = await createEnvironment(core.ctx, project, { name: 'test', cloneFrom: 'dev' });
      expect(test.clonedFrom).toBe('dev');
      expect((await getBlockConfig(core.ctx, project, 'test', 'api')).resolved.variables.API_KEY).toBe('dev-key');
      await putBlockConfig(core.ctx, project, 'test', 'api', { variables: { API_KEY: 'test-key' } });
      expect((await getBlockConfig(core.ctx, project, 'dev', 'api')).resolved.variables.API_KEY).toBe('dev-key');
    });

    it('answers 404 for a missing clone source and 409 for a taken name', async () => {
      expect((await rejects(createEnvironment(core.ctx, project, { name: 'x', cloneFrom: 'nope' }))).code).toBe('ENVIRONMENT_NOT_FOUND');
      await createEnvironment(core.ctx, project, { name: 'dev' });
      expect((await rejects(createEnvironment(core.ctx, project, { name: 'dev' }))).code).toBe('ENVIRONMENT_EXISTS');
    });

    it('leaves exactly one environment and no orphan config when cloning creates race', async () => {
      await createBlock(core.ctx, project, api);
      const dev = await createEnvironment(core.ctx, project, { name: 'dev' });
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => createEnvironment(core.ctx, project, { name: 'qa', cloneFrom: 'dev' })),
      );
      const winners = results.filter((r) => r.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      const envs = await listAll(core.ctx.store.environments, { projectId: dev.projectId });
      expect(envs.map((e) => e.name).sort()).toEqual(['dev', 'qa']);
      for (const env of envs) expect(await listAll(core.ctx.store.blockConfigs, { envId: env.id })).toHaveLength(1);
      // Behind the store's back: every config item in the table belongs to a live environment.
      const live = new Set((await core.scanKeys()).filter((k) => k.sk.startsWith('ENV#')).map((k) => k.sk));
      const liveIds = new Set<string>();
      for (const p of await listAll(core.ctx.store.projects, {}))
        for (const e of await listAll(core.ctx.store.environments, { projectId: p.id })) liveIds.add(`ENV#${e.id}`);
      const orphans = (await core.scanKeys()).filter((k) => k.sk.startsWith('CONFIG#') && !liveIds.has(k.pk));
      expect(live.size).toBeGreaterThan(0);
      expect(orphans).toEqual([]);
    });
  });

  describe('Function: tagRelease', () => {
    beforeEach(async () => {
      await createBlock(core.ctx, project, api);
    });

    it('names the block that has no succeeded build (409)', async () => {
      const e = await rejects(tagRelease(core.ctx, project, { version: '1.0.0' }));
      expect([e.status, e.code]).toEqual([409, 'BUILD_NOT_READY']);
      expect(e.message).toContain('"api"');
    });

    it('refuses a pinned build that failed, naming the block', async () => {
      const build = await requestBuild(core.ctx, project, 'api');
      await core.finish(build, { status: 'failed', error: 'boom' });
      const e = await rejects(tagRelease(core.ctx, project, { version: '1.0.0', blocks: { api: { build: build.id } } }));
      expect(e.code).toBe('BUILD_NOT_READY');
      expect(e.message).toMatch(/"api".*failed/);
    });

    it('pins the newest succeeded build and freezes the block', async () => {
      const first = await built('api');
      const failed = await requestBuild(core.ctx, project, 'api');
      await core.finish(failed, { status: 'failed', error: 'x' });
      const release = await tagRelease(core.ctx, project, { version: '1.0.0', notes: 'first' });
      expect(release.blocks).toHaveLength(1);
      expect(release.blocks[0]).toMatchObject({
        name: 'api',
        buildId: first.id,
        commit: first.commit,
        build: { startCommand: 'node server.js' },
      });
      await updateBlock(core.ctx, project, 'api', { build: { startCommand: 'node other.js' } });
      const again = await core.ctx.store.releases.get({ projectId: release.projectId, version: '1.0.0' });
      expect(again?.blocks[0]?.build.startCommand).toBe('node server.js');
    });

    it('stores exactly one release when 20 tags of one version race', async () => {
      await built('api');
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => tagRelease(core.ctx, project, { version: '2.0.0' })));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as KintoError).code).toBe('RELEASE_EXISTS');
      const p = (await core.ctx.store.projects.get({ name: project }))!;
      expect((await listAll(core.ctx.store.releases, { projectId: p.id })).filter((x) => x.version === '2.0.0')).toHaveLength(1);
    });

    it('refuses invalid versions with 400', async () => {
      expect((await rejects(tagRelease(core.ctx, project, { version: '1.0' }))).status).toBe(400);
    });
  });

  describe('Function: deployRelease', () => {
    beforeEach(async () => {
      await createBlock(core.ctx, project, api);
      await createEnvironment(core.ctx, project, { name: 'dev' });
      await built('api');
      await tagRelease(core.ctx, project, { version: '1.0.0' });
      await tagRelease(core.ctx, project, { version: '1.1.0' });
    });

    it('refuses while a required variable is unset, naming block and variable', async () => {
      const e = await rejects(deployRelease(core.ctx, project, 'dev', { release: '1.0.0' }));
      expect(e.code).toBe('MISSING_VARIABLES');
      expect(e.message).toContain('api: API_KEY');
    });

    it('prepares, commits and activates; an older release is a rollback; history is newest first', async () => {
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      const first = await deployRelease(core.ctx, project, 'dev', { release: '1.1.0' });
      expect(first).toMatchObject({ status: 'succeeded', action: 'deploy', release: '1.1.0' });
      expect(first.config.api?.variables).toEqual({ GREETING: 'hello', API_KEY: 'k' });
      const back = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      expect(back.action).toBe('rollback');
      const history = await listDeployments(core.ctx, project, 'dev');
      expect(history.items.map((d) => d.release)).toEqual(['1.0.0', '1.1.0']);
      const envId = first.envId;
      expect(core.runtime.calls.filter((c) => c.envId === envId).map((c) => `${c.op}:${c.release}`)).toEqual([
        'prepare:1.1.0',
        'activate:1.1.0',
        'prepare:1.0.0',
        'activate:1.0.0',
      ]);
      const state = await loadEnvironmentState(core.ctx, envId);
      expect(state.kind === 'running' && state.plan.release.version).toBe('1.0.0');
    });

    it('leaves the environment on its last release when the runtime cannot prepare', async () => {
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      const ok = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      core.runtime.failPrepareWith = new Error('disk full');
      try {
        // A deployment is a process: its failure is on its record (the step and why), not an error of the request.
        const failed = await deployRelease(core.ctx, project, 'dev', { release: '1.1.0' });
        expect(failed).toMatchObject({ status: 'failed', failedStep: 'prepare:api', error: expect.stringContaining('disk full') });
      } finally {
        core.runtime.failPrepareWith = undefined;
      }
      const history = await listDeployments(core.ctx, project, 'dev');
      expect(history.items[0]).toMatchObject({ release: '1.1.0', status: 'failed' });
      const state = await loadEnvironmentState(core.ctx, ok.envId);
      expect(state.kind === 'running' && state.plan.deployment.id).toBe(ok.id);
      expect((await deployRelease(core.ctx, project, 'dev', { release: '1.1.0' })).status).toBe('succeeded');
    });

    it('settles a deployment a crash left in progress and frees the environment', async () => {
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      const done = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      const p = (await core.ctx.store.projects.get({ name: project }))!;
      const env = (await core.ctx.store.environments.get({ projectId: p.id, name: 'dev' }))!;
      // What a crash after "lock + record" leaves behind:
      const at = new Date().toISOString();
      await core.ctx.store.environments.update({ ...env, deploying: { deploymentId: 'zzzz-crashed', since: at } });
      await core.ctx.store.deployments.create({
        ...done,
        id: 'zzzz-crashed',
        release: '1.1.0',
        status: 'in-progress',
        rev: 1,
        createdAt: at,
        updatedAt: at,
      });
      expect((await rejects(deployRelease(core.ctx, project, 'dev', { release: '1.1.0' }))).code).toBe('DEPLOYMENT_IN_PROGRESS');

      expect(await recoverInterruptedDeployments(core.ctx, [p])).toBe(1);
      const crashed = await core.ctx.store.deployments.get({ envId: env.id, id: 'zzzz-crashed' });
      expect(crashed).toMatchObject({ status: 'failed', error: expect.stringContaining('interrupted') });
      const state = await loadEnvironmentState(core.ctx, env.id);
      expect(state.kind === 'running' && state.plan.release.version).toBe('1.0.0');
      expect((await deployRelease(core.ctx, project, 'dev', { release: '1.1.0' })).status).toBe('succeeded');
    });

    it("promotes the release running in another environment with the target's own config", async () => {
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'dev' } });
      await createEnvironment(core.ctx, project, { name: 'prod' });
      expect((await rejects(promote(core.ctx, project, 'prod', 'dev'))).code).toBe('NOTHING_TO_PROMOTE');
      await deployRelease(core.ctx, project, 'dev', { release: '1.1.0' });
      await putBlockConfig(core.ctx, project, 'prod', 'api', { variables: { API_KEY: 'prod' } });
      const promoted = await promote(core.ctx, project, 'prod', 'dev');
      expect(promoted).toMatchObject({ action: 'promote', promotedFrom: 'dev', release: '1.1.0', status: 'succeeded' });
      expect(promoted.config.api?.variables.API_KEY).toBe('prod');
    });

    it('shut down: stops the runtime and reports shut-down until the next deploy', async () => {
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      const d = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      await shutDownEnvironment(core.ctx, project, 'dev');
      expect(core.runtime.calls.at(-1)).toEqual({ op: 'stop', envId: d.envId });
      expect((await loadEnvironmentState(core.ctx, d.envId)).kind).toBe('shut-down');
      await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      expect((await loadEnvironmentState(core.ctx, d.envId)).kind).toBe('running');
    });
  });

  describe('Deletes', () => {
    it('an environment only when its name is repeated; its config goes with it', async () => {
      await createBlock(core.ctx, project, api);
      const env = await createEnvironment(core.ctx, project, { name: 'dev' });
      await putBlockConfig(core.ctx, project, 'dev', 'api', { variables: { API_KEY: 'k' } });
      expect((await rejects(deleteEnvironment(core.ctx, project, 'dev', 'prod'))).code).toBe('CONFIRMATION_MISMATCH');
      await deleteEnvironment(core.ctx, project, 'dev', 'dev');
      expect(await listAll(core.ctx.store.blockConfigs, { envId: env.id })).toEqual([]);
      expect((await loadEnvironmentState(core.ctx, env.id)).kind).toBe('unknown');
      const again = await createEnvironment(core.ctx, project, { name: 'dev' });
      expect((await getBlockConfig(core.ctx, project, 'dev', 'api')).config).toBeUndefined();
      expect(again.id).not.toBe(env.id);
    });

    it('a block, without touching tagged releases', async () => {
      await createBlock(core.ctx, project, api);
      await built('api');
      await tagRelease(core.ctx, project, { version: '1.0.0' });
      await deleteBlock(core.ctx, project, 'api');
      const p = (await core.ctx.store.projects.get({ name: project }))!;
      expect((await core.ctx.store.releases.get({ projectId: p.id, version: '1.0.0' }))?.blocks[0]?.name).toBe('api');
    });

    it('a project with environments only with confirm', async () => {
      await createEnvironment(core.ctx, project, { name: 'dev' });
      expect((await rejects(deleteProject(core.ctx, project))).code).toBe('PROJECT_HAS_ENVIRONMENTS');
      expect((await rejects(deleteProject(core.ctx, project, 'other'))).code).toBe('CONFIRMATION_MISMATCH');
      await deleteProject(core.ctx, project, project);
      expect(await core.ctx.store.projects.get({ name: project })).toBeUndefined();
      await createProject(core.ctx, { name: project });
    });
  });
});
