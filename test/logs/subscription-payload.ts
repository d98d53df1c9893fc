import { gzipSync } from 'node:zlib';
import type { CloudWatchLogsEvent } from 'aws-lambda';

/** A CloudWatch Logs subscription event, built by hand: JSON -> gzip -> base64. */
export function subscriptionEvent(body: unknown): CloudWatchLogsEvent {
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return { awslogs: { data: gzipSync(raw).toString('base64') } };
}

let nextId = 1;
/** A DATA_MESSAGE from `logGroup` with one event per message (ids are 56 digits, like CloudWatch's). */
export function dataMessage(logGroup: string, messages: string[], start = Date.parse('2025-06-15T10:00:00.000Z')) {
  return {
    messageType: 'DATA_MESSAGE',
    owner: '123456789012',
    logGroup,
    logStream: '2025/06/15/[7]0123456789abcdef',
    subscriptionFilters: ['kinto-logs'],
    logEvents: messages.map((message, i) => ({ id: String(nextId++).padStart(56, '0'), timestamp: start + i, message })),
  };
}
