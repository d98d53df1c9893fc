import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';

/** A build step that writes terminal escape sequences and other control characters to its log. */
const NOISY_BUILD = `
process.stdout.write('\\x1b[31mred text\\x1b[0m\\n');
process.stdout.write('\\x1b]0;pwned title\\x07title set\\n');
process.stdout.write('\\x1b]8;;https://evil.example\\x1b\\\\a link\\x1b]8;;\\x1b\\\\\\n');
process.stdout.write('\\x1b[2J\\x1b[Hcleared\\tscreen\\n');
process.stdout.write('bell\\x07 back\\x08space nul\\x00 csi\\u009b31m c1\\n');
process.stdout.write('progress 1%\\rprogress 100%\\r\\n');
`;

describe('Control API: values that would hurt later are refused or cleaned when they come in', () => {
  let kinto: TestPlatform;
  let repo: string;

  beforeAll(async () => {
    kinto = await startTestPlatform();
    repo = createGitRepo({
      'server.js': 'require("http").createServer((q, s) => s.end("ok")).listen(process.env.PORT);\n',
      'build.js': NOISY_BUILD,
    });
    expect((await kinto.api('POST', '/v1/projects', { name: 'safe' })).status).toBe(201);
    expect(
      (
        await kinto.api('POST', '/v1/projects/safe/blocks', {
          name: 'api',
          type: 'microservice',
          source: { repo },
          build: { buildCommand: 'node build.js', startCommand: 'node server.js' },
        })
      ).status,
    ).toBe(201);
    expect((await kinto.api('POST', '/v1/projects/safe/environments', { name: 'dev' })).status).toBe(201);
  }, 60_000);
  afterAll(() => kinto.stop());

  describe('Feature: variable values with a NUL character', () => {
    const CONFIG = '/v1/projects/safe/environments/dev/blocks/api/config';

    it('refuses one in an environment variable with a 400 that names the variable and the fix, and keeps the config as it was', async () => {
      expect((await kinto.api('PUT', CONFIG, { variables: { GREETING: 'hello' } })).status).toBe(200);
      const res = await kinto.api('PUT', CONFIG, { variables: { GREETING: 'hel\u0000lo' } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.message).toMatch(/variables\.GREETING: must not contain a NUL character/);
      expect((await kinto.api('GET', CONFIG)).body.data.variables).toEqual({ GREETING: 'hello' });
    });

    it.each([
      ['a variable default', { variables: { GREETING: { default: 'a\u0000b' } } }, /variables\.GREETING\.default: must not contain a NUL/],
      [
        'a build argument',
        { build: { startCommand: 'node server.js', buildArgs: { TOKEN: '\u0000' } } },
        /build\.buildArgs\.TOKEN: must not contain a NUL/,
      ],
    ])('refuses one in %s', async (_what, patch, message) => {
      const res = await kinto.api('PATCH', '/v1/projects/safe/blocks/api', patch);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(message);
    });
  });

  describe('Feature: repo URLs with credentials', () => {
    it.each([
      'https://ann:s3cr3t-pass@git.example.com/team/app.git',
      'https://ghp_s3cr3tTokenValue@github.com/team/app.git',
      'ssh://git:s3cr3t-pass@git.example.com/team/app.git',
      'ann:s3cr3t-pass@git.example.com:team/app.git',
    ])('refuses %s with a 400 that says how to give git credentials, and stores nothing', async (url) => {
      const res = await kinto.api('POST', '/v1/projects/safe/blocks', {
        name: 'private',
        type: 'microservice',
        source: { repo: url },
        build: { startCommand: 'node server.js' },
      });
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/source\.repo: must not carry a password or token/);
      expect(res.body.error.message).toMatch(/SSH URL .* deploy key/);
      expect(res.body.error.message).toMatch(/credential helper/);
      expect(JSON.stringify(res.body)).not.toContain('s3cr3t');
      expect((await kinto.api('GET', '/v1/projects/safe/blocks/private')).status).toBe(404);
      const patched = await kinto.api('PATCH', '/v1/projects/safe/blocks/api', { source: { repo: url } });
      expect(patched.status).toBe(400);
      expect(JSON.stringify((await kinto.api('GET', '/v1/projects/safe/blocks/api')).body)).not.toContain('s3cr3t');
    });

    it('still takes URLs that name only a user (SSH) or none', async () => {
      for (const url of ['git@github.com:team/app.git', 'ssh://git@git.example.com/team/app.git', 'https://github.com/team/app.git']) {
        const res = await kinto.api('PATCH', '/v1/projects/safe/blocks/api', { source: { repo: url } });
        expect(res.status).toBe(200);
      }
      expect((await kinto.api('PATCH', '/v1/projects/safe/blocks/api', { source: { repo } })).status).toBe(200);
    });
  });

  describe('Feature: build logs without terminal control sequences', () => {
    it('returns the build output as text, without escape sequences or control characters other than tabs and line ends', async () => {
      const build = await kinto.buildBlock('safe', 'api');
      const res = await fetch(`${kinto.url}/v1/projects/safe/blocks/api/builds/${build.id}/log`, {
        headers: { authorization: `Bearer ${kinto.adminToken}` },
      });
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).toContain('red text\n');
      expect(text).toContain('title set\n');
      expect(text).toContain('a link\n');
      expect(text).toContain('cleared\tscreen\n');
      expect(text).toContain('bell backspace nul csi c1\n');
      expect(text).toContain('progress 1%\nprogress 100%\n');
      expect(text).not.toContain('pwned');
      expect(text).not.toContain('evil.example');
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/);
    }, 60_000);
  });
});
