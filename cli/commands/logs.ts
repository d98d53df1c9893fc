import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data, page } from '../api/calls';
import { openEventStream, type EventStream } from '../api/event-stream';
import type { ConsoleLine, InstanceLine, RequestEntry } from '../api/types';
import type { Connection } from '../session';
import { CliError } from '../errors';
import { out } from '../output/colors';
import { clockTime, dateTime, duration, shortSha } from '../output/format';
import { note, print, printJson } from '../output/print';
import { table } from '../output/table';

const ENV = '/v1/projects/{project}/environments/{env}';
const POLL_MS = 1000;
/** Requests read per page while following. */
const FOLLOW_PAGE = 100;
/** Pages read back per poll while every request on them is new: up to 1,000 new requests a second are all shown. */
const FOLLOW_PAGES_PER_POLL = 10;

interface LogsOptions {
  block?: string;
  status?: string;
  limit: string;
  request?: string;
  lines?: boolean;
  instance?: boolean;
  grep?: string;
  follow?: boolean;
  json?: boolean;
}

type Where = { project: string; env: string };

/**
 * `kinto logs <env>`: the requests through an environment's gateway (newest last), one request
 * with the console lines its blocks logged (--request), or a block's own output (--instance);
 * --follow keeps printing new ones. With --json and --follow, one JSON object per line.
 */
export function registerLogs(program: Command): void {
  withExamples(
    withJson(
      program
        .command('logs <env>')
        .description(
          "An environment's last requests (with --lines, each one's console lines), one request (--request), or a block's instance log (--instance)",
        )
        .option('-b, --block <block>', 'only requests to this block (with --instance: whose log)')
        .option('-s, --status <status>', 'only requests with this status: a code (404), a class (4xx, 5xx) or error (400 and up)')
        .option('-n, --limit <n>', 'how many requests or lines', '20')
        .option('-r, --request <id>', 'one request (its kinto-request-id) with its console lines')
        .option('-l, --lines', 'with each request, the console lines its blocks logged for it')
        .option('-i, --instance', "the block's instance log (output not tied to a request, platform events); needs --block")
        .option('-g, --grep <text>', 'with --instance: only lines containing this text')
        .option('-f, --follow', 'keep printing new requests (or instance lines) as they come; Ctrl-C stops'),
    ),
    [
      'kinto logs dev',
      'kinto logs dev --lines --limit 5',
      'kinto logs dev --status 5xx --block hello --follow',
      'kinto logs dev --request 4f2c9a4e-...',
      'kinto logs dev --block hello --instance --follow',
    ],
  ).action(
    action<LogsOptions, [string]>(async ({ session, opts }, env) => {
      const conn = session.connection();
      const where = { project: session.project(), env };
      if (opts.request) return showRequest(conn, where, opts.request, Boolean(opts.json));
      if (opts.instance) {
        if (!opts.block) throw new CliError('MISSING_OPTION', '--instance needs --block <block>');
        return instanceLog(conn, where, opts.block, opts);
      }
      return requests(conn, where, opts);
    }),
  );
}

async function showRequest(conn: Connection, { project, env }: Where, id: string, json: boolean): Promise<void> {
  const detail = await data(conn.api.GET(`${ENV}/requests/{requestId}`, { params: { path: { project, env, requestId: id } } }));
  if (json) return printJson(detail);
  print(detail.access ? requestLine(detail.access) : `${out.dim('(no access entry yet)')}  ${detail.requestId}`);
  printConsoleLines(detail.consoleLines);
}

async function requests(conn: Connection, { project, env }: Where, opts: LogsOptions): Promise<void> {
  const query = { limit: opts.limit, ...(opts.block ? { block: opts.block } : {}), ...(opts.status ? { status: opts.status } : {}) };
  const list = (await page(conn.api.GET(`${ENV}/requests`, { params: { path: { project, env }, query } }))).data;
  const detail = (r: RequestEntry) =>
    data(conn.api.GET(`${ENV}/requests/{requestId}`, { params: { path: { project, env, requestId: r.requestId } } }));
  // Ten at a time: a follow may have a thousand new requests to read.
  const details = async (entries: RequestEntry[]) => {
    const all: Awaited<ReturnType<typeof detail>>[] = [];
    for (let i = 0; i < entries.length; i += 10) all.push(...(await Promise.all(entries.slice(i, i + 10).map(detail))));
    return all;
  };
  const emit = async (entries: RequestEntry[]) => {
    const withLines = opts.lines ? await details(entries) : undefined;
    entries.forEach((r, i) => {
      if (opts.json && opts.follow) return print(JSON.stringify(withLines ? { ...r, consoleLines: withLines[i].consoleLines } : r));
      print(requestLine(r));
      if (withLines) printConsoleLines(withLines[i].consoleLines);
    });
  };

  if (!opts.follow) {
    if (opts.json)
      return printJson(opts.lines ? (await details(list)).map((d, i) => ({ ...list[i], consoleLines: d.consoleLines })) : list);
    if (opts.lines) return emit([...list].reverse());
    return print(
      table(
        ['TIME', 'STATUS', 'METHOD', 'PATH', 'BLOCK', 'RELEASE', 'DURATION', 'REQUEST ID'],
        [...list]
          .reverse()
          .map((r) => [
            dateTime(r.time),
            statusText(r.status),
            r.method,
            r.path,
            r.block,
            r.release ? `${r.release}${r.commit ? ` (${shortSha(r.commit)})` : ''}` : null,
            duration(r.durationMs),
            r.requestId,
          ]),
      ),
    );
  }

  // Follow: the last ones first (oldest first), then every new one, polling the newest page (a
  // page as large as the one polled is read first, so that what was there is not taken for new).
  const newest = async (before?: string) =>
    page(
      conn.api.GET(`${ENV}/requests`, {
        params: { path: { project, env }, query: { ...query, limit: String(FOLLOW_PAGE), ...(before ? { before } : {}) } },
      }),
    );
  // Only the newest page is remembered: a request that left it never comes back into it, so a
  // follow that runs for days keeps a set of FOLLOW_PAGE ids, not of every one seen.
  let seen = new Set([...list, ...(await newest()).data].map((r) => r.requestId));
  await emit([...list].reverse());
  note(out.dim('Following new requests (Ctrl-C stops)...'));
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const first = await newest();
    const polled = [...first.data];
    // More new requests than a page since the last poll: read back until a known one shows.
    let cursor = first.nextCursor;
    for (let pages = 1; cursor && pages < FOLLOW_PAGES_PER_POLL && !polled.some((r) => seen.has(r.requestId)); pages++) {
      const older = await newest(cursor);
      polled.push(...older.data);
      cursor = older.nextCursor;
    }
    if (cursor && !polled.some((r) => seen.has(r.requestId)))
      note(out.dim(`More than ${FOLLOW_PAGE * FOLLOW_PAGES_PER_POLL} new requests since the last poll: the older ones are not shown.`));
    const fresh = polled.filter((r) => !seen.has(r.requestId)).reverse();
    seen = new Set(first.data.map((r) => r.requestId));
    if (fresh.length) await emit(fresh);
  }
}

