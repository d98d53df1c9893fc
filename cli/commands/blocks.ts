import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { action, withExamples, withJson, withYes } from '../command';
import { data, done } from '../api/calls';
import type { Block } from '../api/types';
import { CliError } from '../errors';
import { dateTime } from '../output/format';
import { print, printJson } from '../output/print';
import { confirm } from '../output/prompt';
import { details, table } from '../output/table';

type Json = { json?: boolean };

/** What `blocks add` and `blocks update` take; each maps to a field of the block. */
interface DefinitionOptions {
  file?: string;
  type?: Block['type'];
  kind?: NonNullable<Block['kind']>;
  schedule?: string;
  description?: string;
  repo?: string;
  branch?: string;
  commit?: string;
  subfolder?: string;
  buildCommand?: string;
  startCommand?: string;
  port?: number;
  outputDir?: string;
  dockerfile?: string;
  buildArg: string[];
  var: string[];
  required: string[];
  removeVar: string[];
}

const collect = (value: string, previous: string[]) => [...previous, value];

function withDefinition(command: Command): Command {
  return command
    .option('--file <path>', 'the block as JSON, as the API takes it (options below override its fields)')
    .addOption(new Option('--type <type>', 'what it is').choices(['website', 'microservice', 'custom-service', 'job']))
    .addOption(
      new Option('--kind <kind>', 'websites: static, static-build, dynamic; jobs: pre-deploy, post-deploy, cron').choices([
        'static',
        'static-build',
        'dynamic',
        'pre-deploy',
        'post-deploy',
        'cron',
      ]),
    )
    .option('--schedule <cron>', 'cron jobs: a 5-field schedule in UTC, e.g. "0 3 * * *"')
    .option('-d, --description <text>', 'what the block does')
    .option('--repo <url>', 'the git repo: https://, ssh://, git://, file:// URL, user@host:path or an absolute local path')
    .option('--branch <branch>', "the branch to build (default: the repo's default branch)")
    .option('--commit <sha>', 'a commit to build instead of a branch')
    .option('--subfolder <path>', "the block's folder inside the repo")
    .option('--build-command <command>', 'how to build it (no shell: words, quotes, $VARS and && work)')
    .option('--start-command <command>', 'how to start it; it listens on $PORT')
    .option('--port <port>', 'the port it listens on, when not $PORT', (v) => Number(v))
    .option('--output-dir <path>', 'websites built to files: the folder to serve')
    .option('--dockerfile <path>', 'build from this Dockerfile (AWS only)')
    .option('--build-arg <NAME=VALUE>', 'a build argument (repeatable; never a secret)', collect, [])
    .option('--var <NAME=DEFAULT>', 'a variable with its default value (repeatable)', collect, [])
    .option('--required <NAME>', 'a variable every environment must set (repeatable)', collect, []);
}

