import { lineText } from './long-lines';
import { isRequestId, REQUEST_ID_FIELD } from './request-id';

/** Why a line was kept as plain output rather than attached to a request. */
export type PlainReason = 'notJson' | 'notObject' | 'noRequestId';

export type ConsoleLine =
  | {
      readonly kind: 'attached';
      readonly requestId: string;
      readonly text: string;
      readonly truncated: boolean;
      readonly invalidUtf8: boolean;
    }
  | {
      readonly kind: 'plain';
      readonly reason?: PlainReason;
      readonly text: string;
      readonly truncated: boolean;
      readonly invalidUtf8: boolean;
    };

/** `"kinto_request_id": "<id>"` anywhere in a line that was cut and so can no longer be parsed. */
const ID_IN_TEXT = /"kinto_request_id"\s*:\s*"([^"\\]{1,128})"/;

/**
 * Classifies one line a block wrote. A line counts for a request when it is one JSON object with
 * a string `kinto_request_id`; anything else is plain output, with the reason. A line over the
 * size limit is cut: when its head still names a request it stays attached, marked truncated.
 */
export function parseConsoleLine(raw: string, lossy = true): ConsoleLine {
  const { text, truncated, invalidUtf8 } = lineText(raw, lossy);
  if (truncated) {
    const head = text.trimStart();
    const id = head.startsWith('{') ? ID_IN_TEXT.exec(head)?.[1] : undefined;
    if (id !== undefined && isRequestId(id)) return { kind: 'attached', requestId: id, text, truncated, invalidUtf8 };
    return { kind: 'plain', text, truncated, invalidUtf8 };
  }
  const first = firstNonSpace(text);
  if (first !== 0x7b /* { */) {
    return { kind: 'plain', reason: mayBeJsonValue(first, text) && parses(text) ? 'notObject' : 'notJson', text, truncated, invalidUtf8 };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'plain', reason: 'notJson', text, truncated, invalidUtf8 };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return { kind: 'plain', reason: 'notObject', text, truncated, invalidUtf8 };
  const id = (value as Record<string, unknown>)[REQUEST_ID_FIELD];
  if (!isRequestId(id)) return { kind: 'plain', reason: 'noRequestId', text, truncated, invalidUtf8 };
  return { kind: 'attached', requestId: id, text, truncated, invalidUtf8 };
}

function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return c;
  }
  return -1;
}

/** Arrays, strings and short scalars may be JSON; other text is not worth a parse attempt (throws are slow). */
function mayBeJsonValue(first: number, text: string): boolean {
  if (first === 0x5b /* [ */ || first === 0x22 /* " */) return true;
  return text.length <= 32 && (first === 0x2d || (first >= 0x30 && first <= 0x39) || first === 0x74 || first === 0x66 || first === 0x6e);
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Lambda managed runtimes prefix console output with `<time>\t<invocation id>\t<LEVEL>\t`; the
 * block's own text follows. Container blocks (Lambda Web Adapter) write plain lines.
 */
const RUNTIME_PREFIX = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\t[^\t]*\t(?:INFO|WARN|ERROR|DEBUG|TRACE|FATAL)\t/;

export function stripRuntimePrefix(text: string): string {
  if (text.length < 30 || text.charCodeAt(4) !== 0x2d /* - */ || text.charCodeAt(0) < 0x30 || text.charCodeAt(0) > 0x39) return text;
  const m = RUNTIME_PREFIX.exec(text);
  return m ? text.slice(m[0].length) : text;
}
