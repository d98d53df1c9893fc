import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failInterruptedBuilds, recordBuildEvent } from '../core/builds';
import type { CoreContext } from '../core/context';
import { recoverInterruptedDeployments } from '../core/deployments/deploy-release';
import { LocalJobRunner } from '../adapters/local/runtime/job-runner';
import { LocalDeployer } from './local-deployer';
import { localBlockUrls, localRuntimePort } from './local-runtime-port';
import { listAll } from '../core/lookups';
import { createApiHandler } from '../handlers/api/create-api-handler';
import type { Runtime } from '../ports/runtime';
import { ensureStateTable } from '../adapters/dynamodb/create-state-table';
import { DynamoDbStore } from '../adapters/dynamodb/dynamodb-store';
import { randomIds, systemClock } from '../adapters/clock-and-ids';
import { loadOrCreateAdminToken } from './admin-token';
import { createAuthorizeAnswerer } from './gateway/authorize-route';
import { consolePage } from './console-page';
import { createControlServer } from './servers/control-server';
import { startDataPlane } from './threads/data-plane-client';
import { startDynalite } from './dynalite-server';
import { readTokenSettings } from './gateway/gateway-guard';
import { LocalBuilder } from '../adapters/local/builder/local-builder';
import { readLocalLogSettings } from '../adapters/local/logs/queued-log-feed';
import type { LogFeed } from '../adapters/local/logs/log-feed';
import { openLocalLogs } from './threads/start-log-index';
import { createDeploymentFollowHandler } from './servers/deployment-follow';
import { createLogFollowHandler } from './servers/log-follow';
import { loadOrCreatePlatformKey } from './platform-key-file';
import { ProcessTracker } from '../adapters/local/runtime/process-tracker';
import { detectSandbox, Sandbox, type SandboxConfig } from '../adapters/local/runtime/sandbox';
import { ServiceDataFolders } from '../adapters/local/runtime/service-data';
import { platformBaseUrl, serviceDataRoot, type LocalSettings } from './settings';

export const STATE_TABLE_NAME = 'kinto-state';

export interface LocalPlatform {
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly adminTokenSource: 'env' | 'file' | 'generated';
  readonly home: string;
  readonly ctx: CoreContext;
  /** The core's Runtime port: the data plane's blocks and gateways. */
  readonly runtime: Runtime;
  /** The log index's local feed (gateway access entries, block output); `flush()` indexes what is queued. Absent with KINTO_LOG_STORE=off. */
  readonly logFeed?: LogFeed;
  /** How builds, blocks and jobs are isolated from the platform. */
  readonly sandbox: SandboxConfig;
  close(): Promise<void>;
}

/**
 * Starts Kinto on this machine in two threads, as it runs on AWS in two planes. The control plane,
 * on this thread: dynalite (data under `home`), the core, the control API on a loopback port,
 * the builder, and the log index's worker. The data plane, on a worker thread (data-plane-worker.ts):
 * the platform's port, every environment's gateway and the block processes. Interrupted builds and
 * deployments from a previous run are settled before the port opens.
 */
