import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data, deletion } from '../api/calls';
import type { Environment } from '../api/types';
import type { Session } from '../session';
import { CliError } from '../errors';
import { dateTime } from '../output/format';
import { note, print, printJson } from '../output/print';
import { confirm, confirmByTyping } from '../output/prompt';
import { details, table } from '../output/table';
import { printDataOutcome } from '../output/data-outcome';

type Json = { json?: boolean };
const ENV = '/v1/projects/{project}/environments/{env}';

/** `kinto envs [list|create|clone|show|shutdown|delete]`. */
export function registerEnvs(program: Command): void {
  const envs = withExamples(
    program.command('envs').description('Environments of the project (dev, test, prod, ...), each with its gateway and clients'),
    ['kinto envs', 'kinto envs create dev', 'kinto envs clone dev prod'],
  );

  withExamples(withJson(envs.command('list', { isDefault: true }).description('List the environments and what they run')), [
    'kinto envs list',
    'kinto envs --json',
  ]).action(
    action<Json>(async ({ session, opts }) => {
      const { api } = session.connection();
      const list = await data(
        api.GET('/v1/projects/{project}/environments', { params: { path: { project: session.project() }, query: { limit: '1000' } } }),
      );
      if (opts.json) return printJson(list);
      print(
        table(
          ['NAME', 'STATUS', 'RELEASE', 'DEPLOYING', 'GATEWAY'],
          list.map((e) => [e.name, e.status, e.running?.release, e.deploying ? e.deploying.deploymentId : '', e.gatewayUrl]),
        ),
      );
    }),
  );

  withExamples(
    withJson(
      envs.command('create <name>').description("Create an environment; its first client's secret is shown once and kept for kinto call"),
    ),
    ['kinto envs create dev'],
  ).action(
    action<Json, [string]>(async ({ session, opts }, name) => {
      await createEnvironment(session, { name }, Boolean(opts.json));
    }),
  );

  withExamples(
    withJson(
      envs
        .command('clone <from> <name>')
        .description("Create an environment with a copy of another's configuration (and a client of its own)"),
    ),
    ['kinto envs clone dev prod'],
  ).action(
    action<Json, [string, string]>(async ({ session, opts }, from, name) => {
      await createEnvironment(session, { name, cloneFrom: from }, Boolean(opts.json));
    }),
  );

  withExamples(withJson(envs.command('show <name>').description('Show an environment: gateway URL, what runs, a deployment under way')), [
    'kinto envs show dev',
  ]).action(
    action<Json, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const env = await data(api.GET(ENV, { params: { path: { project: session.project(), env: name } } }));
      if (opts.json) return printJson(env);
      print(environmentDetails(env, session));
    }),
  );

  withExamples(
    withYes(
      withJson(envs.command('shutdown <name>').description('Shut an environment down: its gateway answers 503 until the next deploy')),
      'shut down',
    ),
    ['kinto envs shutdown dev --yes'],
  ).action(
    action<Json & { yes?: boolean }, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const project = session.project();
      if (
        !(await confirm(`Shut ${name} down? Its blocks stop answering until the next deploy.`, {
          yes: opts.yes,
          what: `Shutting ${name} down`,
        }))
      ) {
        throw new CliError('CANCELLED', 'nothing shut down');
      }
      const env = await data(api.POST(`${ENV}/shutdown`, { params: { path: { project, env: name } } }));
      if (opts.json) return printJson(env);
      print(`Environment ${name} is shut down; kinto deploy ${name} --release <version> brings it back.`);
    }),
  );

  withExamples(
    withYes(
      withJson(
        envs
          .command('delete <name>')
          .description("Delete an environment (asks you to type its name); its custom services' data is kept and named")
          .option('--delete-data', "also delete its custom services' data"),
      ),
      'delete',
    ),
    ['kinto envs delete test', 'kinto envs delete test --delete-data --yes'],
  ).action(
    action<Json & { yes?: boolean; deleteData?: boolean }, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const project = session.project();
      const env = await data(api.GET(ENV, { params: { path: { project, env: name } } }));
      if (!(await confirmByTyping(name, { yes: opts.yes, what: `Deleting environment ${name}` })))
        throw new CliError('CANCELLED', 'nothing deleted');
      const body = { confirm: name, ...(opts.deleteData ? { deleteData: true } : {}) };
      const outcome = await deletion(api.DELETE(ENV, { params: { path: { project, env: name } }, body }));
      session.forgetClient(env.id);
      if (opts.json) return printJson({ deleted: name, keptData: outcome?.keptData ?? [], deletedData: outcome?.deletedData ?? [] });
      print(`Deleted environment ${name}.`);
      printDataOutcome(outcome, name);
    }),
  );
}

async function createEnvironment(session: Session, body: { name: string; cloneFrom?: string }, json: boolean): Promise<void> {
  const { api } = session.connection();
  const project = session.project();
  const env = await data(api.POST('/v1/projects/{project}/environments', { params: { path: { project } }, body }));
  if (env.client) {
    if (session.profile)
      session.rememberClient(env.id, { project, env: env.name, clientId: env.client.clientId, secret: env.client.secret });
    else note('The client secret is not kept (no saved profile): kinto call needs one; run kinto login to save a profile.');
  }
  if (json) return printJson(env);
  print(environmentDetails(env, session));
  if (env.client) {
    print(`\nClient ${env.client.clientId} secret: ${env.client.secret}`);
    note(`The secret is shown only this once${session.profile ? ` (kept in your profile for kinto call ${env.name})` : ''}.`);
  }
}

function environmentDetails(env: Environment, session: Session): string {
  return details([
    ['environment', env.name],
    ['status', env.status],
    ['gateway', env.gatewayUrl],
    ['release', env.running ? `${env.running.release} (since ${dateTime(env.running.at)})` : null],
    ['deploying', env.deploying ? `${env.deploying.deploymentId} (since ${dateTime(env.deploying.since)})` : null],
    ['cloned from', env.clonedFrom],
    ['client for call', session.storedClient(env.id)?.clientId],
    ['id', env.id],
    ['created', dateTime(env.createdAt)],
  ]);
}
