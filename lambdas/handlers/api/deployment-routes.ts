import { compareDeployment } from '../../core/deployments/compare';
import { deployRelease, getDeployment, listDeployments, promote } from '../../core/deployments/deploy-release';
import { badRequest } from '../../core/errors';
import { getJobRun, listJobRuns, readJobRunLog, runJobNow } from '../../core/jobs/job-runs';
import { listJobs } from '../../core/jobs/list-jobs';
import { deployInput, promoteInput } from '../../core/request-schemas';
import { jsonResponse } from '../http/response';
import { ENV, listOptions, ok, page, route, type Route } from './routes';
import { z } from 'zod';
import { deploymentView, jobRunView } from './views';
import { comparisonSchema, deploymentSchema, jobRunSchema, jobSchema } from './view-schemas';
import { logChunkResponse, logOffset } from './log-chunk';

const accepted = (data: unknown) => jsonResponse(202, { data });

/** Deployments (Tag & Deploy, rollback, promote, compare) and jobs (runs, run now, schedules). */
export function deploymentRoutes(): Route[] {
  return [
    route({
      method: 'POST',
      path: `${ENV}/deployments`,
      response: deploymentSchema,
      summary:
        'Deploy a release ({release}; an older one is a rollback) or Tag & Deploy ({tag: {version, notes}}); answers 202, the steps advance in the background',
      tag: 'deployments',
      status: 202,
      body: deployInput,
      handle: async ({ ctx, params, body }) => accepted(deploymentView(await deployRelease(ctx, params.project, params.env, body))),
    }),
    route({
      method: 'GET',
      path: `${ENV}/deployments`,
      response: deploymentSchema,
      list: true,
      summary: "An environment's deployment history, newest first",
      tag: 'deployments',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) =>
        page(await listDeployments(ctx, params.project, params.env, listOptions(query)), deploymentView),
    }),
    route({
      method: 'GET',
      path: `${ENV}/deployments/{deployment}`,
      response: deploymentSchema,
      summary: 'A deployment and its steps (locally, ?follow=true streams its changes as server-sent events)',
      tag: 'deployments',
      status: 200,
      query: ['follow'],
      handle: async ({ ctx, params, query }) => {
        if (query.follow !== undefined && query.follow !== 'false') {
          throw badRequest(
            'FOLLOW_NOT_AVAILABLE',
            'This control API cannot stream (it runs as a Lambda): poll GET .../deployments/{id} every few seconds instead.',
          );
        }
        return ok(deploymentView(await getDeployment(ctx, params.project, params.env, params.deployment)));
      },
    }),
    route({
      method: 'POST',
      path: `${ENV}/promote`,
      response: deploymentSchema,
      summary: "Deploy the release running in another environment, with this one's config; answers 202",
      tag: 'deployments',
      status: 202,
      body: promoteInput,
      handle: async ({ ctx, params, body }) => accepted(deploymentView(await promote(ctx, params.project, params.env, body.from))),
    }),
    route({
      method: 'GET',
      path: `${ENV}/compare`,
      response: comparisonSchema,
      summary:
        'What deploying ?release=<version> (or promoting ?from=<environment>, or tagging now: ?untagged=true) would change: blocks and configuration',
      tag: 'deployments',
      status: 200,
      query: ['release', 'from', 'untagged'],
      handle: async ({ ctx, params, query }) =>
        ok(
          await compareDeployment(ctx, params.project, params.env, {
            release: query.release,
            from: query.from,
            untagged: query.untagged === 'true',
          }),
        ),
    }),

    route({
      method: 'GET',
      path: `${ENV}/jobs`,
      response: z.array(jobSchema),
      summary: 'The jobs of the release an environment runs: kind, schedule, next cron runs, last run',
      tag: 'jobs',
      status: 200,
      handle: async ({ ctx, params }) =>
        ok((await listJobs(ctx, params.project, params.env)).map((j) => ({ ...j, lastRun: j.lastRun && jobRunView(j.lastRun) }))),
    }),
    route({
      method: 'GET',
      path: `${ENV}/blocks/{block}/runs`,
      response: jobRunSchema,
      list: true,
      summary: "A job's runs in an environment, newest first",
      tag: 'jobs',
      status: 200,
      query: ['limit', 'cursor'],
      handle: async ({ ctx, params, query }) =>
        page(await listJobRuns(ctx, params.project, params.env, params.block, listOptions(query)), jobRunView),
    }),
    route({
      method: 'POST',
      path: `${ENV}/blocks/{block}/runs`,
      response: jobRunSchema,
      summary: 'Run a job now (answers 202; the run goes on in the background)',
      tag: 'jobs',
      status: 202,
      handle: async ({ ctx, params }) => accepted(jobRunView(await runJobNow(ctx, params.project, params.env, params.block))),
    }),
    route({
      method: 'GET',
      path: `${ENV}/blocks/{block}/runs/{run}`,
      response: jobRunSchema,
      summary: 'A job run',
      tag: 'jobs',
      status: 200,
      handle: async ({ ctx, params }) => ok(jobRunView(await getJobRun(ctx, params.project, params.env, params.block, params.run))),
    }),
    route({
      method: 'GET',
      path: `${ENV}/blocks/{block}/runs/{run}/log`,
      summary: "A job run's output (text; ?offset= to follow while it runs)",
      tag: 'jobs',
      status: 200,
      query: ['offset'],
      handle: async ({ ctx, params, query }) => {
        const { run, log } = await readJobRunLog(ctx, params.project, params.env, params.block, params.run, logOffset(query));
        return logChunkResponse(log.text, log.nextOffset, { 'kinto-run-status': run.status });
      },
    }),
  ];
}
