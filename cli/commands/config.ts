import { Option, type Command } from 'commander';
import { unwrap } from '../../client/kinto-client';
import { action, withExamples, withJson, withYes } from '../command';
import { data } from '../api/calls';
import type { BlockConfig } from '../api/types';
import type { Connection } from '../session';
import { CliError } from '../errors';
import { dateTime } from '../output/format';
import { note, print, printJson } from '../output/print';
import { confirm, readSecret } from '../output/prompt';
import { details, table } from '../output/table';
import { out } from '../output/colors';

const CONFIG = '/v1/projects/{project}/environments/{env}/blocks/{block}/config';
const ACTIONS = ['show', 'set', 'set-secret', 'unset', 'reset'] as const;
type Action = (typeof ACTIONS)[number];

interface ConfigOptions {
  json?: boolean;
  yes?: boolean;
  memory?: string;
  visibility?: 'protected' | 'public' | 'internal';
  timeout?: string;
  idleTimeout?: string;
  alwaysOn?: boolean;
  /** A user name (the password comes from a prompt or stdin), or false to remove the password. */
  basicAuth?: string | false;
}

type Settings = Pick<ConfigOptions, 'memory' | 'visibility' | 'timeout' | 'idleTimeout' | 'alwaysOn'> & {
  basicAuth?: { username: string; password: string } | null;
};

type VariableSetting = string | { secret: string | true };

/**
 * `kinto config <env> <block> [show|set KEY=VALUE...|set-secret KEY|unset KEY|reset]`: a block's
 * configuration in one environment. Changes apply with the next deployment.
 */
export function registerConfig(program: Command): void {
  withExamples(
    withYes(
      withJson(
        program
          .command('config <env> <block> [action] [args...]')
          .description(
            "A block's configuration in an environment: show (default), set KEY=VALUE..., set-secret KEY (the value from a prompt or stdin), unset KEY, reset",
          )
          .option('--memory <mb>', 'with set: memory in MB (128 to 10240)')
          .addOption(new Option('--visibility <who>', 'with set: who may call the block').choices(['protected', 'public', 'internal']))
          .option('--timeout <seconds>', "with set: a job run's time limit (1 to 900)")
          .option('--idle-timeout <seconds>', 'with set: custom services: seconds with no open connection before the service stops')
          .option('--always-on', 'with set: custom services: never stop for being idle')
          .option('--no-always-on', 'with set: custom services: stop after the idle time again')
          .option('--basic-auth <user>', 'with set: websites: ask for this user and a password (typed at a prompt or sent on stdin)')
          .option('--no-basic-auth', 'with set: websites: remove the password'),
      ),
      'reset',
    ),
    [
      'kinto config dev hello',
      'kinto config dev hello set GREETING="hi from dev" LOG_LEVEL=debug',
      'kinto config dev hello set --memory 1024 --visibility public',
      'printf %s "$SITE_PASSWORD" | kinto config dev site set --basic-auth preview',
      'kinto config dev cache set --idle-timeout 600',
      'printf %s "$STRIPE_KEY" | kinto config dev hello set-secret STRIPE_KEY',
      'kinto config dev hello unset LOG_LEVEL',
      'kinto config dev hello reset --yes',
    ],
  ).action(
    action<ConfigOptions, [string, string, string | undefined, string[]]>(async ({ session, opts }, env, block, verb = 'show', args) => {
      if (!ACTIONS.includes(verb as Action)) {
        throw new CliError('INVALID_ACTION', `unknown action "${verb}": use ${ACTIONS.join(', ')} (kinto config --help)`);
      }
      const conn = session.connection();
      const path = { project: session.project(), env, block };
      let view: BlockConfig;
      switch (verb as Action) {
        case 'show':
          view = await data(conn.api.GET(CONFIG, { params: { path } }));
          break;
        case 'set': {
          const settings: Settings = {
            ...opts,
            basicAuth:
              opts.basicAuth === undefined
                ? undefined
                : opts.basicAuth === false
                  ? null
                  : { username: opts.basicAuth, password: await readSecret(`Password of ${opts.basicAuth} for ${block} in ${env}`) },
          };
          if (
            !args.length &&
            ['memory', 'visibility', 'timeout', 'idleTimeout', 'alwaysOn', 'basicAuth'].every(
              (k) => opts[k as keyof ConfigOptions] === undefined,
            )
          ) {
            throw new CliError(
              'NOTHING_TO_CHANGE',
              'pass KEY=VALUE pairs, --memory, --visibility, --timeout, --idle-timeout, --[no-]always-on or --[no-]basic-auth',
            );
          }
          const changes: Record<string, VariableSetting> = {};
          for (const pair of args) {
            const at = pair.indexOf('=');
            if (at <= 0) throw new CliError('INVALID_ARGUMENT', `set takes KEY=VALUE, got "${pair}" (secrets: set-secret KEY)`);
            changes[pair.slice(0, at)] = pair.slice(at + 1);
          }
          view = await change(conn, path, changes, settings);
          break;
        }
        case 'set-secret': {
          if (args.length !== 1 || args[0].includes('=')) {
            throw new CliError(
              'INVALID_ARGUMENT',
              'set-secret takes one name (its value comes from a prompt or stdin, never from the command line)',
            );
          }
          const name = args[0];
          const value = await readSecret(`Secret value of ${name}`);
          view = await change(conn, path, { [name]: { secret: value } }, {});
          break;
        }
        case 'unset': {
          if (args.length !== 1) throw new CliError('INVALID_ARGUMENT', 'unset takes one variable name');
          view = await data(conn.api.DELETE(`${CONFIG}/variables/{variable}`, { params: { path: { ...path, variable: args[0] } } }));
          break;
        }
        case 'reset':
          if (
            !(await confirm(`Reset ${block}'s configuration in ${env} to its defaults (secrets included)?`, {
              yes: opts.yes,
              what: 'Resetting a configuration',
            }))
          ) {
            throw new CliError('CANCELLED', 'nothing reset');
          }
          view = await data(conn.api.DELETE(CONFIG, { params: { path } }));
          break;
      }
      if (opts.json) return printJson(view);
      if (verb !== 'show') note(`Saved. It applies with the next deployment of ${env} (kinto deploy ${env} ...).`);
      print(configView(view));
    }),
  );
}

