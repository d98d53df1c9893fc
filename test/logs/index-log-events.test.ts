import fc from 'fast-check';
import { durationBucket, bucketValue, percentile } from '../../lambdas/core/logs/duration-histogram';
import { LogBatchBuilder, indexLogEvents } from '../../lambdas/core/logs/index-log-events';
import { blockLogGroupName, gatewayLogGroupName, parseLogGroupName } from '../../lambdas/core/logs/log-groups';
import { summarizeMetrics } from '../../lambdas/core/logs/metrics-summary';

const T0 = Date.parse('2025-06-15T10:00:00.000Z');
const block = { kind: 'block' as const, envId: 'env1', block: 'api', release: '1.0.0', commit: 'abc' };

describe('Function: indexLogEvents', () => {
  it('groups console lines by request, keeps plain lines, and counts every kind of bad line', () => {
    const events = [
      { id: '01', timestamp: T0, message: '{"kinto_request_id":"r1","message":"a"}' },
      { id: '02', timestamp: T0 + 1, message: 'plain text' },
      { id: '03', timestamp: T0 + 2, message: '[1,2]' },
      { id: '04', timestamp: T0 + 3, message: '"just a string"' },
      { id: '05', timestamp: T0 + 4, message: '{"no":"id"}' },
      { id: '06', timestamp: T0 + 5, message: '{"kinto_request_id":"r2","message":"b"}\n' },
      { id: '07', timestamp: T0 + 6, message: '{"kinto_request_id":"r1","message":"c"}' },
      { id: '08', timestamp: T0 + 7, message: JSON.stringify({ kinto_request_id: 'r3', big: 'z'.repeat(270_000) }) },
      { id: '09', timestamp: T0 + 8, message: 'START RequestId: abc Version: 3' },
      {
        id: '10',
        timestamp: T0 + 9,
        message:
          'REPORT RequestId: abc\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 60 MB\tInit Duration: 200.00 ms\t',
      },
      { id: '11', timestamp: T0 + 10, message: 'END RequestId: abc' },
      {
        id: '12',
        timestamp: T0 + 11,
        message: '2025-06-15T10:00:00.011Z\tabc\tINFO\t{"kinto_request_id":"r2","message":"managed runtime"}',
      },
    ];
    const batch = indexLogEvents(block, events, { batch: 'b1', lossy: false });
    expect(batch.lines.map((l) => [l.requestId, l.seq])).toEqual([
      ['r1', '01'],
      ['r2', '06'],
      ['r1', '07'],
      ['r3', '08'],
      ['r2', '12'],
    ]);
    expect(batch.lines[1]).toMatchObject({
      text: '{"kinto_request_id":"r2","message":"b"}',
      block: 'api',
      release: '1.0.0',
      commit: 'abc',
      time: '2025-06-15T10:00:00.005Z',
    });
    expect(batch.lines[3]).toMatchObject({ truncated: true });
    expect(batch.instance.map((l) => l.text.slice(0, 20))).toEqual([
      'plain text',
      '[1,2]',
      '"just a string"',
      '{"no":"id"}',
      'REPORT RequestId: ab',
    ]);
    expect(batch.instance[4]).toMatchObject({ stream: 'platform', report: { initDurationMs: 200 } });
    expect(batch.summary).toEqual({
      events: 12,
      accessEntries: 0,
      attachedLines: 5,
      plainLines: 4,
      platformLines: 3,
      notJson: 1,
      notObject: 2,
      noRequestId: 1,
      truncated: 1,
      invalidUtf8: 0,
      invalidAccess: 0,
      shed: 0,
    });
    expect(batch.metrics).toEqual([
      expect.objectContaining({ envId: 'env1', block: 'api', minute: '2025-06-15T10:00', coldStarts: 1, coldStartSumMs: 200, requests: 0 }),
    ]);
  });

  it('skips empty lines (a bare newline) without storing anything', () => {
    const batch = indexLogEvents(
      block,
      [
        { id: '1', timestamp: T0, message: '\n' },
        { id: '2', timestamp: T0, message: '' },
      ],
      { batch: 'b' },
    );
    expect(batch.instance).toEqual([]);
    expect(batch.summary.events).toBe(2);
  });

  it('sets expiry from the event time and the retention', () => {
    const batch = indexLogEvents(block, [{ id: '1', timestamp: T0, message: 'x' }], { batch: 'b', retentionMs: 3600_000 });
    expect(batch.instance[0].expiresAt).toBe(T0 / 1000 + 3600);
  });

  it('never throws on garbage events', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            id: fc.oneof(fc.string(), fc.constant(undefined as unknown as string)),
            timestamp: fc.oneof(fc.double(), fc.integer()),
            message: fc.oneof(fc.string(), fc.json(), fc.constant(null as unknown as string)),
          }),
        ),
        (events) => {
          const b = indexLogEvents(block, events, { batch: 'b' });
          expect(b.summary.events).toBe(events.length);
          const g = indexLogEvents({ kind: 'gateway', envId: 'env1' }, events, { batch: 'b' });
          expect(g.summary.invalidAccess + g.summary.accessEntries).toBe(events.length);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('Class: LogBatchBuilder', () => {
  it('turns access entries into records and per-block-per-minute metrics', () => {
    const b = new LogBatchBuilder({ batch: 'b1' });
    const entry = (id: string, ms: number, status: number, durationMs: number, blockName?: string) =>
      b.addAccess({
        envId: 'env1',
        requestId: id,
        time: T0 + ms,
        method: 'GET',
        path: blockName ? `/${blockName}/x` : '/authorize',
        block: blockName,
        status,
        durationMs,
      });
    entry('a', 0, 200, 10, 'api');
    entry('b', 10, 404, 20, 'api');
    entry('c', 20, 503, 30, 'api');
    entry('d', 61_000, 200, 5, 'api');
    entry('e', 30, 401, 1);
    b.addAccess({ envId: 'env1', requestId: '', time: T0, method: 'GET', path: '/', status: 200, durationMs: 1 });
    const batch = b.build();
    expect(batch.access.map((a) => a.requestId)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(batch.summary).toMatchObject({ events: 6, accessEntries: 5, invalidAccess: 1 });
    const summary = summarizeMetrics(batch.metrics, '2025-06-15T10:00:00.000Z', '2025-06-15T10:02:00.000Z');
    expect(summary.blocks.map((s) => s.block)).toEqual(['api', null]);
    expect(summary.blocks[0].minutes.map((m) => [m.minute, m.requests, m.errors4xx, m.errors5xx])).toEqual([
      ['2025-06-15T10:00', 3, 1, 1],
      ['2025-06-15T10:01', 1, 0, 0],
    ]);
    expect(summary.blocks[0].total).toMatchObject({ requests: 4, errors4xx: 1, errors5xx: 1, avgMs: 16.25 });
  });

  it('records local wakes as platform lines and cold starts', () => {
    const b = new LogBatchBuilder({ batch: 'b1' });
    b.addPlatformEvent(block, T0, '1', 'started in 120 ms', 120);
    const batch = b.build();
    expect(batch.instance[0]).toMatchObject({ stream: 'platform', text: 'started in 120 ms' });
    expect(batch.metrics[0]).toMatchObject({ coldStarts: 1, coldStartSumMs: 120 });
  });
});

describe('Duration histogram', () => {
  it('puts every duration in a bucket whose value is within 2 %', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.2, max: 3_600_000, noNaN: true }), (ms) => {
        expect(Math.abs(bucketValue(durationBucket(ms)) - ms) / ms).toBeLessThanOrEqual(0.021);
      }),
    );
  });

  it('gives percentiles within 2 % (and 0.01 ms) of the exact nearest-rank value', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.2, max: 60_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.constantFrom(0.5, 0.95, 0.99),
        (values, q) => {
          const h: Record<string, number> = {};
          for (const v of values) h[durationBucket(v)] = (h[durationBucket(v)] ?? 0) + 1;
          const exact = [...values].sort((a, b) => a - b)[Math.max(1, Math.ceil(q * values.length)) - 1];
          // Bucket error (2 %) plus the answer's rounding to 0.01 ms.
          expect(Math.abs(percentile(h, q)! - exact)).toBeLessThanOrEqual(exact * 0.021 + 0.005);
        },
      ),
    );
  });
});

describe('Log group names', () => {
  it('round-trip, and anything else is not a Kinto group', () => {
    expect(parseLogGroupName(gatewayLogGroupName('e1'))).toEqual({ kind: 'gateway', envId: 'e1' });
    expect(parseLogGroupName(blockLogGroupName('e1', 'api-v2'))).toEqual({ kind: 'block', envId: 'e1', block: 'api-v2' });
    expect(parseLogGroupName('/aws/lambda/something')).toBeUndefined();
    expect(parseLogGroupName('/kinto/env/e1/block/Bad_Name')).toBeUndefined();
  });
});
