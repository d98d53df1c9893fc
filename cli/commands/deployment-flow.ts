import { data } from '../api/calls';
import { followDeployment } from '../api/follow-deployment';
import type { Comparison, Deployment } from '../api/types';
import type { Session } from '../session';
import { CliError } from '../errors';
import { err, out } from '../output/colors';
import { comparisonSummary } from '../output/comparison';
import { deploymentReporter } from '../output/deployment-progress';
import { duration } from '../output/format';
import { note, print, printJson } from '../output/print';
import { createProgress } from '../output/progress';
import { confirm } from '../output/prompt';

export interface DeploymentPlan {
  readonly env: string;
  /** What is deployed, for people: "Tag & Deploy 1.1.0 to dev", "Roll back dev to 1.0.0", "Promote dev to prod". */
  readonly title: string;
  /** What it would change (the summary shown before asking). */
  readonly compare: () => Promise<Comparison>;
  /** Starts it: the API's 202 answer. */
  readonly start: () => Promise<Deployment>;
}

export interface DeploymentOptions {
  readonly json?: boolean;
  readonly yes?: boolean;
}

/**
 * How deploy, rollback and promote run: show what would change, ask (unless --yes), start the
 * deployment, show its steps live until it ends, and report it (the record with --json). A failed
 * deployment fails the command: exit code 1 and the step that failed, with its error.
 */
export async function runDeployment(session: Session, plan: DeploymentPlan, opts: DeploymentOptions): Promise<Deployment> {
  const conn = session.connection();
  const project = session.project();
  const comparison = await plan.compare();
  // With --json, stdout is the record alone: the summary goes to stderr.
  if (opts.json) process.stderr.write(comparisonSummary(comparison, plan.env, err));
  else print(comparisonSummary(comparison, plan.env, out));
  if (!(await confirm(`${plan.title}?`, { yes: opts.yes, what: plan.title }))) {
    throw new CliError('CANCELLED', 'nothing deployed');
  }

  const progress = createProgress();
  const started = await plan.start();
  progress.note(`${plan.title}: deployment ${started.id}`);
  const interrupted = () => {
    progress.stop();
    note(`\nStopped following; the deployment goes on. Follow it again: kinto deployments ${plan.env} ${started.id} --follow`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  let final: Deployment;
  try {
    final = await followDeployment(conn, { project, env: plan.env }, started, deploymentReporter(progress, plan.title));
  } finally {
    process.off('SIGINT', interrupted);
    progress.stop();
  }
  if (opts.json) printJson(final);
  if (final.status === 'failed') {
    throw new CliError(
      'DEPLOYMENT_FAILED',
      `deployment ${final.id} of ${final.release} to ${plan.env} failed at ${final.failedStep ?? 'a step'}: ${final.error ?? 'see kinto deployments'}`,
    );
  }
  if (!opts.json) {
    const took = final.finishedAt ? ` in ${duration(Date.parse(final.finishedAt) - Date.parse(final.createdAt))}` : '';
    print(`${out.green('Deployed')} ${final.release} to ${plan.env}${took} (deployment ${final.id}).`);
    if (final.failedJobs.length)
      print(out.yellow(`Post-deploy jobs that failed: ${final.failedJobs.join(', ')} (kinto jobs ${plan.env} <job>)`));
  }
  return final;
}

/** The API's comparison of an environment with a release, or with what another environment runs. */
export function compareWith(session: Session, env: string, target: { release: string } | { from: string }): Promise<Comparison> {
  const { api } = session.connection();
  return data(
    api.GET('/v1/projects/{project}/environments/{env}/compare', { params: { path: { project: session.project(), env }, query: target } }),
  );
}
