import { join } from 'node:path';
import type { ControlPlaneApi, DataPlaneApi } from './data-plane-api';
import type { CoreContext } from '../../core/context';
import { loadEnvironmentState } from '../../core/deployments/environment-state';
import type { Environment } from '../../core/model';
import type { LogFeedStats } from '../../adapters/local/logs/log-feed';
import type { DeploymentPlan, PlannedBlock } from '../../ports/runtime';
import type { AuthorizeAnswerer } from '../gateway/authorize-route';
import type { DataPlaneData } from './data-plane-worker';
import { platformBaseUrl } from '../settings';
import { ThreadRpc } from './thread-rpc';
import { startTsWorker } from './ts-worker';

export interface DataPlaneOptions extends DataPlaneData {
  /** The core's ports (built after the data plane starts: read on use). */
  readonly ctx: () => CoreContext;
  /** Answers `POST <gateway URL>/authorize`. */
  readonly authorize: AuthorizeAnswerer;
}

/** The data plane (data-plane-worker.ts) as the control plane holds it. */
export interface DataPlane {
  /** The serving side of the core's Runtime port: deploys, rollbacks and shut-downs reach the gateways through it. */
  readonly blocks: {
    prepare(block: PlannedBlock): Promise<void>;
    activate(plan: DeploymentPlan): Promise<void>;
    stop(envId: string): Promise<void>;
    /** A plan's custom services' addresses (block name -> port), for its jobs. */
    servicePorts(plan: DeploymentPlan): Promise<Record<string, number>>;
    gatewayUrl(env: Environment): string;
  };
  /** Starts serving the platform's port; other than gateway requests go to `controlPort`. Returns the port. */
  open(controlPort: number): Promise<number>;
  /** For the core: a client was rotated or revoked; resolves once the gateways forgot its tokens. */
  onClientChange(envId: string, clientId: string): Promise<void>;
  /** Indexes every access entry and block line the data plane has produced so far. */
  flushLogs(): Promise<void>;
  logStats(): Promise<LogFeedStats | undefined>;
  close(): Promise<void>;
}

/** Starts the data plane's thread. */
export async function startDataPlane(options: DataPlaneOptions): Promise<DataPlane> {
  const { ctx, authorize, logPort, ...rest } = options;
  const data: DataPlaneData = { ...rest, ...(logPort ? { logPort } : {}) };
  const worker = startTsWorker(join(__dirname, 'data-plane-worker.ts'), { workerData: data, transferList: logPort ? [logPort] : [] });
  let baseUrl = '';
  let closing: Promise<void> | undefined;

  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const rpc = new ThreadRpc<ControlPlaneApi, DataPlaneApi>(worker, {
    ready: () => ready(),
    load: (envId) => loadEnvironmentState(ctx(), envId),
    clientStatus: async (envId, clientId) => {
      const client = await ctx().store.clients.get({ envId, clientId });
      return client && { generation: client.generation };
    },
    authorize,
  });
  await new Promise<void>((resolve, reject) => {
    void started.then(resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the data plane stopped while starting (code ${code})`)));
  });
  const stopped = (e: Error) => {
    rpc.fail(e);
    if (!closing)
      console.error(
        JSON.stringify({ level: 'error', message: 'the data plane stopped: gateways no longer answer; restart Kinto', error: e.message }),
      );
  };
  worker.on('error', stopped);
  worker.on('exit', (code) => stopped(new Error(`the data plane's thread exited (code ${code})`)));

  const blocks: DataPlane['blocks'] = {
    prepare: (block) => rpc.call('prepare', block),
    activate: (plan) => rpc.call('activate', plan),
    stop: (envId) => rpc.call('stop', envId),
    servicePorts: (plan) => rpc.call('servicePorts', plan),
    gatewayUrl: (env) => `${baseUrl}/gw/${env.id}`,
  };
  return {
    blocks,
    open: async (controlPort) => {
      const port = await rpc.call('open', controlPort);
      baseUrl = platformBaseUrl(options.host, port);
      return port;
    },
    onClientChange: async (envId, clientId) => {
      await rpc.call('forgetClient', envId, clientId);
    },
    flushLogs: async () => {
      await rpc.call('flushLogs');
    },
    logStats: async () => (await rpc.call('logStats')) ?? undefined,
    close: () =>
      (closing ??= (async () => {
        try {
          await rpc
            .call('close')
            .catch((e: Error) =>
              console.error(JSON.stringify({ level: 'error', message: 'the data plane did not stop cleanly', error: e.message })),
            );
        } finally {
          await worker.terminate();
        }
      })()),
  };
}
