import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { z } from 'zod';
import { comparisonSchema, deploymentSchema, environmentSchema, jobRunSchema, jobSchema } from '../../lambdas/handlers/api/view-schemas';
import { dynamoDbClient } from '../../lambdas/local/dynalite-server';
import { commitFiles, createGitRepo } from '../support/git-repo';
import { startHitRecorder, type HitRecorder } from '../support/hit-recorder';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

/** A block that says what it runs with: its release, a variable, a secret, and what the migration job reported. */
const SERVICE = `
require('http').createServer(async (req, res) => {
  const migrations = await fetch(process.env.RECORDER + '/migrations').then((r) => r.json()).catch(() => []);
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ release: process.env.KINTO_RELEASE, greeting: process.env.GREETING ?? null, secret: process.env.DB_PASSWORD ?? null, migrations, memory: process.env.KINTO_MEMORY_MB }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/** A job: reports to the recorder, then exits as MODE says (ok, fail, slow, loud). */
const JOB = `
const mode = process.env.MODE || 'ok';
(async () => {
  await fetch(process.env.RECORDER + '/' + process.env.KIND, { method: 'POST', body: 'ran for ' + process.env.KINTO_RELEASE });
  console.log('job ' + process.env.KINTO_BLOCK + ' of release ' + process.env.KINTO_RELEASE + ' mode ' + mode);
  if (mode === 'fail') { console.error('migration failed: table exists'); process.exit(3); }
  if (mode === 'slow') setTimeout(() => process.exit(0), Number(process.env.SLOW_MS || 5000));
  if (mode === 'loud') { const line = 'x'.repeat(1023) + '\\n'; let left = 12 * 1024; const more = () => { while (left-- > 0) if (!process.stdout.write(line)) return process.stdout.once('drain', more); }; more(); }
})();
`;

/**
 * Deployments as a process (issue 17), with real git, real processes and the real platform:
 * Tag & Deploy, steps, jobs around a deploy, job runs, compare, secret variables, resets.
 */
describe('Deployments as a visible process', () => {
  let kinto: TestPlatform;
  let recorder: HitRecorder;
  let repo: string;
  const P = '/v1/projects/shop';
  const E = `${P}/environments/dev`;
  const secret = 's3cr3t-value-that-must-never-show';

  const job = (name: string, kind: string, variables: Record<string, string> = {}) => ({
    name,
    type: 'job',
    kind,
    source: { repo },
    build: { startCommand: 'node job.js' },
    variables: {
      RECORDER: { default: recorder.url },
      KIND: { default: kind === 'pre-deploy' ? 'migrations' : 'notices' },
      ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, { default: v }])),
    },
  });

  beforeAll(async () => {
    recorder = await startHitRecorder();
    kinto = await startTestPlatform();
    repo = createGitRepo({ 'server.js': SERVICE, 'job.js': JOB });
    await kinto.api('POST', '/v1/projects', { name: 'shop' });
    await kinto.api('POST', `${P}/blocks`, {
      name: 'api',
      type: 'microservice',
      source: { repo },
      build: { startCommand: 'node server.js' },
      variables: { GREETING: { default: 'hello' }, RECORDER: { default: recorder.url } },
    });
    await kinto.api('POST', `${P}/environments`, { name: 'dev' });
    await kinto.api('PUT', `${E}/blocks/api/config`, { visibility: 'public' });
    await kinto.buildBlock('shop', 'api');
  }, 60_000);
  afterAll(async () => {
    await kinto.stop();
    await recorder.close();
  });

  const call = async (path = '/') => (await fetch(`${await kinto.gatewayUrl('shop', 'dev')}/api${path}`)).json() as Promise<any>;

  it('Tag & Deploy: one call freezes a release and deploys it; 202 at once, its steps advance to the end', async () => {
    const started = await kinto.api('POST', `${E}/deployments`, { tag: { version: '1.0.0', notes: 'first' } });
    expect(started.status).toBe(202);
    expect(started.body.data).toMatchObject({ release: '1.0.0', tagged: true, action: 'deploy' });
    expect(started.body.data.steps.map((s: any) => s.id)).toEqual(['prepare:api', 'switch']);
    const done = await kinto.waitForDeployment('shop', 'dev', started.body.data.id);
    expect(done.status).toBe('succeeded');
    // Answers are what the OpenAPI document says they are.
    deploymentSchema.parse(done);
    environmentSchema.parse((await kinto.api('GET', E)).body.data);
    for (const s of done.steps)
      expect(s).toMatchObject({ status: 'succeeded', startedAt: expect.any(String), endedAt: expect.any(String) });
    expect((await kinto.api('GET', `${P}/releases/1.0.0`)).body.data.notes).toBe('first');
    expect((await call()).release).toBe('1.0.0');
    const env = (await kinto.api('GET', E)).body.data;
    expect(env).toMatchObject({ running: { release: '1.0.0', deploymentId: done.id }, deploying: null });
  });

  it('follows a deployment as server-sent events until it ends', async () => {
    const started = (await kinto.api('POST', `${E}/deployments`, { release: '1.0.0' })).body.data;
    const res = await fetch(`${kinto.url}${E}/deployments/${started.id}?follow=true`, {
      headers: { authorization: `Bearer ${kinto.adminToken}` },
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    const events = [...text.matchAll(/event: (\w+)\ndata: (.*)\n/g)].map((m) => [m[1], JSON.parse(m[2])] as const);
    expect(events.at(-1)).toEqual(['end', { status: 'succeeded' }]);
    expect(events.filter(([e]) => e === 'deployment').at(-1)![1].status).toBe('succeeded');
  });

  it('a pre-deploy job that fails blocks the deploy: failed at that step, the environment keeps serving, the run recorded', async () => {
    await kinto.api('POST', `${P}/blocks`, job('migrate', 'pre-deploy', { MODE: 'fail' }));
    await kinto.buildBlock('shop', 'migrate');
    const d = await kinto.deploy('shop', 'dev', { tag: { version: '1.1.0' } });
    expect(d).toMatchObject({ status: 'failed', failedStep: 'pre-deploy:migrate', error: expect.stringContaining('exited with code 3') });
    expect(d.steps.map((s: any) => [s.id, s.status])).toEqual([
      ['prepare:api', 'succeeded'],
      ['prepare:migrate', 'succeeded'],
      ['pre-deploy:migrate', 'failed'],
      ['switch', 'skipped'],
    ]);
    expect((await call()).release).toBe('1.0.0');
    const runs = (await kinto.api('GET', `${E}/blocks/migrate/runs`)).body.data;
    z.array(jobRunSchema).parse(runs);
    expect(runs[0]).toMatchObject({
      trigger: 'pre-deploy',
      status: 'failed',
      exitCode: 3,
      release: '1.1.0',
      deploymentId: d.id,
      durationMs: expect.any(Number),
    });
    const log = await kinto.api('GET', `${E}/blocks/migrate/runs/${runs[0].id}/log`);
    expect(log.headers.get('kinto-run-status')).toBe('failed');
    expect(log.body).toContain('migration failed: table exists');
  });

  it('a pre-deploy job that succeeds lets the deploy through, and the deployed block sees what it did', async () => {
    await kinto.api('PUT', `${E}/blocks/migrate/config`, { variables: { MODE: 'ok' } });
    const d = await kinto.deploy('shop', 'dev', { release: '1.1.0' });
    expect(d.status).toBe('succeeded');
    const served = await call();
    expect(served.release).toBe('1.1.0');
    expect(served.migrations).toContain('ran for 1.1.0');
  });

  it('a post-deploy job that fails is named; the deployment itself succeeded', async () => {
    await kinto.api('POST', `${P}/blocks`, job('notify', 'post-deploy', { MODE: 'fail' }));
    await kinto.buildBlock('shop', 'notify');
    const d = await kinto.deploy('shop', 'dev', { tag: { version: '1.2.0' } });
    expect(d).toMatchObject({ status: 'succeeded', failedJobs: ['notify'] });
    expect(d.steps.at(-1)).toMatchObject({ id: 'post-deploy:notify', status: 'failed' });
    expect((await call()).release).toBe('1.2.0');
    await kinto.api('PUT', `${E}/blocks/notify/config`, { variables: { MODE: 'ok' } });
  });

  it('one deployment at a time: a second request while one runs is a 409 naming it', async () => {
    await kinto.api('PUT', `${E}/blocks/migrate/config`, { variables: { MODE: 'slow', SLOW_MS: '3000' } });
    const first = (await kinto.api('POST', `${E}/deployments`, { release: '1.2.0' })).body.data;
    await waitFor(async () =>
      (await kinto.api('GET', `${E}/deployments/${first.id}`)).body.data.steps.some(
        (s: any) => s.id === 'pre-deploy:migrate' && s.status === 'running',
      ),
    );
    const second = await kinto.api('POST', `${E}/deployments`, { release: '1.1.0' });
    expect(second.status).toBe(409);
    expect(second.body.error).toMatchObject({ code: 'DEPLOYMENT_IN_PROGRESS', message: expect.stringContaining(first.id) });
    expect((await kinto.waitForDeployment('shop', 'dev', first.id)).status).toBe('succeeded');
    await kinto.api('PUT', `${E}/blocks/migrate/config`, { variables: { MODE: 'ok' } });
  });

  it('runs a job now (202), records it, and times it out at its timeout', async () => {
    const started = await kinto.api('POST', `${E}/blocks/notify/runs`);
    expect(started.status).toBe(202);
    expect(started.body.data).toMatchObject({ trigger: 'manual', status: 'running' });
    const run = await waitFor(async () => {
      const r = (await kinto.api('GET', `${E}/blocks/notify/runs/${started.body.data.id}`)).body.data;
      return r.status !== 'running' && r;
    });
    expect(run).toMatchObject({ status: 'succeeded', exitCode: 0 });
    const runs = (await kinto.api('GET', `${E}/blocks/notify/runs`)).body.data;
    expect(runs[0].id).toBe(run.id);

    await kinto.api('PUT', `${E}/blocks/notify/config`, { variables: { MODE: 'slow', SLOW_MS: '20000' }, timeoutSeconds: 1 });
    await kinto.deploy('shop', 'dev', { release: '1.2.0' });
    const slow = (await kinto.api('POST', `${E}/blocks/notify/runs`)).body.data;
    const busy = await kinto.api('POST', `${E}/blocks/notify/runs`);
    expect(busy.status).toBe(409);
    expect(busy.body.error.code).toBe('JOB_RUNNING');
    const timedOut = await waitFor(async () => {
      const r = (await kinto.api('GET', `${E}/blocks/notify/runs/${slow.id}`)).body.data;
      return r.status !== 'running' && r;
    }, 15_000);
    expect(timedOut).toMatchObject({ status: 'timed-out', reason: expect.stringContaining('longer than 1 s') });
    expect(timedOut.durationMs).toBeLessThan(10_000);
  }, 30_000);

  it('a job that prints megabytes keeps its first 10 MB and never stalls the platform', async () => {
    await kinto.api('PUT', `${E}/blocks/notify/config`, { variables: { MODE: 'loud' } });
    await kinto.deploy('shop', 'dev', { release: '1.2.0' });
    const run = (await kinto.api('POST', `${E}/blocks/notify/runs`)).body.data;
    const t0 = Date.now();
    expect((await call()).release).toBe('1.2.0');
    expect(Date.now() - t0).toBeLessThan(2000);
    const done = await waitFor(async () => {
      const r = (await kinto.api('GET', `${E}/blocks/notify/runs/${run.id}`)).body.data;
      return r.status !== 'running' && r;
    }, 20_000);
    expect(done.status).toBe('succeeded');
    let offset = 0;
    let size = 0;
    let tail = '';
    for (;;) {
      const chunk = await kinto.api('GET', `${E}/blocks/notify/runs/${run.id}/log?offset=${offset}`);
      const next = Number(chunk.headers.get('kinto-log-next-offset'));
      if (next === offset) break;
      size += next - offset;
      tail = String(chunk.body);
      offset = next;
    }
    expect(size).toBeGreaterThan(9.9 * 1024 * 1024);
    expect(size).toBeLessThan(10.1 * 1024 * 1024);
    expect(tail).toContain('output over 10 MB');
    await kinto.api('PUT', `${E}/blocks/notify/config`, { variables: { MODE: 'ok' } });
  }, 40_000);

  it('refuses runs of a block that is not a job (400), unknown runs and deployments (404)', async () => {
    const notJob = await kinto.api('POST', `${E}/blocks/api/runs`);
    expect(notJob.status).toBe(400);
    expect(notJob.body.error.code).toBe('NOT_A_JOB');
    expect((await kinto.api('GET', `${E}/blocks/notify/runs/nope`)).status).toBe(404);
    expect((await kinto.api('GET', `${E}/deployments/nope`)).status).toBe(404);
    const unknown = await kinto.api('POST', `${E}/deployments`, { release: '9.9.9' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('RELEASE_NOT_FOUND');
    const both = await kinto.api('POST', `${E}/deployments`, { release: '1.0.0', tag: { version: '2.0.0' } });
    expect(both.status).toBe(400);
  });

  it('secret variables reach only the block: sealed in the store, never in any answer', async () => {
    const put = await kinto.api('PUT', `${E}/blocks/api/config`, {
      visibility: 'public',
      variables: { GREETING: 'hi', DB_PASSWORD: { secret } },
    });
    expect(put.status).toBe(200);
    expect(put.body.data.variables).toEqual({
      GREETING: 'hi',
      DB_PASSWORD: { secret: true, updatedAt: expect.any(String) },
      RECORDER: recorder.url,
    });
    const compare = await kinto.api('GET', `${E}/compare?release=1.2.0`);
    expect(compare.body.data.config.filter((c: any) => c.block === 'api')).toEqual([
      {
        block: 'api',
        variables: {
          added: [{ name: 'DB_PASSWORD', secret: true }],
          removed: [],
          changed: [{ name: 'GREETING', from: 'hello', to: 'hi' }],
        },
        settings: [],
      },
    ]);
    const d = await kinto.deploy('shop', 'dev', { release: '1.2.0' });
    expect(d.config.api.variables.DB_PASSWORD).toEqual({ secret: true, updatedAt: expect.any(String) });
    expect((await call()).secret).toBe(secret);

    // Kept as it is when GET's answer is sent back; another value is another secret.
    const again = await kinto.api('PUT', `${E}/blocks/api/config`, {
      visibility: 'public',
      variables: { GREETING: 'hi', DB_PASSWORD: { secret: true } },
    });
    expect(again.body.data.variables.DB_PASSWORD.updatedAt).toBe(put.body.data.variables.DB_PASSWORD.updatedAt);
    const missing = await kinto.api('PUT', `${E}/blocks/api/config`, { variables: { OTHER: { secret: true } } });
    expect(missing.body.error.code).toBe('SECRET_NOT_SET');

    const answers = await Promise.all(
      [`${E}/blocks/api/config`, `${E}/deployments`, `${E}/deployments/${d.id}`, `${E}/compare?release=1.1.0`, E, `${P}/releases`].map(
        (p) => kinto.api('GET', p),
      ),
    );
    for (const a of answers) expect(JSON.stringify(a.body)).not.toContain(secret);

    const scan = await dynamoDbClient({ socketPath: join(kinto.home, 'run', 'dynamodb.sock') }).send(
      new ScanCommand({ TableName: 'kinto-state' }),
    );
    expect(JSON.stringify(scan.Items)).not.toContain(secret);
    expect(JSON.stringify(scan.Items)).toContain('"sealed"');
  });

  it('resets one variable, then the whole configuration, to the defaults', async () => {
    const one = await kinto.api('DELETE', `${E}/blocks/api/config/variables/GREETING`);
    expect(one.status).toBe(200);
    expect(one.body.data.variables.GREETING).toBe('hello');
    expect(one.body.data.variables.DB_PASSWORD).toMatchObject({ secret: true });
    const all = await kinto.api('DELETE', `${E}/blocks/api/config`);
    expect(all.body.data).toMatchObject({ visibility: 'protected', rev: 0 });
    expect(all.body.data.variables).toEqual({ GREETING: 'hello', RECORDER: recorder.url });
    await kinto.api('PUT', `${E}/blocks/api/config`, { visibility: 'public' });
  });

  it('compares a release with what runs: blocks added, removed and changed', async () => {
    commitFiles(repo, { 'server.js': SERVICE.replace('greeting: process.env.GREETING ?? null', "greeting: 'v2'") });
    await kinto.buildBlock('shop', 'api');
    await kinto.api('DELETE', `${P}/blocks/notify`);
    // Before tagging: the project as tagging now would freeze it (Tag & Deploy's preview); no release is made.
    const preview = comparisonSchema.parse((await kinto.api('GET', `${E}/compare?untagged=true`)).body.data);
    expect(preview.to).toEqual({ release: 'untagged' });
    expect(preview.blocks.removed).toEqual(['notify']);
    expect(preview.blocks.changed.map((b: any) => b.block)).toEqual(['api']);
    expect((await kinto.api('GET', `${P}/releases/untagged`)).status).not.toBe(200);
    expect((await kinto.api('GET', `${E}/compare?untagged=true&release=1.2.0`)).status).toBe(400);
    expect((await kinto.api('POST', `${P}/releases`, { version: '1.3.0' })).status).toBe(201);
    const c = comparisonSchema.parse((await kinto.api('GET', `${E}/compare?release=1.3.0`)).body.data);
    expect(c.from).toMatchObject({ release: '1.2.0' });
    expect(c.to).toEqual({ release: '1.3.0' });
    expect(c.blocks.removed).toEqual(['notify']);
    expect(c.blocks.added).toEqual([]);
    expect(c.blocks.changed.map((b: any) => [b.block, b.changes.map((x: any) => x.field)])).toEqual([['api', ['buildId', 'commit']]]);
    expect(c.blocks.unchanged).toEqual(['migrate']);
    expect((await kinto.api('GET', `${E}/compare`)).status).toBe(400);
  });

  it('lists the jobs of the running release with their kind, timeout and last run', async () => {
    const jobs = (await kinto.api('GET', `${E}/jobs`)).body.data;
    z.array(jobSchema).parse(jobs);
    expect(jobs.map((j: any) => [j.name, j.kind, j.timeoutSeconds])).toEqual([
      ['migrate', 'pre-deploy', 900],
      ['notify', 'post-deploy', 900],
    ]);
    expect(jobs[0].lastRun).toMatchObject({ trigger: 'pre-deploy' });
  });
});
