import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data, done } from '../api/calls';
import { CliError } from '../errors';
import { dateTime } from '../output/format';
import { note, print, printJson } from '../output/print';
import { confirm } from '../output/prompt';
import { table } from '../output/table';

const ENV = '/v1/projects/{project}/environments/{env}';
const ACTIONS = ['list', 'create', 'rotate', 'revoke'] as const;

/** `kinto clients <env> [list|create|rotate|revoke]`: the credentials apps exchange for tokens. */
export function registerClients(program: Command): void {
  withExamples(
    withYes(
      withJson(
        program
          .command('clients <env> [action] [clientId]')
          .description(
            'Client credentials of an environment: list (default), create, rotate <clientId>, revoke <clientId>; secrets are shown once',
          )
          .option('--name <name>', 'with create: what the client is for (e.g. "mobile app")'),
      ),
      'revoke',
    ),
    [
      'kinto clients dev',
      'kinto clients dev create --name "mobile app"',
      'kinto clients dev rotate 02eb5fa8...',
      'kinto clients dev revoke 02eb5fa8... --yes',
    ],
  ).action(
    action<{ json?: boolean; yes?: boolean; name?: string }, [string, string | undefined, string | undefined]>(
      async ({ session, opts }, envName, verb = 'list', clientId) => {
        if (!ACTIONS.includes(verb as (typeof ACTIONS)[number])) {
          throw new CliError('INVALID_ACTION', `unknown action "${verb}": use ${ACTIONS.join(', ')}`);
        }
        const { api } = session.connection();
        const project = session.project();
        const path = { project, env: envName };
        const env = await data(api.GET(ENV, { params: { path } }));
        const stored = session.storedClient(env.id);
        if (verb !== 'list' && verb !== 'create' && !clientId)
          throw new CliError('MISSING_ARGUMENT', `${verb} takes a client id (kinto clients ${envName})`);

        if (verb === 'list') {
          const list = await data(api.GET(`${ENV}/clients`, { params: { path, query: { limit: '1000' } } }));
          if (opts.json) return printJson(list);
          return print(
            table(
              ['CLIENT ID', 'NAME', 'CREATED', 'ROTATED', 'KEPT FOR CALL'],
              list.map((c) => [
                c.clientId,
                c.name,
                dateTime(c.createdAt),
                dateTime(c.rotatedAt),
                c.clientId === stored?.clientId ? 'yes' : '',
              ]),
            ),
          );
        }
        if (verb === 'revoke') {
          if (
            !(await confirm(`Revoke client ${clientId}? Its secret and tokens stop working.`, { yes: opts.yes, what: 'Revoking a client' }))
          ) {
            throw new CliError('CANCELLED', 'nothing revoked');
          }
          await done(api.DELETE(`${ENV}/clients/{clientId}`, { params: { path: { ...path, clientId: clientId! } } }));
          if (stored?.clientId === clientId) session.forgetClient(env.id);
          if (opts.json) return printJson({ revoked: clientId });
          return print(`Revoked client ${clientId}.`);
        }
        const issued =
          verb === 'create'
            ? await data(api.POST(`${ENV}/clients`, { params: { path }, body: opts.name ? { name: opts.name } : {} }))
            : await data(api.POST(`${ENV}/clients/{clientId}/rotate`, { params: { path: { ...path, clientId: clientId! } } }));
        // `kinto call` uses the kept client: the first one, or the one it had whose secret changed.
        if (session.profile && (!stored || stored.clientId === issued.clientId)) {
          session.rememberClient(env.id, { project, env: env.name, clientId: issued.clientId, secret: issued.secret });
        }
        if (opts.json) return printJson(issued);
        print(`Client ${issued.clientId}${issued.name ? ` (${issued.name})` : ''} secret: ${issued.secret}`);
        note('The secret is shown only this once.');
      },
    ),
  );
}
