import type { Progress } from './progress';

/**
 * Writes a log as it grows, whole lines at a time, so that a spinner on the same terminal always
 * redraws on a line of its own; `flush` writes what is left at the end.
 */
export function logWriter(progress: Progress, to: NodeJS.WritableStream): { write(text: string): void; flush(): void } {
  let pending = '';
  return {
    write(text) {
      pending += text;
      const end = pending.lastIndexOf('\n') + 1;
      if (end === 0) return;
      const lines = pending.slice(0, end);
      pending = pending.slice(end);
      progress.above(() => to.write(lines));
    },
    flush() {
      if (pending) progress.above(() => to.write(`${pending}\n`));
      pending = '';
    },
  };
}
