import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from '../support/platform';

const BIN = join(__dirname, '../../bin/kinto.js');

/** The README's CLI walkthrough: its sh blocks, with the demo repo moved to `repo` (the curl walkthrough's test uses /tmp/hello). */
function cliWalkthrough(repo: string): string {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- cli-walkthrough:start -->'), readme.indexOf('<!-- cli-walkthrough:end -->'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThan(5);
  return blocks.join('\n').replaceAll('/tmp/hello', repo);
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a process as a user would, asynchronously (the platform answering it runs in this very process). */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

describe('kinto CLI: the README walkthrough through the kinto binary', () => {
  let platform: TestPlatform;
  let scratch: string;
  let env: NodeJS.ProcessEnv;
  const kinto = (args: string[], extraEnv: NodeJS.ProcessEnv = {}, input?: string) =>
    run(process.execPath, [BIN, ...args], { ...env, ...extraEnv }, input);
  const json = async (args: string[]) => {
    const r = await kinto([...args, '--json']);
    expect({ args, status: r.status, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ args, status: 0, stderr: '' });
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    // No admin token given: the platform keeps the one it generates in its home, where `kinto login` reads it.
    platform = await startTestPlatform({ adminToken: undefined });
    scratch = mkdtempSync(join(tmpdir(), 'kinto-cli-'));
    // `kinto` on the PATH as `npm link` puts it: a link to bin/kinto.js.
    symlinkSync(BIN, join(scratch, 'kinto'));
    const { KINTO_URL: _u, KINTO_TOKEN: _t, KINTO_PROJECT: _p, KINTO_PROFILE: _f, XDG_CONFIG_HOME: _x, ...rest } = process.env;
    env = {
      ...rest,
      PATH: `${scratch}:${process.env.PATH}`,
      HOME: join(scratch, 'home'), // profiles go to this test's ~/.config/kinto, never the real one
      KINTO_HOME: platform.home,
      KINTO_PORT: new URL(platform.url).port,
    };
  });
  afterAll(async () => {
    await platform.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('works as written: login, project, block, build, env, config and secret, Tag & Deploy, call, logs, rollback, promote', async () => {
    const script = `set -euo pipefail\n${cliWalkthrough(join(scratch, 'hello'))}`;
    const r = await run('bash', ['-c', script], env);
    expect({ status: r.status, out: r.status === 0 ? 'ok' : `${r.stdout}\n${r.stderr}` }).toEqual({ status: 0, out: 'ok' });
    expect(r.stderr).not.toMatch(/^kinto: /m);
    expect(r.stdout).toContain('[kinto] build succeeded');
    expect(r.stdout).toContain('"greeting":"hi from dev","apiKeySet":true,"release":"1.0.0"');
    // The request and, under it, the console line the block logged for it.
    expect(r.stdout).toMatch(/GET \/hello\/orders .*\n +\S+ hello \{"message":"hello called","path":"\/orders"\}/);
    expect(r.stdout).toMatch(/dev: 1\.0\.0 -> 1\.1\.0\n +~ hello +commit [0-9a-f]{7} -> [0-9a-f]{7}/);
    expect(r.stdout).toContain('"greeting":"v2: hi from dev","apiKeySet":true,"release":"1.1.0"');
    expect(r.stdout).toMatch(/Deployed 1\.0\.0 to dev .*\n[\s\S]*rollback +succeeded/);
    expect(r.stdout).toContain('"greeting":"hello from prod","apiKeySet":true,"release":"1.0.0"');
    // Progress went to stderr, step by step.
    expect(r.stderr).toMatch(/Tag & Deploy 1\.0\.0 to dev: deployment \S+\n(.*\n)*✔ prepare hello .*\n(.*\n)*✔ switch traffic/);
    expect(r.stderr).toContain('Promote dev to prod: deployment');
    // The profile: the token and the client secrets, readable by this user only.
    const config = join(env.HOME!, '.config/kinto/config.json');
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const profile = JSON.parse(readFileSync(config, 'utf8')).profiles.default;
    expect(profile).toMatchObject({ url: `http://localhost:${env.KINTO_PORT}`, token: platform.adminToken, project: 'shop' });
    expect(Object.values(profile.clients).map((c: any) => c.env)).toEqual(['dev', 'prod']);
  }, 90_000);

  it('answers --json with the API data, and no progress in it', async () => {
    const deployments = await json(['deployments', 'dev']);
    expect(deployments.map((d: any) => [d.release, d.action, d.status])).toEqual([
      ['1.0.0', 'rollback', 'succeeded'],
      ['1.1.0', 'deploy', 'succeeded'],
      ['1.0.0', 'deploy', 'succeeded'],
    ]);
    expect(deployments[2].tagged).toBe(true);
    expect((await json(['envs', 'show', 'prod'])).running.release).toBe('1.0.0');
    expect((await json(['releases'])).map((x: any) => x.version)).toEqual(['1.1.0', '1.0.0']);
    const config = await json(['config', 'prod', 'hello']);
    expect(config.variables).toEqual({ GREETING: 'hello from prod', API_KEY: { secret: true, updatedAt: expect.any(String) } });
    expect(JSON.stringify(config)).not.toContain('not-a-real-key');

    const call = await json(['call', 'prod', 'hello', '/json-check']);
    expect(call).toMatchObject({ status: 200, body: { greeting: 'hello from prod', release: '1.0.0' } });
    expect(call.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // The console line reaches the index within a moment (it is written in batches every 100 ms).
    let request: any;
    for (let i = 0; i < 20 && !request?.consoleLines.length; i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      request = await json(['logs', 'prod', '--request', call.requestId]);
    }
    expect(request.access).toMatchObject({ status: 200, path: '/hello/json-check', block: 'hello', release: '1.0.0' });
    expect(request.consoleLines.map((l: any) => l.log)).toEqual([
      { kinto_request_id: call.requestId, message: 'hello called', path: '/json-check' },
    ]);

    // Tag & Deploy with --json: the record alone on stdout; the summary and steps on stderr.
    const r = await kinto(['deploy', 'prod', '--tag', '1.2.0', '--yes', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ release: '1.2.0', status: 'succeeded', tagged: true });
    expect(r.stderr).toMatch(/prod: 1\.0\.0 -> 1\.2\.0\n +~ hello +commit/);
  }, 60_000);

  it('fails with one line on stderr and exit code 1: a bad token, an unknown project, a failed build', async () => {
    const errorLines = (r: Run) => r.stderr.split('\n').filter((l) => l.startsWith('kinto: '));

    const badToken = await kinto(['projects'], { KINTO_TOKEN: 'not-the-admin-token' });
    expect(badToken).toMatchObject({ status: 1, stdout: '' });
    expect(badToken.stderr).toMatch(/^kinto: UNAUTHORIZED: [^\n]+\n$/);

    const unknownProject = await kinto(['--project', 'nope', 'blocks', '--json']);
    expect(unknownProject).toMatchObject({ status: 1, stdout: '' });
    expect(unknownProject.stderr).toMatch(/^kinto: PROJECT_NOT_FOUND: [^\n]*"nope"[^\n]*\n$/);

    const add = await kinto([
      'blocks',
      'add',
      'broken',
      '--type',
      'microservice',
      '--repo',
      join(scratch, 'hello'),
      '--build-command',
      'node missing.js',
      '--start-command',
      'node server.js',
    ]);
    expect(add.status).toBe(0);
    const build = await kinto(['build', 'broken', '--follow']);
    expect(build.status).toBe(1);
    expect(build.stdout).toContain('Cannot find module'); // the build's log
    expect(errorLines(build)).toEqual([
      expect.stringMatching(/^kinto: BUILD_FAILED: build \S+ of broken failed: the build command "node missing.js" exited with code 1$/),
    ]);

    // Asking without a terminal to ask on: refused, nothing deployed.
    const unconfirmed = await kinto(['deploy', 'prod', '--release', '1.1.0']);
    expect(unconfirmed.status).toBe(1);
    expect(errorLines(unconfirmed)).toEqual([expect.stringMatching(/^kinto: CONFIRMATION_REQUIRED: /)]);
    expect((await json(['envs', 'show', 'prod'])).running.release).toBe('1.2.0');

    const typo = await kinto(['depoly', 'prod']);
    expect(typo).toMatchObject({ status: 1, stderr: 'kinto: UNKNOWN_COMMAND: there is no command "depoly" (kinto --help lists them)\n' });
  }, 60_000);
});
