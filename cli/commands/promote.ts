import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data } from '../api/calls';
import { compareWith, runDeployment } from './deployment-flow';

/** `kinto promote <from> <to>`. */
export function registerPromote(program: Command): void {
  withExamples(
    withYes(
      withJson(
        program
          .command('promote <from> <to>')
          .description("Deploy the release running in one environment to another, with the target's own configuration"),
      ),
      'promote',
    ),
    ['kinto promote dev prod', 'kinto promote test prod --yes --json'],
  ).action(
    action<{ json?: boolean; yes?: boolean }, [string, string]>(async ({ session, opts }, from, to) => {
      const conn = session.connection();
      const path = { project: session.project(), env: to };
      await runDeployment(
        session,
        {
          env: to,
          title: `Promote ${from} to ${to}`,
          compare: () => compareWith(session, to, { from }),
          start: () => data(conn.api.POST('/v1/projects/{project}/environments/{env}/promote', { params: { path }, body: { from } })),
        },
        opts,
      );
    }),
  );
}
