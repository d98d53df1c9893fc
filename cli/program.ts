import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { registerBlocks } from './commands/blocks';
import { registerBuild } from './commands/build';
import { registerCall } from './commands/call';
import { registerClients } from './commands/clients';
import { registerConfig } from './commands/config';
import { registerData } from './commands/data';
import { registerDeploy } from './commands/deploy';
import { registerDeployments } from './commands/deployments';
import { registerEnvs } from './commands/envs';
import { registerJobs } from './commands/jobs';
import { registerLogin } from './commands/login';
import { registerLogs } from './commands/logs';
import { registerMetrics } from './commands/metrics';
import { registerProjects } from './commands/projects';
import { registerPromote } from './commands/promote';
import { registerReleases } from './commands/releases';
import { registerRollback } from './commands/rollback';

/**
 * Adds the CLI's commands (everything but `kinto dev`, which bin/kinto.ts keeps) and the options
 * they share to the `kinto` program.
 */
export function registerCommands(program: Command): Command {
  program
    .version((JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string }).version, '-V, --version')
    .option('--profile <name>', 'the saved platform to use (default: the current one; env KINTO_PROFILE)')
    .option('-p, --project <name>', "the project (default: KINTO_PROJECT, else the profile's: kinto projects use)")
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `
Profiles live in ~/.config/kinto/config.json (mode 0600); KINTO_URL and KINTO_TOKEN override the profile's.
Every command has --help with examples. Read commands print tables, or JSON with --json.

Examples:
  $ kinto login                                # the local platform (kinto dev / npm start)
  $ kinto projects create shop && kinto blocks add hello --type microservice --repo /tmp/hello --start-command "node server.js"
  $ kinto build hello --follow
  $ kinto envs create dev && kinto deploy dev --tag 1.0.0 --notes "first release" --yes
  $ kinto call dev hello /
`,
    );
  for (const register of [
    registerLogin,
    registerProjects,
    registerBlocks,
    registerBuild,
    registerEnvs,
    registerData,
    registerConfig,
    registerClients,
    registerReleases,
    registerDeploy,
    registerRollback,
    registerPromote,
    registerDeployments,
    registerJobs,
    registerLogs,
    registerMetrics,
    registerCall,
  ]) {
    register(program);
  }
  forEachCommand(program, (c) =>
    // commander's own errors (an unknown option, a missing argument) in the CLI's one-line form.
    c.configureOutput({
      outputError: (text, write) => write(`kinto: USAGE: ${text.replace(/^error: /, '').trim()} (${commandPath(c)} --help)\n`),
    }),
  );
  return program;
}

function commandPath(c: Command): string {
  return c.parent ? `${commandPath(c.parent)} ${c.name()}` : c.name();
}

function forEachCommand(command: Command, visit: (c: Command) => void): void {
  visit(command);
  for (const c of command.commands) forEachCommand(c, visit);
}

/**
 * The command a command line names, when it is not one of the program's. `kinto` alone runs the
 * default command (`dev`), which would otherwise take a mistyped command name as its argument.
 */
export function unknownCommand(program: Command, argv: readonly string[]): string | undefined {
  const withValue = new Set(program.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') return undefined;
    if (arg.startsWith('-')) {
      if (withValue.has(arg)) i++;
      continue;
    }
    return program.commands.some((c) => c.name() === arg || c.aliases().includes(arg)) ? undefined : arg;
  }
  return undefined;
}
