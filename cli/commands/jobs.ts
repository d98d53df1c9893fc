import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data, text } from '../api/calls';
import { followLog } from '../api/follow-log';
import type { Connection } from '../session';
import { CliError } from '../errors';
import { dateTime, duration, elapsed } from '../output/format';
import { print, printJson } from '../output/print';
import { logWriter } from '../output/log-writer';
import { createProgress } from '../output/progress';
import { table } from '../output/table';

const ENV = '/v1/projects/{project}/environments/{env}';
const RUNS = `${ENV}/blocks/{block}/runs`;
const ACTIONS = ['runs', 'run', 'log'] as const;

/** `kinto jobs <env> [job] [runs|run|log <runId>]`. */
export function registerJobs(program: Command): void {
  withExamples(
    withJson(
      program
        .command('jobs <env> [job] [action] [runId]')
        .description("Jobs of the release an environment runs; a job's runs (default), run it now (run), a run's output (log <runId>)")
        .option('-f, --follow', 'with run: wait for the run, streaming its output; exit 1 when it fails')
        .option('--limit <n>', 'how many runs to list', '20'),
    ),
    [
      'kinto jobs dev',
      'kinto jobs dev nightly-report',
      'kinto jobs dev nightly-report run --follow',
      'kinto jobs dev nightly-report log 5b1d...',
    ],
  ).action(
    action<{ json?: boolean; follow?: boolean; limit: string }, [string, string | undefined, string | undefined, string | undefined]>(
      async ({ session, opts }, env, job, verb = 'runs', runId) => {
        const conn = session.connection();
        const project = session.project();
        if (!job) {
          const jobs = await data(conn.api.GET(`${ENV}/jobs`, { params: { path: { project, env } } }));
          if (opts.json) return printJson(jobs);
          return print(
            table(
              ['JOB', 'KIND', 'SCHEDULE (UTC)', 'NEXT RUN', 'TIMEOUT', 'LAST RUN'],
              jobs.map((j) => [
                j.name,
                j.kind,
                j.schedule,
                dateTime(j.nextRuns[0]),
                `${j.timeoutSeconds} s`,
                j.lastRun ? `${j.lastRun.status} ${dateTime(j.lastRun.startedAt)}` : '',
              ]),
            ),
          );
        }
        if (!ACTIONS.includes(verb as (typeof ACTIONS)[number]))
          throw new CliError('INVALID_ACTION', `unknown action "${verb}": use ${ACTIONS.join(', ')}`);
        const path = { project, env, block: job };
        if (verb === 'runs') {
          const runs = await data(conn.api.GET(RUNS, { params: { path, query: { limit: opts.limit } } }));
          if (opts.json) return printJson(runs);
          return print(
            table(
              ['RUN', 'TRIGGER', 'RELEASE', 'STATUS', 'STARTED', 'DURATION', 'EXIT', 'REASON'],
              runs.map((r) => [r.id, r.trigger, r.release, r.status, dateTime(r.startedAt), duration(r.durationMs), r.exitCode, r.reason]),
            ),
          );
        }
        if (verb === 'log') {
          if (!runId) throw new CliError('MISSING_ARGUMENT', `log takes a run id (kinto jobs ${env} ${job})`);
          const log = await readRunLog(conn, path, runId, 0);
          return void process.stdout.write(log.text);
        }
        const run = await data(conn.api.POST(RUNS, { params: { path } }));
        if (!opts.follow) {
          if (opts.json) return printJson(run);
          return print(`Run ${run.id} of ${job} started. Its output: kinto jobs ${env} ${job} log ${run.id}`);
        }
        await followRun(conn, path, run.id, Boolean(opts.json));
      },
    ),
  );
}

type RunPath = { project: string; env: string; block: string };

async function readRunLog(conn: Connection, path: RunPath, run: string, offset: number) {
  const r = await text(
    conn.api.GET(`${RUNS}/{run}/log`, { params: { path: { ...path, run }, query: { offset: String(offset) } }, parseAs: 'text' }),
  );
  return {
    text: r.text,
    nextOffset: Number(r.headers.get('kinto-log-next-offset') ?? offset),
    status: r.headers.get('kinto-run-status') ?? '',
  };
}

/** Streams a job run's output until it ends (to stderr with --json); fails unless it succeeded. */
async function followRun(conn: Connection, path: RunPath, id: string, json: boolean): Promise<void> {
  const progress = createProgress();
  const since = new Date().toISOString();
  const log = logWriter(progress, json ? process.stderr : process.stdout);
  const label = () => `Running ${path.block} in ${path.env} (${elapsed(since)})`;
  progress.start(label());
  const timer = setInterval(() => progress.update(label()), 250);
  try {
    await followLog({
      read: (offset) => readRunLog(conn, path, id, offset),
      finished: (s) => s !== 'running' && s !== '',
      onText: (t) => log.write(t),
    });
  } finally {
    clearInterval(timer);
  }
  log.flush();
  const run = await data(conn.api.GET(`${RUNS}/{run}`, { params: { path: { ...path, run: id } } }));
  if (json) printJson(run);
  if (run.status === 'succeeded') return progress.succeed(`${path.block} succeeded in ${duration(run.durationMs)} (run ${run.id})`);
  progress.fail(`${path.block} ${run.status}`);
  throw new CliError(
    'JOB_FAILED',
    `run ${run.id} of ${path.block} ${run.status}${run.exitCode !== null ? ` (exit code ${run.exitCode})` : ''}${run.reason ? `: ${run.reason}` : ''}`,
  );
}
