import { parse } from 'shell-quote';
import { badRequest } from './errors';

/** One program to run: never a shell string, always an argument array. */
export interface CommandStep {
  /** `NAME=value` words written before the program. */
  readonly env: Readonly<Record<string, string>>;
  readonly argv: readonly string[];
}

const ASSIGNMENT = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s;
export const MAX_COMMAND_LENGTH = 2048;

/**
 * Parses a build or start command as a shell would split it, without running a shell:
 * words, quotes, `$VAR` / `${VAR:-default}` expansion from `variables`, `NAME=value` prefixes,
 * and `&&` to run programs one after another. Pipes, redirects, `;`, `||`, `&`, sub-shells and
 * globs are refused (put such logic in a script in the repo and call the script).
 *
 * @example parseCommand('npm ci && npm run build', {}) // two steps
 * @throws KintoError INVALID_COMMAND (400)
 */
export function parseCommand(command: string, variables: Readonly<Record<string, string>> = {}, what = 'command'): CommandStep[] {
  if (command.length > MAX_COMMAND_LENGTH) {
    throw badRequest(
      'INVALID_COMMAND',
      `The ${what} is ${command.length} characters long; use at most ${MAX_COMMAND_LENGTH} (or a script in the repo).`,
    );
  }
  if (/[\0\r\n]/.test(command)) {
    throw badRequest('INVALID_COMMAND', `The ${what} must be one line; join programs with "&&" or call a script in the repo.`);
  }
  const expand = (name: string): string => {
    const [key, fallback] = splitDefault(name);
    return variables[key] ?? fallback ?? '';
  };
  const steps: CommandStep[] = [];
  let words: string[] = [];
  const endStep = (): void => {
    if (words.length === 0) {
      throw badRequest(
        'INVALID_COMMAND',
        `The ${what} ${JSON.stringify(command)} has an empty step: write "a && b", with a program on both sides.`,
      );
    }
    const env: Record<string, string> = {};
    let i = 0;
    for (; i < words.length - 1; i++) {
      const m = ASSIGNMENT.exec(words[i]);
      if (!m) break;
      env[m[1]] = m[2]!;
    }
    steps.push({ env, argv: words.slice(i) });
    words = [];
  };
  for (const token of parse(command, expand)) {
    if (typeof token === 'string') {
      words.push(token);
    } else if ('comment' in token) {
      break;
    } else if (token.op === '&&') {
      endStep();
    } else {
      const shown = token.op === 'glob' ? `the glob ${token.pattern}` : `"${token.op}"`;
      throw badRequest(
        'INVALID_COMMAND',
        `The ${what} ${JSON.stringify(command)} uses ${shown}, which Kinto does not run (commands run without a shell). ` +
          'Only words, quotes, $VARIABLES and "&&" are supported: put other shell logic in a script in the repo and call it.',
      );
    }
  }
  endStep();
  return steps;
}

function splitDefault(name: string): [string, string | undefined] {
  const at = name.indexOf(':-');
  return at < 0 ? [name, undefined] : [name.slice(0, at), name.slice(at + 2)];
}
