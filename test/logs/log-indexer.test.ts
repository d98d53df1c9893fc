import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ensureLogsTable } from '../../lambdas/adapters/dynamodb/create-logs-table';
import { DynamoDbLogStore } from '../../lambdas/adapters/dynamodb/dynamodb-log-store';
import { startDynalite, type LocalDynamoDb } from '../../lambdas/local/dynalite-server';
import { gatewayAccessLogFormat } from '../../lambdas/core/logs/access-log-format';
import { blockLogGroupName, gatewayLogGroupName } from '../../lambdas/core/logs/log-groups';
import { createLogIndexer } from '../../lambdas/handlers/log-indexer';
import { dataMessage, subscriptionEvent } from './subscription-payload';

const NOW = Math.floor(Date.parse('2025-06-15T11:00:00Z') / 1000);

describe('Handler: log-indexer', () => {
  let dynamo: LocalDynamoDb;
  let store: DynamoDbLogStore;
  let out: string[];
  let index: ReturnType<typeof createLogIndexer>;
  let env: string;

  beforeAll(async () => {
    dynamo = await startDynalite();
    const tableName = `logs-${randomBytes(4).toString('hex')}`;
    await ensureLogsTable(dynamo.client, tableName);
    store = new DynamoDbLogStore({ client: dynamo.client, tableName });
  });
  afterAll(() => dynamo.close());
  beforeEach(() => {
    out = [];
    env = `e${randomBytes(6).toString('hex')}`;
    index = createLogIndexer({ store, write: (l) => out.push(l), namespace: 'KintoTest' });
  });

  const emf = () => out.map((l) => JSON.parse(l)).filter((l) => l._aws);
  const logs = () => out.map((l) => JSON.parse(l)).filter((l) => !l._aws);

  /** An access-log line as API Gateway writes it from the stage format. */
  const accessLine = (requestId: string, status: number, path = '/api/items', latency = 12) =>
    gatewayAccessLogFormat(env, { release: '2.0.1', commits: { api: 'c0ffee1234567890' } })
      .replace('$context.requestId', requestId)
      .replace('$context.requestTimeEpoch', String(Date.parse('2025-06-15T10:00:00.500Z')))
      .replace('$context.httpMethod', 'GET')
      .replace('$context.path', path)
      .replace('$context.status', String(status))
      .replace('$context.responseLatency', String(latency))
      .replace('$context.authorizer.clientId', 'client-7')
      .replace('$context.integration.requestId', 'lambda-req-1');

  it('indexes a gateway access log and a block log into one request with its own lines', async () => {
    const gw = await index(subscriptionEvent(dataMessage(gatewayLogGroupName(env), [accessLine('req-1', 200), accessLine('req-2', 502)])));
    const blk = await index(
      subscriptionEvent(
        dataMessage(blockLogGroupName(env, 'api'), [
          'START RequestId: lambda-req-1 Version: 7',
          '{"kinto_request_id":"req-1","message":"loading"}',
          'Listening on 8080',
          '{"kinto_request_id":"req-2","message":"other request"}',
          '{"kinto_request_id":"req-1","message":"done"}',
          'END RequestId: lambda-req-1',
          'REPORT RequestId: lambda-req-1\tDuration: 10.00 ms\tBilled Duration: 10 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB\tInit Duration: 310.00 ms\t',
        ]),
      ),
    );
    expect(gw.status).toBe('indexed');
    expect(blk.summary).toMatchObject({ attachedLines: 3, plainLines: 1, platformLines: 3 });

    const detail = await store.getRequest(env, 'req-1', NOW);
    expect(detail.access).toMatchObject({
      status: 200,
      block: 'api',
      release: '2.0.1',
      commit: 'c0ffee123456',
      clientId: 'client-7',
      durationMs: 12,
    });
    expect(detail.lines.map((l) => JSON.parse(l.text).message)).toEqual(['loading', 'done']);
    const list = await store.listRequests({ envId: env, limit: 100, now: NOW });
    expect(list.items.map((r) => [r.requestId, r.status])).toEqual([
      ['req-2', 502],
      ['req-1', 200],
    ]);
    const instance = await store.listInstanceLines({ envId: env, block: 'api', limit: 10, order: 'oldest', now: NOW });
    expect(instance.items.map((l) => l.stream)).toEqual(['stdout', 'platform']);
    expect(instance.items[1].report).toMatchObject({ initDurationMs: 310, maxMemoryUsedMb: 80 });
  });

  it('emits embedded-metric lines per block per minute after the write', async () => {
    await index(
      subscriptionEvent(
        dataMessage(gatewayLogGroupName(env), [
          accessLine('a', 200, '/api/x', 10),
          accessLine('b', 404, '/api/y', 20),
          accessLine('c', 500, '/api/z', 30),
        ]),
      ),
    );
    const [api, health] = emf();
    expect(api._aws).toEqual({
      Timestamp: Date.parse('2025-06-15T10:00:00Z'),
      CloudWatchMetrics: [
        {
          Namespace: 'KintoTest',
          Dimensions: [['EnvId', 'Block']],
          Metrics: [
            { Name: 'Requests', Unit: 'Count' },
            { Name: 'Errors4xx', Unit: 'Count' },
            { Name: 'Errors5xx', Unit: 'Count' },
            { Name: 'Duration', Unit: 'Milliseconds' },
          ],
        },
      ],
    });
    expect(api).toMatchObject({ EnvId: env, Block: 'api', Requests: 3, Errors4xx: 1, Errors5xx: 1 });
    expect(api.Duration).toHaveLength(3);
    expect(health).toMatchObject({ EventsIndexed: 3, AccessEntries: 3, CorruptPayloads: 0 });
    expect(logs()[0]).toMatchObject({ level: 'info', message: 'log batch indexed', accessEntries: 3 });
  });

  it('counts a redelivered batch once in the stored metrics', async () => {
    const event = subscriptionEvent(dataMessage(gatewayLogGroupName(env), [accessLine('x', 200)]));
    await index(event);
    await index(event);
    const metrics = await store.listMetrics(env, '2025-06-15T10:00', '2025-06-15T10:00', NOW);
    expect(metrics).toEqual([expect.objectContaining({ block: 'api', requests: 1 })]);
    expect((await store.listRequests({ envId: env, limit: 10, now: NOW })).items).toHaveLength(1);
  });

  it('ignores CONTROL_MESSAGE', async () => {
    const result = await index(
      subscriptionEvent({
        messageType: 'CONTROL_MESSAGE',
        owner: 'CloudwatchLogs',
        logGroup: '',
        logStream: '',
        subscriptionFilters: [],
        logEvents: [{ id: '', timestamp: 0, message: 'CWL CONTROL MESSAGE: Checking health of destination Lambda function.' }],
      }),
    );
    expect(result.status).toBe('control');
    expect(out).toEqual([]);
  });

  it.each([
    ['not gzip', { awslogs: { data: Buffer.from('plain text, not gzip').toString('base64') } }, /not valid base64 gzip/],
    ['gzip of non-JSON', { awslogs: { data: gzipSync('<xml/>').toString('base64') } }, /not JSON after gunzip/],
    ['no awslogs at all', {}, /no awslogs.data/],
    ['JSON without messageType', subscriptionEvent({ hello: 1 }), /no messageType/],
    [
      'DATA_MESSAGE without logEvents',
      subscriptionEvent({ messageType: 'DATA_MESSAGE', logGroup: '/kinto/env/e/gateway' }),
      /without logGroup or logEvents/,
    ],
  ])('does not throw on a corrupt payload (%s): logs why and counts it', async (_what, event, reason) => {
    const result = await index(event as never);
    expect(result.status).toBe('corrupt');
    expect(logs()[0]).toMatchObject({ level: 'error', reason: expect.stringMatching(reason) });
    expect(emf()[0]).toMatchObject({ CorruptPayloads: 1 });
  });

  it('keeps every good line of a payload mixing every kind of bad line, and counts the bad ones', async () => {
    const result = await index(
      subscriptionEvent(
        dataMessage(blockLogGroupName(env, 'api'), [
          '{"kinto_request_id":"mix-1","n":1}',
          'not json at all',
          '["an","array"]',
          '"a JSON string"',
          '{"message":"no id"}',
          '{"kinto_request_id":"never-seen-request","n":2}',
          '{"kinto_request_id":"mix-1","n":3}',
        ]),
      ),
    );
    expect(result.summary).toMatchObject({ events: 7, attachedLines: 3, plainLines: 4, notJson: 1, notObject: 2, noRequestId: 1 });
    expect((await store.getRequest(env, 'mix-1', NOW)).lines.map((l) => JSON.parse(l.text).n)).toEqual([1, 3]);
    expect((await store.getRequest(env, 'never-seen-request', NOW)).lines).toHaveLength(1);
    const plain = await store.listInstanceLines({ envId: env, block: 'api', limit: 10, order: 'oldest', now: NOW });
    expect(plain.items.map((l) => l.text)).toEqual(['not json at all', '["an","array"]', '"a JSON string"', '{"message":"no id"}']);
    expect(logs()[0]).toMatchObject({ message: 'log batch indexed', unusable: 4 });
  });

  it('handles an empty logEvents', async () => {
    expect((await index(subscriptionEvent(dataMessage(blockLogGroupName(env, 'api'), [])))).status).toBe('empty');
  });

  it('ignores log groups Kinto did not name', async () => {
    const result = await index(subscriptionEvent(dataMessage('/aws/lambda/someone-else', ['{"kinto_request_id":"x"}'])));
    expect(result.status).toBe('unknown-group');
    expect(logs()[0]).toMatchObject({ level: 'warn', events: 1 });
  });

  it('keeps lines with invalid UTF-8 (replaced) and counts them', async () => {
    const json = JSON.stringify(dataMessage(blockLogGroupName(env, 'api'), ['{"kinto_request_id":"u1","message":"@@"}', 'fine']));
    const bytes = Buffer.from(json);
    const at = bytes.indexOf('@@');
    bytes[at] = 0xc3; // a lead byte followed by "@": not UTF-8
    const result = await index(subscriptionEvent(bytes));
    expect(result.summary).toMatchObject({ invalidUtf8: 1, attachedLines: 1, plainLines: 1 });
    const detail = await store.getRequest(env, 'u1', NOW);
    expect(JSON.parse(detail.lines[0].text).message).toBe('\uFFFD@');
    expect(logs()[0]).toMatchObject({ level: 'warn', invalidUtf8: 1 });
  });

  it('keeps a 300 KB line truncated with a marker and counts it', async () => {
    const result = await index(
      subscriptionEvent(
        dataMessage(blockLogGroupName(env, 'api'), [JSON.stringify({ kinto_request_id: 'big', data: 'x'.repeat(300_000) })]),
      ),
    );
    expect(result.summary).toMatchObject({ truncated: 1, attachedLines: 1 });
    const detail = await store.getRequest(env, 'big', NOW);
    expect(detail.lines[0]).toMatchObject({ truncated: true });
    expect(detail.lines[0].text).toMatch(/line truncated/);
  });

  it('drops access lines it cannot read, counting them, and keeps the good ones', async () => {
    const result = await index(
      subscriptionEvent(dataMessage(gatewayLogGroupName(env), ['garbage', '{"format":"kinto-access-1"}', accessLine('ok-1', 201)])),
    );
    expect(result.summary).toMatchObject({ accessEntries: 1, invalidAccess: 2 });
    expect((await store.getRequest(env, 'ok-1', NOW)).access?.status).toBe(201);
  });
});
