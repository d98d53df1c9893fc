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
import type { DataPlane } from './threads/data-plane-client';

/** The Runtime port of the local platform, and the parts it is made of. */
export interface LocalRuntimePort {
  readonly runtime: Runtime;
  readonly scheduler: CronScheduler;
  /** Arms the schedules of every environment that runs a release (at start, before any request). */
  restoreSchedules(projects: readonly Project[]): Promise<void>;
}

/**
 * Puts the local Runtime port together: blocks are served by the data plane's thread (prepare,
 * activate, stop reach it by RPC); jobs run here, in the control plane (`LocalJobRunner`), and cron
 * schedules fire here too (`CronScheduler` -> the core's `runScheduledJob`).
 */
export function localRuntimePort(options: { ctx: () => CoreContext; dataPlane: DataPlane; jobs: LocalJobRunner }): LocalRuntimePort {
  const { dataPlane, jobs, ctx } = options;
  const scheduler = new CronScheduler((envId, job) => {
    runScheduledJob(ctx(), envId, job).catch((e: unknown) =>
      console.error(JSON.stringify({ level: 'error', message: 'a scheduled job run failed to start', envId, job, error: String(e) })),
    );
  });
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
      await dataPlane.blocks.stop(envId);
    },
    gatewayUrl: (env) => dataPlane.blocks.gatewayUrl(env),
  };
  return {
    runtime,
    scheduler,
    restoreSchedules: async (projects) => {
      for (const project of projects) {
        for (const env of await listAll(ctx().store.environments, { projectId: project.id })) {
          if (!env.running || env.status !== 'active') continue;
          const state = await loadEnvironmentState(ctx(), env.id);
          if (state.kind === 'running') scheduler.arm(state.plan);
        }
      }
    },
  };
}

/** Where a job's process calls the platform: its gateway, and the environment's internal entry. */
export function localBlockUrls(keys: PlatformKeys, dataPlane: DataPlane): (plan: Parameters<Runtime['activate']>[0]) => Promise<BlockUrls> {
  return async (plan) => {
    const gatewayUrl = dataPlane.blocks.gatewayUrl(plan.environment);
    const key = internalEntryKeyOf((await derivedKeys(keys)).internalEntryKey, plan.environment.id);
    return { gatewayUrl, internalBase: `${gatewayUrl}/_internal/${key}` };
  };
}
