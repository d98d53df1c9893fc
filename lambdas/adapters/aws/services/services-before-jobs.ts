import { KintoError } from '../../../core/errors';
import type { DeploymentPlan, PreparedBlock, StepProgress } from '../../../ports/runtime';
import { serviceNameOf } from './service-names';
import type { ServicesStart, StartingService } from './start-services';

/**
 * How long a deployment waits for its environment's custom services to run before its jobs: five
 * times the slow end of published Fargate starts (30-90 s, README "Custom services on AWS"), room
 * for a large image's pull, yet a service that cannot start (an image it cannot pull, a process
 * that exits, no Fargate capacity) fails the deployment in minutes, far within the deployer's
 * 2-hour execution, while the environment stays locked.
 */
export const SERVICES_START_TIMEOUT_MS = 5 * 60_000;

/** How often the deployer asks ECS meanwhile (a Step Functions wait in between, free). */
export const SERVICES_POLL_MS = 5_000;

/** Kept on the last prepared block while it waits: when the wait began (epoch ms). */
const WAITING_SINCE = 'servicesWaitingSince';

export interface ServicesBeforeJobsOptions {
  readonly starter: { start(envId: string): Promise<ServicesStart> };
  readonly now: () => number;
  /** @default SERVICES_POLL_MS */
  readonly pollMs?: number;
  /** @default SERVICES_START_TIMEOUT_MS */
  readonly timeoutMs?: number;
}

/**
 * Jobs (a migration, mostly) connect to the environment's custom services at once, and a sleeping
 * service has no address: the waker would hear of the job's invocation only seconds after it began,
 * and the task needs tens of seconds more. So when the deployment has pre- or post-deploy jobs, its
 * preparation ends with the services running. A custom service's own prepare only wakes them (their
 * start overlaps the preparation of the blocks after it); the last prepare step, whichever block it
 * is, waits until every custom service of the plan runs, so that the jobs, which come next, find them
 * awake (and the reaper, which counts idle time from the last traffic recorded, finds them in use).
 * A deployment without jobs wakes nothing: idle stays free.
 *
 * `result` is what the block's own prepare made; while waiting it is returned with the wait's start,
 * which the next call gets back as `previous`.
 */
export async function servicesBeforeJobs<T extends PreparedBlock>(
  plan: DeploymentPlan,
  block: string,
  previous: PreparedBlock | undefined,
  result: T,
  o: ServicesBeforeJobsOptions,
): Promise<StepProgress<T>> {
  const services = plan.blocks.filter((b) => b.block.type === 'custom-service').map((b) => b.block.name);
  const { [WAITING_SINCE]: _, ...made } = result as Record<string, unknown>;
  const done: StepProgress<T> = { done: true, result: made as T };
  if (services.length === 0 || !plan.deployment.steps.some((s) => s.kind === 'pre-deploy' || s.kind === 'post-deploy')) return done;

  const envId = plan.environment.id;
  if (!isLastPrepare(plan, block)) {
    if (services.includes(block)) await o.starter.start(envId);
    return done;
  }
  const now = o.now();
  const kept = previous?.[WAITING_SINCE];
  const since = typeof kept === 'number' ? kept : now;
  const start = await o.starter.start(envId);
  const byName = new Map(start.waiting.map((w) => [w.name, w]));
  const notRunning = services.filter((name) => !start.running.includes(serviceNameOf(envId, name)));
  if (notRunning.length === 0) return done;

  const described = notRunning.map((name) => describe(name, byName.get(serviceNameOf(envId, name))));
  const timeoutMs = o.timeoutMs ?? SERVICES_START_TIMEOUT_MS;
  if (now - since >= timeoutMs) {
    throw new KintoError(
      503,
      'SERVICES_NOT_RUNNING',
      `custom service${notRunning.length > 1 ? 's' : ''} ${described.join('; ')} did not run within ${minutes(timeoutMs)} of being woken, ` +
        `so the deployment's jobs, which connect to ${notRunning.length > 1 ? 'them' : 'it'}, were not run; the service's log says why a task stopped`,
    );
  }
  return {
    done: false,
    result: { ...made, [WAITING_SINCE]: since } as unknown as T,
    checkAfterMs: o.pollMs ?? SERVICES_POLL_MS,
    message: `waiting for custom services to run before the jobs (${Math.round((now - since) / 1000)} s): ${described.join('; ')}`,
  };
}

/** The prepare step of `block` is the last one left: every other one succeeded. */
function isLastPrepare(plan: DeploymentPlan, block: string): boolean {
  return plan.deployment.steps.filter((s) => s.kind === 'prepare' && s.block !== block).every((s) => s.status === 'succeeded');
}

function describe(block: string, s: StartingService | undefined): string {
  if (!s) return `"${block}" (not in the cluster)`;
  const counts = `desired ${s.desiredCount}, running ${s.runningCount}, pending ${s.pendingCount}`;
  return `"${block}" (${s.woken ? 'woken now; ' : ''}${counts}${s.lastEvent ? `; ECS: ${s.lastEvent}` : ''})`;
}

const minutes = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} minutes` : `${Math.round(ms / 1000)} s`);
