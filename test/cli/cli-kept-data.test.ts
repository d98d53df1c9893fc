import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo';
import { cliAgainst } from '../support/cli-binary';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const P = '/v1/projects/kept';

describe('kinto CLI: the data deleted environments left (kinto data)', () => {
  let platform: TestPlatform;
  const envIds: Record<string, string> = {};
  const dirs: Record<string, string> = {};

  const { kinto, json } = cliAgainst(() => platform, 'kept');
  /** What a custom service would have written to its KINTO_DATA_DIR. */
  const writeServiceData = (env: string) => {
    const dir = join(platform.home, 'data', envIds[env], 'cache');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'dump.rdb'), 'REDIS0011');
    return dir;
  };
  const row = (env: string) => new RegExp(`${envIds[env]}\\s+cache\\s+${dirs[env].replaceAll('/', '\\/')}`);

  beforeAll(async () => {
    platform = await startTestPlatform();
    const repo = createGitRepo({ 'README.md': 'a cache\n' });
    await platform.api('POST', '/v1/projects', { name: 'kept' });
    const cache = await platform.api('POST', `${P}/blocks`, {
      name: 'cache',
      type: 'custom-service',
      source: { repo },
      build: { startCommand: 'sleep 60' },
    });
    expect(cache.status).toBe(201);
    for (const env of ['dev', 'test', 'prod']) {
      envIds[env] = (await platform.api('POST', `${P}/environments`, { name: env })).body.data.id;
      dirs[env] = writeServiceData(env);
    }
  });
  afterAll(() => platform.stop());

  it("says nothing is kept while no deleted environment left data (an existing environment's is not listed)", async () => {
    const r = await kinto(['data']);
    expect(r).toEqual({ status: 0, stdout: "No custom services' data is kept: no deleted environment left any.\n", stderr: '' });
    expect(await json(['data', 'list'])).toEqual([]);
  });

  it('names the environment id and the command that deletes the data later when a deletion keeps it', async () => {
    for (const env of ['dev', 'test']) {
      const r = await kinto(['envs', 'delete', env, '--yes']);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/kinto data delete <environment id> deletes it later/);
      expect(r.stdout).toMatch(/ENVIRONMENT\s+ENVIRONMENT ID\s+BLOCK\s+WHERE/);
      expect(r.stdout).toMatch(new RegExp(`${env}\\s+${row(env).source}`));
    }
  });

  it('lists what deleted environments left, as a table and with --json', async () => {
    const r = await kinto(['data']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^ENVIRONMENT ID\s+BLOCK\s+WHERE\n/);
    expect(r.stdout).toMatch(row('dev'));
    expect(r.stdout).toMatch(row('test'));
    expect(r.stdout).not.toContain(envIds.prod);
    expect((await kinto(['data', 'list'])).stdout).toBe(r.stdout);

    const listed = await json(['data']);
    expect(listed).toHaveLength(2);
    expect(listed).toEqual(
      expect.arrayContaining(['dev', 'test'].map((env) => ({ environmentId: envIds[env], block: 'cache', location: dirs[env] }))),
    );
  });

  it('refuses to delete without --yes when it cannot ask (stdin not a terminal), and deletes nothing', async () => {
    const r = await kinto(['data', 'delete', envIds.dev]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^kinto: CONFIRMATION_REQUIRED: .*pass --yes\n$/);
    expect(r.stdout).toBe('');
    expect(existsSync(join(dirs.dev, 'dump.rdb'))).toBe(true);
  });

  it('deletes it with --yes and says what went; --json prints the answer', async () => {
    const r = await kinto(['data', 'delete', envIds.dev, '--yes']);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
    expect(r.stdout).toContain(`Deleted the data environment ${envIds.dev} left:`);
    expect(r.stdout).toMatch(row('dev'));
    expect(existsSync(join(platform.home, 'data', envIds.dev))).toBe(false);

    expect(await json(['data', 'delete', envIds.test, '--yes'])).toEqual({
      deletedData: [{ environmentId: envIds.test, block: 'cache', location: dirs.test }],
    });
    expect(existsSync(dirs.test)).toBe(false);
    expect(await json(['data'])).toEqual([]);
  });

  it("a second delete fails with the API's KEPT_DATA_NOT_FOUND", async () => {
    const r = await kinto(['data', 'delete', envIds.dev, '--yes']);
    expect(r).toEqual({ status: 1, stdout: '', stderr: expect.stringMatching(/^kinto: KEPT_DATA_NOT_FOUND: .+\n$/) });
  });

  it('refuses the data of an environment that exists (ENVIRONMENT_EXISTS), with or without --yes, and keeps it', async () => {
    for (const yes of [[], ['--yes']]) {
      const r = await kinto(['data', 'delete', envIds.prod, ...yes]);
      expect(r).toEqual({
        status: 1,
        stdout: '',
        stderr: expect.stringMatching(/^kinto: ENVIRONMENT_EXISTS: .*"prod" of project "kept".*\n$/),
      });
    }
    expect(existsSync(join(dirs.prod, 'dump.rdb'))).toBe(true);
  });

  it('refuses an id that is not one (INVALID_ENVIRONMENT_ID)', async () => {
    const r = await kinto(['data', 'delete', 'not an id', '--yes']);
    expect(r).toEqual({ status: 1, stdout: '', stderr: expect.stringMatching(/^kinto: INVALID_ENVIRONMENT_ID: .+\n$/) });
  });
});
