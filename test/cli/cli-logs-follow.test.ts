import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo';
import { startTestPlatform, type TestPlatform } from '../support/platform';
import { waitFor } from '../support/wait';

const BIN = join(__dirname, '../../bin/kinto.js');
const SERVER = `require('http').createServer((req, res) => res.end('ok ' + req.url)).listen(Number(process.env.PORT), '127.0.0.1');\n`;

describe('kinto logs --follow (polling the requests list)', () => {
  let platform: TestPlatform;
  let gw: string;
  let follower: ChildProcessWithoutNullStreams | undefined;
  /** What the follower printed: one JSON request per line. */
  let printed = '';
  const paths = () =>
    printed
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { path: string }).path);

  beforeAll(async () => {
    platform = await startTestPlatform();
    const repo = createGitRepo({ 'server.js': SERVER });
    await platform.api('POST', '/v1/projects', { name: 'tail' });
    await platform.api('POST', '/v1/projects/tail/blocks', {
      name: 'api',
      type: 'microservice',
      source: { repo },
      build: { startCommand: 'node server.js' },
    });
    await platform.api('POST', '/v1/projects/tail/environments', { name: 'dev' });
    await platform.api('PUT', '/v1/projects/tail/environments/dev/blocks/api/config', { visibility: 'public' });
    await platform.buildBlock('tail', 'api');
    const d = await platform.deploy('tail', 'dev', { tag: { version: '1.0.0' } });
    expect(d.status).toBe('succeeded');
    gw = await platform.gatewayUrl('tail', 'dev');
  }, 60_000);
  afterAll(async () => {
    follower?.kill();
    await platform.stop();
  });

  it('prints each new request once, in order, as JSON lines', async () => {
    await (await fetch(`${gw}/api/before`)).text();
    await platform.logFeed!.flush();
    follower = spawn(process.execPath, [BIN, 'logs', 'dev', '--follow', '--json'], {
      env: {
        PATH: process.env.PATH,
        HOME: platform.home,
        KINTO_URL: platform.url,
        KINTO_TOKEN: platform.adminToken,
        KINTO_PROJECT: 'tail',
      },
    });
    follower.stdout.setEncoding('utf8').on('data', (t: string) => (printed += t));
    await waitFor(() => paths().includes('/api/before'), 10_000, 50, 'the request made before following');

    // Across several polls (one a second): each new request appears once, none twice.
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) await (await fetch(`${gw}/api/r${round}-${i}`)).text();
      await platform.logFeed!.flush();
      await waitFor(() => paths().includes(`/api/r${round}-4`), 10_000, 50, `round ${round}`);
    }
    await new Promise((r) => setTimeout(r, 1200)); // one more poll, which must add nothing
    expect(paths()).toEqual(['/api/before', ...[0, 1, 2].flatMap((round) => [0, 1, 2, 3, 4].map((i) => `/api/r${round}-${i}`))]);
  }, 30_000);

  it('shows every one of 250 requests made between two polls (more than a page), once each', async () => {
    const shown = () => paths().filter((p) => p.startsWith('/api/burst-'));
    // Stopped, the follower polls nothing: all 250 are new at its next poll.
    follower!.kill('SIGSTOP');
    try {
      for (let batch = 0; batch < 10; batch++)
        await Promise.all(Array.from({ length: 25 }, (_, i) => fetch(`${gw}/api/burst-${batch * 25 + i}`).then((r) => r.text())));
      await platform.logFeed!.flush();
    } finally {
      follower!.kill('SIGCONT');
    }
    await waitFor(() => shown().length >= 250, 15_000, 50, 'the 250 requests shown');
    await new Promise((r) => setTimeout(r, 1200)); // one more poll, which must add nothing
    expect(shown()).toHaveLength(250);
    expect(new Set(shown()).size).toBe(250);
    // Oldest first, in the order the index keeps them.
    const listed = (await platform.api('GET', '/v1/projects/tail/environments/dev/requests?limit=250')).body.data as { path: string }[];
    expect(shown()).toEqual(listed.map((r) => r.path).reverse());
  }, 45_000);
});
