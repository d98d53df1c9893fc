import { parseLambdaPlatformLine } from '../../lambdas/core/logs/parse-lambda-platform-line';

describe('Function: parseLambdaPlatformLine', () => {
  it('reads a cold-start REPORT line', () => {
    const line =
      'REPORT RequestId: 3f0b9c1e-aaaa-bbbb-cccc-111122223333\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 512 MB\tMax Memory Used: 87 MB\tInit Duration: 245.67 ms\t';
    expect(parseLambdaPlatformLine(line)).toEqual({
      type: 'REPORT',
      report: {
        lambdaRequestId: '3f0b9c1e-aaaa-bbbb-cccc-111122223333',
        durationMs: 12.34,
        billedDurationMs: 13,
        memorySizeMb: 512,
        maxMemoryUsedMb: 87,
        initDurationMs: 245.67,
      },
    });
  });

  it('reads a warm REPORT line (no init duration)', () => {
    const got = parseLambdaPlatformLine(
      'REPORT RequestId: abc\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 70 MB\t',
    );
    expect(got).toEqual({
      type: 'REPORT',
      report: { lambdaRequestId: 'abc', durationMs: 1, billedDurationMs: 1, memorySizeMb: 128, maxMemoryUsedMb: 70 },
    });
  });

  it('recognizes START, END and INIT_START', () => {
    expect(parseLambdaPlatformLine('START RequestId: abc Version: 7')).toEqual({ type: 'START' });
    expect(parseLambdaPlatformLine('END RequestId: abc')).toEqual({ type: 'END' });
    expect(parseLambdaPlatformLine('INIT_START Runtime Version: nodejs:22.v1')).toEqual({ type: 'INIT_START' });
  });

  it('reads the JSON log format platform.report record', () => {
    const line = JSON.stringify({
      time: '2025-01-01T00:00:00.000Z',
      type: 'platform.report',
      record: {
        requestId: 'abc',
        metrics: { durationMs: 5.5, billedDurationMs: 6, memorySizeMB: 256, maxMemoryUsedMB: 90, initDurationMs: 300 },
      },
    });
    expect(parseLambdaPlatformLine(line)).toEqual({
      type: 'REPORT',
      report: { lambdaRequestId: 'abc', durationMs: 5.5, billedDurationMs: 6, memorySizeMb: 256, maxMemoryUsedMb: 90, initDurationMs: 300 },
    });
  });

  it('leaves block output alone, even when it looks close', () => {
    expect(parseLambdaPlatformLine('STARTING server')).toBeUndefined();
    expect(parseLambdaPlatformLine('REPORT generated')).toBeUndefined();
    expect(parseLambdaPlatformLine('{"kinto_request_id":"a"}')).toBeUndefined();
  });
});
