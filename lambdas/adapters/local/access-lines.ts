import type { AccessEntry } from './gateway';
import type { FeedItem } from './local-log-feed';

/**
 * Access entries cross to the log worker as tab-separated lines in one string: posting a string
 * is a copy, while posting objects clones them field by field on the gateway's thread.
 */

const UNSAFE = /[\t\n]/;

/** One access entry as one line (tabs and newlines in the path become spaces). */
export function encodeAccess(e: AccessEntry): string {
  const path = UNSAFE.test(e.path) ? e.path.replace(/[\t\n]/g, ' ') : e.path;
  return `${e.requestId}\t${e.time}\t${e.envId}\t${e.method}\t${path}\t${e.block ?? ''}\t${e.release ?? ''}\t${e.commit ?? ''}\t${e.status}\t${e.durationMs}\t${e.clientId ?? ''}\n`;
}

/** The entries of `encodeAccess` lines, in order; a line of the wrong shape is skipped. */
export function decodeAccess(text: string): FeedItem[] {
  const items: FeedItem[] = [];
  let start = 0;
  for (let end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
    const f = text.slice(start, end).split('\t');
    if (f.length !== 11) continue;
    items.push({
      k: 'a',
      e: {
        requestId: f[0]!,
        time: f[1]!,
        envId: f[2]!,
        method: f[3]!,
        path: f[4]!,
        ...(f[5] ? { block: f[5] } : {}),
        ...(f[6] ? { release: f[6] } : {}),
        ...(f[7] ? { commit: f[7] } : {}),
        status: Number(f[8]),
        durationMs: Number(f[9]),
        ...(f[10] ? { clientId: f[10] } : {}),
      },
    });
  }
  return items;
}
