import { getBlockConfig, putBlockConfig } from '../../lambdas/core/block-config';
import { createBlock } from '../../lambdas/core/blocks';
import { createEnvironment, deleteEnvironment } from '../../lambdas/core/environments';
import { deleteKeptData, listKeptData } from '../../lambdas/core/kept-data';
import { createProject, deleteProject } from '../../lambdas/core/projects';
import type { Runtime, ServiceData } from '../../lambdas/ports/runtime';
import { rejects, startTestCore, type TestCore } from '../support/core-context';

/** Custom services in the core (issue 21): their sleep settings, and what deletions do with their data. */
describe('Core: custom services', () => {
  let core: TestCore;
  let n = 0;
  let project: string;
  /** What the runtime double holds per environment id, and what it was asked, in order. */
  const folders = new Map<string, ServiceData[]>();
  const asked: string[] = [];
  /** Environments whose services the runtime double says are still stopping. */
  const held = new Set<string>();

  beforeAll(async () => {
    core = await startTestCore();
    // The recording double plus the optional data methods of the Runtime port.
    const runtime = core.runtime as typeof core.runtime & Required<Pick<Runtime, 'dataOf' | 'deleteData' | 'dataEnvironments' | 'holds'>>;
    runtime.dataEnvironments = async () => [...folders.keys()];
    runtime.holds = async (envId) => held.has(envId);
    runtime.dataOf = async (envId) => {
      asked.push(`dataOf:${envId}`);
      return folders.get(envId) ?? [];
    };
    runtime.deleteData = async (envId) => {
      asked.push(`deleteData:${envId}`);
      const gone = folders.get(envId) ?? [];
      folders.delete(envId);
      return gone;
    };
  });
  afterAll(() => core.close());
  beforeEach(async () => {
    project = `cs${++n}`;
    asked.length = 0;
    await createProject(core.ctx, { name: project });
    await createBlock(core.ctx, project, {
      name: 'db',
      type: 'custom-service',
      source: { repo: '/tmp/repo' },
      build: { startCommand: 'redis-server' },
    });
    await createBlock(core.ctx, project, {
      name: 'api',
      type: 'microservice',
      source: { repo: '/tmp/repo' },
      build: { startCommand: 'node a.js' },
    });
  });

  describe('Function: putBlockConfig', () => {
    it('resolves a custom service to 300 s idle, not always on, internal', async () => {
      await createEnvironment(core.ctx, project, { name: 'dev' });
      expect((await getBlockConfig(core.ctx, project, 'dev', 'db')).resolved).toMatchObject({
        idleTimeoutSeconds: 300,
        alwaysOn: false,
        visibility: 'internal',
      });
      const set = await putBlockConfig(core.ctx, project, 'dev', 'db', { idleTimeoutSeconds: 30, alwaysOn: true });
      expect(set.resolved).toMatchObject({ idleTimeoutSeconds: 30, alwaysOn: true });
      expect((await getBlockConfig(core.ctx, project, 'dev', 'api')).resolved.idleTimeoutSeconds).toBeUndefined();
    });

    it('refuses sleep settings on other blocks, and any visibility but internal on a custom service', async () => {
      await createEnvironment(core.ctx, project, { name: 'dev' });
      const sleep = await rejects(putBlockConfig(core.ctx, project, 'dev', 'api', { alwaysOn: true }));
      expect([sleep.status, sleep.code]).toEqual([400, 'INVALID_CONFIG']);
      const exposed = await rejects(putBlockConfig(core.ctx, project, 'dev', 'db', { visibility: 'protected' }));
      expect([exposed.status, exposed.code]).toEqual([400, 'INVALID_CONFIG']);
    });
  });

  describe('Function: deleteEnvironment', () => {
    it('keeps the data and names it, after the environment stopped', async () => {
      const env = await createEnvironment(core.ctx, project, { name: 'dev' });
      folders.set(env.id, [{ block: 'db', location: `/home/data/${env.id}/db` }]);
      const outcome = await deleteEnvironment(core.ctx, project, 'dev', 'dev');
      expect(outcome).toEqual({
        kept: [{ environment: 'dev', environmentId: env.id, block: 'db', location: `/home/data/${env.id}/db` }],
        deleted: [],
      });
      expect(asked).toEqual([`dataOf:${env.id}`]);
      expect(core.runtime.calls.at(-1)).toEqual({ op: 'stop', envId: env.id });
      expect(folders.has(env.id)).toBe(true);
    });

    it('deletes the data only when asked', async () => {
      const env = await createEnvironment(core.ctx, project, { name: 'dev' });
      folders.set(env.id, [{ block: 'db', location: `/home/data/${env.id}/db` }]);
      const outcome = await deleteEnvironment(core.ctx, project, 'dev', 'dev', { deleteData: true });
      expect(outcome.deleted).toEqual([{ environment: 'dev', environmentId: env.id, block: 'db', location: `/home/data/${env.id}/db` }]);
      expect(outcome.kept).toEqual([]);
      expect(asked).toEqual([`deleteData:${env.id}`]);
      expect(folders.has(env.id)).toBe(false);
    });

    it('deletes nothing when the confirmation is wrong', async () => {
      const env = await createEnvironment(core.ctx, project, { name: 'dev' });
      folders.set(env.id, [{ block: 'db', location: '/x' }]);
      const e = await rejects(deleteEnvironment(core.ctx, project, 'dev', 'prod', { deleteData: true }));
      expect(e.code).toBe('CONFIRMATION_MISMATCH');
      expect(asked).toEqual([]);
      expect(folders.has(env.id)).toBe(true);
    });
  });

  describe('Function: deleteProject', () => {
    it("names every environment's kept data", async () => {
      const dev = await createEnvironment(core.ctx, project, { name: 'dev' });
      const prod = await createEnvironment(core.ctx, project, { name: 'prod' });
      folders.set(dev.id, [{ block: 'db', location: '/d' }]);
      folders.set(prod.id, [{ block: 'db', location: '/p' }]);
      const outcome = await deleteProject(core.ctx, project, project);
      expect(outcome.kept).toEqual(
        expect.arrayContaining([
          { environment: 'dev', environmentId: dev.id, block: 'db', location: '/d' },
          { environment: 'prod', environmentId: prod.id, block: 'db', location: '/p' },
        ]),
      );
      expect(outcome.deleted).toEqual([]);
    });
  });
  describe('Functions: listKeptData, deleteKeptData', () => {
    it("lists and deletes a deleted environment's data only once the runtime no longer holds it", async () => {
      const live = await createEnvironment(core.ctx, project, { name: 'live' });
      const gone = await createEnvironment(core.ctx, project, { name: 'gone' });
      folders.set(live.id, [{ block: 'db', location: '/l' }]);
      folders.set(gone.id, [{ block: 'db', location: '/g' }]);
      await deleteEnvironment(core.ctx, project, 'gone', 'gone');
      held.add(gone.id);
      const ours = async () => (await listKeptData(core.ctx)).filter((d) => [live.id, gone.id].includes(d.environmentId));

      expect(await ours()).toEqual([]);
      const stopping = await rejects(deleteKeptData(core.ctx, gone.id, gone.id));
      expect([stopping.status, stopping.code]).toEqual([409, 'ENVIRONMENT_STOPPING']);
      const exists = await rejects(deleteKeptData(core.ctx, live.id, live.id));
      expect([exists.status, exists.code]).toEqual([409, 'ENVIRONMENT_EXISTS']);
      expect(exists.message).toContain(`"live" of project "${project}"`);
      asked.length = 0;

      held.delete(gone.id);
      expect(await ours()).toEqual([{ environmentId: gone.id, block: 'db', location: '/g' }]);
      expect(await deleteKeptData(core.ctx, gone.id, gone.id)).toEqual([{ environmentId: gone.id, block: 'db', location: '/g' }]);
      expect(asked.filter((a) => a.startsWith('deleteData'))).toEqual([`deleteData:${gone.id}`]);
      expect(folders.has(live.id)).toBe(true);
      const again = await rejects(deleteKeptData(core.ctx, gone.id, gone.id));
      expect([again.status, again.code]).toEqual([404, 'KEPT_DATA_NOT_FOUND']);
    });
  });
});
