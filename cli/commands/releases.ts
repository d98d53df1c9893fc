import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data } from '../api/calls';
import { CliError } from '../errors';
import { comparisonSummary } from '../output/comparison';
import { dateTime, shortSha } from '../output/format';
import { print, printJson } from '../output/print';
import { details, table } from '../output/table';
import { compareWith } from './deployment-flow';

type Json = { json?: boolean };
const RELEASES = '/v1/projects/{project}/releases';

/** `kinto releases [list|create|show|compare]`. */
export function registerReleases(program: Command): void {
  const releases = withExamples(
    program.command('releases').description('Releases: the project frozen under a version (blocks and their builds)'),
    ['kinto releases', 'kinto releases create 1.1.0 --notes "v2 greeting"', 'kinto releases compare 1.1.0 dev'],
  );

  withExamples(
    withJson(
      releases
        .command('list', { isDefault: true })
        .description('List releases, newest version first')
        .option('--limit <n>', 'how many', '50'),
    ),
    ['kinto releases list', 'kinto releases --json --limit 5'],
  ).action(
    action<Json & { limit: string }>(async ({ session, opts }) => {
      const { api } = session.connection();
      const list = await data(api.GET(RELEASES, { params: { path: { project: session.project() }, query: { limit: opts.limit } } }));
      if (opts.json) return printJson(list);
      print(
        table(
          ['VERSION', 'NOTES', 'CREATED', 'BLOCKS'],
          list.map((r) => [r.version, r.notes, dateTime(r.createdAt), r.blocks.map((b) => b.name).join(', ')]),
        ),
      );
    }),
  );

  withExamples(
    withJson(
      releases
        .command('create <version>')
        .description("Tag a release without deploying it: every block with its newest succeeded build (or --pin's)")
        .option('-n, --notes <text>', 'the release notes')
        .option('--pin <block=build>', 'freeze this build of a block (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[]),
    ),
    ['kinto releases create 1.1.0 --notes "v2 greeting"', 'kinto releases create 1.1.1 --pin hello=3f2a...'],
  ).action(
    action<Json & { notes?: string; pin: string[] }, [string]>(async ({ session, opts }, version) => {
      const { api } = session.connection();
      const blocks: Record<string, { build: string }> = {};
      for (const pin of opts.pin) {
        const [block, build] = pin.split('=');
        if (!block || !build) throw new CliError('INVALID_OPTION', `--pin takes block=build, got "${pin}"`);
        blocks[block] = { build };
      }
      const release = await data(
        api.POST(RELEASES, {
          params: { path: { project: session.project() } },
          body: { version, ...(opts.notes ? { notes: opts.notes } : {}), ...(opts.pin.length ? { blocks } : {}) },
        }),
      );
      if (opts.json) return printJson(release);
      print(`Tagged release ${release.version}: ${release.blocks.map((b) => `${b.name}@${shortSha(b.commit)}`).join(', ')}`);
    }),
  );

  withExamples(withJson(releases.command('show <version>').description("Show a release: its notes and each block's build")), [
    'kinto releases show 1.0.0',
  ]).action(
    action<Json, [string]>(async ({ session, opts }, version) => {
      const { api } = session.connection();
      const r = await data(api.GET(`${RELEASES}/{version}`, { params: { path: { project: session.project(), version } } }));
      if (opts.json) return printJson(r);
      print(
        details([
          ['release', r.version],
          ['notes', r.notes],
          ['created', dateTime(r.createdAt)],
        ]),
      );
      print(
        `\n${table(
          ['BLOCK', 'TYPE', 'BUILD', 'COMMIT', 'REPO'],
          r.blocks.map((b) => [b.name, b.type, b.buildId, shortSha(b.commit), b.source.repo]),
        )}`,
      );
    }),
  );

  withExamples(
    withJson(
      releases
        .command('compare <version> <env>')
        .description('What deploying a release to an environment would change: blocks and configuration (secret values never shown)'),
    ),
    ['kinto releases compare 1.1.0 dev'],
  ).action(
    action<Json, [string, string]>(async ({ session, opts }, version, env) => {
      const comparison = await compareWith(session, env, { release: version });
      if (opts.json) return printJson(comparison);
      print(comparisonSummary(comparison, env));
    }),
  );
}