/**
 * Changes some variables and settings. PUT replaces the whole configuration, so what stays is read
 * first and sent back: plain values as they are, secrets as `{"secret": true}` (keep), and the
 * write is conditional on the revision read (If-Match), so a change made meanwhile is not lost.
 */
async function change(
  conn: Connection,
  path: { project: string; env: string; block: string },
  variables: Record<string, VariableSetting>,
  opts: Settings,
): Promise<BlockConfig> {
  const read = await conn.api.GET(CONFIG, { params: { path } });
  const current = unwrap(read).data;
  const kept: Record<string, VariableSetting> = {};
  for (const [name, value] of Object.entries(current.overrides)) kept[name] = typeof value === 'string' ? value : { secret: true };
  const body = {
    variables: { ...kept, ...variables },
    memoryMb: opts.memory !== undefined ? number(opts.memory, '--memory') : current.memoryMb,
    visibility: opts.visibility ?? current.visibility,
    ...(opts.timeout !== undefined
      ? { timeoutSeconds: number(opts.timeout, '--timeout') }
      : current.timeoutSeconds !== undefined
        ? { timeoutSeconds: current.timeoutSeconds }
        : {}),
    ...(opts.idleTimeout !== undefined
      ? { idleTimeoutSeconds: number(opts.idleTimeout, '--idle-timeout') }
      : current.idleTimeoutSeconds !== undefined
        ? { idleTimeoutSeconds: current.idleTimeoutSeconds }
        : {}),
    ...((opts.alwaysOn ?? current.alwaysOn) !== undefined ? { alwaysOn: opts.alwaysOn ?? current.alwaysOn } : {}),
    // Left out, the password stays (the API never shows it back, so it cannot be sent again).
    ...(opts.basicAuth !== undefined ? { basicAuth: opts.basicAuth } : {}),
  };
  const etag = read.response.headers.get('etag');
  return data(conn.api.PUT(CONFIG, { params: { path }, body, headers: etag ? { 'if-match': etag } : {} }));
}

function number(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError('INVALID_OPTION', `${option} takes a whole number, got "${value}"`);
  return n;
}

function configView(c: BlockConfig): string {
  const names = [...new Set([...Object.keys(c.variables), ...Object.keys(c.overrides)])].sort();
  const rows = names.map((name) => {
    const value = c.variables[name] ?? c.overrides[name];
    const set = name in c.overrides;
    if (value !== undefined && typeof value !== 'string') return [name, out.dim('(secret)'), `secret, set ${dateTime(value.updatedAt)}`];
    return [name, value ?? '', set ? c.environment : 'default'];
  });
  const parts = [
    details([
      ['block', c.block],
      ['environment', c.environment],
      ['memory', `${c.memoryMb} MB`],
      ['visibility', c.visibility],
      ['basic auth', c.basicAuth ? `user ${c.basicAuth.username}` : null],
      ...(c.timeoutSeconds !== undefined ? ([['timeout', `${c.timeoutSeconds} s`]] as const) : []),
      ...(c.idleTimeoutSeconds !== undefined
        ? ([['idle time', c.alwaysOn ? 'never stopped (always on)' : `${c.idleTimeoutSeconds} s`]] as const)
        : []),
      ['updated', dateTime(c.updatedAt)],
    ]),
  ];
  if (rows.length) parts.push(table(['VARIABLE', 'VALUE', 'FROM'], rows));
  if (c.missingRequired.length)
    parts.push(out.yellow(`Missing required variables: ${c.missingRequired.join(', ')} (a deploy fails until they are set)\n`));
  return parts.join('\n');
}
