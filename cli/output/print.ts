/** What a command answers goes to stdout; progress, prompts and errors go to stderr. */

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** `--json`: the API's data as it answered, indented, for scripts (`jq`, `node -pe`). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A line on stderr: a note about what was done, never part of the output a script reads. */
export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}
