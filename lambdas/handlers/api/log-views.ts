import type { AccessRecord, ConsoleLineRecord, InstanceLineRecord } from '../../core/logs/log-records';
import type { RequestViewShape } from './view-schemas';

/** How the API shows log records (stable field names; absent values as null). */

export const requestView = (r: AccessRecord): RequestViewShape => ({
  requestId: r.requestId,
  time: r.time,
  method: r.method,
  path: r.path,
  block: r.block ?? null,
  release: r.release ?? null,
  commit: r.commit ?? null,
  status: r.status,
  durationMs: r.durationMs,
  clientId: r.clientId ?? null,
});

/** A console line: the JSON object the block logged, or its text when it was cut. */
export function consoleLineView(l: ConsoleLineRecord) {
  let log: unknown;
  if (!l.truncated) {
    try {
      log = JSON.parse(l.text);
    } catch {
      log = undefined;
    }
  }
  return {
    time: l.time,
    block: l.block,
    release: l.release ?? null,
    stream: l.stream,
    ...(log !== undefined ? { log } : { text: l.text }),
    ...(l.truncated ? { truncated: true } : {}),
  };
}

export const instanceLineView = (l: InstanceLineRecord) => ({
  time: l.time,
  stream: l.stream,
  text: l.text,
  release: l.release ?? null,
  ...(l.truncated ? { truncated: true } : {}),
  ...(l.report ? { report: l.report } : {}),
});
