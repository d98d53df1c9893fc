import { Cron } from 'croner';
import type { CoreContext } from '../context';
import { loadEnvironmentState } from '../deployments/environment-state';
import { requireEnvironment, requireProject } from '../lookups';
import type { JobKind, JobRun } from '../model';

export interface JobView {
  readonly name: string;
  readonly kind: JobKind;
  readonly schedule: string | null;
  /** Cron jobs: the next times the schedule fires (UTC, ISO-8601). */
  readonly nextRuns: string[];
  readonly timeoutSeconds: number;
  readonly lastRun: JobRun | null;
}

export const DEFAULT_JOB_TIMEOUT_SECONDS = 900;

/** The next `count` times a cron schedule fires after `from` (UTC). */
export function nextRunTimes(schedule: string, from: Date, count = 5): string[] {
  const cron = new Cron(schedule, { paused: true, timezone: 'UTC' });
  try {
    return cron.nextRuns(count, from).map((d) => d.toISOString());
  } finally {
    cron.stop();
  }
}

/** The jobs of the release an environment runs, with their next cron runs and last run. */
export async function listJobs(ctx: CoreContext, projectName: string, envName: string): Promise<JobView[]> {
  const env = await requireEnvironment(ctx, await requireProject(ctx, projectName), envName);
  const state = await loadEnvironmentState(ctx, env.id);
  if (state.kind !== 'running') return [];
  const now = ctx.clock.now();
  const views: JobView[] = [];
  for (const { block, config } of state.plan.blocks) {
    if (block.type !== 'job') continue;
    const last = await ctx.store.jobRuns.list({ envId: env.id, job: block.name }, { limit: 1, descending: true });
    views.push({
      name: block.name,
      kind: block.kind as JobKind,
      schedule: block.schedule ?? null,
      nextRuns: block.kind === 'cron' && block.schedule ? nextRunTimes(block.schedule, now) : [],
      timeoutSeconds: config.timeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS,
      lastRun: last.items[0] ?? null,
    });
  }
  return views;
}
