import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo';
import { cliAgainst } from '../support/cli-binary';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const P = '/v1/projects/cli';

describe('kinto CLI: website passwords, custom service settings, and what deletions do with data', () => {
  let platform: TestPlatform;
  const envIds: Record<string, string> = {};

  const { kinto, json } = cliAgainst(() => platform, 'cli');
  /** What a custom service would have written to its KINTO_DATA_DIR. */
  const writeServiceData = (env: string) => {
    const dir = join(platform.home, 'data', envIds[env], 'cache');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dump.rdb'), 'REDIS0011');
    return dir;
  };

  beforeAll(async () => {
    platform = await startTestPlatform();
    const repo = createGitRepo({ 'public/index.html': '<h1>hi</h1>\n' });
    await platform.api('POST', '/v1/projects', { name: 'cli' });
    const site = await platform.api('POST', `${P}/blocks`, {
      name: 'site',
      type: 'website',
      kind: 'static',
      source: { repo },
      build: { outputDir: 'public' },
    });
    expect(site.status).toBe(201);
    await platform.api('POST', `${P}/blocks`, {
      name: 'cache',
      type: 'custom-service',
      source: { repo },
      build: { startCommand: 'sleep 60' },
    });
    for (const env of ['dev', 'test', 'prod']) envIds[env] = (await platform.api('POST', `${P}/environments`, { name: env })).body.data.id;
  });
  afterAll(() => platform.stop());

  it('sets a website password from stdin (never shown back), keeps it through other changes, and removes it', async () => {
    const set = await json(['config', 'dev', 'site', 'set', '--basic-auth', 'preview'], 'correct horse battery\n');
    expect(set.basicAuth).toEqual({ username: 'preview', passwordSet: true });
    expect(JSON.stringify(set)).not.toContain('correct horse');

    const other = await json(['config', 'dev', 'site', 'set', 'GREETING=hi']);
    expect(other).toMatchObject({ variables: { GREETING: 'hi' }, basicAuth: { username: 'preview', passwordSet: true } });
    const shown = await kinto(['config', 'dev', 'site']);
    expect(shown.stdout).toMatch(/basic auth:\s+user preview/);

    expect((await json(['config', 'dev', 'site', 'set', '--no-basic-auth'])).basicAuth).toBeNull();
  });

  it("refuses a short password and a password on a non-website with the API's reason", async () => {
    const short = await kinto(['config', 'dev', 'site', 'set', '--basic-auth', 'preview'], 'short\n');
    expect(short.status).toBe(1);
    expect(short.stderr).toMatch(/at least 8 characters/);
    const service = await kinto(['config', 'dev', 'cache', 'set', '--basic-auth', 'preview'], 'long enough password\n');
    expect(service.status).toBe(1);
    expect(service.stderr).toMatch(/Basic auth protects websites/);
  });

  it("sets a custom service's idle time and always-on, and keeps them through a variable change", async () => {
    expect(await json(['config', 'dev', 'cache', 'set', '--idle-timeout', '600', '--always-on'])).toMatchObject({
      idleTimeoutSeconds: 600,
      alwaysOn: true,
    });
    expect(await json(['config', 'dev', 'cache', 'set', 'MAXMEMORY=64mb'])).toMatchObject({
      variables: { MAXMEMORY: '64mb' },
      idleTimeoutSeconds: 600,
      alwaysOn: true,
    });
    expect((await kinto(['config', 'dev', 'cache'])).stdout).toMatch(/idle time:\s+never stopped \(always on\)/);
    expect((await json(['config', 'dev', 'cache', 'set', '--no-always-on'])).alwaysOn).toBe(false);
    expect((await kinto(['config', 'dev', 'cache'])).stdout).toMatch(/idle time:\s+600 s/);
    const wrong = await kinto(['config', 'dev', 'cache', 'set', '--idle-timeout', 'soon']);
    expect({ status: wrong.status, stderr: wrong.stderr }).toEqual({
      status: 1,
      stderr: expect.stringMatching(/--idle-timeout takes a whole number/),
    });
  });

  it("deleting an environment keeps its custom services' data and names it", async () => {
    const dir = writeServiceData('dev');
    const r = await kinto(['envs', 'delete', 'dev', '--yes']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Deleted environment dev.');
    expect(r.stdout).toMatch(/custom services is kept where it is/);
    expect(r.stdout).toMatch(/kinto data delete <environment id> deletes it later/);
    expect(r.stdout).toMatch(new RegExp(`dev\\s+${envIds.dev}\\s+cache\\s+${dir.replaceAll('/', '\\/')}`));
    expect(existsSync(join(dir, 'dump.rdb'))).toBe(true);
  });

  it('deletes it too with --delete-data, and says so (--json names it)', async () => {
    const dir = writeServiceData('test');
    const answer = await json(['envs', 'delete', 'test', '--delete-data', '--yes']);
    expect(answer).toEqual({
      deleted: 'test',
      keptData: [],
      deletedData: [{ environment: 'test', environmentId: expect.stringMatching(/^[0-9a-f]{32}$/), block: 'cache', location: dir }],
    });
    expect(existsSync(dir)).toBe(false);
  });

  it('deleting a project names the data of every environment it kept', async () => {
    const dir = writeServiceData('prod');
    const answer = await json(['projects', 'delete', 'cli', '--yes']);
    expect(answer).toEqual({
      deleted: 'cli',
      keptData: [{ environment: 'prod', environmentId: expect.stringMatching(/^[0-9a-f]{32}$/), block: 'cache', location: dir }],
      deletedData: [],
    });
    expect(existsSync(dir)).toBe(true);
  });
});
