import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, instanceLinesWhen } from '../support/block-answers';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { startPlatformProcess, type PlatformProcess } from '../support/platform-process';
import { alive, descendantPids, hostPids } from '../support/processes';
import { REDIS_CLIENT_SERVICE, REDIS_START } from '../support/redis-fixture';
import { waitFor } from '../support/wait';

const P = '/v1/projects/cs';

/** The environment of a host process, as a map. */
const environOf = (pid: number): Record<string, string> =>
  Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );

/**
 * Custom services (issue 21) with real software: Redis from Debian as a custom service, and a
 * microservice that writes and reads through the address the platform gives it.
 */
describe('Custom services: Redis keeps its data and sleeps when idle', () => {
  let kinto: TestPlatform;
  let home: string;
  const gw: Record<string, string> = {};
  const envIds: Record<string, string> = {};
  const call = (env: string, path: string): Promise<any> => getJson(`${gw[env]}/api${path}`);
  /** The service's sandbox (bubblewrap keeps the environment it was given; Redis overwrites its own). */
  const sandboxPids = (env: string) => hostPids({ KINTO_BLOCK: 'cache', KINTO_GATEWAY_URL: gw[env] }, 'bwrap');
  const redisPids = (env: string) => descendantPids(sandboxPids(env), 'redis-server');
  /** The cache service's instance log (newest first), read until `ready` holds (at most 5 s). */
  const serviceLinesWhen = (env: string, ready: (lines: string[]) => boolean) =>
    instanceLinesWhen(kinto, { project: 'cs', env, block: 'cache' }, ready);
  const deploy = async (env: string, body: Parameters<TestPlatform['deploy']>[2]) => {
    const d = await kinto.deploy('cs', env, body);
    if (d.status !== 'succeeded') throw new Error(`deploy failed: ${JSON.stringify(d)}`);
  };

  beforeAll(async () => {
    kinto = await startTestPlatform();
    home = kinto.home;
    if (kinto.sandbox.mode !== 'bwrap')
      throw new Error(`these tests need bubblewrap (apt-get install bubblewrap): ${kinto.sandbox.warning}`);
    const repo = createGitRepo({ 'app.js': REDIS_CLIENT_SERVICE, 'redis.md': 'Redis runs from Debian: apt-get install redis-server\n' });
    await kinto.api('POST', '/v1/projects', { name: 'cs' });
    await kinto.api('POST', `${P}/blocks`, { name: 'api', type: 'microservice', source: { repo }, build: { startCommand: 'node app.js' } });
    await kinto.api('POST', `${P}/blocks`, {
      name: 'cache',
      type: 'custom-service',
      source: { repo },
      build: { startCommand: REDIS_START },
    });
    await kinto.api('POST', `${P}/blocks`, {
      name: 'seed',
      type: 'job',
      kind: 'pre-deploy',
      source: { repo },
      build: { startCommand: 'node app.js seed' },
    });
    for (const env of ['dev', 'prod']) {
      const created = await kinto.api('POST', `${P}/environments`, { name: env });
      envIds[env] = created.body.data.id;
      await kinto.api('PUT', `${P}/environments/${env}/blocks/api/config`, { visibility: 'public' });
    }
    expect((await kinto.api('PUT', `${P}/environments/dev/blocks/cache/config`, { idleTimeoutSeconds: 1 })).status).toBe(200);
    expect((await kinto.api('PUT', `${P}/environments/prod/blocks/cache/config`, { alwaysOn: true })).status).toBe(200);
    await Promise.all(['api', 'cache', 'seed'].map((b) => kinto.buildBlock('cs', b)));
    await kinto.api('POST', `${P}/releases`, { version: '1.0.0' });
    await Promise.all([deploy('dev', { release: '1.0.0' }), deploy('prod', { release: '1.0.0' })]);
    for (const env of ['dev', 'prod']) gw[env] = await kinto.gatewayUrl('cs', env);
  }, 60_000);
  afterAll(() => kinto?.stop());

  it('configures idle time and always-on for custom services only', async () => {
    const config = (await kinto.api('GET', `${P}/environments/dev/blocks/cache/config`)).body.data;
    expect(config).toMatchObject({ idleTimeoutSeconds: 1, alwaysOn: false, visibility: 'internal' });
    const refused = await kinto.api('PUT', `${P}/environments/dev/blocks/api/config`, { idleTimeoutSeconds: 5 });
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('INVALID_CONFIG');
    const exposed = await kinto.api('PUT', `${P}/environments/dev/blocks/cache/config`, { visibility: 'public' });
    expect(exposed.status).toBe(400);
    expect(exposed.body.error.message).toContain('KINTO_BLOCK_*_HOST');
  });

  it('tells the other blocks where the service is (HOST and PORT, no URL) and serves writes and reads through it', async () => {
    const env = await call('dev', '/env');
    expect(env.KINTO_BLOCK_CACHE_HOST).toBe('127.0.0.1');
    expect(Number(env.KINTO_BLOCK_CACHE_PORT)).toBeGreaterThan(0);
    expect(env.KINTO_BLOCK_CACHE_URL).toBeUndefined();
    expect(env.KINTO_BLOCK_API_URL).toContain('/_internal/');
    expect(env.KINTO_DATA_DIR).toBeUndefined();
    expect(await call('dev', '/set?k=greeting&v=hello-dev')).toEqual({ reply: 'OK' });
    expect(await call('dev', '/get?k=greeting')).toEqual({ value: 'hello-dev' });
  });

  it("is reached by its environment's jobs too (a pre-deploy job seeded it)", async () => {
    expect(await call('dev', '/get?k=seeded-by')).toEqual({ value: '1.0.0' });
    expect(await call('prod', '/get?k=seeded-by')).toEqual({ value: '1.0.0' });
  });

  it('gives each environment its own data folder (0700, the service sandbox uid), bound into the sandbox', async () => {
    expect(await call('prod', '/set?k=greeting&v=hello-prod')).toEqual({ reply: 'OK' });
    expect(await call('dev', '/get?k=greeting')).toEqual({ value: 'hello-dev' });
    expect(await call('prod', '/get?k=greeting')).toEqual({ value: 'hello-prod' });
    await call('dev', '/get?k=wake');
    const [devPid] = redisPids('dev');
    const devDir = environOf(sandboxPids('dev')[0]).KINTO_DATA_DIR;
    const prodDir = environOf(sandboxPids('prod')[0]).KINTO_DATA_DIR;
    expect(devDir).toBe(join(home, 'data', envIds.dev, 'cache'));
    expect(prodDir).toBe(join(home, 'data', envIds.prod, 'cache'));
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${devPid}/status`, 'utf8'))![1]);
    expect(uid).toBeGreaterThan(65535);
    expect(statSync(devDir).uid).toBe(uid);
    expect(statSync(devDir).mode & 0o777).toBe(0o700);
  });

  it('is never reachable through the gateway (404), nor through the internal entry', async () => {
    const res = await fetch(`${gw.dev}/cache/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('CUSTOM_SERVICE_INTERNAL');
    const internal = new URL((await call('dev', '/env')).KINTO_BLOCK_API_URL);
    const viaEntry = await fetch(`${internal.origin}${internal.pathname.replace(/\/api$/, '/cache')}/`);
    expect(viaEntry.status).toBe(404);
  });

  it("cannot be reached by another environment's block, only by its own environment's", async () => {
    if (!kinto.sandbox.nft) throw new Error('this test needs root and nftables (apt-get install nftables), as CI has');
    const devPort = (await call('dev', '/env')).KINTO_BLOCK_CACHE_PORT;
    const prodPort = (await call('prod', '/env')).KINTO_BLOCK_CACHE_PORT;
    expect(devPort).not.toBe(prodPort);
    expect(await call('dev', `/connect?port=${devPort}`)).toEqual({ ok: true });
    expect(await call('dev', `/connect?port=${prodPort}`)).toEqual({ ok: false, error: 'ECONNREFUSED' });
    expect(await call('prod', `/connect?port=${devPort}`)).toEqual({ ok: false, error: 'ECONNREFUSED' });
  });

  it('stops gracefully after its idle time with no open connection, and keeps its data', async () => {
    await call('dev', '/set?k=slept&v=yes');
    await waitFor(() => redisPids('dev').length === 0, 10_000, 50, 'the idle dev service to stop');
    // It was told to stop (SIGTERM) and wrote its snapshot before it exited.
    expect(existsSync(join(home, 'data', envIds.dev, 'cache', 'dump.rdb'))).toBe(true);
    // Its last lines can reach the platform a moment after its process is gone.
    const lines = await serviceLinesWhen('dev', (ls) => ls.some((l) => l.includes('DB saved on disk')));
    expect(lines).toContain('kinto: block stopped after being idle (it starts again on the next request)');
    expect(lines.some((l: string) => l.includes('Received SIGTERM'))).toBe(true);
    expect(await call('dev', '/get?k=slept')).toEqual({ value: 'yes' });
    expect(redisPids('dev')).toHaveLength(1);
  });

  it('keeps an always-on service running with no connection at all', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    expect(redisPids('prod')).toHaveLength(1);
  });

  it('starts a crashed always-on service again by itself, with no connection', async () => {
    const [before] = redisPids('prod');
    process.kill(before, 'SIGKILL');
    await waitFor(
      () => {
        const now = redisPids('prod');
        return now.length === 1 && now[0] !== before;
      },
      10_000,
      50,
      'the always-on service to run again',
    );
    const lines = await serviceLinesWhen('prod', (ls) => ls.includes('kinto: always on: starting it again in 1 s'));
    // Newest first: the crash (bubblewrap reports its child's SIGKILL as 137), then the restart.
    const crash = lines.findIndex((l: string) => /^kinto: block process (exited with code 137|stopped by SIGKILL)$/.test(l));
    const restart = lines.indexOf('kinto: always on: starting it again in 1 s');
    expect({ crash: crash >= 0, restart: restart >= 0, restartAfterCrash: restart < crash }).toEqual({
      crash: true,
      restart: true,
      restartAfterCrash: true,
    });
  });

  it('starts a crashed service again on the next connection', async () => {
    await call('dev', '/get?k=wake');
    const [before] = redisPids('dev');
    process.kill(before, 'SIGKILL');
    await waitFor(() => !redisPids('dev').includes(before), 5000, 20, 'the killed service to be gone');
    expect(await call('dev', '/get?k=slept')).toEqual({ value: 'yes' });
    const after = redisPids('dev');
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
  });

  it('keeps the data across a rebuild, a redeploy, a rollback and a promote', async () => {
    await kinto.buildBlock('cs', 'cache');
    await kinto.api('POST', `${P}/releases`, { version: '1.0.1' });
    await deploy('dev', { release: '1.0.1' });
    expect(await call('dev', '/get?k=greeting')).toEqual({ value: 'hello-dev' });
    expect(await call('dev', '/get?k=seeded-by')).toEqual({ value: '1.0.1' });
    expect(await call('dev', '/set?k=written-in&v=1.0.1')).toEqual({ reply: 'OK' });
    await deploy('dev', { release: '1.0.0' });
    expect(await call('dev', '/get?k=written-in')).toEqual({ value: '1.0.1' });
    // Never two processes of one service on one data folder.
    expect(redisPids('dev').length).toBeLessThanOrEqual(1);
    await deploy('prod', { from: 'dev' });
    expect(await call('prod', '/get?k=greeting')).toEqual({ value: 'hello-prod' });
    expect(await call('prod', '/get?k=written-in')).toEqual({ value: null });
  }, 30_000);

  it('keeps the data across a platform restart', async () => {
    await kinto.stop({ keepHome: true });
    expect(redisPids('dev')).toEqual([]);
    kinto = await startTestPlatform({ home });
    for (const env of ['dev', 'prod']) gw[env] = await kinto.gatewayUrl('cs', env);
    expect(await call('dev', '/get?k=greeting')).toEqual({ value: 'hello-dev' });
    expect(await call('prod', '/get?k=greeting')).toEqual({ value: 'hello-prod' });
  }, 30_000);

  it('deletes an environment without its data unless asked, and names what it kept', async () => {
    const prodDir = join(home, 'data', envIds.prod, 'cache');
    const kept = await kinto.api('DELETE', `${P}/environments/prod`, { confirm: 'prod' });
    expect(kept.status).toBe(200);
    expect(kept.body.data.keptData).toEqual([{ environment: 'prod', environmentId: envIds.prod, block: 'cache', location: prodDir }]);
    expect(kept.body.data.deletedData).toEqual([]);
    expect(kept.body.data.message).toContain('"deleteData": true');
    expect(kept.body.data.message).toContain('DELETE /v1/kept-data/{environmentId}');
    expect(existsSync(join(prodDir, 'dump.rdb'))).toBe(true);
    expect(redisPids('prod')).toEqual([]);

    const devDir = join(home, 'data', envIds.dev, 'cache');
    const wrong = await kinto.api('DELETE', `${P}/environments/dev`, { confirm: 'prod', deleteData: true });
    expect(wrong.status).toBe(400);
    expect(existsSync(devDir)).toBe(true);
    const deleted = await kinto.api('DELETE', `${P}/environments/dev`, { confirm: 'dev', deleteData: true });
    expect(deleted.status).toBe(200);
    expect(deleted.body.data.deletedData).toEqual([{ environment: 'dev', environmentId: envIds.dev, block: 'cache', location: devDir }]);
    expect(existsSync(join(home, 'data', envIds.dev))).toBe(false);
  });

  it('lists what deleted environments kept, and deletes it later on a typed confirmation', async () => {
    const prodDir = join(home, 'data', envIds.prod, 'cache');
    const listed = await kinto.api('GET', '/v1/kept-data');
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ data: [{ environmentId: envIds.prod, block: 'cache', location: prodDir }], nextCursor: null });

    const staging = (await kinto.api('POST', `${P}/environments`, { name: 'staging' })).body.data.id as string;
    const live = await kinto.api('DELETE', `/v1/kept-data/${staging}`, { confirm: staging });
    expect(live.status).toBe(409);
    expect(live.body.error).toMatchObject({ code: 'ENVIRONMENT_EXISTS', message: expect.stringContaining('"staging" of project "cs"') });
    for (const [body, code] of [
      [undefined, 'CONFIRMATION_MISMATCH'],
      [{ confirm: 'prod' }, 'CONFIRMATION_MISMATCH'],
    ] as const) {
      const refused = await kinto.api('DELETE', `/v1/kept-data/${envIds.prod}`, body);
      expect([refused.status, refused.body.error.code]).toEqual([400, code]);
    }
    expect((await kinto.api('DELETE', '/v1/kept-data/a.b', { confirm: 'a.b' })).body.error.code).toBe('INVALID_ENVIRONMENT_ID');
    expect(existsSync(join(prodDir, 'dump.rdb'))).toBe(true);

    const deleted = await kinto.api('DELETE', `/v1/kept-data/${envIds.prod}`, { confirm: envIds.prod });
    expect(deleted.status).toBe(200);
    expect(deleted.body.data).toEqual({ deletedData: [{ environmentId: envIds.prod, block: 'cache', location: prodDir }] });
    expect(existsSync(join(home, 'data', envIds.prod))).toBe(false);
    expect((await kinto.api('GET', '/v1/kept-data')).body.data).toEqual([]);
    const again = await kinto.api('DELETE', `/v1/kept-data/${envIds.prod}`, { confirm: envIds.prod });
    expect([again.status, again.body.error.code]).toEqual([404, 'KEPT_DATA_NOT_FOUND']);
  });
});

