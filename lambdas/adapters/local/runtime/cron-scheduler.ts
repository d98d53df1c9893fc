import { Cron } from 'croner';
import type { DeploymentPlan } from '../../../ports/runtime';

/**
 * The cron schedules of the environments that run a release, on this machine: each fires
 * `fire(envId, job)` (the core's `runScheduledJob`, which records the run, or a skip when the
 * previous one still runs). Arming an environment again replaces its schedules.
 */
export class CronScheduler {
  private readonly armed = new Map<string, Cron[]>();

  constructor(private readonly fire: (envId: string, job: string) => void) {}

  arm(plan: DeploymentPlan): void {
    const envId = plan.environment.id;
    this.disarm(envId);
    const crons: Cron[] = [];
    for (const { block } of plan.blocks) {
      if (block.type !== 'job' || block.kind !== 'cron' || !block.schedule) continue;
      crons.push(new Cron(block.schedule, { timezone: 'UTC' }, () => this.fire(envId, block.name)));
    }
    if (crons.length) this.armed.set(envId, crons);
  }

  disarm(envId: string): void {
    for (const c of this.armed.get(envId) ?? []) c.stop();
    this.armed.delete(envId);
  }

  /** The environments with armed schedules, and how many each has. */
  get schedules(): ReadonlyMap<string, number> {
    return new Map([...this.armed].map(([envId, crons]) => [envId, crons.length]));
  }

  close(): void {
    for (const envId of [...this.armed.keys()]) this.disarm(envId);
  }
}