export async function startLocalPlatform(settings: LocalSettings): Promise<LocalPlatform> {
  // KINTO_HOME is the platform's alone: 0700, and what it writes there 0600 (dynalite's files too).
  process.umask(0o077);
  mkdirSync(settings.home, { recursive: true, mode: 0o700 });
  chmodSync(settings.home, 0o700);
  const sandbox = await detectSandbox(settings.sandbox ?? 'auto', settings.home);
  const admin = loadOrCreateAdminToken(settings.home, settings.adminToken);
  const platformKeys = loadOrCreatePlatformKey(settings.home);
  // Processes a killed previous run left behind (blocks, builds, jobs) go first.
  const tracker = new ProcessTracker(join(settings.home, 'run'));
  tracker.killLeftovers();
  const dynamo = await startDynalite({ path: join(settings.home, 'dynamodb'), socketPath: stateSocketPath(settings.home) });
  await ensureStateTable(dynamo.client, STATE_TABLE_NAME);
  // Logs go to files + an in-memory index in a worker thread by default: see local-log-store.ts.
  const logs = await openLocalLogs(readLocalLogSettings(), settings.home, dynamo);

  // The data plane and the builder report back into the core, which holds them: tie the knot lazily.
  let ctx!: CoreContext;
  const dataPlane = await startDataPlane({
    host: settings.host,
    port: settings.port,
    home: settings.home,
    idleTimeoutMs: settings.idleTimeoutMs,
    startTimeoutMs: settings.startTimeoutMs,
    sandbox,
    adminToken: admin.token,
    logPort: logs.attach?.(),
    ctx: () => ctx,
    authorize: createAuthorizeAnswerer({ ctx: () => ctx, tokens: readTokenSettings() }),
  }).catch(async (e) => {
    await Promise.allSettled([logs.close(), dynamo.close()]);
    throw e;
  });
  const controlSandbox = new Sandbox(sandbox);
  const builder = new LocalBuilder({
    home: settings.home,
    tracker,
    sandbox: controlSandbox,
    report: (build, event) => recordBuildEvent(ctx, build, event),
  });
  const jobs = new LocalJobRunner({
    home: settings.home,
    sandbox: controlSandbox,
    tracker,
    urls: localBlockUrls(platformKeys, dataPlane),
    onLine: logs.feed?.line,
    onEvent: logs.feed?.event,
  });
  const local = localRuntimePort({ ctx: () => ctx, dataPlane, jobs, data: new ServiceDataFolders(serviceDataRoot(settings.home)) });
  const deployer = new LocalDeployer(() => ctx);
  ctx = {
    store: new DynamoDbStore({ client: dynamo.client, tableName: STATE_TABLE_NAME }),
    clock: systemClock,
    ids: randomIds,
    runtime: local.runtime,
    builder,
    deployer,
    keys: platformKeys,
    onClientChange: (envId, clientId) => dataPlane.onClientChange(envId, clientId),
  };

  const projects = await listAll(ctx.store.projects, {});
  const interrupted = await failInterruptedBuilds(ctx, projects, (p) => listAll(ctx.store.blocks, { projectId: p.id }));
  await builder.discard(interrupted.map((b) => b.id));
  await recoverInterruptedDeployments(ctx, projects);

  // The data plane's feed writes the index; flushing or counting it starts there.
  const logFeed: LogFeed | undefined = logs.feed && {
    access: logs.feed.access,
    line: logs.feed.line,
    event: logs.feed.event,
    subscribe: (envId, block, listener) => logs.feed!.subscribe(envId, block, listener),
    flush: async () => {
      await Promise.all([dataPlane.flushLogs(), logs.feed!.flush()]);
    },
    stats: async () => (await dataPlane.logStats()) ?? logs.feed!.stats(),
    close: () => logs.feed!.close(),
  };
  const api = createApiHandler({ context: ctx, adminToken: () => admin.token, logs: () => logs.store });
  const control = createControlServer({
    api,
    adminToken: () => admin.token,
    console: consolePage,
    streams: anyOf(
      createDeploymentFollowHandler({ ctx: () => ctx, adminToken: () => admin.token }),
      logs.store && logFeed && createLogFollowHandler({ ctx: () => ctx, logs: logs.store, feed: logFeed, adminToken: () => admin.token }),
    ),
  });
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(0, '127.0.0.1', () => resolve());
  });
  let port: number;
  try {
    port = await dataPlane.open((control.address() as AddressInfo).port);
  } catch (e) {
    local.scheduler.close();
    await Promise.allSettled([dataPlane.close(), builder.close(), logs.close(), new Promise((r) => control.close(r)), dynamo.close()]);
    throw e;
  }
  const baseUrl = platformBaseUrl(settings.host, port);
  // Once the port is known: always-on services start with their gateway URL.
  await local.restore(projects);

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    port,
    adminToken: admin.token,
    adminTokenSource: admin.source,
    home: settings.home,
    ctx,
    runtime: local.runtime,
    logFeed,
    sandbox,
    close: () =>
      (closing ??= (async () => {
        // Running jobs are stopped (their runs end failed), then what carried them out settles.
        local.scheduler.close();
        jobs.close();
        await deployer.close();
        await dataPlane.close();
        await builder.close();
        await logs.close();
        await new Promise<void>((resolve) => {
          control.close(() => resolve());
          control.closeAllConnections();
        });
        await dynamo.close();
      })()),
  };
}

/** The first stream handler that takes the request. */
function anyOf(...handlers: (((req: IncomingMessage, res: ServerResponse) => boolean) | undefined)[]) {
  return (req: IncomingMessage, res: ServerResponse): boolean => handlers.some((h) => h?.(req, res) === true);
}

/** The state's Unix socket, in KINTO_HOME (0700); a long home path gets a 0700 temp folder (sockets paths are short). */
function stateSocketPath(home: string): string {
  const inHome = join(home, 'run', 'dynamodb.sock');
  if (Buffer.byteLength(inHome) < 100) {
    mkdirSync(join(home, 'run'), { recursive: true, mode: 0o700 });
    return inHome;
  }
  return join(mkdtempSync(join(tmpdir(), 'kinto-state-')), 'dynamodb.sock');
}
