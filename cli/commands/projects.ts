import type { Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data, deletion, page } from '../api/calls';
import { CliError } from '../errors';
import { dateTime } from '../output/format';
import { note, print, printJson } from '../output/print';
import { confirmByTyping } from '../output/prompt';
import { details, table } from '../output/table';
import { printDataOutcome } from '../output/data-outcome';

type Json = { json?: boolean };

/** `kinto projects [list|create|show|delete|use]`. */
export function registerProjects(program: Command): void {
  const projects = withExamples(
    program.command('projects').description('Projects: list, create, show, delete, and choose the one commands use'),
    ['kinto projects', 'kinto projects create shop --description "demo shop"', 'kinto projects use shop'],
  );

  withExamples(withJson(projects.command('list', { isDefault: true }).description('List projects (the one in use is marked *)')), [
    'kinto projects list',
    'kinto projects --json',
  ]).action(
    action<Json>(async ({ session, opts }) => {
      const { api } = session.connection();
      const list = await data(api.GET('/v1/projects', { params: { query: { limit: '1000' } } }));
      if (opts.json) return printJson(list);
      const current = currentProject(session);
      print(
        table(
          ['', 'NAME', 'DESCRIPTION', 'CREATED'],
          list.map((p) => [p.name === current ? '*' : ' ', p.name, p.description, dateTime(p.createdAt)]),
        ),
      );
    }),
  );

  withExamples(
    withJson(
      projects
        .command('create <name>')
        .description("Create a project (it becomes the profile's project when it has none yet)")
        .option('-d, --description <text>', 'what the project is'),
    ),
    ['kinto projects create shop --description "demo shop"'],
  ).action(
    action<Json & { description?: string }, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const project = await data(
        api.POST('/v1/projects', { body: { name, ...(opts.description ? { description: opts.description } : {}) } }),
      );
      if (session.profile && !session.profile.project) {
        session.changeProfile((p) => (p.project = name));
        note(`Using project ${name} from now on (kinto projects use <name> to change).`);
      }
      if (opts.json) return printJson(project);
      print(`Created project ${project.name}.`);
    }),
  );

  withExamples(withJson(projects.command('show [name]').description('Show a project with its blocks and environments')), [
    'kinto projects show shop',
  ]).action(
    action<Json, [string | undefined]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const project = name ?? session.project();
      const path = { project };
      const [p, blocks, envs] = await Promise.all([
        data(api.GET('/v1/projects/{project}', { params: { path } })),
        page(api.GET('/v1/projects/{project}/blocks', { params: { path, query: { limit: '1000' } } })),
        page(api.GET('/v1/projects/{project}/environments', { params: { path, query: { limit: '1000' } } })),
      ]);
      if (opts.json) return printJson({ ...p, blocks: blocks.data, environments: envs.data });
      print(
        details([
          ['name', p.name],
          ['description', p.description],
          ['id', p.id],
          ['created', dateTime(p.createdAt)],
          ['updated', dateTime(p.updatedAt)],
          ['blocks', blocks.data.map((b) => `${b.name} (${b.type})`).join(', ')],
          ['environments', envs.data.map((e) => `${e.name}${e.running ? ` (${e.running.release})` : ''}`).join(', ')],
        ]),
      );
    }),
  );

  withExamples(
    withYes(
      withJson(
        projects
          .command('delete <name>')
          .description("Delete a project (asks you to type its name); its custom services' data is kept and named")
          .option('--delete-data', "also delete its environments' custom services' data"),
      ),
      'delete',
    ),
    ['kinto projects delete shop', 'kinto projects delete shop --yes', 'kinto projects delete shop --delete-data'],
  ).action(
    action<Json & { yes?: boolean; deleteData?: boolean }, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      if (!(await confirmByTyping(name, { yes: opts.yes, what: `Deleting project ${name}` }))) {
        throw new CliError('CANCELLED', 'nothing deleted');
      }
      const body = { confirm: name, ...(opts.deleteData ? { deleteData: true } : {}) };
      const outcome = await deletion(api.DELETE('/v1/projects/{project}', { params: { path: { project: name } }, body }));
      session.changeProfile((p) => {
        if (p.project === name) delete p.project;
        for (const [envId, client] of Object.entries(p.clients ?? {})) if (client.project === name) delete p.clients![envId];
      });
      if (opts.json) return printJson({ deleted: name, keptData: outcome?.keptData ?? [], deletedData: outcome?.deletedData ?? [] });
      print(`Deleted project ${name}.`);
      printDataOutcome(outcome, name);
    }),
  );

  withExamples(
    projects
      .command('use <name>')
      .description('Make a project the one commands use in this profile (--project and KINTO_PROJECT still win)'),
    ['kinto projects use shop'],
  ).action(
    action<object, [string]>(async ({ session }, name) => {
      const { api } = session.connection();
      await data(api.GET('/v1/projects/{project}', { params: { path: { project: name } } }));
      if (!session.profile) throw new CliError('NOT_LOGGED_IN', `profile "${session.profileName}" is not saved: run kinto login first`);
      session.changeProfile((p) => (p.project = name));
      print(`Using project ${name}.`);
    }),
  );
}

function currentProject(session: { project(): string }): string | undefined {
  try {
    return session.project();
  } catch {
    return undefined;
  }
}
