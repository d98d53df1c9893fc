import { nowIso, type CoreContext } from '../context';
import { KintoError } from '../errors';
import { beginJobRun, executeJobRun } from '../jobs/job-runs';
import type { Deployment, DeploymentStep } from '../model';
import type { DeploymentPlan, PlannedBlock, PreparedBlock } from '../../ports/runtime';
import { WriteConflictError } from '../../ports/store';
import { unlockEnvironment, updateLockedEnvironment } from './environment-lock';
import { planOf } from './plan';

/** What the deployer does next: nothing (the deployment ended or another process drives it), or ask again later. */
export type Advance = { readonly done: true; readonly deployment?: Deployment } | { readonly done: false; readonly checkAfterMs: number };

/**
 * Carries a recorded deployment forward, step after step, until it ends or a runtime step asks to
 * be checked later. Every step's start and end is written to the deployment record first
 * (conditional on its revision), so any process can call this again and go on where the last one
 * stopped; a process that loses a write to another stops.
 *
 * - `prepare:<block>`: the runtime makes the block ready (what it made is kept on the record).
 * - `pre-deploy:<job>`: the job runs (one recorded run); a failure fails the deployment.
 * - `switch`: the runtime moves all traffic, then the environment commits to this deployment (the
 *   commit point: before it, the environment serves what it served).
 * - `post-deploy:<job>`: the job runs; a failure is named on the record, the deployment succeeds.
 * A failure before the switch marks the steps left `skipped`, the deployment `failed` with the
 * failing step and why, and frees the environment.
 */
export async function advanceDeployment(ctx: CoreContext, envId: string, deploymentId: string): Promise<Advance> {
  let d = await ctx.store.deployments.get({ envId, id: deploymentId });
  if (!d || d.status !== 'in-progress') return { done: true, ...(d ? { deployment: d } : {}) };
  const plan = await planOf(ctx, d);
  if (!plan)
    return {
      done: true,
      deployment: await fail(ctx, d, undefined, 'the project, environment or release was deleted during the deployment'),
    };
  try {
    for (;;) {
      const step = d.steps.find((s) => s.status === 'pending' || s.status === 'running');
      if (!step) return { done: true, deployment: await succeed(ctx, d) };
      const next = await runStep(ctx, { ...plan, deployment: d }, d, step);
      if ('checkAfterMs' in next) return { done: false, checkAfterMs: next.checkAfterMs };
      if (next.status !== 'in-progress') return { done: true, deployment: next };
      d = next;
    }
  } catch (e) {
    if (e instanceof WriteConflictError) return { done: true }; // another process drives it now
    throw e;
  }
}

type StepResult = Deployment | { readonly checkAfterMs: number };

async function runStep(ctx: CoreContext, plan: DeploymentPlan, d: Deployment, step: DeploymentStep): Promise<StepResult> {
  const block = step.block === undefined ? undefined : plan.blocks.find((b) => b.block.name === step.block);
  if (step.kind !== 'switch' && !block) return fail(ctx, d, step, `block "${step.block}" is not in release ${d.release}`);
  switch (step.kind) {
    case 'prepare':
      return prepare(ctx, plan, d, step, block!);
    case 'pre-deploy':
    case 'post-deploy':
      return runJobStep(ctx, plan, d, step, block!);
    case 'switch':
      return switchTraffic(ctx, plan, d, step);
  }
}

async function prepare(
  ctx: CoreContext,
  plan: DeploymentPlan,
  d: Deployment,
  step: DeploymentStep,
  block: PlannedBlock,
): Promise<StepResult> {
  if (step.status === 'pending') d = await updateStep(ctx, d, step.id, { status: 'running', startedAt: nowIso(ctx) });
  const name = block.block.name;
  let progress;
  try {
    progress = await ctx.runtime.prepare({ ...plan, deployment: d }, block, d.prepared?.[name]);
  } catch (e) {
    return fail(ctx, d, step, reasonOf(e, `the runtime could not prepare block "${name}"`));
  }
  const prepared = (result: PreparedBlock | undefined) => (result === undefined ? d.prepared : { ...d.prepared, [name]: result });
  if (!progress.done) {
    await save(ctx, d, {
      prepared: prepared(progress.result),
      steps: withStep(d, step.id, { message: progress.message ?? 'waiting for the runtime' }),
    });
    return { checkAfterMs: progress.checkAfterMs };
  }
  return save(ctx, d, {
    prepared: prepared(progress.result),
    steps: withStep(d, step.id, { status: 'succeeded', endedAt: nowIso(ctx), message: undefined }),
  });
}

