import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data } from '../api/calls';
import type { KeptData } from '../api/types';
import { CliError } from '../errors';
import { print, printJson } from '../output/print';
import { confirmByTyping } from '../output/prompt';
import { table } from '../output/table';

type Json = { json?: boolean };

/** `kinto data [list|delete <environmentId>]`: the custom services' data that deleted environments left. */
export function registerData(program: Command): void {
  const kept = withExamples(
    program
      .command('data')
      .description("Custom services' data that deleted environments of any project left (their deletion kept it): list it, delete it"),
    ['kinto data', 'kinto data delete 3f2a9c...'],
  );

  withExamples(
    withJson(kept.command('list', { isDefault: true }).description("List the data deleted environments left, by the environment's id")),
    ['kinto data list', 'kinto data --json'],
  ).action(
    action<Json>(async ({ session, opts }) => {
      const { api } = session.connection();
      const list = await data(api.GET('/v1/kept-data'));
      if (opts.json) return printJson(list);
      if (!list.length) return print("No custom services' data is kept: no deleted environment left any.");
      print(keptTable(list));
    }),
  );

  withExamples(
    withYes(
      withJson(
        kept
          .command('delete <environmentId>')
          .description('Delete the data a deleted environment left (asks you to type its id; kinto data lists the ids)'),
      ),
      'delete',
    ),
    ['kinto data delete 3f2a9c...', 'kinto data delete 3f2a9c... --yes'],
  ).action(
    action<Json & { yes?: boolean }, [string]>(async ({ session, opts }, environmentId) => {
      const { api } = session.connection();
      const found = (await data(api.GET('/v1/kept-data'))).filter((d) => d.environmentId === environmentId);
      // Something listed is asked about, naming the folders. An id that is not listed is sent
      // without asking: nothing of it is kept, and the API says why (ENVIRONMENT_EXISTS while the
      // environment exists, KEPT_DATA_NOT_FOUND, INVALID_ENVIRONMENT_ID) better than a prompt would.
      if (found.length) {
        const what = `Deleting the data environment ${environmentId} left`;
        if (!(await confirmByTyping(environmentId, { yes: opts.yes, what, details: `${what}:\n${keptTable(found)}` }))) {
          throw new CliError('CANCELLED', 'nothing deleted');
        }
      }
      const outcome = await data(
        api.DELETE('/v1/kept-data/{environmentId}', { params: { path: { environmentId } }, body: { confirm: environmentId } }),
      );
      if (opts.json) return printJson(outcome);
      print(`Deleted the data environment ${environmentId} left:`);
      print(keptTable(outcome.deletedData));
    }),
  );
}

function keptTable(list: readonly KeptData[]): string {
  return table(
    ['ENVIRONMENT ID', 'BLOCK', 'WHERE'],
    list.map((d) => [d.environmentId, d.block, d.location]),
  );
}
