import { nowIso, type CoreContext } from '../context';
import { badRequest, conflict, notFound } from '../errors';
import { loadEnvironmentState } from '../deployments/environment-state';
import { listAll, requireEnvironment, requireProject } from '../lookups';
import type { JobLock, JobRun, JobTrigger } from '../model';
import { DEFAULT_JOB_TIMEOUT_SECONDS } from './list-jobs';
import type { DeploymentPlan, JobLogChunk, PlannedBlock } from '../../ports/runtime';
import { WriteConflictError, type ListOptions, type Page } from '../../ports/store';

/** A run's start: the run recorded, or why it could not start (another run of the job holds it). */
export type RunStart =
  { readonly started: true; readonly run: JobRun } | { readonly started: false; readonly run?: JobRun; readonly holder: string };

/**
 * Records a new run of a job and takes the job's lock in its environment: at most one run of a
 * job runs at a time. When another run holds it, a cron run is recorded `skipped`; other triggers
 * record nothing and say who holds it.
 */
export async function beginJobRun(
  ctx: CoreContext,
  plan: DeploymentPlan,
  job: PlannedBlock,
  trigger: JobTrigger,
  deploymentId?: string,
): Promise<RunStart> {
  const at = nowIso(ctx);
  const envId = plan.environment.id;
  const id = ctx.ids.timeOrderedId();
  const base: JobRun = {
    id,
    envId,
    projectId: plan.project.id,
    job: job.block.name,
    trigger,
    release: plan.release.version,
    ...(deploymentId ? { deploymentId } : {}),
    status: 'running',
    startedAt: at,
    rev: 1,
    createdAt: at,
    updatedAt: at,
  };
  try {
    await ctx.store.jobLocks.create({ envId, job: job.block.name, runId: id, since: at, rev: 1 });
  } catch (e) {
    if (!(e instanceof WriteConflictError)) throw e;
    const lock = await ctx.store.jobLocks.get({ envId, job: job.block.name });
    if (lock && (await takeOverStaleLock(ctx, job, lock, id, at))) return { started: true, run: await ctx.store.jobRuns.create(base) };
    const holder = lock?.runId ?? 'another run';
    if (trigger !== 'cron') return { started: false, holder };
    const skipped = await ctx.store.jobRuns.create({
      ...base,
      status: 'skipped',
      endedAt: at,
      durationMs: 0,
      reason: `run ${holder} was still running`,
    });
    return { started: false, run: skipped, holder };
  }
  return { started: true, run: await ctx.store.jobRuns.create(base) };
}

/**
 * A runtime stops every run at its job's timeout, so a lock held well past it belongs to a run
 * whose carrier died without a word (on AWS a deployer Lambda that was cut off): that run is
 * recorded failed and the lock passes to the new run (conditionally: one taker wins).
 */
async function takeOverStaleLock(ctx: CoreContext, job: PlannedBlock, lock: JobLock, runId: string, at: string): Promise<boolean> {
  const limitMs = ((job.config.timeoutSeconds ?? DEFAULT_JOB_TIMEOUT_SECONDS) + STALE_LOCK_GRACE_SECONDS) * 1000;
  if (Date.parse(lock.since) + limitMs > ctx.clock.now().getTime()) return false;
  try {
    await ctx.store.jobLocks.update({ ...lock, runId, since: at });
  } catch (e) {
    if (e instanceof WriteConflictError) return false;
    throw e;
  }
  const stale = await ctx.store.jobRuns.get({ envId: lock.envId, job: lock.job, id: lock.runId });
  if (stale?.status === 'running') {
    await finishRun(ctx, stale, {
      status: 'failed',
      endedAt: at,
      exitCode: null,
      reason: 'lost: whatever carried this run stopped without recording its end',
    });
  }
  return true;
}

/** How long past its timeout a run may hold its job before the lock counts as stale. */
export const STALE_LOCK_GRACE_SECONDS = 300;

