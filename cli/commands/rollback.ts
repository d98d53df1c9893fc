import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data } from '../api/calls';
import type { Session } from '../session';
import { CliError } from '../errors';
import { compareWith, runDeployment } from './deployment-flow';

const ENV = '/v1/projects/{project}/environments/{env}';

/** `kinto rollback <env> [--to <version>]`. */
export function registerRollback(program: Command): void {
  withExamples(
    withYes(
      withJson(
        program
          .command('rollback <env>')
          .description(
            "Deploy an older release again (its code, with the environment's configuration of today); by default the newest older release that ran here",
          )
          .option('--to <version>', 'the release to go back to'),
      ),
      'roll back',
    ),
    ['kinto rollback dev', 'kinto rollback prod --to 1.0.0 --yes'],
  ).action(
    action<{ to?: string; json?: boolean; yes?: boolean }, [string]>(async ({ session, opts }, env) => {
      const conn = session.connection();
      const path = { project: session.project(), env };
      const target = opts.to ?? (await previousRelease(session, env));
      await runDeployment(
        session,
        {
          env,
          title: `Roll back ${env} to ${target}`,
          compare: () => compareWith(session, env, { release: target }),
          start: () => data(conn.api.POST(`${ENV}/deployments`, { params: { path }, body: { release: target } })),
        },
        opts,
      );
    }),
  );
}

/** The newest release older than the running one that an earlier deployment ran successfully here. */
async function previousRelease(session: Session, env: string): Promise<string> {
  const { api } = session.connection();
  const path = { project: session.project(), env };
  const environment = await data(api.GET(ENV, { params: { path } }));
  const current = environment.running?.release;
  if (!current) throw new CliError('NOTHING_TO_ROLL_BACK', `${env} runs no release yet`);
  const history = await data(api.GET(`${ENV}/deployments`, { params: { path, query: { limit: '1000' } } }));
  const older = [...new Set(history.filter((d) => d.status === 'succeeded').map((d) => d.release))]
    .filter((v) => compareVersions(v, current) < 0)
    .sort(compareVersions);
  const previous = older.at(-1);
  if (!previous) throw new CliError('NOTHING_TO_ROLL_BACK', `${env} ran no release older than ${current}: name one with --to <version>`);
  return previous;
}

/** MAJOR.MINOR.REVISION in numeric order. */
function compareVersions(a: string, b: string): number {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}
