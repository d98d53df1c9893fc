import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo';
import { startHitRecorder, type HitRecorder } from '../support/hit-recorder';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

const JOB = `fetch(process.env.RECORDER + '/ticks', { method: 'POST', body: new Date().toISOString() }).then(() => console.log('tick'));`;

/**
 * Cron jobs on the local platform: armed when the platform starts for every environment that runs
 * a release, so they run after a restart without any request reaching the environment.
 */
describe('Cron jobs', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-cron-'));
  let kinto: TestPlatform | undefined;
  let recorder: HitRecorder;
  const E = '/v1/projects/tick/environments/dev';

  beforeAll(async () => {
    recorder = await startHitRecorder();
  });
  afterAll(async () => {
    await kinto?.stop();
    await recorder.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses a schedule that is not a 5-field cron expression, saying what is wrong', async () => {
    kinto = await startTestPlatform({ home });
    await kinto.api('POST', '/v1/projects', { name: 'tick' });
    const bad = await kinto.api('POST', '/v1/projects/tick/blocks', {
      name: 'nightly',
      type: 'job',
      kind: 'cron',
      schedule: '61 * * * *',
      source: { repo: '/tmp/none' },
      build: { startCommand: 'node job.js' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/schedule/);
  });

  it('shows the next runs, and runs on schedule after a restart with no request at all', async () => {
    const repo = createGitRepo({ 'job.js': JOB });
    await kinto!.api('POST', '/v1/projects/tick/blocks', {
      name: 'ticker',
      type: 'job',
      kind: 'cron',
      schedule: '* * * * *',
      source: { repo },
      build: { startCommand: 'node job.js' },
      variables: { RECORDER: { default: recorder.url } },
    });
    await kinto!.api('POST', '/v1/projects/tick/environments', { name: 'dev' });
    await kinto!.buildBlock('tick', 'ticker');
    expect((await kinto!.deploy('tick', 'dev', { tag: { version: '1.0.0' } })).status).toBe('succeeded');
    const [ticker] = (await kinto!.api('GET', `${E}/jobs`)).body.data;
    expect(ticker).toMatchObject({ name: 'ticker', kind: 'cron', schedule: '* * * * *' });
    expect(ticker.nextRuns).toHaveLength(5);
    expect(Date.parse(ticker.nextRuns[1]) - Date.parse(ticker.nextRuns[0])).toBe(60_000);

    await kinto!.stop({ keepHome: true });
    // Start again early in a minute, so the next tick comes after the platform is up.
    const intoMinute = Date.now() % 60_000;
    if (intoMinute > 45_000) await new Promise((r) => setTimeout(r, 61_000 - intoMinute));
    const restartedAt = Date.now();
    kinto = await startTestPlatform({ home });
    const run = await waitFor(
      async () =>
        ((await kinto!.api('GET', `${E}/blocks/ticker/runs`)).body.data as any[]).find(
          (r) => r.trigger === 'cron' && Date.parse(r.startedAt) > restartedAt,
        ),
      75_000,
      500,
      'a cron run after the restart',
    );
    const done = await waitFor(async () => {
      const r = (await kinto!.api('GET', `${E}/blocks/ticker/runs/${run.id}`)).body.data;
      return r.status !== 'running' && r;
    });
    expect(done).toMatchObject({ trigger: 'cron', status: 'succeeded', release: '1.0.0' });
    expect(recorder.lines('ticks').length).toBeGreaterThan(0);
  }, 150_000);
});