/** Runs a begun run through the runtime, records how it ended and frees the job. Never throws for the job's own failure. */
export async function executeJobRun(ctx: CoreContext, plan: DeploymentPlan, job: PlannedBlock, run: JobRun): Promise<JobRun> {
  const started = ctx.clock.now().getTime();
  let outcome: { status: JobRun['status']; exitCode: number | null; reason?: string };
  try {
    outcome = await ctx.runtime.runJob(plan, job, run);
  } catch (e) {
    outcome = { status: 'failed', exitCode: null, reason: `the runtime could not run the job: ${(e as Error).message}` };
  }
  const end = nowIso(ctx);
  const finished = await finishRun(ctx, run, {
    status: outcome.status,
    endedAt: end,
    durationMs: ctx.clock.now().getTime() - started,
    exitCode: outcome.exitCode,
    ...(outcome.reason ? { reason: outcome.reason } : {}),
  });
  await releaseJob(ctx, run);
  return finished;
}

/** A manual run of a job of the environment's running release ("Run now"): recorded, then carried out in the background. */
export async function runJobNow(ctx: CoreContext, projectName: string, envName: string, jobName: string): Promise<JobRun> {
  const { plan, job } = await runningJob(ctx, projectName, envName, jobName);
  const start = await beginJobRun(ctx, plan, job, 'manual');
  if (!start.started) {
    throw conflict('JOB_RUNNING', `Job "${jobName}" is running in "${envName}" (run ${start.holder}); run it again when that run ends.`);
  }
  await ctx.deployer.runJob(plan.environment.id, job.block.name, start.run.id);
  return start.run;
}

/** Carries out a manual run recorded by `runJobNow` (the deployer's side). */
export async function carryOutJobRun(ctx: CoreContext, envId: string, jobName: string, runId: string): Promise<JobRun | undefined> {
  const run = await ctx.store.jobRuns.get({ envId, job: jobName, id: runId });
  if (!run || run.status !== 'running') return run;
  const state = await loadEnvironmentState(ctx, envId);
  const job = state.kind === 'running' ? state.plan.blocks.find((b) => b.block.name === jobName) : undefined;
  if (state.kind !== 'running' || !job) {
    await releaseJob(ctx, run);
    return finishRun(ctx, run, {
      status: 'failed',
      endedAt: nowIso(ctx),
      exitCode: null,
      reason: 'the environment no longer runs a release with this job',
    });
  }
  return executeJobRun(ctx, state.plan, job, run);
}

/**
 * A cron job's schedule fired (the runtime's scheduler calls this): the run is recorded and carried
 * out, or recorded `skipped` when the previous run still runs.
 */
export async function runScheduledJob(ctx: CoreContext, envId: string, jobName: string): Promise<JobRun | undefined> {
  const state = await loadEnvironmentState(ctx, envId);
  if (state.kind !== 'running') return undefined;
  const job = state.plan.blocks.find((b) => b.block.name === jobName && b.block.type === 'job' && b.block.kind === 'cron');
  if (!job) return undefined;
  const start = await beginJobRun(ctx, state.plan, job, 'cron');
  return start.started ? executeJobRun(ctx, state.plan, job, start.run) : start.run;
}

export async function listJobRuns(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  jobName: string,
  options: ListOptions = {},
): Promise<Page<JobRun>> {
  const { env } = await jobOf(ctx, projectName, envName, jobName);
  return ctx.store.jobRuns.list({ envId: env.id, job: jobName }, { ...options, descending: true });
}

export async function getJobRun(ctx: CoreContext, projectName: string, envName: string, jobName: string, runId: string): Promise<JobRun> {
  const { env } = await jobOf(ctx, projectName, envName, jobName);
  const run = /^[A-Za-z0-9_-]{1,64}$/.test(runId) ? await ctx.store.jobRuns.get({ envId: env.id, job: jobName, id: runId }) : undefined;
  if (!run)
    throw notFound(
      'RUN_NOT_FOUND',
      `Job "${jobName}" has no run "${runId}" in "${envName}". List them with GET .../blocks/${jobName}/runs.`,
    );
  return run;
}

export async function readJobRunLog(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  jobName: string,
  runId: string,
  offset: number,
): Promise<{ run: JobRun; log: JobLogChunk }> {
  const run = await getJobRun(ctx, projectName, envName, jobName, runId);
  return { run, log: await ctx.runtime.readJobLog(run, offset) };
}

