import { execFileSync } from 'node:child_process';
import { createGitRepo, NODE_SERVICE } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { hostPids } from '../support/processes';
import { waitFor } from '../support/wait';

/** Faults: a clear answer every time, and the platform keeps serving what it served. */
describe('Local runtime: faults', () => {
  let kinto: TestPlatform;
  let repo: string;
  let gw: string;

  async function addBlock(block: Record<string, unknown>): Promise<void> {
    const res = await kinto.api('POST', '/v1/projects/faults/blocks', block);
    expect(res.status).toBe(201);
  }

  async function failedBuild(block: string): Promise<{ build: any; log: string }> {
    const started = await kinto.api('POST', `/v1/projects/faults/blocks/${block}/builds`);
    const build = await kinto.waitForBuild('faults', block, started.body.data.id);
    const log = (await kinto.api('GET', `/v1/projects/faults/blocks/${block}/builds/${build.id}/log`)).body as string;
    return { build, log };
  }

  beforeAll(async () => {
    kinto = await startTestPlatform({ idleTimeoutMs: 30_000, startTimeoutMs: 1500 });
    repo = createGitRepo({ 'server.js': NODE_SERVICE, 'hang.js': 'setInterval(() => {}, 1000); console.log("never listening");' });
    await kinto.api('POST', '/v1/projects', { name: 'faults' });
    await addBlock({ name: 'api', type: 'microservice', source: { repo }, build: { startCommand: 'node server.js' } });
    await kinto.api('POST', '/v1/projects/faults/environments', { name: 'dev' });
    await kinto.api('PUT', '/v1/projects/faults/environments/dev/blocks/api/config', { visibility: 'public' });
    await kinto.buildBlock('faults', 'api');
    await kinto.api('POST', '/v1/projects/faults/releases', { version: '1.0.0' });
    await kinto.deploy('faults', 'dev', { release: '1.0.0' });
    gw = await kinto.gatewayUrl('faults', 'dev');
  });
  afterAll(() => kinto.stop());

  const serving = async () => {
    const res = await fetch(`${gw}/api/ping`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as any).release).toBe('1.0.0');
  };

  describe('Builds that fail', () => {
    it.each([
      ['a repository that does not exist', { repo: '/nonexistent/repo' }, /git clone failed/],
      ['a branch that does not exist', { branch: 'no-such-branch' }, /branch "no-such-branch" does not exist/],
      ['a commit that does not exist', { commit: 'deadbeefdeadbeef' }, /commit deadbeefdeadbeef does not exist/],
      ['a sub-folder that does not exist', { subfolder: 'missing' }, /sub-folder "missing" does not exist/],
    ])('%s: failed, with the reason in the log; the deployment is untouched', async (_what, source, reason) => {
      const name = `b${Math.random().toString(36).slice(2, 8)}`;
      await addBlock({ name, type: 'microservice', source: { repo, ...source }, build: { startCommand: 'node server.js' } });
      const { build, log } = await failedBuild(name);
      expect(build.status).toBe('failed');
      expect(build.error).toMatch(reason);
      expect(log).toMatch(reason);
      await kinto.api('DELETE', `/v1/projects/faults/blocks/${name}`);
      await serving();
    });

    it('a failing build command: failed with its exit code, and tagging then names the block (409)', async () => {
      await addBlock({
        name: 'broken',
        type: 'microservice',
        source: { repo },
        build: { buildCommand: 'node -e "console.log(\'compiling\'); process.exit(2)"', startCommand: 'node server.js' },
      });
      const { build, log } = await failedBuild('broken');
      expect(build.error).toMatch(/exited with code 2/);
      expect(log).toContain('compiling');
      const tag = await kinto.api('POST', '/v1/projects/faults/releases', { version: '9.0.0' });
      expect([tag.status, tag.body.error.code]).toEqual([409, 'BUILD_NOT_READY']);
      expect(tag.body.error.message).toContain('"broken"');
      const pinned = await kinto.api('POST', '/v1/projects/faults/releases', { version: '9.0.0', blocks: { broken: { build: build.id } } });
      expect([pinned.status, pinned.body.error.code]).toEqual([409, 'BUILD_NOT_READY']);
      await kinto.api('DELETE', '/v1/projects/faults/blocks/broken');
      await serving();
    });

    it('a Dockerfile-only block: failed, saying it needs AWS', async () => {
      await addBlock({ name: 'container', type: 'custom-service', source: { repo }, build: { dockerfile: 'Dockerfile' } });
      const { build } = await failedBuild('container');
      expect(build.error).toMatch(/need AWS/);
      await kinto.api('DELETE', '/v1/projects/faults/blocks/container');
    });

    it('streams the log while the build runs; building again is the retry', async () => {
      await addBlock({
        name: 'slow',
        type: 'microservice',
        source: { repo },
        build: {
          buildCommand: `node -e "console.log('step', 'one'); setTimeout(() => console.log('step', 'two'), 1200)"`,
          startCommand: 'node server.js',
        },
      });
      const started = await kinto.api('POST', '/v1/projects/faults/blocks/slow/builds');
      const id = started.body.data.id;
      const partial = await waitFor(async () => {
        const res = await kinto.api('GET', `/v1/projects/faults/blocks/slow/builds/${id}/log`);
        return res.body.includes('step one') && res.headers.get('kinto-build-status') === 'running' ? res : undefined;
      }, 10_000);
      expect(partial!.body).not.toContain('step two');
      const offset = Number(partial!.headers.get('kinto-log-next-offset'));
      const done = await kinto.waitForBuild('faults', 'slow', id);
      expect(done).toMatchObject({ status: 'succeeded', commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
      expect(done.durationMs).toBeGreaterThan(1000);
      const rest = await kinto.api('GET', `/v1/projects/faults/blocks/slow/builds/${id}/log?offset=${offset}`);
      expect(rest.body).toContain('step two');
      expect(rest.body).not.toContain('step one');
      const retry = await kinto.api('POST', '/v1/projects/faults/blocks/slow/builds');
      expect(retry.body.data.id).not.toBe(id);
      const list = await kinto.api('GET', '/v1/projects/faults/blocks/slow/builds');
      expect(list.body.data.map((b: { id: string }) => b.id)).toEqual([retry.body.data.id, id]);
      await kinto.waitForBuild('faults', 'slow', retry.body.data.id);
      await kinto.api('DELETE', '/v1/projects/faults/blocks/slow');
    });

    it('builds a pinned commit', async () => {
      const first = execFileSync('git', ['-C', repo, 'rev-list', '--max-parents=0', 'HEAD'], { encoding: 'utf8' }).trim();
      await addBlock({
        name: 'pinned',
        type: 'microservice',
        source: { repo, commit: first.slice(0, 10) },
        build: { startCommand: 'node server.js' },
      });
      expect((await kinto.buildBlock('faults', 'pinned')).commit).toBe(first);
      await kinto.api('DELETE', '/v1/projects/faults/blocks/pinned');
    });
  });

  describe('Blocks that misbehave', () => {
    it('a block that crashes: 502 with the request id, and the next request starts it again', async () => {
      const crashed = await fetch(`${gw}/api/crash`);
      expect(crashed.status).toBe(502);
      const body = (await crashed.json()) as any;
      expect(body.error.code).toBe('BLOCK_UNAVAILABLE');
      expect(body.error.requestId).toBe(crashed.headers.get('kinto-request-id'));
      await serving();
    });

    it('a block that stops listening but stays alive: the next request gets a fresh process', async () => {
      const stopping = (await (await fetch(`${gw}/api/stop-listening`)).json()) as any;
      await new Promise((r) => setTimeout(r, 100));
      const res = await fetch(`${gw}/api/after`);
      expect(res.status).toBe(200);
      const fresh = (await res.json()) as any;
      expect(fresh.instance).not.toBe(stopping.stopping);
      // The process that stopped listening is killed, not left running beside the fresh one.
      await waitFor(() => hostPids({ KINTO_GATEWAY_URL: gw, KINTO_BLOCK: 'api' }).length === 1, 5000);
    });

    it('a block that never opens its port: 504 naming the port, after a bounded wait', async () => {
      await addBlock({ name: 'hang', type: 'microservice', source: { repo }, build: { startCommand: 'node hang.js' } });
      await kinto.api('PUT', '/v1/projects/faults/environments/dev/blocks/hang/config', { visibility: 'public' });
      await kinto.buildBlock('faults', 'hang');
      await kinto.api('POST', '/v1/projects/faults/releases', { version: '1.1.0' });
      await kinto.deploy('faults', 'dev', { release: '1.1.0' });
      const started = Date.now();
      const res = await fetch(`${gw}/hang/`);
      expect(res.status).toBe(504);
      expect(Date.now() - started).toBeLessThan(5000);
      const body = (await res.json()) as any;
      expect(body.error.code).toBe('BLOCK_START_TIMEOUT');
      expect(body.error.message).toMatch(/did not open port \d+/);
      // What the block printed stays in its instance log: it may hold secrets (finding of issue 15).
      expect(body.error.message).not.toContain('never listening');
      expect(body.error.message).toContain('instance log');
      await kinto.logFeed?.flush();
      const log = (await kinto.api('GET', '/v1/projects/faults/environments/dev/blocks/hang/logs')).body.data as { text: string }[];
      expect(log.map((l) => l.text)).toContain('never listening');
      expect((await fetch(`${gw}/api/ping`)).status).toBe(200);
    });

    it('a block that exits at once: 502 with its exit code', async () => {
      await addBlock({ name: 'quits', type: 'microservice', source: { repo }, build: { startCommand: 'node -e "process.exit(7)"' } });
      await kinto.api('PUT', '/v1/projects/faults/environments/dev/blocks/quits/config', { visibility: 'public' });
      await kinto.buildBlock('faults', 'quits');
      await kinto.api('POST', '/v1/projects/faults/releases', { version: '1.2.0' });
      await kinto.deploy('faults', 'dev', { release: '1.2.0' });
      const res = await fetch(`${gw}/quits/`);
      expect(res.status).toBe(502);
      expect(((await res.json()) as any).error.message).toMatch(/exited with code 7/);
    });
  });

  describe('Routing', () => {
    it('404 for a block not in the release and for an unknown environment', async () => {
      const block = await fetch(`${gw}/nothing/`);
      expect([block.status, ((await block.json()) as any).error.code]).toEqual([404, 'BLOCK_NOT_FOUND']);
      const env = await fetch(`${kinto.url}/gw/0123456789abcdef/api/`);
      expect([env.status, ((await env.json()) as any).error.code]).toEqual([404, 'ENVIRONMENT_NOT_FOUND']);
    });

    it('503 for an environment never deployed, and for one shut down until the next deploy', async () => {
      await kinto.api('POST', '/v1/projects/faults/environments', { name: 'empty' });
      const empty = await fetch(`${await kinto.gatewayUrl('faults', 'empty')}/api/`);
      expect([empty.status, ((await empty.json()) as any).error.code]).toEqual([503, 'NOT_DEPLOYED']);

      expect((await kinto.api('POST', '/v1/projects/faults/environments/dev/shutdown')).body.data.status).toBe('shut-down');
      const down = await fetch(`${gw}/api/ping`);
      expect([down.status, ((await down.json()) as any).error.code]).toEqual([503, 'ENVIRONMENT_SHUT_DOWN']);
      await kinto.deploy('faults', 'dev', { release: '1.0.0' });
      await serving();
    });
  });
});
