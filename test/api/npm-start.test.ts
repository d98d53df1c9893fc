import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createGitRepo } from '../support/git-repo';
import { waitFor } from '../support/wait';

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
  output: () => string;
}

/** Runs `npm start` as a new user would, and reads the URL and admin token it prints. */
function npmStart(env: Record<string, string>, options: { detached?: boolean } = {}): Promise<Started> {
  const child = spawn('npm', ['start', '--silent'], {
    cwd: join(__dirname, '../..'),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL within 30 s:\n${out}`)), 30_000);
    const check = () => {
      const url = /Kinto is running at (http:\/\/\S+)/.exec(out)?.[1];
      const token = /admin token: (\S+)/.exec(out)?.[1];
      if (url && token) {
        clearTimeout(timer);
        resolve({ child, url, token, output: () => out });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

describe('npm start (the local platform as a process)', () => {
  const home = mkdtempSync(join(tmpdir(), 'kinto-npm-start-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('prints URL and token, keeps data and token across a restart, and stops cleanly on SIGTERM and SIGINT', async () => {
    const first = await npmStart({ KINTO_HOME: home, KINTO_PORT: '0' });
    try {
      expect(first.url).toMatch(/^http:\/\/localhost:\d+$/);
      expect(first.output()).toContain(`${home}`);
      expect(statSync(join(home, 'admin-token')).mode & 0o777).toBe(0o600);
      const created = await fetch(`${first.url}/v1/projects`, {
        method: 'POST',
        headers: { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'kept' }),
      });
      expect(created.status).toBe(201);
    } finally {
      first.child.kill('SIGTERM');
    }
    expect(await exited(first.child)).toBe(0);
    expect(first.output()).toContain('Kinto stopped.');

    const second = await npmStart({ KINTO_HOME: home, KINTO_PORT: '0' });
    try {
      expect(second.token).toBe(first.token);
      const list = await fetch(`${second.url}/v1/projects`, { headers: { authorization: `Bearer ${second.token}` } });
      expect(((await list.json()) as any).data.map((p: { name: string }) => p.name)).toEqual(['kept']);
    } finally {
      second.child.kill('SIGINT');
    }
    expect(await exited(second.child)).toBe(0);
  }, 90_000);

  it('Ctrl-C (SIGINT to npm and node at once) stops the blocks gracefully before the platform exits', async () => {
    // Each block that gets SIGTERM tells this server, as a database flushing its data would finish.
    const told: string[] = [];
    const recorder = createServer((req, res) => {
      told.push(req.url ?? '');
      res.end();
    });
    await new Promise<void>((r) => recorder.listen(0, '127.0.0.1', () => r()));
    const recorderUrl = `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`;
    const repo = createGitRepo({
      'server.js': `
        require('http').createServer((req, res) => res.end('up')).listen(Number(process.env.PORT), '127.0.0.1');
        process.on('SIGTERM', () => fetch(process.env.RECORDER + '/sigterm').finally(() => process.exit(0)));`,
    });
    // Its own process group, as a terminal's foreground job: Ctrl-C signals npm and node alike.
    const started = await npmStart({ KINTO_HOME: mkdtempSync(join(tmpdir(), 'kinto-ctrl-c-')), KINTO_PORT: '0' }, { detached: true });
    try {
      const api = async (method: string, path: string, body?: unknown) =>
        (
          await fetch(`${started.url}${path}`, {
            method,
            headers: { authorization: `Bearer ${started.token}`, 'content-type': 'application/json' },
            body: body === undefined ? undefined : JSON.stringify(body),
          })
        ).json() as Promise<any>;
      await api('POST', '/v1/projects', { name: 'ctrlc' });
      await api('POST', '/v1/projects/ctrlc/blocks', {
        name: 'db',
        type: 'microservice',
        source: { repo },
        build: { startCommand: 'node server.js' },
        variables: { RECORDER: { default: recorderUrl } },
      });
      const env = (await api('POST', '/v1/projects/ctrlc/environments', { name: 'dev' })).data;
      await api('PUT', '/v1/projects/ctrlc/environments/dev/blocks/db/config', { visibility: 'public' });
      const build = (await api('POST', '/v1/projects/ctrlc/blocks/db/builds')).data;
      await waitFor(async () => (await api('GET', `/v1/projects/ctrlc/blocks/db/builds/${build.id}`)).data.status === 'succeeded', 30_000);
      await api('POST', '/v1/projects/ctrlc/releases', { version: '1.0.0' });
      const deploying = (await api('POST', '/v1/projects/ctrlc/environments/dev/deployments', { release: '1.0.0' })).data;
      await waitFor(
        async () => (await api('GET', `/v1/projects/ctrlc/environments/dev/deployments/${deploying.id}`)).data.status === 'succeeded',
        30_000,
      );
      expect(await (await fetch(`${env.gatewayUrl}/db/`)).text()).toBe('up');
      process.kill(-started.child.pid!, 'SIGINT');
      await exited(started.child);
      expect(started.output()).toContain('Kinto stopped.');
      expect(told).toEqual(['/sigterm']);
    } finally {
      if (started.child.exitCode === null) process.kill(-started.child.pid!, 'SIGKILL');
      recorder.close();
    }
  }, 90_000);

  it('uses KINTO_ADMIN_TOKEN when set', async () => {
    const started = await npmStart({
      KINTO_HOME: mkdtempSync(join(tmpdir(), 'kinto-token-')),
      KINTO_PORT: '0',
      KINTO_ADMIN_TOKEN: 'my-own-admin-token-123',
    });
    try {
      expect(started.token).toBe('my-own-admin-token-123');
      expect((await fetch(`${started.url}/v1/projects`, { headers: { authorization: 'Bearer my-own-admin-token-123' } })).status).toBe(200);
    } finally {
      started.child.kill('SIGTERM');
    }
    expect(await exited(started.child)).toBe(0);
  }, 60_000);
});
