import { gatewayAccessLogFormat, GATEWAY_ACCESS_LOG_FORMAT } from '../../lambdas/core/logs/access-log-format';
import { parseAccessLogLine } from '../../lambdas/core/logs/parse-access-entry';

/** Fills a stage format the way API Gateway does: each $context variable replaced by its value. */
function render(format: string, values: Record<string, string>): string {
  return format.replace(/\$context\.[A-Za-z.]+/g, (v) => values[v] ?? '-');
}

describe('Access log format', () => {
  const values = {
    '$context.requestId': 'Jx7dKhMYoAMEVkg=',
    '$context.requestTimeEpoch': '1750000000123',
    '$context.httpMethod': 'POST',
    '$context.path': '/orders/42',
    '$context.status': '201',
    '$context.responseLatency': '37',
    '$context.authorizer.clientId': 'client-1',
    '$context.integration.requestId': '3f0b9c1e-aaaa-bbbb-cccc-111122223333',
  };

  it('is valid JSON once API Gateway fills it, and reads back as an access entry', () => {
    const line = render(gatewayAccessLogFormat('env1', { release: '1.2.3', commits: { orders: 'abcdef0123456789' } }), values);
    expect(parseAccessLogLine(line, 'env1')).toEqual({
      envId: 'env1',
      requestId: 'Jx7dKhMYoAMEVkg=',
      time: '2025-06-15T15:06:40.123Z',
      method: 'POST',
      path: '/orders/42',
      block: 'orders',
      release: '1.2.3',
      commit: 'abcdef012345',
      status: 201,
      durationMs: 37,
      clientId: 'client-1',
      lambdaRequestId: '3f0b9c1e-aaaa-bbbb-cccc-111122223333',
    });
  });

  it('stays valid JSON when variables are missing ("-"), as for /authorize without an authorizer', () => {
    const line = render(GATEWAY_ACCESS_LOG_FORMAT, {
      ...values,
      '$context.path': '/authorize',
      '$context.authorizer.clientId': '-',
      '$context.integration.requestId': '-',
    });
    const got = parseAccessLogLine(line, 'env1');
    expect(got).toMatchObject({ path: '/authorize', status: 201 });
    expect(got).not.toHaveProperty('block');
    expect(got).not.toHaveProperty('clientId');
  });

  it('refuses lines of another format, another environment, or without an id or status', () => {
    const good = JSON.parse(render(gatewayAccessLogFormat('env1'), values));
    expect(parseAccessLogLine(JSON.stringify({ ...good, format: 'other' }), 'env1')).toBeUndefined();
    expect(parseAccessLogLine(JSON.stringify(good), 'env2')).toBeUndefined();
    expect(parseAccessLogLine(JSON.stringify({ ...good, requestId: '-' }), 'env1')).toBeUndefined();
    expect(parseAccessLogLine(JSON.stringify({ ...good, status: '-' }), 'env1')).toBeUndefined();
    expect(parseAccessLogLine('not json', 'env1')).toBeUndefined();
  });
});
