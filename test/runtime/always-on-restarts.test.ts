import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

const P = '/v1/projects/ao';

describe('An always-on custom service that cannot start (local platform)', () => {
  let kinto: TestPlatform;
  afterAll(() => kinto?.stop());

  it('is tried again by itself, 1 s, then 2 s, ... later, and each failure is in its instance log', async () => {
    kinto = await startTestPlatform();
    const repo = createGitRepo({ 'README.md': 'a service whose process exits at once\n' });
    await kinto.api('POST', '/v1/projects', { name: 'ao' });
    await kinto.api('POST', `${P}/blocks`, { name: 'flaky', type: 'custom-service', source: { repo }, build: { startCommand: 'false' } });
    await kinto.api('POST', `${P}/environments`, { name: 'dev' });
    expect((await kinto.api('PUT', `${P}/environments/dev/blocks/flaky/config`, { alwaysOn: true })).status).toBe(200);
    await kinto.buildBlock('ao', 'flaky');
    expect(await kinto.deploy('ao', 'dev', { tag: { version: '1.0.0' } })).toMatchObject({ status: 'succeeded' });

    const lines = async () => {
      await kinto.logFeed!.flush();
      return (await kinto.api('GET', `${P}/environments/dev/blocks/flaky/logs?limit=1000`)).body.data.map(
        (l: { text: string }) => l.text,
      ) as string[];
    };
    await waitFor(async () => (await lines()).includes('kinto: always on: starting it again in 2 s'), 10_000, 100, 'the second restart');
    const seen = (await lines()).reverse();
    const failures = seen.filter((l) => /^kinto: custom service "flaky" .* exited with code 1 before it opened port/.test(l));
    expect(failures.length).toBeGreaterThanOrEqual(2);
    expect(seen.filter((l) => l.startsWith('kinto: always on:')).slice(0, 2)).toEqual([
      'kinto: always on: starting it again in 1 s',
      'kinto: always on: starting it again in 2 s',
    ]);
  }, 40_000);
});
