import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConsolePage } from '../../lambdas/local/console-page';

/** Serves `createConsolePage({dist})` on a free port. */
async function serve(dist: string): Promise<{ url: string; server: Server }> {
  const server = createServer(createConsolePage({ dist }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** A raw GET: fetch would normalize `..` away, and adds `cache-control: no-cache` to conditional requests. */
function rawGet(url: string, path: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) =>
    request(`${url}${path}`, { path, headers }, (res) => (res.resume(), resolve(res.statusCode!)))
      .on('error', reject)
      .end(),
  );
}

describe('Function: createConsolePage', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-console-page-'));
  const dist = join(home, 'dist');
  let site: { url: string; server: Server };
  beforeAll(async () => {
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(
      join(dist, 'index.html'),
      '<!doctype html><title>Kinto console</title><script type="module" src="/assets/index-abc123.js"></script>',
    );
    writeFileSync(join(dist, 'assets', 'index-abc123.js'), 'console.log("app")');
    writeFileSync(join(home, 'secret.txt'), 'not for the web');
    site = await serve(dist);
  });
  afterAll(async () => {
    await new Promise((r) => site.server.close(r));
    rmSync(home, { recursive: true, force: true });
  });

  it('serves index.html at / and for every page of the app, revalidated on each load', async () => {
    for (const path of ['/', '/projects/shop', '/projects/shop/environments/dev/logs?x=1']) {
      const res = await fetch(`${site.url}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
      expect(await res.text()).toContain('Kinto console');
    }
  });

  it('caches hashed assets for a year and answers a revalidation with 304', async () => {
    const res = await fetch(`${site.url}/assets/index-abc123.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const etag = (await fetch(`${site.url}/`)).headers.get('etag')!;
    expect(await rawGet(site.url, '/', { 'if-none-match': etag })).toBe(304);
  });

  it('answers 404 for missing files and never serves a file outside the build', async () => {
    expect((await fetch(`${site.url}/assets/gone-123.js`)).status).toBe(404);
    expect(await rawGet(site.url, '/../secret.txt')).toBe(404);
    expect(await rawGet(site.url, '/%2e%2e/secret.txt')).toBe(404);
  });

  it('tells the console where the API is (this origin) and that it streams', async () => {
    const res = await fetch(`${site.url}/config.json`);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ streams: true });
  });

  it('is read only', async () => {
    const res = await fetch(`${site.url}/`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
  });

  it('says how to build the console when it has not been built', async () => {
    const empty = await serve(join(home, 'not-built'));
    try {
      const res = await fetch(`${empty.url}/projects/shop`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('npm run build:console');
      expect((await fetch(`${empty.url}/assets/index-abc123.js`)).status).toBe(404);
      expect(await (await fetch(`${empty.url}/healthz`)).json()).toEqual({ status: 'ok' });
    } finally {
      await new Promise((r) => empty.server.close(r));
    }
  });
});