describe('Custom services when the platform is killed (SIGKILL)', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-cs-kill-'));
  let platform: PlatformProcess | undefined;
  afterAll(async () => {
    await platform?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  /** Redis processes started from this platform's home (their cwd is a build folder in it). */
  const redisOfHome = (): number[] =>
    readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number)
      .filter((pid) => {
        try {
          return (
            readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'redis-server' &&
            readlinkSync(`/proc/${pid}/cwd`).startsWith(home) &&
            alive(pid)
          );
        } catch {
          return false;
        }
      });

  it('leaves no orphan processes, and the service has its data when the platform starts again', async () => {
    const repo = createGitRepo({ 'app.js': REDIS_CLIENT_SERVICE });
    platform = await startPlatformProcess(home);
    const p = platform;
    await p.api('POST', '/v1/projects', { name: 'kill' });
    await p.api('POST', '/v1/projects/kill/blocks', {
      name: 'api',
      type: 'microservice',
      source: { repo },
      build: { startCommand: 'node app.js' },
    });
    await p.api('POST', '/v1/projects/kill/blocks', {
      name: 'cache',
      type: 'custom-service',
      source: { repo },
      build: { startCommand: REDIS_START },
    });
    await p.api('POST', '/v1/projects/kill/environments', { name: 'dev' });
    await p.api('PUT', '/v1/projects/kill/environments/dev/blocks/api/config', { visibility: 'public' });
    for (const block of ['api', 'cache']) expect((await p.build('kill', block)).status).toBe('succeeded');
    await p.api('POST', '/v1/projects/kill/releases', { version: '1.0.0' });
    expect((await p.deploy('kill', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    const gw = (await p.api('GET', '/v1/projects/kill/environments/dev')).body.data.gatewayUrl as string;
    expect(await (await fetch(`${gw}/api/set?k=survivor&v=yes`)).json()).toEqual({ reply: 'OK' });
    const running = [...redisOfHome(), ...hostPids({ KINTO_GATEWAY_URL: gw }, 'node'), ...hostPids({ KINTO_GATEWAY_URL: gw }, 'bwrap')];
    expect(redisOfHome()).toHaveLength(1);
    // `--save 1 1` writes the key within a second or so; on a loaded machine later, so wait for the file itself.
    const savedKey = (): boolean => {
      const data = join(home, 'data');
      if (!existsSync(data)) return false;
      return readdirSync(data).some((env) => {
        const dump = join(data, env, 'cache', 'dump.rdb');
        return existsSync(dump) && readFileSync(dump).includes('survivor');
      });
    };
    await waitFor(savedKey, 20_000, 100, 'the key saved in dump.rdb');

    await p.killHard();
    await waitFor(() => !running.some(alive), 10_000, 25, 'every process of the killed platform gone');
    expect(redisOfHome()).toEqual([]);

    platform = await startPlatformProcess(home);
    const again = (await platform.api('GET', '/v1/projects/kill/environments/dev')).body.data.gatewayUrl as string;
    expect(await (await fetch(`${again}/api/get?k=survivor`)).json()).toEqual({ value: 'yes' });
  }, 60_000);
});
