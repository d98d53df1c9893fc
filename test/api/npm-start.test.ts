import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Started {
  child: ChildProcess;
  url: string;
  token: string;
  output: () => string;
}

/** Runs `npm start` as a new user would, and reads the URL and admin token it prints. */
function npmStart(env: Record<string, string>): Promise<Started> {
  const child = spawn('npm', ['start', '--silent'], { cwd: join(__dirname, '../..'), env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
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
    child.stdout!.on('data', check);
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
      expect(((await list.json() as any) as any).data.map((p: { name: string }) => p.name)).toEqual(['kept']);
    } finally {
      second.child.kill('SIGINT');
    }
    expect(await exited(second.child)).toBe(0);
  }, 90_000);

  it('uses KINTO_ADMIN_TOKEN when set', async () => {
    const started = await npmStart({ KINTO_HOME: mkdtempSync(join(tmpdir(), 'kinto-token-')), KINTO_PORT: '0', KINTO_ADMIN_TOKEN: 'my-own-admin-token-123' });
    try {
      expect(started.token).toBe('my-own-admin-token-123');
      expect((await fetch(`${started.url}/v1/projects`, { headers: { authorization: 'Bearer my-own-admin-token-123' } })).status).toBe(200);
    } finally {
      started.child.kill('SIGTERM');
    }
    expect(await exited(started.child)).toBe(0);
  }, 60_000);
});
