import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data } from '../api/calls';
import { CliError } from '../errors';
import { dateTime, duration, parseDuration } from '../output/format';
import { print, printJson } from '../output/print';
import { table } from '../output/table';

const MAX_SPAN_MS = 24 * 3_600_000;

/** `kinto metrics <env> [--block b] [--since 1h]`: requests, errors and latency per block. */
export function registerMetrics(program: Command): void {
  withExamples(
    withJson(
      program
        .command('metrics <env>')
        .description('Requests, 4xx, 5xx, latency percentiles and wakes (cold starts) per block, over a time span')
        .option('-b, --block <block>', 'only this block')
        .option('--since <duration>', 'how far back: 15m, 1h, 6h, 24h (at most 24h)', '1h')
        .option('--minutes', 'one row per minute instead of totals'),
    ),
    ['kinto metrics dev', 'kinto metrics prod --block hello --since 6h', 'kinto metrics dev --since 15m --minutes'],
  ).action(
    action<{ block?: string; since: string; minutes?: boolean; json?: boolean }, [string]>(async ({ session, opts }, env) => {
      let span: number;
      try {
        span = parseDuration(opts.since);
      } catch (e) {
        throw new CliError('INVALID_OPTION', `--since: ${(e as Error).message}`);
      }
      if (span > MAX_SPAN_MS) throw new CliError('INVALID_OPTION', '--since goes back 24h at most');
      const to = new Date();
      const from = new Date(to.getTime() - span);
      const { api } = session.connection();
      const metrics = await data(
        api.GET('/v1/projects/{project}/environments/{env}/metrics', {
          params: { path: { project: session.project(), env }, query: { from: from.toISOString(), to: to.toISOString() } },
        }),
      );
      const blocks = opts.block ? metrics.blocks.filter((b) => b.block === opts.block) : metrics.blocks;
      if (opts.json) return printJson({ ...metrics, blocks });
      const ms = (v: number | null) => (v === null ? '-' : duration(v));
      if (opts.minutes) {
        return print(
          table(
            ['MINUTE', 'BLOCK', 'REQUESTS', '4XX', '5XX', 'P50', 'P95', 'P99', 'WAKES'],
            blocks.flatMap((b) =>
              b.minutes.map((m) => [
                dateTime(m.minute),
                b.block ?? '(no block)',
                m.requests,
                m.errors4xx,
                m.errors5xx,
                ms(m.p50Ms),
                ms(m.p95Ms),
                ms(m.p99Ms),
                m.coldStarts,
              ]),
            ),
          ),
        );
      }
      print(`${dateTime(metrics.from)} to ${dateTime(metrics.to)}`);
      print(
        table(
          ['BLOCK', 'REQUESTS', '4XX', '5XX', 'P50', 'P95', 'P99', 'AVG', 'MAX', 'WAKES', 'WAKE AVG'],
          blocks.map(({ block, total: t }) => [
            block ?? '(no block)',
            t.requests,
            t.errors4xx,
            t.errors5xx,
            ms(t.p50Ms),
            ms(t.p95Ms),
            ms(t.p99Ms),
            ms(t.avgMs),
            ms(t.maxMs),
            t.coldStarts,
            ms(t.coldStartAvgMs),
          ]),
        ),
      );
    }),
  );
}
