import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTestPlatform, type TestPlatform } from './support/platform';

/** The README's walkthrough, run as written (its two `export` lines replaced by this platform's). */
function walkthroughScript(): string {
  const readme = readFileSync(join(__dirname, '../README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('<!-- walkthrough:start -->'), readme.indexOf('<!-- walkthrough:end -->'));
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  expect(blocks.length).toBeGreaterThan(5);
  return blocks.join('\n').replace(/^export (KINTO|ADMIN)=.*$/gm, '');
}

describe('README walkthrough', () => {
  let kinto: TestPlatform;
  beforeAll(async () => {
    kinto = await startTestPlatform();
  });
  afterAll(() => kinto.stop());

  it('works as written, with curl, against the real platform', async () => {
    const script = `set -euo pipefail\nexport KINTO=${kinto.url} ADMIN=${kinto.adminToken}\n${walkthroughScript()}`;
    // Asynchronously: the platform answering the script runs in this very process.
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    const out = run.stdout + run.stderr;
    expect({ status: run.status, out: run.status === 0 ? 'ok' : out }).toEqual({ status: 0, out: 'ok' });
    expect(out).not.toMatch(/"error":\{/);
    expect(out).toMatch(/HTTP\/1\.1 200 OK[\s\S]*kinto-request-id: [0-9a-f-]{36}[\s\S]*"greeting":"hi from dev","release":"1.0.0"/i);
    expect(out).toContain('"greeting":"v2: hi from dev","release":"1.1.0"');
    expect(out).toMatch(/"release":"1.0.0","action":"rollback"/);
    expect(out).toMatch(/"action":"promote","promotedFrom":"dev"/);
    expect(out).toMatch(/"status":"shut-down"/);
  }, 120_000);
});
