import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { derivedKeys } from '../../core/auth/platform-keys';
import { failInterruptedBuilds, recordBuildEvent } from '../../core/builds';
import type { CoreContext } from '../../core/context';
import { loadEnvironmentState, recoverInterruptedDeployments } from '../../core/deployments';
import { listAll } from '../../core/lookups';
import { createApiHandler } from '../../handlers/api/create-api-handler';
import { ensureStateTable } from '../aws/create-state-table';
import { DynamoDbStore } from '../aws/dynamodb-store';
import { randomIds, systemClock } from '../system';
import { loadOrCreateAdminToken } from './admin-token';
import { consolePage } from './console-page';
import { startDynalite } from './dynalite-server';
import { createGateway } from './gateway';
import { createLocalGatewayAuth, readTokenSettings } from './gateway-auth';
import { LocalBuilder } from './local-builder';
import { readLocalLogSettings } from './local-log-feed';
import type { LogFeed } from './log-feed';
import { openLocalLogs } from './local-log-store';
import { createLogFollowHandler } from './log-follow';
import { loadOrCreatePlatformKey } from './local-keys';
import { LocalRuntime } from './local-runtime';
import { ProcessTracker } from './process-tracker';
import { createPlatformServer } from './platform-server';
import type { LocalSettings } from './settings';

export const STATE_TABLE_NAME = 'kinto-state';

export interface LocalPlatform {
  readonly url: string;
  readonly port: number;
  readonly adminToken: string;
  readonly adminTokenSource: 'env' | 'file' | 'generated';
  readonly home: string;
  readonly ctx: CoreContext;
  readonly runtime: LocalRuntime;
  /** The log index's local feed (gateway access entries, block output); `flush()` indexes what is queued. Absent with KINTO_LOG_STORE=off. */
  readonly logFeed?: LogFeed;
  close(): Promise<void>;
}

/**
 * Starts Kinto on this machine: dynalite (data under `home`), the control API, the builder, the
 * runtime and every environment's gateway on one HTTP port. Interrupted builds and deployments
 * from a previous run are settled before it listens.
 */
export async function startLocalPlatform(settings: LocalSettings): Promise<LocalPlatform> {
  mkdirSync(settings.home, { recursive: true });
  const admin = loadOrCreateAdminToken(settings.home, settings.adminToken);
  const platformKeys = loadOrCreatePlatformKey(settings.home);
  const auth = createLocalGatewayAuth({ ctx: () => ctx, keys: await derivedKeys(platformKeys), tokens: readTokenSettings() });
  // Processes a killed previous run left behind (blocks, builds, jobs) go first.
  const tracker = new ProcessTracker(join(settings.home, 'run'));
  tracker.killLeftovers();
  const dynamo = await startDynalite({ path: join(settings.home, 'dynamodb') });
  await ensureStateTable(dynamo.client, STATE_TABLE_NAME);
  // Logs go to files + an in-memory index in a worker thread by default: see local-log-store.ts.
  const logs = await openLocalLogs(readLocalLogSettings(), settings.home, dynamo);
  const { store: logStore, feed: logFeed } = logs;

  let baseUrl = '';
  // The builder and runtime report back into the core, which holds them: tie the knot lazily.
  let ctx!: CoreContext;
  const builder = new LocalBuilder({ home: settings.home, tracker, report: (build, event) => recordBuildEvent(ctx, build, event) });
  const runtime = new LocalRuntime({
    baseUrl: () => baseUrl,
    load: (envId) => loadEnvironmentState(ctx, envId),
    idleTimeoutMs: settings.idleTimeoutMs,
    startTimeoutMs: settings.startTimeoutMs,
    tracker,
    internalUrl: auth.internalUrl,
    onBlockLine: logFeed?.line,
    onBlockEvent: logFeed?.event,
  });
  ctx = { store: new DynamoDbStore({ client: dynamo.client, tableName: STATE_TABLE_NAME }), clock: systemClock, ids: randomIds, runtime, builder, keys: platformKeys, onClientChange: auth.onClientChange };

  const projects = await listAll(ctx.store.projects, {});
  await failInterruptedBuilds(ctx, projects, (p) => listAll(ctx.store.blocks, { projectId: p.id }));
  await recoverInterruptedDeployments(ctx, projects);

  const api = createApiHandler({ context: ctx, adminToken: () => admin.token, logs: () => logStore });
  const gateway = createGateway({ runtime, guard: auth.guard, routes: auth.routes, internalKey: auth.internalKey, onAccess: logFeed?.access });
  const server = createPlatformServer({
    api,
    gateway: gateway.handle,
    console: consolePage,
    streams: logStore && logFeed && createLogFollowHandler({ ctx: () => ctx, logs: logStore, feed: logFeed, adminToken: () => admin.token }),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${settings.host === '127.0.0.1' || settings.host === '0.0.0.0' ? 'localhost' : settings.host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    port,
    adminToken: admin.token,
    adminTokenSource: admin.source,
    home: settings.home,
    ctx,
    runtime,
    logFeed,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        gateway.close();
        await builder.close();
        await runtime.close();
        await logs.close();
        await dynamo.close();
      })()),
  };
}