/**
 * After a restart: runs the platform was carrying out when it stopped can never end, so they are
 * recorded failed (`interrupted`) and their jobs freed.
 */
export async function failInterruptedJobRuns(ctx: CoreContext, envId: string): Promise<number> {
  let count = 0;
  for (const lock of await listAll(ctx.store.jobLocks, { envId })) {
    const run = await ctx.store.jobRuns.get({ envId, job: lock.job, id: lock.runId });
    if (run?.status === 'running') {
      await finishRun(ctx, run, {
        status: 'failed',
        endedAt: nowIso(ctx),
        exitCode: null,
        reason: 'interrupted: the platform stopped during this run',
      });
      count++;
    }
    await ctx.store.jobLocks.remove({ envId, job: lock.job });
  }
  return count;
}

/** A run whose carrier died (its Lambda timed out, its execution failed): recorded failed, its job freed. */
export async function abandonJobRun(ctx: CoreContext, envId: string, jobName: string, runId: string, reason: string): Promise<void> {
  const run = await ctx.store.jobRuns.get({ envId, job: jobName, id: runId });
  if (run?.status !== 'running') return;
  await finishRun(ctx, run, { status: 'failed', endedAt: nowIso(ctx), exitCode: null, reason });
  await releaseJob(ctx, run);
}

async function finishRun(ctx: CoreContext, run: JobRun, end: Partial<JobRun>): Promise<JobRun> {
  for (let current = run; ;) {
    try {
      return await ctx.store.jobRuns.update({ ...current, ...end, updatedAt: nowIso(ctx) });
    } catch (e) {
      if (!(e instanceof WriteConflictError)) throw e;
      const again = await ctx.store.jobRuns.get({ envId: run.envId, job: run.job, id: run.id });
      if (!again || again.status !== 'running') return again ?? run;
      current = again;
    }
  }
}

async function releaseJob(ctx: CoreContext, run: JobRun): Promise<void> {
  const lock = await ctx.store.jobLocks.get({ envId: run.envId, job: run.job });
  if (lock?.runId === run.id) await ctx.store.jobLocks.remove({ envId: run.envId, job: run.job });
}

/** A job of the environment's running release, with its plan. */
async function runningJob(
  ctx: CoreContext,
  projectName: string,
  envName: string,
  jobName: string,
): Promise<{ plan: DeploymentPlan; job: PlannedBlock }> {
  const { env, project } = await jobOf(ctx, projectName, envName, jobName);
  const state = await loadEnvironmentState(ctx, env.id);
  if (state.kind !== 'running') {
    throw conflict('NOT_DEPLOYED', `Environment "${env.name}" runs no release (${state.kind}); deploy one before running its jobs.`);
  }
  const job = state.plan.blocks.find((b) => b.block.name === jobName);
  if (!job) {
    throw conflict(
      'JOB_NOT_DEPLOYED',
      `Release ${state.plan.release.version} running in "${env.name}" has no job "${jobName}"; deploy a release of project "${project.name}" that has it.`,
    );
  }
  return { plan: state.plan, job };
}

/** The environment and the job block a request names (a block that is not a job is a 400). */
async function jobOf(ctx: CoreContext, projectName: string, envName: string, jobName: string) {
  const project = await requireProject(ctx, projectName);
  const env = await requireEnvironment(ctx, project, envName);
  const block = await ctx.store.blocks.get({ projectId: project.id, name: jobName });
  if (block && block.type !== 'job') {
    throw badRequest('NOT_A_JOB', `Block "${jobName}" is a ${block.type}, not a job: only jobs have runs.`);
  }
  if (!block) {
    // A job removed from the project may still have runs in this environment.
    const page = await ctx.store.jobRuns.list({ envId: env.id, job: jobName }, { limit: 1 });
    if (page.items.length === 0) throw notFound('BLOCK_NOT_FOUND', `Project "${project.name}" has no job "${jobName}".`);
  }
  return { project, env };
}
