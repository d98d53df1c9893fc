import type { CoreContext } from '../core/context';
import { advanceDeployment } from '../core/deployments/run-deployment';
import { carryOutJobRun } from '../core/jobs/job-runs';
import type { Deployer } from '../ports/deployer';

/**
 * The Deployer port on this machine: deployments and manual job runs are carried out in the
 * platform process, after the request that recorded them has been answered.
 */
export class LocalDeployer implements Deployer {
  private readonly running = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly ctx: () => CoreContext) {}

  async start(envId: string, deploymentId: string): Promise<void> {
    this.track(async () => {
      for (;;) {
        const next = await advanceDeployment(this.ctx(), envId, deploymentId);
        if (next.done || this.closed) return;
        await new Promise((r) => setTimeout(r, next.checkAfterMs));
      }
    }, `deployment ${deploymentId}`);
  }

  async runJob(envId: string, job: string, runId: string): Promise<void> {
    this.track(() => carryOutJobRun(this.ctx(), envId, job, runId), `run ${runId} of ${job}`);
  }

  /** Waits for what runs to end (jobs are stopped first, so their runs and deployments end failed). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.running]);
  }

  private track(work: () => Promise<unknown>, what: string): void {
    if (this.closed) return;
    const task = Promise.resolve()
      .then(work)
      .catch((e: unknown) =>
        console.error(
          JSON.stringify({ level: 'error', message: `${what} stopped with an error`, error: String((e as Error)?.stack ?? e) }),
        ),
      )
      .finally(() => this.running.delete(task));
    this.running.add(task);
  }
}
