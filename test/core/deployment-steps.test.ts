import { createBlock } from '../../lambdas/core/blocks';
import { requestBuild } from '../../lambdas/core/builds';
import { putBlockConfig } from '../../lambdas/core/block-config';
import { deployRelease, recoverInterruptedDeployments } from '../../lambdas/core/deployments/deploy-release';
import { loadEnvironmentState } from '../../lambdas/core/deployments/environment-state';
import { planOf } from '../../lambdas/core/deployments/plan';
import { createEnvironment } from '../../lambdas/core/environments';
import { beginJobRun, runScheduledJob, STALE_LOCK_GRACE_SECONDS } from '../../lambdas/core/jobs/job-runs';
import { nextRunTimes } from '../../lambdas/core/jobs/list-jobs';
import type { Deployment, DeploymentStep } from '../../lambdas/core/model';
import { createProject } from '../../lambdas/core/projects';
import { tagRelease } from '../../lambdas/core/releases';
import { startTestCore, type TestCore } from '../support/core-context';

/**
 * The deployment process and job policy in the core, on a real DynamoDB API (dynalite) with a
 * recording runtime: step order, job outcomes, the job lock, and what a crash leaves at each step.
 */
describe('Module: deployment steps and job runs', () => {
  let core: TestCore;
  let n = 0;
  let project: string;

  beforeAll(async () => {
    core = await startTestCore({ keys: true });
  });
  afterAll(() => core.close());

  beforeEach(async () => {
    project = `steps-${++n}`;
    await createProject(core.ctx, { name: project, description: '' });
    const blocks = [
      { name: 'api', type: 'microservice', source: { repo: '/tmp/r' }, build: { startCommand: 'node s.js' } },
      { name: 'migrate', type: 'job', kind: 'pre-deploy', source: { repo: '/tmp/r' }, build: { startCommand: 'node m.js' } },
      { name: 'notify', type: 'job', kind: 'post-deploy', source: { repo: '/tmp/r' }, build: { startCommand: 'node n.js' } },
      {
        name: 'nightly',
        type: 'job',
        kind: 'cron',
        schedule: '0 3 * * *',
        source: { repo: '/tmp/r' },
        build: { startCommand: 'node c.js' },
      },
    ] as const;
    for (const b of blocks) {
      await createBlock(core.ctx, project, b);
      await core.finish(await requestBuild(core.ctx, project, b.name));
    }
    await createEnvironment(core.ctx, project, { name: 'dev' });
    await tagRelease(core.ctx, project, { version: '1.0.0' });
  });

  it('runs prepare (every block), pre-deploy jobs, the switch, then post-deploy jobs, in that order', async () => {
    const d = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
    expect(d.status).toBe('succeeded');
    expect(d.steps.map((s) => s.id)).toEqual([
      'prepare:api',
      'prepare:migrate',
      'prepare:nightly',
      'prepare:notify',
      'pre-deploy:migrate',
      'switch',
      'post-deploy:notify',
    ]);
    const ops = core.runtime.calls.filter((c) => c.envId === d.envId).map((c) => `${c.op}${c.block ? `:${c.block}` : ''}`);
    expect(ops).toEqual(['prepare', 'runJob:migrate', 'activate', 'runJob:notify']);
    const runs = await core.ctx.store.jobRuns.list({ envId: d.envId });
    expect(runs.items.map((r) => [r.job, r.trigger, r.status, r.deploymentId])).toEqual([
      ['migrate', 'pre-deploy', 'succeeded', d.id],
      ['notify', 'post-deploy', 'succeeded', d.id],
    ]);
  });

  it('records a timed-out pre-deploy job and fails the deployment at that step', async () => {
    core.runtime.jobOutcomes.set('migrate', {
      status: 'timed-out',
      exitCode: null,
      reason: 'the pre-deploy job ran longer than 900 s and was stopped',
    });
    try {
      const d = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      expect(d).toMatchObject({ status: 'failed', failedStep: 'pre-deploy:migrate', error: expect.stringContaining('longer than 900 s') });
      const [run] = (await core.ctx.store.jobRuns.list({ envId: d.envId, job: 'migrate' })).items;
      expect(run).toMatchObject({ status: 'timed-out' });
      expect((await loadEnvironmentState(core.ctx, d.envId)).kind).toBe('not-deployed');
    } finally {
      core.runtime.jobOutcomes.clear();
    }
  });

  it('skips (and records) a cron run while the previous run of the job still holds it', async () => {
    const d = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
    const plan = (await planOf(core.ctx, d))!;
    const nightly = plan.blocks.find((b) => b.block.name === 'nightly')!;
    const first = await beginJobRun(core.ctx, plan, nightly, 'cron');
    expect(first.started).toBe(true);
    const skipped = await runScheduledJob(core.ctx, d.envId, 'nightly');
    expect(skipped).toMatchObject({ trigger: 'cron', status: 'skipped', reason: expect.stringContaining(first.run!.id) });
    const manual = await beginJobRun(core.ctx, plan, nightly, 'manual');
    expect(manual).toMatchObject({ started: false, holder: first.run!.id });
  });

  it("takes over a job's lock held well past the job's timeout (its carrier died), and records the lost run failed", async () => {
    const d = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
    const plan = (await planOf(core.ctx, d))!;
    const nightly = plan.blocks.find((b) => b.block.name === 'nightly')!;
    const lost = await beginJobRun(core.ctx, plan, nightly, 'cron');
    const lock = (await core.ctx.store.jobLocks.get({ envId: d.envId, job: 'nightly' }))!;
    // Within timeout + grace the holder is still believed: skipped.
    expect(await beginJobRun(core.ctx, plan, nightly, 'manual')).toMatchObject({ started: false, holder: lost.run!.id });
    const longAgo = new Date(Date.now() - (900 + STALE_LOCK_GRACE_SECONDS + 1) * 1000).toISOString();
    await core.ctx.store.jobLocks.update({ ...lock, since: longAgo });

    const [a, b] = await Promise.all([beginJobRun(core.ctx, plan, nightly, 'manual'), beginJobRun(core.ctx, plan, nightly, 'manual')]);

    expect([a.started, b.started].sort()).toEqual([false, true]); // one taker wins
    const taker = (a.started ? a : b).run!;
    expect((await core.ctx.store.jobLocks.get({ envId: d.envId, job: 'nightly' }))!.runId).toBe(taker.id);
    expect(await core.ctx.store.jobRuns.get({ envId: d.envId, job: 'nightly', id: lost.run!.id })).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('lost'),
    });
  });

  it('computes the next times a schedule fires, in UTC', () => {
    expect(nextRunTimes('0 3 * * *', new Date('2026-01-01T04:00:00Z'), 2)).toEqual([
      '2026-01-02T03:00:00.000Z',
      '2026-01-03T03:00:00.000Z',
    ]);
  });

  describe('what a crash leaves, settled at the next start', () => {
    /** A deployment as a crash left it: the steps as given, the environment committed or not. */
    async function crashed(steps: (s: DeploymentStep) => DeploymentStep, committed: boolean): Promise<Deployment> {
      const ok = await deployRelease(core.ctx, project, 'dev', { release: '1.0.0' });
      const p = (await core.ctx.store.projects.get({ name: project }))!;
      const env = (await core.ctx.store.environments.get({ projectId: p.id, name: 'dev' }))!;
      const at = new Date().toISOString();
      const d: Deployment = {
        ...ok,
        id: 'zzzz-crashed',
        status: 'in-progress',
        steps: ok.steps.map((s) => steps({ ...s, status: 'pending' })),
        rev: 1,
        createdAt: at,
        updatedAt: at,
      };
      delete (d as { finishedAt?: string }).finishedAt;
      await core.ctx.store.deployments.create(d);
      await core.ctx.store.environments.update({
        ...env,
        deploying: { deploymentId: d.id, since: at },
        ...(committed ? { running: { deploymentId: d.id, release: d.release, at } } : {}),
      });
      expect(await recoverInterruptedDeployments(core.ctx, [p])).toBe(1);
      const settled = (await core.ctx.store.deployments.get({ envId: env.id, id: d.id }))!;
      const after = (await core.ctx.store.environments.get({ projectId: p.id, name: 'dev' }))!;
      expect(after.deploying).toBeUndefined();
      return settled;
    }
    const upTo = (running: string) => {
      let seen = false;
      return (s: DeploymentStep): DeploymentStep => {
        if (s.id === running) return ((seen = true), { ...s, status: 'running' });
        return seen ? s : { ...s, status: 'succeeded' };
      };
    };

    it('during a pre-deploy job: failed there, the rest skipped', async () => {
      const d = await crashed(upTo('pre-deploy:migrate'), false);
      expect(d).toMatchObject({ status: 'failed', failedStep: 'pre-deploy:migrate', error: expect.stringContaining('interrupted') });
      expect(d.steps.find((s) => s.id === 'switch')!.status).toBe('skipped');
    });

    it('during the switch, before the environment committed: failed, the previous deployment serves', async () => {
      const d = await crashed(upTo('switch'), false);
      expect(d).toMatchObject({ status: 'failed', failedStep: 'switch' });
    });

    it('during the switch, after the environment committed: succeeded, its post-deploy job named as not run', async () => {
      const d = await crashed(upTo('switch'), true);
      expect(d).toMatchObject({ status: 'succeeded', failedJobs: ['notify'] });
    });

    it('during a post-deploy job: succeeded, that job named', async () => {
      const d = await crashed(upTo('post-deploy:notify'), true);
      expect(d).toMatchObject({ status: 'succeeded', failedJobs: ['notify'] });
      expect(d.steps.at(-1)).toMatchObject({ status: 'failed', message: expect.stringContaining('interrupted') });
    });
  });

  it('refuses a deploy while a required variable is unset', async () => {
    await createBlock(core.ctx, project, {
      name: 'needy',
      type: 'microservice',
      source: { repo: '/tmp/r' },
      build: { startCommand: 'x' },
      variables: { KEY: { required: true } },
    } as never);
    await core.finish(await requestBuild(core.ctx, project, 'needy'));
    await tagRelease(core.ctx, project, { version: '1.1.0' });
    await expect(deployRelease(core.ctx, project, 'dev', { release: '1.1.0' })).rejects.toMatchObject({ code: 'MISSING_VARIABLES' });
    await putBlockConfig(core.ctx, project, 'dev', 'needy', { variables: { KEY: { secret: 'k' } } });
    expect((await deployRelease(core.ctx, project, 'dev', { release: '1.1.0' })).status).toBe('succeeded');
  });
});
