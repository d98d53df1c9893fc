import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data } from '../api/calls';
import { followDeployment } from '../api/follow-deployment';
import type { Deployment } from '../api/types';
import { CliError } from '../errors';
import { deploymentReporter, stepLabel } from '../output/deployment-progress';
import { dateTime, duration, elapsed } from '../output/format';
import { print, printJson } from '../output/print';
import { createProgress } from '../output/progress';
import { details, table } from '../output/table';

const ENV = '/v1/projects/{project}/environments/{env}';

/** `kinto deployments <env> [id] [--follow]`: an environment's deployment history, or one deployment. */
export function registerDeployments(program: Command): void {
  withExamples(
    withJson(
      program
        .command('deployments <env> [id]')
        .description("An environment's deployments, newest first; with an id, that deployment and its steps")
        .option('-f, --follow', 'with an id: follow it until it ends')
        .option('--limit <n>', 'how many to list', '20'),
    ),
    ['kinto deployments dev', 'kinto deployments dev 7c1e... --follow'],
  ).action(
    action<{ json?: boolean; follow?: boolean; limit: string }, [string, string | undefined]>(async ({ session, opts }, env, id) => {
      const conn = session.connection();
      const project = session.project();
      const path = { project, env };
      if (!id) {
        const list = await data(conn.api.GET(`${ENV}/deployments`, { params: { path, query: { limit: opts.limit } } }));
        if (opts.json) return printJson(list);
        return print(
          table(
            ['ID', 'RELEASE', 'ACTION', 'STATUS', 'STARTED', 'DURATION', 'FAILED STEP'],
            list.map((d) => [
              d.id,
              d.release,
              d.promotedFrom ? `promote from ${d.promotedFrom}` : d.tagged ? 'tag & deploy' : d.action,
              d.status,
              dateTime(d.createdAt),
              d.finishedAt ? elapsed(d.createdAt, d.finishedAt) : '',
              d.failedStep,
            ]),
          ),
        );
      }
      let deployment = await data(conn.api.GET(`${ENV}/deployments/{deployment}`, { params: { path: { ...path, deployment: id } } }));
      if (opts.follow) {
        const progress = createProgress();
        try {
          deployment = await followDeployment(
            conn,
            path,
            deployment,
            deploymentReporter(progress, `Deployment of ${deployment.release} to ${env}`),
          );
        } finally {
          progress.stop();
        }
      }
      if (opts.json) printJson(deployment);
      else print(deploymentDetails(deployment));
      if (opts.follow && deployment.status === 'failed') {
        throw new CliError(
          'DEPLOYMENT_FAILED',
          `deployment ${deployment.id} failed at ${deployment.failedStep ?? 'a step'}: ${deployment.error ?? ''}`,
        );
      }
    }),
  );
}

function deploymentDetails(d: Deployment): string {
  return `${details([
    ['deployment', d.id],
    ['release', d.release],
    ['action', d.promotedFrom ? `promote from ${d.promotedFrom}` : d.tagged ? 'tag & deploy' : d.action],
    ['status', d.status],
    ['started', dateTime(d.createdAt)],
    ['finished', dateTime(d.finishedAt)],
    ['failed step', d.failedStep],
    ['error', d.error],
    ['failed jobs', d.failedJobs.join(', ')],
  ])}\n${table(
    ['STEP', 'STATUS', 'DURATION', 'MESSAGE'],
    d.steps.map((s) => [
      stepLabel(s),
      s.status,
      s.startedAt && s.endedAt ? duration(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : '',
      s.message,
    ]),
  )}`;
}
