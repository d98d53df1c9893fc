import { read } from 'read';
import { CliError } from '../errors';

/**
 * Asks a yes/no question on the terminal (on stderr, so stdout stays the command's output).
 * `yes` (the command's --yes) answers it without asking; without a terminal to ask on, the
 * command fails rather than guess.
 */
export async function confirm(question: string, options: { yes?: boolean; what: string }): Promise<boolean> {
  if (options.yes) return true;
  if (!process.stdin.isTTY) {
    throw new CliError('CONFIRMATION_REQUIRED', `${options.what} needs a confirmation and stdin is not a terminal: pass --yes`);
  }
  const answer = await read({ prompt: `${question} [y/N] `, input: process.stdin, output: process.stderr });
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Asks for a text that must be typed again exactly (e.g. a name before deleting it). `details`,
 * when given, is shown above the prompt (what would go), only when it asks.
 */
export async function confirmByTyping(expected: string, options: { yes?: boolean; what: string; details?: string }): Promise<boolean> {
  if (options.yes) return true;
  if (!process.stdin.isTTY) {
    throw new CliError('CONFIRMATION_REQUIRED', `${options.what} needs a confirmation and stdin is not a terminal: pass --yes`);
  }
  if (options.details) process.stderr.write(options.details.endsWith('\n') ? options.details : `${options.details}\n`);
  const answer = await read({ prompt: `Type "${expected}" to confirm: `, input: process.stdin, output: process.stderr });
  return answer.trim() === expected;
}

/**
 * A secret value, never from the command line (where `ps` and shell history would keep it): typed
 * at a hidden prompt on a terminal, else read from stdin whole (one trailing line end dropped),
 * e.g. `printf %s "$KEY" | kinto config dev api set-secret API_KEY`.
 */
export async function readSecret(label: string): Promise<string> {
  let value: string;
  if (process.stdin.isTTY) {
    value = await read({ prompt: `${label}: `, silent: true, replace: '', input: process.stdin, output: process.stderr });
    process.stderr.write('\n'); // the hidden answer's Enter was not echoed
  } else value = (await readStdin()).replace(/\r?\n$/, '');
  if (!value) throw new CliError('EMPTY_SECRET', `no value for ${label}: type it at the prompt or send it on stdin`);
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
