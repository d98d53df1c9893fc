import type { Deployment, DeploymentStep } from '../api/types';
import { duration } from './format';
import type { Progress } from './progress';

/** A step as people say it: `prepare hello`, `pre-deploy job migrate`, `switch traffic`. */
export function stepLabel(step: Pick<DeploymentStep, 'kind' | 'block'>): string {
  switch (step.kind) {
    case 'prepare':
      return `prepare ${step.block}`;
    case 'switch':
      return 'switch traffic';
    default:
      return `${step.kind} job ${step.block}`;
  }
}

/**
 * Shows a deployment's steps as they advance: the running one on the spinner, each one that ends
 * as a line of its own (done, failed with its message, skipped). Feed it every version of the
 * record; steps it already reported are not repeated.
 */
export function deploymentReporter(progress: Progress, title: string): (deployment: Deployment) => void {
  const reported = new Map<string, string>();
  return (d) => {
    for (const step of d.steps) {
      if (reported.get(step.id) === step.status) continue;
      const label = stepLabel(step);
      const took = step.startedAt && step.endedAt ? ` (${duration(Date.parse(step.endedAt) - Date.parse(step.startedAt))})` : '';
      switch (step.status) {
        case 'running':
          progress.start(`${title}: ${label}...`);
          break;
        case 'succeeded':
          progress.succeed(`${label}${took}`);
          break;
        case 'failed':
          progress.fail(`${label}${took}${step.message ? `: ${step.message}` : ''}`);
          break;
        case 'skipped':
          progress.skip(`${label} skipped`);
          break;
        case 'pending':
          break;
      }
      reported.set(step.id, step.status);
    }
  };
}