async function switchTraffic(ctx: CoreContext, plan: DeploymentPlan, d: Deployment, step: DeploymentStep): Promise<StepResult> {
  if (step.status === 'pending') d = await updateStep(ctx, d, step.id, { status: 'running', startedAt: nowIso(ctx) });
  let progress;
  try {
    progress = await ctx.runtime.activate({ ...plan, deployment: d }, d.prepared ?? {});
  } catch (e) {
    return fail(ctx, d, step, reasonOf(e, 'the runtime could not switch traffic'));
  }
  if (!progress.done) {
    await save(ctx, d, { steps: withStep(d, step.id, { message: progress.message ?? 'switching' }) });
    return { checkAfterMs: progress.checkAfterMs };
  }
  const at = nowIso(ctx);
  const committed = await updateLockedEnvironment(ctx, d.envId, d.id, (env) => ({
    ...env,
    status: 'active',
    running: { deploymentId: d.id, release: d.release, at },
    ...(progress.result.gatewayUrl ? { gatewayUrl: progress.result.gatewayUrl } : {}),
  }));
  if (!committed) return fail(ctx, d, step, 'the environment was taken over by another deployment (this one had stalled)');
  return save(ctx, d, { steps: withStep(d, step.id, { status: 'succeeded', endedAt: at, message: undefined }) });
}

async function runJobStep(
  ctx: CoreContext,
  plan: DeploymentPlan,
  d: Deployment,
  step: DeploymentStep,
  job: PlannedBlock,
): Promise<StepResult> {
  const name = job.block.name;
  const failed = (reason: string) =>
    step.kind === 'pre-deploy'
      ? fail(ctx, d, step, `the pre-deploy job "${name}" failed (${reason})`)
      : save(ctx, d, {
          failedJobs: [...(d.failedJobs ?? []), name],
          steps: withStep(d, step.id, { status: 'failed', endedAt: nowIso(ctx), message: reason }),
        });
  if (step.status === 'running') {
    // A process that ran this job stopped before it recorded the end: the run cannot be resumed.
    return failed('interrupted: the deployer stopped while the job ran');
  }
  const start = await beginJobRun(ctx, { ...plan, deployment: d }, job, step.kind as 'pre-deploy' | 'post-deploy', d.id);
  if (!start.started) return failed(`run ${start.holder} of this job is still running`);
  d = await updateStep(ctx, d, step.id, { status: 'running', startedAt: nowIso(ctx), runId: start.run.id });
  const run = await executeJobRun(ctx, { ...plan, deployment: d }, job, start.run);
  if (run.status !== 'succeeded') return failed(run.reason ?? run.status);
  return save(ctx, d, { steps: withStep(d, step.id, { status: 'succeeded', endedAt: nowIso(ctx) }) });
}

// The environment is freed before the record says the deployment ended: whoever sees it ended may
// deploy again at once. (A crash in between is settled at start from the environment's commit.)
async function succeed(ctx: CoreContext, d: Deployment): Promise<Deployment> {
  await unlockEnvironment(ctx, d.envId, d.id);
  return save(ctx, d, { status: 'succeeded', finishedAt: nowIso(ctx) });
}

/** Ends a deployment as failed at `step`: the steps left are skipped and the environment is freed. */
export async function fail(ctx: CoreContext, d: Deployment, step: DeploymentStep | undefined, reason: string): Promise<Deployment> {
  const at = nowIso(ctx);
  const steps = d.steps.map((s): DeploymentStep => {
    if (s.id === step?.id) return { ...s, status: 'failed', endedAt: at, message: reason };
    if (s.status === 'pending') return { ...s, status: 'skipped' };
    if (s.status === 'running') return { ...s, status: 'failed', endedAt: at, message: reason };
    return s;
  });
  await unlockEnvironment(ctx, d.envId, d.id);
  return save(ctx, d, { status: 'failed', steps, error: reason, ...(step ? { failedStep: step.id } : {}), finishedAt: at });
}

function withStep(d: Deployment, id: string, change: Partial<DeploymentStep>): DeploymentStep[] {
  return d.steps.map((s) => (s.id === id ? dropUndefined({ ...s, ...change }) : s));
}

const updateStep = (ctx: CoreContext, d: Deployment, id: string, change: Partial<DeploymentStep>) =>
  save(ctx, d, { steps: withStep(d, id, change) });

function save(ctx: CoreContext, d: Deployment, change: Partial<Deployment>): Promise<Deployment> {
  return ctx.store.deployments.update({ ...d, ...change, updatedAt: nowIso(ctx) });
}

function dropUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

const reasonOf = (e: unknown, what: string): string => (e instanceof KintoError ? e.message : `${what}: ${(e as Error).message}`);
