import { internalEntryKeyOf } from '../core/auth/internal-entry';
import { derivedKeys } from '../core/auth/platform-keys';
import type { CoreContext } from '../core/context';
import { loadEnvironmentState } from '../core/deployments/environment-state';
import { runScheduledJob } from '../core/jobs/job-runs';
import { listAll } from '../core/lookups';
import type { Project } from '../core/model';
import type { PlatformKeys } from '../ports/keys';
import type { Runtime } from '../ports/runtime';
import type { BlockUrls } from '../adapters/local/runtime/block-env';
import { CronScheduler } from '../adapters/local/runtime/cron-scheduler';
import type { LocalJobRunner } from '../adapters/local/runtime/job-runner';
import type { ServiceDataFolders } from '../adapters/local/runtime/service-data';
import type { DataPlane } from './threads/data-plane-client';

/** The Runtime port of the local platform, and the parts it is made of. */
export interface LocalRuntimePort {
  readonly runtime: Runtime;
  readonly scheduler: CronScheduler;
  /**
   * At start, once the platform's port is open: arms the schedules of every environment that runs
   * a release, and starts its always-on custom services.
   */
  restore(projects: readonly Project[]): Promise<void>;
}

/**
 * Puts the local Runtime port together: blocks are served by the data plane's thread (prepare,
 * activate, stop reach it by RPC); jobs run here, in the control plane (`LocalJobRunner`), and cron
 * schedules fire here too (`CronScheduler` -> the core's `runScheduledJob`). Custom services'
 * data folders are files of this machine, named and deleted here once the data plane stopped them.
 */
export function localRuntimePort(options: {
  ctx: () => CoreContext;
  dataPlane: DataPlane;
  jobs: LocalJobRunner;
  data: ServiceDataFolders;
}): LocalRuntimePort {
  const { dataPlane, jobs, ctx, data } = options;
  const scheduler = new CronScheduler((envId, job) => {
    runScheduledJob(ctx(), envId, job).catch((e: unknown) =>
      console.error(JSON.stringify({ level: 'error', message: 'a scheduled job run failed to start', envId, job, error: String(e) })),
    );
  });
  /** Environments whose processes are being stopped (a deletion's first step). */
  const stopping = new Set<string>();
  const runtime: Runtime = {
    prepare: async (_plan, block) => {
      await dataPlane.blocks.prepare(block);
      return { done: true, result: {} };
    },
    activate: async (plan) => {
      await dataPlane.blocks.activate(plan);
      scheduler.arm(plan);
      return { done: true, result: { gatewayUrl: dataPlane.blocks.gatewayUrl(plan.environment) } };
    },
    runJob: (plan, job, run) => jobs.run(plan, job, run),
    readJobLog: (run, offset) => jobs.readLog(run, offset),
    stop: async (envId) => {
      scheduler.disarm(envId);
      stopping.add(envId);
      try {
        await dataPlane.blocks.stop(envId);
      } finally {
        stopping.delete(envId);
      }
    },
    dataOf: (envId) => data.list(envId),
    deleteData: (envId) => data.remove(envId),
    dataEnvironments: () => data.environments(),
    holds: (envId) => Promise.resolve(stopping.has(envId)),
    gatewayUrl: (env) => dataPlane.blocks.gatewayUrl(env),
  };
  return {
    runtime,
    scheduler,
    restore: async (projects) => {
      for (const project of projects) {
        for (const env of await listAll(ctx().store.environments, { projectId: project.id })) {
          if (!env.running || env.status !== 'active') continue;
          const state = await loadEnvironmentState(ctx(), env.id);
          if (state.kind !== 'running') continue;
          scheduler.arm(state.plan);
          if (state.plan.blocks.some((b) => b.block.type === 'custom-service' && b.config.alwaysOn))
            await dataPlane.blocks.activate(state.plan);
        }
      }
    },
  };
}

/** Where a job's process calls the platform: its gateway, the environment's internal entry and custom services. */
export function localBlockUrls(keys: PlatformKeys, dataPlane: DataPlane): (plan: Parameters<Runtime['activate']>[0]) => Promise<BlockUrls> {
  return async (plan) => {
    const gatewayUrl = dataPlane.blocks.gatewayUrl(plan.environment);
    const key = internalEntryKeyOf((await derivedKeys(keys)).internalEntryKey, plan.environment.id);
    const hasServices = plan.blocks.some((b) => b.block.type === 'custom-service');
    const services = hasServices ? await dataPlane.blocks.servicePorts(plan) : {};
    return { gatewayUrl, internalBase: `${gatewayUrl}/_internal/${key}`, services };
  };
}
