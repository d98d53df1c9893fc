import { createHash, randomBytes } from 'node:crypto';
import { commitFiles, createGitRepo, NODE_SERVICE } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { alive, hostPids } from '../support/processes';
import { waitFor } from '../support/wait';

/** Blocks built from real git repos, run as real processes, called through the gateway. */
describe('Local runtime: build, tag, deploy, call', () => {
  let kinto: TestPlatform;
  let nodeRepo: string;

  beforeAll(async () => {
    kinto = await startTestPlatform({ idleTimeoutMs: 400 });
    nodeRepo = createGitRepo({ 'server.js': NODE_SERVICE });
    const pythonRepo = createGitRepo({ 'site/index.html': '<h1>python site</h1>' });
    const staticRepo = createGitRepo({
      'public/index.html': '<h1>static site</h1>',
      'public/about/index.html': 'about',
      'secret.txt': 'not served',
    });
    const buildRepo = createGitRepo({
      'build.js': `const fs = require('fs'); fs.mkdirSync('dist', { recursive: true }); fs.writeFileSync('dist/index.html', '<h1>' + process.env.TITLE + '</h1>');`,
    });
    await kinto.api('POST', '/v1/projects', { name: 'shop' });
    const blocks = [
      {
        name: 'api',
        type: 'microservice',
        source: { repo: nodeRepo },
        build: { startCommand: 'node server.js' },
        variables: { GREETING: { default: 'hello' } },
      },
      {
        name: 'py',
        type: 'website',
        kind: 'dynamic',
        source: { repo: pythonRepo, subfolder: 'site' },
        build: { startCommand: 'python3 -m http.server $PORT --bind 127.0.0.1' },
      },
      { name: 'www', type: 'website', kind: 'static', source: { repo: staticRepo }, build: { outputDir: 'public' } },
      {
        name: 'docs',
        type: 'website',
        kind: 'static-build',
        source: { repo: buildRepo },
        build: { buildCommand: 'node build.js', outputDir: 'dist', buildArgs: { TITLE: 'built docs' } },
      },
    ];
    for (const b of blocks) expect((await kinto.api('POST', '/v1/projects/shop/blocks', b)).status).toBe(201);
    await kinto.api('POST', '/v1/projects/shop/environments', { name: 'dev' });
    await kinto.api('PUT', '/v1/projects/shop/environments/dev/blocks/api/config', {
      variables: { GREETING: 'hi from dev' },
      visibility: 'public',
    });
    for (const b of blocks) await kinto.buildBlock('shop', b.name);
    expect((await kinto.api('POST', '/v1/projects/shop/releases', { version: '1.0.0', notes: 'first' })).status).toBe(201);
    expect((await kinto.deploy('shop', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
  });
  afterAll(() => kinto.stop());

  it('runs a Node microservice with its environment variables and KINTO_* facts', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const res = await fetch(`${gw}/api/hello?x=1`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ greeting: 'hi from dev', path: '/hello?x=1', release: '1.0.0', block: 'api', environment: 'dev' });
    expect(res.headers.get('kinto-request-id')).toBe(body.requestId);
    expect(body.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('gives every request a fresh request id the caller cannot spoof', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${gw}/api/x`, { headers: { 'kinto-request-id': 'spoofed', 'Kinto-Client-Id': 'forged' } });
      const body = (await res.json()) as any;
      expect(body.requestId).not.toBe('spoofed');
      expect(body.clientId).not.toBe('forged');
      ids.add(body.requestId);
    }
    expect(ids.size).toBe(5);
  });

  it('forwards headers both ways, except hop-by-hop ones and the kinto-* headers the platform owns', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const res = await fetch(`${gw}/api/headers`, {
      headers: { 'x-app': 'one', 'kinto-client-id': 'forged', 'x-forwarded-for': '6.6.6.6', te: 'trailers' },
    });
    const body = (await res.json()) as { requestId: string; headers: Record<string, string> };
    // To the block: the caller's own headers, the platform's kinto-* and x-forwarded-* only.
    expect(body.headers['x-app']).toBe('one');
    expect(body.headers['kinto-request-id']).toBe(body.requestId);
    expect(body.headers['kinto-client-id']).toBeUndefined();
    expect(body.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(body.headers.te).toBeUndefined();
    // To the caller: every header of the block (both cookies) but its kinto-* ones; the platform's request id.
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers.get('x-custom')).toBe('kept');
    expect(res.headers.get('kinto-request-id')).toBe(body.requestId);
    expect(res.headers.get('kinto-other')).toBeNull();
  });

  it("streams a block's answer as it comes, and a caller who leaves ends the call to the block", async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const caller = new AbortController();
    const res = await fetch(`${gw}/api/stream`, { signal: caller.signal });
    const requestId = res.headers.get('kinto-request-id');
    const reader = res.body!.getReader();
    // The first part arrives while the block's answer is still open.
    expect(Buffer.from((await reader.read()).value).toString()).toBe('first part\n');
    caller.abort();
    await waitFor(async () =>
      ((await (await fetch(`${gw}/api/stream-closed`)).json()) as { closed: string[] }).closed.includes(requestId!),
    );
  });

  it('passes large bodies whole both ways, through backpressure', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const body = randomBytes(16 * 1024 * 1024);
    const res = await fetch(`${gw}/api/echo`, { method: 'POST', body });
    expect(res.status).toBe(200);
    const back = Buffer.from(await res.arrayBuffer());
    expect(back.length).toBe(body.length);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('runs a Python http.server website from a sub-folder, unchanged', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const res = await fetch(`${gw}/py/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('python site');
    expect(res.headers.get('kinto-request-id')).toBeTruthy();
  });

  it('serves a static website from its folder, without a process, and never outside it', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    expect(await (await fetch(`${gw}/www/`)).text()).toContain('static site');
    expect(await (await fetch(`${gw}/www/about/`)).text()).toBe('about');
    const redirect = await fetch(`${gw}/www`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, expect.stringMatching(/\/www\/$/)]);
    const missing = await fetch(`${gw}/www/nope.html`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.requestId).toBe(missing.headers.get('kinto-request-id'));
    for (const path of ['/www/../secret.txt', '/www/%2e%2e/secret.txt', '/www/..%2fsecret.txt', '/www/%2e%2e%2f%2e%2e%2fetc/passwd']) {
      const res = await fetch(`${gw}${path}`);
      expect(await res.text()).not.toContain('not served');
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    expect((await fetch(`${gw}/www/`, { method: 'POST' })).status).toBe(405);
  });

  it('builds and serves a static-build website with its build arguments', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    expect(await (await fetch(`${gw}/docs/`)).text()).toBe('<h1>built docs</h1>');
  });

  it('stops an idle block and wakes it on the next request', async () => {
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const first = (await (await fetch(`${gw}/api/one`)).json()) as any;
    const pids = hostPids({ KINTO_GATEWAY_URL: gw, KINTO_BLOCK: 'api' });
    expect(pids).toHaveLength(1);
    await waitFor(() => !alive(pids[0]), 5000);
    const woken = await fetch(`${gw}/api/two`);
    expect(woken.status).toBe(200);
    const second = (await woken.json()) as any;
    expect(second.instance).not.toBe(first.instance);
    expect(second.greeting).toBe('hi from dev');
  });

  it('rolls back to an older release, and records the history newest first', async () => {
    commitFiles(nodeRepo, {
      'server.js': NODE_SERVICE.replace('greeting: process.env.GREETING ?? null', "greeting: 'v2 ' + process.env.GREETING"),
    });
    await kinto.buildBlock('shop', 'api');
    expect((await kinto.api('POST', '/v1/projects/shop/releases', { version: '1.1.0', notes: 'v2' })).status).toBe(201);
    const gw = await kinto.gatewayUrl('shop', 'dev');
    await kinto.deploy('shop', 'dev', { release: '1.1.0' });
    expect(((await (await fetch(`${gw}/api/`)).json()) as any).greeting).toBe('v2 hi from dev');
    const rollback = await kinto.deploy('shop', 'dev', { release: '1.0.0' });
    expect(rollback).toMatchObject({ action: 'rollback', status: 'succeeded' });
    expect(((await (await fetch(`${gw}/api/`)).json()) as any).greeting).toBe('hi from dev');
    const history = (await kinto.api('GET', '/v1/projects/shop/environments/dev/deployments')).body.data;
    expect(history.map((d: { release: string }) => d.release).slice(0, 3)).toEqual(['1.0.0', '1.1.0', '1.0.0']);
  });

  it("promotes the release running in dev to prod, with prod's own configuration", async () => {
    await kinto.api('POST', '/v1/projects/shop/environments', { name: 'prod' });
    await kinto.api('PUT', '/v1/projects/shop/environments/prod/blocks/api/config', {
      variables: { GREETING: 'hello prod' },
      visibility: 'public',
    });
    const promoted = await kinto.deploy('shop', 'prod', { from: 'dev' });
    expect(promoted).toMatchObject({ action: 'promote', promotedFrom: 'dev', release: '1.0.0', status: 'succeeded' });
    const prod = await kinto.gatewayUrl('shop', 'prod');
    expect((await (await fetch(`${prod}/api/`)).json()) as any).toMatchObject({
      greeting: 'hello prod',
      environment: 'prod',
      release: '1.0.0',
    });
  });

  it('switches all blocks at once: in-flight requests finish on the old release, new ones reach the new', async () => {
    commitFiles(nodeRepo, {
      'server.js': NODE_SERVICE.replace(
        "if (req.url === '/crash') process.exit(3);",
        "if (req.url === '/crash') process.exit(3);\n  if (req.url === '/slow') return setTimeout(() => res.end(JSON.stringify({ release: process.env.KINTO_RELEASE })), 700);",
      ),
    });
    await kinto.buildBlock('shop', 'api');
    await kinto.api('POST', '/v1/projects/shop/releases', { version: '1.2.0' });
    await kinto.deploy('shop', 'dev', { release: '1.2.0' });
    await kinto.api('POST', '/v1/projects/shop/releases', { version: '1.3.0' });
    const gw = await kinto.gatewayUrl('shop', 'dev');
    const slow = fetch(`${gw}/api/slow`).then((r) => r.json() as any);
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    const deployed = await kinto.deploy('shop', 'dev', { release: '1.3.0' });
    expect(deployed.status).toBe('succeeded');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(((await (await fetch(`${gw}/api/now`)).json()) as any).release).toBe('1.3.0');
    expect((await slow).release).toBe('1.2.0');
  });
});
