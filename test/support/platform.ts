import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalPlatform, type LocalPlatform } from '../../lambdas/local/local-platform';
import type { LocalSettings } from '../../lambdas/local/settings';

export interface TestPlatform extends LocalPlatform {
  /** Calls the control API with the admin token; JSON in, parsed JSON out. */
  api(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** Waits for a build to end; returns it. */
  waitForBuild(project: string, block: string, buildId: string, timeoutMs?: number): Promise<any>;
  /** Builds a block, waits, and expects success. */
  buildBlock(project: string, block: string): Promise<any>;
  /**
   * Deploys (`POST .../deployments` with `body`, or `.../promote` when `body` has `from`), expects
   * 202, and waits for the deployment to end; returns it as the API shows it.
   */
  deploy(
    project: string,
    env: string,
    body: { release: string } | { tag: { version: string; notes?: string } } | { from: string },
  ): Promise<any>;
  /** Waits for a deployment to end (succeeded or failed); returns it. */
  waitForDeployment(project: string, env: string, id: string, timeoutMs?: number): Promise<any>;
  /** The gateway URL of an environment. */
  gatewayUrl(project: string, env: string): Promise<string>;
  /** Stops the platform and removes its home (unless `keepHome`). */
  stop(options?: { keepHome?: boolean }): Promise<void>;
}

/** The real local platform (dynalite, builder, runtime, gateway) on a free port, in a temp home. */
export async function startTestPlatform(settings: Partial<LocalSettings> = {}): Promise<TestPlatform> {
  const home = settings.home ?? mkdtempSync(join(tmpdir(), 'kinto-home-'));
  const platform = await startLocalPlatform({
    port: 0,
    host: '127.0.0.1',
    home,
    adminToken: 'test-admin-token-0123456789',
    idleTimeoutMs: 30_000,
    startTimeoutMs: 10_000,
    ...settings,
  });
  const api: TestPlatform['api'] = async (method, path, body, headers = {}) => {
    const res = await fetch(`${platform.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${platform.adminToken}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  const waitForBuild: TestPlatform['waitForBuild'] = async (project, block, buildId, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/v1/projects/${project}/blocks/${block}/builds/${buildId}`);
      if (body.data.status === 'succeeded' || body.data.status === 'failed') return body.data;
      if (Date.now() > deadline) throw new Error(`build ${buildId} still ${body.data.status}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const waitForDeployment: TestPlatform['waitForDeployment'] = async (project, env, id, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api('GET', `/v1/projects/${project}/environments/${env}/deployments/${id}`);
      if (body.data.status !== 'in-progress') return body.data;
      if (Date.now() > deadline) throw new Error(`deployment ${id} still in progress: ${JSON.stringify(body.data.steps)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  return {
    ...platform,
    api,
    waitForBuild,
    waitForDeployment,
    deploy: async (project, env, body) => {
      const path = 'from' in body ? 'promote' : 'deployments';
      const started = await api('POST', `/v1/projects/${project}/environments/${env}/${path}`, body);
      if (started.status !== 202) throw new Error(`deploy request failed (${started.status}): ${JSON.stringify(started.body)}`);
      return waitForDeployment(project, env, started.body.data.id);
    },
    buildBlock: async (project, block) => {
      const started = await api('POST', `/v1/projects/${project}/blocks/${block}/builds`);
      if (started.status !== 202) throw new Error(`build request failed: ${JSON.stringify(started.body)}`);
      const build = await waitForBuild(project, block, started.body.data.id);
      if (build.status !== 'succeeded') {
        const log = await api('GET', `/v1/projects/${project}/blocks/${block}/builds/${build.id}/log`);
        throw new Error(`build failed: ${build.error}\n${log.body}`);
      }
      return build;
    },
    gatewayUrl: async (project, env) => (await api('GET', `/v1/projects/${project}/environments/${env}`)).body.data.gatewayUrl,
    stop: async (options = {}) => {
      await platform.close();
      if (!options.keepHome && !settings.home) rmSync(home, { recursive: true, force: true });
    },
  };
}
