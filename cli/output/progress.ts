import { createSpinner, type Spinner } from 'nanospinner';
import { err } from './colors';

/**
 * Progress of a command that waits (a build, a deployment, a job run), always on stderr so that
 * stdout keeps only the result (and `--json` stays parseable). On a terminal a spinner shows
 * what runs now; elsewhere (CI, a pipe) each phase is one plain line, without control sequences.
 */
export interface Progress {
  /** Begins a phase: the spinner's text, or one line when not on a terminal. */
  start(text: string): void;
  /** Changes what the spinner says (nothing is printed when not on a terminal). */
  update(text: string): void;
  /** Ends the phase as done. */
  succeed(text: string): void;
  /** Ends the phase as failed. */
  fail(text: string): void;
  /** Ends the phase as skipped or not run. */
  skip(text: string): void;
  /** A line of its own on stderr, above the spinner. */
  note(text: string): void;
  /** Writes something else to the terminal (e.g. log text on stdout) without tearing the spinner. */
  above(write: () => void): void;
  /** Stops the spinner, printing nothing more. */
  stop(): void;
}

/**
 * A spinner needs a terminal on both streams: nanospinner decides how to draw from stdout, and a
 * spinner drawn while stdout goes to a pipe would print a line per frame.
 */
const interactive = () => Boolean(process.stderr.isTTY && process.stdout.isTTY) && process.env.TERM !== 'dumb' && !('CI' in process.env);

export function createProgress(): Progress {
  return interactive() ? new SpinnerProgress() : new LineProgress();
}

const MARKS = { ok: ['✔', 'green'], failed: ['✖', 'red'], skipped: ['-', 'dim'] } as const;
type Mark = keyof typeof MARKS;
const mark = (kind: Mark) => err[MARKS[kind][1]](MARKS[kind][0]);

class SpinnerProgress implements Progress {
  private spinner: Spinner | undefined;

  start(text: string): void {
    if (this.spinner) this.spinner.update({ text });
    else this.spinner = createSpinner(text, { stream: process.stderr, color: 'cyan' }).start();
  }
  update(text: string): void {
    this.spinner?.update({ text });
  }
  succeed(text: string): void {
    this.end('ok', text);
  }
  fail(text: string): void {
    this.end('failed', text);
  }
  skip(text: string): void {
    this.end('skipped', text);
  }
  note(text: string): void {
    this.above(() => process.stderr.write(`${text}\n`));
  }
  above(write: () => void): void {
    if (!this.spinner) return write();
    this.spinner.clear();
    write();
    this.spinner.render();
  }
  stop(): void {
    this.spinner?.clear();
    this.spinner?.stop();
    this.spinner = undefined;
  }
  private end(kind: Mark, text: string): void {
    if (this.spinner) {
      this.spinner.stop({ text, mark: MARKS[kind][0], color: MARKS[kind][1] });
      this.spinner = undefined;
    } else process.stderr.write(`${mark(kind)} ${text}\n`);
  }
}

class LineProgress implements Progress {
  start(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  update(): void {}
  succeed(text: string): void {
    process.stderr.write(`${mark('ok')} ${text}\n`);
  }
  fail(text: string): void {
    process.stderr.write(`${mark('failed')} ${text}\n`);
  }
  skip(text: string): void {
    process.stderr.write(`${mark('skipped')} ${text}\n`);
  }
  note(text: string): void {
    process.stderr.write(`${text}\n`);
  }
  above(write: () => void): void {
    write();
  }
  stop(): void {}
}
