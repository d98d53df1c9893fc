import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { hostPids } from '../support/processes';
import { waitFor } from '../support/wait';

/** A block that tries what an attacker's block would, and says what happened. */
const PROBE = `
const http = require('http'), fs = require('fs'), net = require('net'), { spawn } = require('child_process');
const tryRead = (path) => { try { return { ok: true, text: fs.readFileSync(path, 'utf8').slice(0, 200) }; } catch (e) { return { ok: false, error: e.code }; } };
const tryWrite = (path) => { try { fs.writeFileSync(path, 'x'); return { ok: true }; } catch (e) { return { ok: false, error: e.code }; } };
const tryConnect = (target) => new Promise((resolve) => {
  const s = net.connect(target);
  s.once('connect', () => { s.destroy(); resolve({ ok: true }); });
  s.once('error', (e) => resolve({ ok: false, error: e.code }));
});
http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const q = (name) => url.searchParams.get(name);
  let out;
  if (url.pathname === '/read') out = tryRead(q('path'));
  else if (url.pathname === '/write') out = tryWrite(q('path'));
  else if (url.pathname === '/connect') out = await tryConnect(q('socket') ? { path: q('socket') } : { host: '127.0.0.1', port: Number(q('port')) });
  else if (url.pathname === '/fork') {
    // A child in a session of its own, as a daemonising server would start one.
    spawn('node', ['-e', 'setInterval(() => {}, 1000)'], { detached: true, stdio: 'ignore', env: { ...process.env, KINTO_TEST_CHILD: q('id') } }).unref();
    out = { ok: true };
  } else if (url.pathname === '/whoami') {
    try { const u = require('os').userInfo(); out = { ok: true, uid: u.uid, gid: u.gid, username: u.username, home: u.homedir }; } catch (e) { out = { ok: false, error: e.code }; }
  } else out = { uid: process.getuid(), port: Number(process.env.PORT), cwd: process.cwd() };
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(out));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

/**
 * What block and build code can reach on this machine (issue 15, "High"): run as root with
 * bubblewrap and nftables, as CI runs it, every process of a block is confined.
 */
describe("Isolation: block, build and job code never runs with the platform's rights", () => {
  let kinto: TestPlatform;
  let gw: string;
  const probe = async (block: string, path: string): Promise<any> => (await fetch(`${gw}/${block}${path}`)).json();

  beforeAll(async () => {
    kinto = await startTestPlatform();
    if (kinto.sandbox.mode !== 'bwrap')
      throw new Error(`these tests need bubblewrap (apt-get install bubblewrap): ${kinto.sandbox.warning}`);
    const repo = createGitRepo({ 'probe.js': PROBE });
    await kinto.api('POST', '/v1/projects', { name: 'iso' });
    for (const name of ['alpha', 'beta']) {
      await kinto.api('POST', '/v1/projects/iso/blocks', {
        name,
        type: 'microservice',
        source: { repo },
        build: { startCommand: 'node probe.js' },
      });
    }
    // A build that tries to read the platform's key, and says what it got in its log.
    await kinto.api('POST', '/v1/projects/iso/blocks', {
      name: 'nosy-build',
      type: 'microservice',
      source: { repo },
      build: {
        buildCommand: `node -e "try { console.log('KEY:' + require('fs').readFileSync('${join(kinto.home, 'platform-key')}', 'utf8')) } catch (e) { console.log('DENIED:' + e.code) }"`,
        startCommand: 'node probe.js',
      },
    });
    await kinto.api('POST', '/v1/projects/iso/environments', { name: 'dev' });
    for (const name of ['alpha', 'beta', 'nosy-build'])
      await kinto.api('PUT', `/v1/projects/iso/environments/dev/blocks/${name}/config`, { visibility: 'public' });
    for (const name of ['alpha', 'beta', 'nosy-build']) await kinto.buildBlock('iso', name);
    await kinto.api('POST', '/v1/projects/iso/releases', { version: '1.0.0' });
    expect((await kinto.deploy('iso', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    gw = await kinto.gatewayUrl('iso', 'dev');
  }, 60_000);
  afterAll(() => kinto.stop());

  it("runs each block as an unprivileged user of its own, never the platform's", async () => {
    const alpha = await probe('alpha', '/');
    const beta = await probe('beta', '/');
    expect(alpha.uid).not.toBe(process.getuid!());
    expect(alpha.uid).toBeGreaterThan(65535);
    expect(beta.uid).not.toBe(alpha.uid);
  });

  it('has an account for its uid (programs that look their user up work), in a read-only /etc/passwd', async () => {
    const alpha = await probe('alpha', '/');
    const me = await probe('alpha', '/whoami');
    expect(me).toEqual({ ok: true, uid: alpha.uid, gid: expect.any(Number), username: 'kinto-block', home: '/tmp' });
    expect(me.gid).toBeGreaterThan(65535);
    expect((await probe('alpha', '/read?path=/etc/passwd')).text).toMatch(/^root:x:0:0:/);
    expect(await probe('alpha', '/write?path=/etc/passwd')).toEqual({ ok: false, error: expect.stringMatching(/^(EROFS|EACCES)$/) });
  });

  it('cannot read KINTO_HOME: the platform key, the admin token, the state, the logs', async () => {
    for (const path of ['platform-key', 'admin-token', 'dynamodb', 'logs', '']) {
      const got = await probe('alpha', `/read?path=${encodeURIComponent(join(kinto.home, path))}`);
      expect(got.ok).toBe(false);
    }
  });

  it("cannot read the platform's environment or see its processes", async () => {
    const got = await probe('alpha', `/read?path=/proc/${process.pid}/environ`);
    expect(got.ok).toBe(false);
    const mine = await probe('alpha', '/read?path=/proc/1/cmdline');
    expect(mine.text).not.toContain('jest');
  });

  it('cannot reach the state store (dynalite listens on a Unix socket in KINTO_HOME)', async () => {
    const socket = join(kinto.home, 'run', 'dynamodb.sock');
    expect(statSync(socket).isSocket()).toBe(true);
    expect((await probe('alpha', `/connect?socket=${encodeURIComponent(socket)}`)).ok).toBe(false);
  });

  it("cannot read another block's files, and sees its own build folder read-only", async () => {
    const beta = await probe('beta', '/');
    const other = await probe('alpha', `/read?path=${encodeURIComponent(join(beta.cwd, 'probe.js'))}`);
    expect(other.ok).toBe(false);
    const alpha = await probe('alpha', '/');
    expect((await probe('alpha', `/read?path=${encodeURIComponent(join(alpha.cwd, 'probe.js'))}`)).ok).toBe(true);
    expect((await probe('alpha', `/write?path=${encodeURIComponent(join(alpha.cwd, 'changed.js'))}`)).error).toBe('EROFS');
    expect((await probe('alpha', '/write?path=/tmp/scratch')).ok).toBe(true);
  });

  it('a build command cannot read the platform key either', async () => {
    const builds = (await kinto.api('GET', '/v1/projects/iso/blocks/nosy-build/builds')).body.data;
    const log = (await kinto.api('GET', `/v1/projects/iso/blocks/nosy-build/builds/${builds[0].id}/log`)).body as string;
    expect(log).toContain('DENIED:');
    expect(log).not.toContain(readFileSync(join(kinto.home, 'platform-key'), 'utf8').trim());
  });

  it("cannot connect straight to another block's port (only the platform proxies to it)", async () => {
    if (!kinto.sandbox.nft) throw new Error('this test needs root and nftables (apt-get install nftables), as CI has');
    const beta = await probe('beta', '/');
    const alpha = await probe('alpha', '/');
    expect(await probe('alpha', `/connect?port=${beta.port}`)).toEqual({ ok: false, error: 'ECONNREFUSED' });
    expect((await probe('alpha', `/connect?port=${alpha.port}`)).ok).toBe(true);
    expect((await probe('alpha', `/connect?port=${new URL(kinto.url).port}`)).ok).toBe(true);
    // The platform itself still reaches beta: the gateway answers.
    expect((await fetch(`${gw}/beta/`)).status).toBe(200);
  });

  it("refuses a source repository inside KINTO_HOME (another build's checkout)", async () => {
    const builds = (await kinto.api('GET', '/v1/projects/iso/blocks/alpha/builds')).body.data;
    await kinto.api('POST', '/v1/projects/iso/blocks', {
      name: 'thief',
      type: 'microservice',
      source: { repo: join(kinto.home, 'builds', builds[0].id) },
      build: { startCommand: 'node probe.js' },
    });
    const started = (await kinto.api('POST', '/v1/projects/iso/blocks/thief/builds')).body.data;
    const build = await kinto.waitForBuild('iso', 'thief', started.id);
    expect(build.status).toBe('failed');
    expect(build.error).toContain('KINTO_HOME');
  });

  it('stopping a block stops everything it started, children in sessions of their own included', async () => {
    const id = randomUUID();
    expect((await probe('alpha', `/fork?id=${id}`)).ok).toBe(true);
    await waitFor(() => hostPids({ KINTO_TEST_CHILD: id }).length === 1, 5000);
    expect((await kinto.api('POST', '/v1/projects/iso/environments/dev/shutdown')).status).toBe(200);
    await waitFor(() => hostPids({ KINTO_TEST_CHILD: id }).length === 0, 5000);
    expect(hostPids({ KINTO_PROJECT: 'iso', KINTO_GATEWAY_URL: gw })).toEqual([]);
  });

  it('keeps KINTO_HOME 0700 and its files 0600', () => {
    expect(statSync(kinto.home).mode & 0o777).toBe(0o700);
    for (const file of ['platform-key', 'admin-token'].filter((f) => readdirSync(kinto.home).includes(f))) {
      expect(statSync(join(kinto.home, file)).mode & 0o077).toBe(0);
    }
    const loose = execFileSync('find', [kinto.home, '-perm', '/o=rwx', '-not', '-type', 'l', '-not', '-type', 's'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      // Build checkouts belong to their blocks' sandbox users, below the platform's 0700 folders.
      .filter((p) => !p.startsWith(join(kinto.home, 'builds') + '/'));
    expect(loose).toEqual([]);
    expect(readFileSync(join(kinto.home, 'platform-key'), 'utf8').length).toBeGreaterThan(0);
  });
});
