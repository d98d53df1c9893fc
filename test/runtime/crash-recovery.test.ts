import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitRepo, NODE_SERVICE } from '../support/git-repo';
import { startPlatformProcess, type PlatformProcess } from '../support/platform-process';
import { alive, hostPids } from '../support/processes';
import { waitFor } from '../support/wait';

describe('Killing the platform (SIGKILL) mid-build and mid-deploy', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-crash-'));
  let platform: PlatformProcess | undefined;

  afterEach(async () => {
    // Stopped the way a user stops it (SIGTERM stops its blocks too); SIGKILL would leave them running.
    await platform?.stop();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('leaves no half state: the build is failed (interrupted), the deployment failed, the last completed release serves', async () => {
    const repo = createGitRepo({
      'server.js': NODE_SERVICE,
      'slow-job.js': 'setTimeout(() => {}, 20000);',
      'post-job.js': `console.log('post-deploy ran for ' + process.env.KINTO_RELEASE);`,
    });
    platform = await startPlatformProcess(home);
    const p = platform;
    await p.api('POST', '/v1/projects', { name: 'crash' });
    await p.api('POST', '/v1/projects/crash/blocks', {
      name: 'api',
      type: 'microservice',
      source: { repo },
      build: { startCommand: 'node server.js' },
    });
    await p.api('POST', '/v1/projects/crash/blocks', {
      name: 'notify',
      type: 'job',
      kind: 'post-deploy',
      source: { repo },
      build: { startCommand: 'node post-job.js' },
    });
    await p.api('POST', '/v1/projects/crash/environments', { name: 'dev' });
    await p.api('PUT', '/v1/projects/crash/environments/dev/blocks/api/config', { visibility: 'public' });
    expect((await p.build('crash', 'api')).status).toBe('succeeded');
    expect((await p.build('crash', 'notify')).status).toBe('succeeded');
    expect((await p.api('POST', '/v1/projects/crash/releases', { version: '1.0.0' })).status).toBe(201);
    const first = (await p.api('POST', '/v1/projects/crash/environments/dev/deployments', { release: '1.0.0' })).body.data;
    const settled = await waitFor(async () => {
      const d = (await p.api('GET', `/v1/projects/crash/environments/dev/deployments/${first.id}`)).body.data;
      return d.status !== 'in-progress' && d;
    }, 30_000);
    expect(settled.status).toBe('succeeded');
    // The job's output is in its instance log (jobs cannot write to the platform's folders).
    await waitFor(
      async () =>
        ((await p.api('GET', '/v1/projects/crash/environments/dev/blocks/notify/logs')).body.data as { text: string }[]).some(
          (l) => l.text === 'post-deploy ran for 1.0.0',
        ),
      10_000,
    );
    const gw = (await p.api('GET', '/v1/projects/crash/environments/dev')).body.data.gatewayUrl as string;
    const before = (await (await fetch(`${gw}/api/`)).json()) as any;
    expect(before.release).toBe('1.0.0');

    // A pre-deploy job that takes 20 s holds the next deployment open; a build is running too.
    await p.api('POST', '/v1/projects/crash/blocks', {
      name: 'migrate',
      type: 'job',
      kind: 'pre-deploy',
      source: { repo },
      build: { startCommand: 'node slow-job.js' },
    });
    expect((await p.build('crash', 'migrate')).status).toBe('succeeded');
    expect((await p.api('POST', '/v1/projects/crash/releases', { version: '1.1.0' })).status).toBe(201);
    await p.api('PATCH', '/v1/projects/crash/blocks/api', {
      build: { buildCommand: 'node -e "setTimeout(() => {}, 20000)"', startCommand: 'node server.js' },
    });
    const buildId = (await p.api('POST', '/v1/projects/crash/blocks/api/builds')).body.data.id;
    const deploying = p.api('POST', '/v1/projects/crash/environments/dev/deployments', { release: '1.1.0' }).catch(() => undefined);
    await waitFor(async () => {
      const env = (await p.api('GET', '/v1/projects/crash/environments/dev')).body.data;
      const build = (await p.api('GET', `/v1/projects/crash/blocks/api/builds/${buildId}`)).body.data;
      // The deployment runs in the background: its pre-deploy job starts after the prepare steps.
      // Its own process, not the sandbox still being set up around it (bwrap, setpriv).
      const jobRunning = spawnSync('ps', ['-eo', 'args'])
        .stdout.toString()
        .split('\n')
        .some((l) => l.includes('slow-job.js') && !/^\S*(bwrap|setpriv) /.test(l));
      return env.deploying && build.status === 'running' && jobRunning;
    }, 15_000);
    const blockPids = hostPids({ KINTO_GATEWAY_URL: gw, KINTO_BLOCK: 'api' });
    expect(blockPids).toHaveLength(1);
    await p.killHard();
    await deploying;

    // What the platform started dies with it: the block process, the build, the pre-deploy job.
    // (A killed process lingers as a zombie until init reaps it: allow a moment.)
    const left = (pattern: string) =>
      spawnSync('pgrep', ['-f', pattern]).stdout.toString().trim().split('\n').filter(Boolean).map(Number).filter(alive);
    await waitFor(() => !blockPids.some(alive), 10_000, 25, 'the block process gone');
    await waitFor(() => left('slow-job.js').length === 0, 10_000, 25, 'the pre-deploy job gone');
    await waitFor(() => left('setTimeout\\(\\(\\) => \\{\\}, 20000\\)').length === 0, 10_000, 25, 'the build gone');
    expect(existsSync(join(home, 'builds', buildId))).toBe(true);
    platform = await startPlatformProcess(home);
    const again = platform;
    // The interrupted build's checkout is cleaned up at start.
    expect(existsSync(join(home, 'builds', buildId))).toBe(false);
    const build = (await again.api('GET', `/v1/projects/crash/blocks/api/builds/${buildId}`)).body.data;
    expect(build).toMatchObject({ status: 'failed', error: expect.stringContaining('interrupted') });
    const env = (await again.api('GET', '/v1/projects/crash/environments/dev')).body.data;
    expect(env.deploying).toBeNull();
    expect(env.running.release).toBe('1.0.0');
    const history = (await again.api('GET', '/v1/projects/crash/environments/dev/deployments')).body.data;
    expect(history[0]).toMatchObject({ release: '1.1.0', status: 'failed', error: expect.stringContaining('interrupted') });
    expect(history[1]).toMatchObject({ release: '1.0.0', status: 'succeeded' });
    expect(env.gatewayUrl).toBe(`${again.url}/gw/${env.id}`);
    const res = await fetch(`${env.gatewayUrl}/api/after-restart`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).release).toBe('1.0.0');
  }, 120_000);
});