async function instanceLog(conn: Connection, { project, env }: Where, block: string, opts: LogsOptions): Promise<void> {
  const path = { project, env, block };
  const query = { limit: opts.limit, ...(opts.grep ? { q: opts.grep } : {}) };
  const first = await page(conn.api.GET(`${ENV}/blocks/{block}/logs`, { params: { path, query } }));
  const lines = [...first.data].reverse();
  const emit = (l: InstanceLine) => print(opts.json ? JSON.stringify(l) : instanceText(l));
  if (!opts.follow) {
    if (opts.json) return printJson(first.data);
    return lines.forEach(emit);
  }
  lines.forEach(emit);
  note(out.dim(`Following ${block}'s log in ${env} (Ctrl-C stops)...`));
  const cursor = first.followCursor;
  const streamed = await streamInstanceLog(
    conn,
    path,
    { ...(opts.grep ? { q: opts.grep } : {}), ...(cursor ? { after: cursor } : {}) },
    emit,
  );
  if (streamed.refused === undefined) return;
  // A control API that cannot stream (on AWS a Lambda answers 400): poll with ?after= instead.
  let after = cursor;
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS * 2));
    const next = await page(
      conn.api.GET(`${ENV}/blocks/{block}/logs`, {
        params: { path, query: { limit: '1000', ...(opts.grep ? { q: opts.grep } : {}), ...(after ? { after } : {}) } },
      }),
    );
    next.data.forEach(emit);
    after = next.followCursor;
  }
}

/**
 * Follows the instance log as server-sent events until the stream is refused (resolves with the
 * status) or the user stops it; a dropped connection is resumed by the EventSource client.
 */
function streamInstanceLog(
  conn: Connection,
  path: { project: string; env: string; block: string },
  query: Record<string, string>,
  emit: (line: InstanceLine) => void,
): Promise<{ refused?: number }> {
  const params = new URLSearchParams({ follow: 'true', ...query });
  const url = `${conn.url}/v1/projects/${encodeURIComponent(path.project)}/environments/${encodeURIComponent(path.env)}/blocks/${encodeURIComponent(path.block)}/logs?${params.toString()}`;
  return new Promise((resolve) => {
    let stream: EventStream | undefined = undefined;
    stream = openEventStream(url, conn.token, { line: (text) => emit(JSON.parse(text) as InstanceLine) }, (error, s) => {
      if (error.status === undefined) return note(out.dim('Connection lost; reconnecting...'));
      s.close();
      if (error.status === 429) note('Too many log streams are open on the platform; polling instead.');
      resolve({ refused: error.status });
    });
    process.once('SIGINT', () => {
      stream?.close();
      process.exit(130);
    });
  });
}

function requestLine(r: RequestEntry): string {
  return [
    out.dim(clockTime(r.time)),
    statusText(r.status),
    `${r.method} ${r.path}`,
    release(r) ?? '-',
    duration(r.durationMs),
    out.dim(r.requestId),
  ].join('  ');
}

function printConsoleLines(lines: ConsoleLine[]): void {
  if (!lines.length) return print(`    ${out.dim('(no console lines)')}`);
  for (const l of lines) print(`    ${out.dim(clockTime(l.time))} ${out.cyan(l.block)} ${consoleText(l)}`);
}

/** The JSON the block logged, without the request id (the request's line shows it). */
function consoleText(l: ConsoleLine): string {
  if (l.log && typeof l.log === 'object') {
    const { kinto_request_id: _id, ...rest } = l.log as Record<string, unknown>;
    return JSON.stringify(rest);
  }
  return l.text ?? JSON.stringify(l.log);
}

function instanceText(l: InstanceLine): string {
  const stream = l.stream === 'platform' ? out.magenta('platform') : l.stream === 'stderr' ? out.yellow('stderr') : out.dim('stdout');
  return `${out.dim(clockTime(l.time))} ${stream} ${l.text}`;
}

function statusText(status: number): string {
  const text = String(status);
  return status >= 500 ? out.red(text) : status >= 400 ? out.yellow(text) : out.green(text);
}

const release = (r: RequestEntry): string | null =>
  r.block ? `${r.block}${r.release ? `@${r.release}` : ''}${r.commit ? ` (${shortSha(r.commit)})` : ''}` : null;
