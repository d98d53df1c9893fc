import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '../../bin/kinto.js');

/**
 * A control API that cannot stream, as on AWS (a Lambda answers `?follow=true` with 400
 * FOLLOW_NOT_AVAILABLE): the CLI must poll instead, and still show every step.
 */
describe('kinto CLI: following a deployment where the API cannot stream', () => {
  let server: Server;
  let url: string;
  let home: string;
  const seen: string[] = [];
  let reads = 0;

  const step = (id: string, kind: string, block: string | null, status: string) => ({
    id,
    kind,
    block,
    status,
    startedAt: status === 'pending' ? null : '2026-01-01T00:00:00.000Z',
    endedAt: status === 'succeeded' ? '2026-01-01T00:00:00.100Z' : null,
    message: null,
    runId: null,
  });
  const record = () => {
    reads++;
    const done = reads >= 3;
    return {
      id: 'd1',
      release: '1.0.0',
      action: 'deploy',
      promotedFrom: null,
      tagged: false,
      status: done ? 'succeeded' : 'in-progress',
      error: null,
      failedStep: null,
      failedJobs: [],
      steps: [
        step('prepare:api', 'prepare', 'api', reads >= 2 ? 'succeeded' : 'running'),
        step('switch', 'switch', null, done ? 'succeeded' : 'pending'),
      ],
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: `2026-01-01T00:00:0${reads}.000Z`,
      finishedAt: done ? '2026-01-01T00:00:03.000Z' : null,
      config: {},
    };
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      res.setHeader('content-type', 'application/json');
      if (req.url?.includes('follow=true')) {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: { code: 'FOLLOW_NOT_AVAILABLE', message: 'poll instead' } }));
      } else if (req.url === '/v1/projects/shop/environments/prod/deployments/d1') {
        res.end(JSON.stringify({ data: record() }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no' } }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    home = mkdtempSync(join(tmpdir(), 'kinto-cli-home-'));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(home, { recursive: true, force: true });
  });

  it('polls until the deployment ends, showing each step on stderr and the record alone on stdout', async () => {
    // KINTO_URL and KINTO_TOKEN need no saved profile (CI).
    const env = { ...process.env, HOME: home, KINTO_URL: url, KINTO_TOKEN: 'ci-token', KINTO_PROJECT: 'shop' };
    const run = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'deployments', 'prod', 'd1', '--follow', '--json'], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: 'd1', status: 'succeeded' });
    expect(run.stderr).toMatch(/✔ prepare api \(100 ms\)\n(.*\n)*✔ switch traffic/);
    expect(seen).toContain('GET /v1/projects/shop/environments/prod/deployments/d1?follow=true Bearer ci-token');
    expect(seen.filter((s) => s.startsWith('GET /v1/projects/shop/environments/prod/deployments/d1 ')).length).toBeGreaterThanOrEqual(3);
  }, 20_000);
});
