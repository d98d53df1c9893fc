import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data } from '../api/calls';
import { previewTag } from '../api/tag-preview';
import { CliError } from '../errors';
import { compareWith, runDeployment } from './deployment-flow';

const ENV = '/v1/projects/{project}/environments/{env}';

/** `kinto deploy <env> --tag <version> [--notes]` (Tag & Deploy) and `kinto deploy <env> --release <version>`. */
export function registerDeploy(program: Command): void {
  withExamples(
    withYes(
      withJson(
        program
          .command('deploy <env>')
          .description(
            'Deploy to an environment: --tag freezes the project as a new release and deploys it (Tag & Deploy), --release deploys one that exists (an older one is a rollback). Shows what changes, asks, then the steps live',
          )
          .option('-t, --tag <version>', 'tag this new release (MAJOR.MINOR.REVISION) and deploy it')
          .option('-n, --notes <text>', 'with --tag: the release notes')
          .option('-r, --release <version>', 'deploy this release'),
      ),
      'deploy',
    ),
    [
      'kinto deploy dev --tag 1.0.0 --notes "first release"',
      'kinto deploy dev --release 1.1.0 --yes',
      'kinto deploy prod --release 1.1.0 --yes --json > deployment.json',
    ],
  ).action(
    action<{ tag?: string; notes?: string; release?: string; json?: boolean; yes?: boolean }, [string]>(async ({ session, opts }, env) => {
      if (Boolean(opts.tag) === Boolean(opts.release))
        throw new CliError('INVALID_OPTIONS', 'pass either --tag <version> (Tag & Deploy) or --release <version>');
      if (opts.notes !== undefined && !opts.tag)
        throw new CliError('INVALID_OPTIONS', '--notes goes with --tag (a release that exists keeps its notes)');
      const conn = session.connection();
      const project = session.project();
      const path = { project, env };
      const tag = opts.tag;
      await runDeployment(
        session,
        tag
          ? {
              env,
              title: `Tag & Deploy ${tag} to ${env}`,
              compare: () => previewTag(conn, project, env, tag),
              start: () =>
                data(
                  conn.api.POST(`${ENV}/deployments`, {
                    params: { path },
                    body: { tag: { version: tag, ...(opts.notes ? { notes: opts.notes } : {}) } },
                  }),
                ),
            }
          : {
              env,
              title: `Deploy ${opts.release} to ${env}`,
              compare: () => compareWith(session, env, { release: opts.release! }),
              start: () => data(conn.api.POST(`${ENV}/deployments`, { params: { path }, body: { release: opts.release! } })),
            },
        opts,
      );
    }),
  );
}
