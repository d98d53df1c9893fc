import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { commitFiles, createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/** Commits symbolic links (`path -> target`) to a test repo. */
function commitLinks(repo: string, links: Record<string, string>): void {
  for (const [path, target] of Object.entries(links)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    symlinkSync(target, join(repo, path));
  }
  commitFiles(repo, {}, 'links');
}

/**
 * A static website serves only files whose real path lies inside its output folder (issue 15,
 * "Critical"): links committed to the repo or made by the build cannot lead a caller out of it.
 */
describe('Static websites: symbolic links never lead outside the output folder', () => {
  let kinto: TestPlatform;
  let gw: string;
  let key: string;

  beforeAll(async () => {
    kinto = await startTestPlatform();
    key = readFileSync(join(kinto.home, 'platform-key'), 'utf8').trim();
    const repo = createGitRepo({ 'public/index.html': '<h1>site</h1>', 'public/docs/page.html': 'page', 'dist-src/index.html': 'built' });
    commitLinks(repo, {
      'public/pk.txt': join(kinto.home, 'platform-key'),
      'public/home': kinto.home,
      'public/etc': '/etc',
      'public/up.txt': '../dist-src/index.html',
      'public/alias.html': 'docs/page.html',
      rooted: '/',
    });
    await kinto.api('POST', '/v1/projects', { name: 'links' });
    const blocks = [
      { name: 'site', type: 'website', kind: 'static', source: { repo }, build: { outputDir: 'public' } },
      { name: 'rooted', type: 'website', kind: 'static', source: { repo }, build: { outputDir: 'rooted' } },
      {
        name: 'made',
        type: 'website',
        kind: 'static-build',
        source: { repo },
        build: {
          buildCommand: `node -e "const fs = require('fs'); fs.mkdirSync('made'); fs.writeFileSync('made/index.html', 'made'); fs.symlinkSync('${join(kinto.home, 'platform-key')}', 'made/pk.txt'); fs.symlinkSync('/etc', 'made/etc')"`,
          outputDir: 'made',
        },
      },
    ];
    for (const b of blocks) expect((await kinto.api('POST', '/v1/projects/links/blocks', b)).status).toBe(201);
    await kinto.api('POST', '/v1/projects/links/environments', { name: 'dev' });
    await kinto.buildBlock('links', 'site');
    await kinto.buildBlock('links', 'made');
    gw = await kinto.gatewayUrl('links', 'dev');
  }, 60_000);
  afterAll(() => kinto.stop());

  const get = async (path: string) => {
    const res = await fetch(`${gw}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it('fails a build whose output folder is a link that leads outside the block, with the reason', async () => {
    const started = (await kinto.api('POST', '/v1/projects/links/blocks/rooted/builds')).body.data;
    const build = await kinto.waitForBuild('links', 'rooted', started.id);
    expect(build.status).toBe('failed');
    expect(build.error).toMatch(/output folder "rooted" leads outside/);
  });

  describe('served over the real gateway', () => {
    beforeAll(async () => {
      await kinto.api('DELETE', '/v1/projects/links/blocks/rooted');
      expect((await kinto.api('POST', '/v1/projects/links/releases', { version: '1.0.0' })).status).toBe(201);
      expect((await kinto.deploy('links', 'dev', { release: '1.0.0' })).status).toBe('succeeded');
    });

    it('does not serve a committed link to the platform key', async () => {
      const got = await get('/site/pk.txt');
      expect(got.status).toBe(404);
      expect(got.text).not.toContain(key);
    });

    it('does not serve through a committed link to KINTO_HOME or to a system folder', async () => {
      for (const path of [
        '/site/home/platform-key',
        '/site/home/admin-token',
        '/site/home/',
        '/site/home',
        '/site/etc/passwd',
        '/site/etc/hostname',
      ]) {
        const got = await get(path);
        expect([got.status, path]).toEqual([404, path]);
        expect(got.text).not.toContain(key);
      }
    });

    it('does not serve a link that climbs out of the output folder into the checkout', async () => {
      expect((await get('/site/up.txt')).status).toBe(404);
    });

    it('does not serve links the build command made', async () => {
      expect(await get('/made/')).toEqual({ status: 200, text: 'made' });
      expect((await get('/made/pk.txt')).status).toBe(404);
      expect((await get('/made/etc/passwd')).status).toBe(404);
    });

    it('still serves files, folders with index.html and links that stay inside', async () => {
      expect(await get('/site/')).toEqual({ status: 200, text: '<h1>site</h1>' });
      expect(await get('/site/docs/page.html')).toEqual({ status: 200, text: 'page' });
      expect(await get('/site/alias.html')).toEqual({ status: 200, text: 'page' });
      const folder = await fetch(`${gw}/site/docs`, { redirect: 'manual' });
      expect(folder.status).toBe(301);
    });
  });

  it('the links really are in the checkout (the test would prove nothing otherwise)', () => {
    const builds = execFileSync('ls', [join(kinto.home, 'builds')], { encoding: 'utf8' })
      .split('\n')
      .filter((n) => n && !n.endsWith('.log'));
    const found = builds.some((b) => {
      try {
        return readFileSync(join(kinto.home, 'builds', b, 'public', 'pk.txt'), 'utf8').trim() === key;
      } catch {
        return false;
      }
    });
    expect(found).toBe(true);
  });
});
