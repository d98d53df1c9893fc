import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data, text } from '../api/calls';
import { followLog } from '../api/follow-log';
import type { Build } from '../api/types';
import type { Connection } from '../session';
import { CliError } from '../errors';
import { dateTime, duration, elapsed, shortSha } from '../output/format';
import { print, printJson } from '../output/print';
import { logWriter } from '../output/log-writer';
import { createProgress } from '../output/progress';
import { details, table } from '../output/table';

type Json = { json?: boolean };
const BUILD = '/v1/projects/{project}/blocks/{block}/builds/{build}';

/** `kinto build <block> [--follow]` and `kinto builds <block> [id]`. */
export function registerBuild(program: Command): void {
  withExamples(
    withJson(
      program
        .command('build <block>')
        .description('Build a block from its repo (building again is the retry)')
        .option('-f, --follow', 'wait for the build, streaming its log; exit 1 when it fails'),
    ),
    ['kinto build hello --follow', 'kinto build hello --follow --json > build.json   # the log goes to stderr then'],
  ).action(
    action<Json & { follow?: boolean }, [string]>(async ({ session, opts }, block) => {
      const conn = session.connection();
      const project = session.project();
      const started = await data(conn.api.POST('/v1/projects/{project}/blocks/{block}/builds', { params: { path: { project, block } } }));
      if (!opts.follow) {
        if (opts.json) return printJson(started);
        return print(`Build ${started.id} of ${block} is ${started.status}. Follow it with: kinto builds ${block} ${started.id} --follow`);
      }
      await followBuild(conn, project, block, started.id, Boolean(opts.json));
    }),
  );

  withExamples(
    withJson(
      program
        .command('builds <block> [id]')
        .description("List a block's builds, newest first; with an id, show that build and its log")
        .option('-f, --follow', 'with an id: follow the build while it runs')
        .option('--limit <n>', 'how many builds to list', '20'),
    ),
    ['kinto builds hello', 'kinto builds hello 3f2a... --follow'],
  ).action(
    action<Json & { follow?: boolean; limit: string }, [string, string | undefined]>(async ({ session, opts }, block, id) => {
      const conn = session.connection();
      const project = session.project();
      if (id && opts.follow) return followBuild(conn, project, block, id, Boolean(opts.json));
      if (id) {
        const build = await data(conn.api.GET(BUILD, { params: { path: { project, block, build: id } } }));
        const log = await readLog(conn, project, block, id, 0);
        if (opts.json) return printJson({ ...build, log: log.text });
        print(buildDetails(build));
        return print(`\n${log.text}`);
      }
      const list = await data(
        conn.api.GET('/v1/projects/{project}/blocks/{block}/builds', {
          params: { path: { project, block }, query: { limit: opts.limit } },
        }),
      );
      if (opts.json) return printJson(list);
      print(
        table(
          ['ID', 'STATUS', 'COMMIT', 'STARTED', 'DURATION', 'ERROR'],
          list.map((b) => [b.id, b.status, shortSha(b.commit), dateTime(b.startedAt ?? b.createdAt), duration(b.durationMs), b.error]),
        ),
      );
    }),
  );
}

function buildDetails(b: Build): string {
  return details([
    ['build', b.id],
    ['block', b.block],
    ['status', b.status],
    ['commit', b.commit],
    ['source', `${b.source.repo}${b.source.subfolder ? ` (${b.source.subfolder})` : ''} ${b.source.commit ?? b.source.branch ?? ''}`],
    ['started', dateTime(b.startedAt)],
    ['duration', duration(b.durationMs)],
    ['error', b.error],
  ]);
}

async function readLog(conn: Connection, project: string, block: string, build: string, offset: number) {
  const r = await text(
    conn.api.GET(`${BUILD}/log`, { params: { path: { project, block, build }, query: { offset: String(offset) } }, parseAs: 'text' }),
  );
  return {
    text: r.text,
    nextOffset: Number(r.headers.get('kinto-log-next-offset') ?? offset),
    status: r.headers.get('kinto-build-status') ?? '',
  };
}

/**
 * Streams a build's log while it runs (to stdout; to stderr with --json, whose stdout is the
 * build record), with a spinner saying how long it has run; fails when the build fails.
 */
async function followBuild(conn: Connection, project: string, block: string, id: string, json: boolean): Promise<void> {
  const progress = createProgress();
  const since = new Date().toISOString();
  const log = logWriter(progress, json ? process.stderr : process.stdout);
  const label = (status: string) => `Building ${block} (${status}, ${elapsed(since)})`;
  let current = 'queued';
  progress.start(label(current));
  const timer = setInterval(() => progress.update(label(current)), 250);
  try {
    await followLog({
      read: (offset) => readLog(conn, project, block, id, offset),
      finished: (s) => s === 'succeeded' || s === 'failed',
      onStatus: (s) => (current = s),
      onText: (t) => log.write(t),
    });
  } finally {
    clearInterval(timer);
  }
  log.flush();
  const build = await data(conn.api.GET(BUILD, { params: { path: { project, block, build: id } } }));
  if (build.status === 'succeeded') {
    progress.succeed(`Built ${block} in ${duration(build.durationMs)} (commit ${shortSha(build.commit)}, build ${build.id})`);
    if (json) printJson(build);
    return;
  }
  progress.fail(`Build of ${block} failed`);
  if (json) printJson(build);
  throw new CliError('BUILD_FAILED', `build ${build.id} of ${block} failed: ${build.error ?? 'see its log'}`);
}
