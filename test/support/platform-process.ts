import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from './wait';

const ROOT = join(__dirname, '../..');
const TOKEN = 'process-test-admin-token-0123';

/** The platform as a process of its own (`kinto dev`), so that a test can kill it with SIGKILL. */
export interface PlatformProcess {
  readonly child: ChildProcess;
  readonly url: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Waits for a build of `block` to end; returns it. */
  build(project: string, block: string): Promise<any>;
  /** Starts a deployment and waits for its end; returns it. */
  deploy(project: string, env: string, body: unknown): Promise<any>;
  /** SIGKILL, then waits for the process to be gone. */
  killHard(): Promise<void>;
  /** SIGTERM (what Ctrl-C does), then waits; SIGKILL after 15 s. */
  stop(): Promise<void>;
}

export async function startPlatformProcess(home: string): Promise<PlatformProcess> {
  const child = spawn(process.execPath, ['-r', 'esbuild-register', 'bin/kinto.ts', 'dev'], {
    cwd: ROOT,
    env: { ...process.env, KINTO_HOME: home, KINTO_PORT: '0', KINTO_ADMIN_TOKEN: TOKEN },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = (await waitFor(() => /Kinto is running at (\S+)/.exec(out)?.[1], 30_000, 25, `the platform to start (${out})`)) as string;
  const api: PlatformProcess['api'] = async (method, path, body) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    url,
    api,
    build: async (project, block) => {
      const id = (await api('POST', `/v1/projects/${project}/blocks/${block}/builds`)).body.data.id;
      return waitFor(async () => {
        const b = (await api('GET', `/v1/projects/${project}/blocks/${block}/builds/${id}`)).body.data;
        return b.status === 'succeeded' || b.status === 'failed' ? b : undefined;
      }, 30_000);
    },
    deploy: async (project, env, body) => {
      const started = await api('POST', `/v1/projects/${project}/environments/${env}/deployments`, body);
      if (started.status !== 202) throw new Error(`deploy request failed (${started.status}): ${JSON.stringify(started.body)}`);
      return waitFor(async () => {
        const d = (await api('GET', `/v1/projects/${project}/environments/${env}/deployments/${started.body.data.id}`)).body.data;
        return d.status !== 'in-progress' && d;
      }, 30_000);
    },
    killHard: async () => {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (!running()) return;
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(force);
    },
  };
}
