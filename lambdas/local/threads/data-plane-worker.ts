import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { derivedKeys } from '../../core/auth/platform-keys';
import { authorizeRoute } from '../gateway/authorize-route';
import type { ControlPlaneApi, DataPlaneApi } from './data-plane-api';
import { createGateway } from '../gateway/gateway';
import { createGatewayGuard, readTokenSettings } from '../gateway/gateway-guard';
import { createUpgradeHandler } from '../gateway/gateway-upgrade';
import { loadOrCreatePlatformKey } from '../platform-key-file';
import { LocalRuntime } from '../../adapters/local/runtime/local-runtime';
import { connectLogFeed } from './log-worker-client';
import type { LogFeed } from '../../adapters/local/logs/log-feed';
import { PortGuard } from '../../adapters/local/runtime/port-guard';
import { ProcessTracker } from '../../adapters/local/runtime/process-tracker';
import { Sandbox, SANDBOX_UIDS, type SandboxConfig } from '../../adapters/local/runtime/sandbox';
import { ServiceDataFolders } from '../../adapters/local/runtime/service-data';
import { createPublicServer, forwardToControl } from '../servers/public-server';
import { platformBaseUrl, serviceDataRoot } from '../settings';
import { ThreadRpc } from './thread-rpc';

/**
 * The data plane: the platform's public port, every environment's gateway and the block processes
 * behind them, on a thread of their own, apart from the control plane (API, store, builds), as API
 * Gateway and Lambda are apart from the control plane on AWS: requests never wait for the control
 * plane's work, and the gateway runs in an isolate of its own. It asks the control plane
 * (`ControlPlaneApi`) only for what the store knows: an environment's deployment, a client's
 * status, the answer to `POST /authorize`.
 */

export interface DataPlaneData {
  readonly host: string;
  /** `KINTO_PORT` (0: a free one). */
  readonly port: number;
  readonly home: string;
  readonly idleTimeoutMs: number;
  readonly startTimeoutMs: number;
  /** How block and job processes are isolated (detectSandbox). */
  readonly sandbox: SandboxConfig;
  /** The admin token: the public server checks it before it reads a control API request's body. */
  readonly adminToken: string;
  /** Where access entries and block output go to be indexed (`LogWorker.attach`); absent with logs off. */
  readonly logPort?: MessagePort;
}

async function main(): Promise<void> {
  const data = workerData as DataPlaneData;
  const feed: LogFeed | undefined = data.logPort ? await connectLogFeed(data.logPort) : undefined;
  const keys = await derivedKeys(loadOrCreatePlatformKey(data.home));
  let baseUrl = '';
  let server: Server | undefined;
  let control: ReturnType<typeof forwardToControl> | undefined;

  const rpc: ThreadRpc<DataPlaneApi, ControlPlaneApi> = new ThreadRpc<DataPlaneApi, ControlPlaneApi>(parentPort!, {
    /** Starts serving the platform's port; requests for the control plane go to `controlPort`. */
    open: async (controlPort: number): Promise<number> => {
      control = forwardToControl(controlPort, { adminToken: data.adminToken });
      server = createPublicServer({ gateway: gateway.handle, control: control.forward, upgrade: upgrade.handle });
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.listen(data.port, data.host, () => resolve());
      });
      const { port } = server.address() as AddressInfo;
      baseUrl = platformBaseUrl(data.host, port);
      return port;
    },
    prepare: (block) => runtime.prepare(block),
    activate: (plan) => runtime.activate(plan),
    stop: (envId) => runtime.stop(envId),
    servicePorts: (plan) => runtime.servicePorts(plan),
    forgetClient: (envId, clientId) => guard.forgetClient(envId, clientId),
    flushLogs: () => feed?.flush(),
    logStats: () => feed?.stats(),
    close: async () => {
      await new Promise<void>((resolve) => {
        if (!server) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
        upgrade.close();
      });
      gateway.close();
      await control?.close();
      await runtime.close();
      sandbox.closePorts();
      await feed?.close();
    },
  });

  const guard = createGatewayGuard({
    keys,
    tokens: readTokenSettings(),
    clientStatus: (envId, clientId) => rpc.call('clientStatus', envId, clientId),
  });
  const sandbox = new Sandbox(data.sandbox, PortGuard.start(data.sandbox.nft, SANDBOX_UIDS));
  const runtime: LocalRuntime = new LocalRuntime({
    sandbox,
    baseUrl: () => baseUrl,
    load: (envId) => rpc.call('load', envId),
    idleTimeoutMs: data.idleTimeoutMs,
    startTimeoutMs: data.startTimeoutMs,
    tracker: new ProcessTracker(join(data.home, 'run')),
    data: new ServiceDataFolders(serviceDataRoot(data.home)),
    internalUrl: guard.internalUrl,
    onBlockLine: feed?.line,
    onBlockEvent: feed?.event,
  });
  const gateway = createGateway({
    runtime,
    guard: guard.guard,
    routes: authorizeRoute((envId, body, requestId) => rpc.call('authorize', envId, body, requestId)),
    internalKey: guard.internalKey,
    onAccess: feed?.access,
  });
  const upgrade = createUpgradeHandler({ runtime, guard: guard.guard, internalKey: guard.internalKey, onAccess: feed?.access });
  await rpc.call('ready');
}

void main().catch((e) => {
  console.error(JSON.stringify({ level: 'error', message: 'the data plane could not start', error: String((e as Error)?.stack ?? e) }));
  process.exit(1);
});
