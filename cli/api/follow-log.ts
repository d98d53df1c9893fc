/** One read of a growing log: the text from the offset asked for, where to go on, and the status of what writes it. */
export interface LogRead {
  readonly text: string;
  readonly nextOffset: number;
  readonly status: string;
}

/**
 * Reads a log while what writes it runs (a build, a job run), handing each new piece of text to
 * `onText`, until `finished(status)`; then reads once more, so that nothing written just before
 * the end is lost. Returns the final status.
 */
export async function followLog(options: {
  read: (offset: number) => Promise<LogRead>;
  finished: (status: string) => boolean;
  onText: (text: string) => void;
  onStatus?: (status: string) => void;
  intervalMs?: number;
}): Promise<string> {
  let offset = 0;
  let status = '';
  for (;;) {
    const r = await options.read(offset);
    if (r.text) options.onText(r.text);
    offset = r.nextOffset;
    if (r.status !== status) options.onStatus?.(r.status);
    status = r.status;
    if (options.finished(status)) {
      const rest = await options.read(offset);
      if (rest.text) options.onText(rest.text);
      return status;
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
  }
}