/** `kinto blocks [list|add|show|update|remove]`. */
export function registerBlocks(program: Command): void {
  const blocks = withExamples(program.command('blocks').description('Blocks of the project: git repos and how to build and run them'), [
    'kinto blocks',
    'kinto blocks add hello --type microservice --repo /tmp/hello --branch main --start-command "node server.js" --var GREETING=hello',
    'kinto blocks show hello',
  ]);

  withExamples(withJson(blocks.command('list', { isDefault: true }).description('List the blocks')), [
    'kinto blocks list',
    'kinto --project shop blocks --json',
  ]).action(
    action<Json>(async ({ session, opts }) => {
      const { api } = session.connection();
      const list = await data(
        api.GET('/v1/projects/{project}/blocks', { params: { path: { project: session.project() }, query: { limit: '1000' } } }),
      );
      if (opts.json) return printJson(list);
      print(
        table(
          ['NAME', 'TYPE', 'REPO', 'REF', 'UPDATED'],
          list.map((b) => [
            b.name,
            b.kind ? `${b.type} (${b.kind})` : b.type,
            source(b),
            b.source.commit ?? b.source.branch,
            dateTime(b.updatedAt),
          ]),
        ),
      );
    }),
  );

  withExamples(withJson(withDefinition(blocks.command('add <name>').description('Add a block to the project'))), [
    'kinto blocks add hello --type microservice --repo /tmp/hello --start-command "node server.js" --var GREETING=hello',
    'kinto blocks add site --type website --kind static-build --repo git@github.com:me/site.git --build-command "npm run build" --output-dir dist',
    'kinto blocks add nightly --type job --kind cron --schedule "0 3 * * *" --repo /src/jobs --start-command "node nightly.js"',
    'kinto blocks add api --file api-block.json',
  ]).action(
    action<Json & DefinitionOptions, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const base = readDefinitionFile(opts.file);
      const body = { ...base, ...definition(opts, base) } as Record<string, unknown>;
      if (!body.type) throw new CliError('MISSING_OPTION', 'pass --type (website, microservice, custom-service or job)');
      if (!body.source) throw new CliError('MISSING_OPTION', 'pass --repo <git URL or absolute path>');
      const block = await data(
        api.POST('/v1/projects/{project}/blocks', {
          params: { path: { project: session.project() } },
          body: { ...body, name } as never,
        }),
      );
      if (opts.json) return printJson(block);
      print(`Added block ${block.name} (${block.type}). Build it with: kinto build ${block.name} --follow`);
    }),
  );

  withExamples(withJson(blocks.command('show <name>').description('Show a block: source, build settings, variables')), [
    'kinto blocks show hello',
  ]).action(
    action<Json, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const b = await data(
        api.GET('/v1/projects/{project}/blocks/{block}', { params: { path: { project: session.project(), block: name } } }),
      );
      if (opts.json) return printJson(b);
      print(
        details([
          ['name', b.name],
          ['type', b.kind ? `${b.type} (${b.kind})` : b.type],
          ['schedule', b.schedule],
          ['description', b.description],
          ['repo', source(b)],
          ['ref', b.source.commit ?? b.source.branch],
          ['build command', b.build.buildCommand],
          ['start command', b.build.startCommand],
          ['port', b.build.port],
          ['output dir', b.build.outputDir],
          ['dockerfile', b.build.dockerfile],
          ['build args', Object.keys(b.build.buildArgs).join(', ')],
          ['updated', dateTime(b.updatedAt)],
        ]),
      );
      const vars = Object.entries(b.variables);
      if (vars.length)
        print(
          `\n${table(
            ['VARIABLE', 'DEFAULT', 'REQUIRED'],
            vars.map(([n, v]) => [n, v.default, v.required ? 'yes' : '']),
          )}`,
        );
    }),
  );

  withExamples(
    withJson(
      withDefinition(blocks.command('update <name>').description('Change a block (what you leave out stays)')).option(
        '--remove-var <NAME>',
        'remove a variable (repeatable)',
        collect,
        [],
      ),
    ),
    ['kinto blocks update hello --branch release', 'kinto blocks update hello --var GREETING=hey --remove-var OLD_NAME'],
  ).action(
    action<Json & DefinitionOptions, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const path = { project: session.project(), block: name };
      const current = await data(api.GET('/v1/projects/{project}/blocks/{block}', { params: { path } }));
      const body = { ...readDefinitionFile(opts.file), ...definition(opts, current) };
      if (Object.keys(body).length === 0)
        throw new CliError('NOTHING_TO_CHANGE', 'pass the options to change (kinto blocks update --help)');
      const block = await data(api.PATCH('/v1/projects/{project}/blocks/{block}', { params: { path }, body: body as never }));
      if (opts.json) return printJson(block);
      print(`Updated block ${block.name}. Build it again to use a new source or build settings: kinto build ${block.name} --follow`);
    }),
  );

  withExamples(
    withYes(
      withJson(
        blocks.command('remove <name>').description('Remove a block (releases keep it; its configuration in every environment goes)'),
      ),
      'remove',
    ),
    ['kinto blocks remove hello --yes'],
  ).action(
    action<Json & { yes?: boolean }, [string]>(async ({ session, opts }, name) => {
      const { api } = session.connection();
      const project = session.project();
      if (!(await confirm(`Remove block ${name} from ${project}?`, { yes: opts.yes, what: `Removing block ${name}` }))) {
        throw new CliError('CANCELLED', 'nothing removed');
      }
      await done(api.DELETE('/v1/projects/{project}/blocks/{block}', { params: { path: { project, block: name } } }));
      if (opts.json) return printJson({ removed: name });
      print(`Removed block ${name}.`);
    }),
  );
}

const source = (b: Pick<Block, 'source'>) => (b.source.subfolder ? `${b.source.repo} (${b.source.subfolder})` : b.source.repo);

function readDefinitionFile(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new CliError('INVALID_FILE', `${file}: ${(e as Error).message}`);
  }
}

/** NAME=VALUE pairs as an object. */
function pairs(list: readonly string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const at = item.indexOf('=');
    if (at <= 0) throw new CliError('INVALID_OPTION', `${what} takes NAME=VALUE, got "${item}"`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

/**
 * The block fields the options set, merged over `base` (the block as it is, or the --file):
 * the API replaces source, build and variables whole, so each is sent complete.
 */
function definition(opts: DefinitionOptions, base: Partial<Block> | Record<string, unknown>): Record<string, unknown> {
  const b = base as Partial<Block>;
  const body: Record<string, unknown> = {};
  if (opts.type) body.type = opts.type;
  if (opts.kind) body.kind = opts.kind;
  if (opts.schedule) body.schedule = opts.schedule;
  if (opts.description !== undefined) body.description = opts.description;

  if (opts.repo || opts.branch || opts.commit || opts.subfolder) {
    const src: Record<string, string | undefined> = { ...b.source };
    if (opts.repo) src.repo = opts.repo;
    if (opts.branch) [src.branch, src.commit] = [opts.branch, undefined];
    if (opts.commit) [src.commit, src.branch] = [opts.commit, undefined];
    if (opts.subfolder) src.subfolder = opts.subfolder;
    body.source = clean(src);
  }

  const build: Record<string, unknown> = {};
  if (opts.buildCommand) build.buildCommand = opts.buildCommand;
  if (opts.startCommand) build.startCommand = opts.startCommand;
  if (opts.port !== undefined) {
    if (!Number.isInteger(opts.port)) throw new CliError('INVALID_OPTION', '--port takes a number');
    build.port = opts.port;
  }
  if (opts.outputDir) build.outputDir = opts.outputDir;
  if (opts.dockerfile) build.dockerfile = opts.dockerfile;
  if (opts.buildArg.length) build.buildArgs = { ...b.build?.buildArgs, ...pairs(opts.buildArg, '--build-arg') };
  if (Object.keys(build).length) body.build = { ...b.build, ...build };

  if (opts.var.length || opts.required.length || opts.removeVar?.length) {
    const variables: Record<string, { default?: string; required?: boolean }> = { ...b.variables };
    for (const [name, value] of Object.entries(pairs(opts.var, '--var'))) variables[name] = { ...variables[name], default: value };
    for (const name of opts.required) variables[name] = { ...variables[name], required: true };
    for (const name of opts.removeVar ?? []) delete variables[name];
    body.variables = variables;
  }
  return body;
}

const clean = <T extends Record<string, unknown>>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
