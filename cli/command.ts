import { Option, type Command } from 'commander';
import { errorLine } from './errors';
import { Session } from './session';

/** What an action gets: the session, its command's own options, and the command itself. */
export interface ActionContext<O> {
  readonly session: Session;
  readonly opts: O;
  readonly command: Command;
}

/**
 * Wraps a command's action: builds its session, and turns any failure into one line on stderr
 * (`kinto: CODE: message`, the API's own code and message when it answered) and exit code 1.
 *
 * @example
 * program.command('projects').action(action(async ({ session }, ...args) => { ... }));
 */
export function action<O = Record<string, unknown>, A extends unknown[] = string[]>(
  handler: (ctx: ActionContext<O>, ...args: A) => Promise<void>,
): (...params: unknown[]) => Promise<void> {
  return async (...params) => {
    const command = params[params.length - 1] as Command;
    // commander calls an action with its arguments, then its options, then the command.
    const args = params.slice(0, -2) as A;
    try {
      await handler({ session: Session.of(command), opts: command.opts() as O, command }, ...args);
    } catch (e) {
      process.stderr.write(`${errorLine(e)}\n`);
      process.exitCode = 1;
    }
  };
}

/** `--json` on a command: its output as JSON for scripts (progress stays on stderr). */
export function withJson(command: Command): Command {
  return command.option('--json', "print JSON (the API's data) instead of a table");
}

/** `--yes` on a command that asks before it acts. */
export function withYes(command: Command, what = 'act'): Command {
  return command.addOption(new Option('-y, --yes', `${what} without asking`));
}

/** Examples shown by `--help` under the command's options. */
export function withExamples(command: Command, examples: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}
