import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { action, withExamples, withJson } from '../command';
import { data } from '../api/calls';
import { authorize, callBlock } from '../api/gateway';
import { CliError } from '../errors';
import { err } from '../output/colors';
import { note, printJson } from '../output/print';

interface CallOptions {
  method: string;
  data?: string;
  header: string[];
  include?: boolean;
  json?: boolean;
}

/**
 * `kinto call <env> <block> [path]`: calls a block through its environment's gateway as a client
 * app would (a token from the client the CLI kept, `Kinto-Authorization`), to check a deploy.
 */
export function registerCall(program: Command): void {
  withExamples(
    withJson(
      program
        .command('call <env> <block> [path]')
        .description(
          "Call a block through the environment's gateway, with a token of the client kept when the environment was created (or KINTO_CLIENT_ID and KINTO_CLIENT_SECRET); exit 1 on an HTTP error",
        )
        .option('-X, --method <method>', 'the HTTP method', 'GET')
        .option('-d, --data <body>', 'a request body ("@file" reads a file, "-" stdin); sent as JSON when it parses as JSON')
        .option('-H, --header <header>', '"Name: value" (repeatable)', (v: string, p: string[]) => [...p, v], [] as string[])
        .option('-i, --include', 'print the status line and response headers before the body'),
    ),
    ['kinto call dev hello /orders', 'kinto call dev hello /orders -X POST -d \'{"item": 42}\'', 'kinto call dev hello / --json'],
  ).action(
    action<CallOptions, [string, string, string | undefined]>(async ({ session, opts }, env, block, path = '/') => {
      const { api } = session.connection();
      const environment = await data(
        api.GET('/v1/projects/{project}/environments/{env}', { params: { path: { project: session.project(), env } } }),
      );
      if (!environment.gatewayUrl) throw new CliError('NO_GATEWAY', `${env} has no gateway URL yet`);
      const client = fromEnv() ?? session.storedClient(environment.id);
      let token: string | undefined;
      if (client) token = await authorize(environment.gatewayUrl, client.clientId, client.secret);
      else note(err.yellow(`No client kept for ${env}: calling without a token (kinto clients ${env} create keeps one).`));

      const headers: Record<string, string> = {};
      for (const h of opts.header) {
        const at = h.indexOf(':');
        if (at <= 0) throw new CliError('INVALID_OPTION', `--header takes "Name: value", got "${h}"`);
        headers[h.slice(0, at).trim().toLowerCase()] = h.slice(at + 1).trim();
      }
      const body = opts.data === undefined ? undefined : readBody(opts.data);
      if (body !== undefined && !headers['content-type']) headers['content-type'] = isJson(body) ? 'application/json' : 'text/plain';
      const res = await callBlock(environment.gatewayUrl, block, path, { method: opts.method.toUpperCase(), headers, body, token });
      const text = await res.text();
      const requestId = res.headers.get('kinto-request-id');
      if (opts.json) {
        printJson({
          status: res.status,
          requestId,
          headers: Object.fromEntries(res.headers),
          body: isJson(text) ? (JSON.parse(text) as unknown) : text,
        });
      } else {
        if (opts.include) {
          process.stdout.write(`HTTP ${res.status} ${res.statusText}\n`);
          for (const [k, v] of res.headers) process.stdout.write(`${k}: ${v}\n`);
          process.stdout.write('\n');
        }
        process.stdout.write(text.endsWith('\n') || !text ? text : `${text}\n`);
        note(err.dim(`HTTP ${res.status}  kinto-request-id: ${requestId ?? '-'}`));
      }
      if (res.status >= 400) {
        const e = isJson(text) ? (JSON.parse(text) as { error?: { code?: string; message?: string } }).error : undefined;
        throw new CliError(e?.code ?? `HTTP_${res.status}`, e?.message ?? `the block answered ${res.status} ${res.statusText}`);
      }
    }),
  );
}

function fromEnv(): { clientId: string; secret: string } | undefined {
  const { KINTO_CLIENT_ID: clientId, KINTO_CLIENT_SECRET: secret } = process.env;
  return clientId && secret ? { clientId, secret } : undefined;
}

function readBody(value: string): string {
  if (value === '-') return readFileSync(0, 'utf8');
  if (value.startsWith('@')) return readFileSync(value.slice(1), 'utf8');
  return value;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return text.trim() !== '';
  } catch {
    return false;
  }
}
