import {
  emptySummary,
  type AccessRecord,
  type ConsoleLineRecord,
  type IndexedBatch,
  type InstanceLineRecord,
  type MetricPartial,
} from '../../lambdas/core/logs/log-records';
import type { LogStore } from '../../lambdas/ports/log-store';

/**
 * One behaviour for every LogStore adapter: the logs table on DynamoDB (dynalite here) and the
 * local file store run these same tests, so they cannot drift apart.
 */
export function logStoreContract(name: string, open: () => Promise<{ store: LogStore; close(): Promise<void> }>): void {
  describe(`LogStore contract: ${name}`, () => {
    let store: LogStore;
    let close: () => Promise<void>;
    let env: string;
    let n = 0;

    beforeAll(async () => {
      ({ store, close } = await open());
    });
    afterAll(async () => close());
    beforeEach(() => {
      env = `env${++n}${Math.random().toString(36).slice(2, 8)}`;
    });

    const NOW = 1_750_000_000; // epoch seconds the tests read at
    const LIVE = NOW + 3600;
    const t = (s: number): string => new Date((NOW - 1000 + s) * 1000).toISOString();
    const access = (id: string, s: number, extra: Partial<AccessRecord> = {}): AccessRecord => ({
      envId: env,
      requestId: id,
      time: t(s),
      method: 'GET',
      path: '/api/x',
      block: 'api',
      release: '1.0.0',
      commit: 'abc',
      status: 200,
      durationMs: 5,
      expiresAt: LIVE,
      ...extra,
    });
    const line = (id: string, s: number, seq: string, text: string, extra: Partial<ConsoleLineRecord> = {}): ConsoleLineRecord => ({
      envId: env,
      requestId: id,
      time: t(s),
      seq,
      block: 'api',
      stream: 'stdout',
      text,
      expiresAt: LIVE,
      ...extra,
    });
    const inst = (s: number, seq: string, text: string, extra: Partial<InstanceLineRecord> = {}): InstanceLineRecord => ({
      envId: env,
      block: 'api',
      time: t(s),
      seq,
      stream: 'stdout',
      text,
      expiresAt: LIVE,
      ...extra,
    });
    const batch = (b: Partial<IndexedBatch>): IndexedBatch => ({
      access: [],
      lines: [],
      instance: [],
      metrics: [],
      summary: emptySummary(),
      ...b,
    });
    const metric = (minute: string, block: string, batchId: string, extra: Partial<MetricPartial> = {}): MetricPartial => ({
      envId: env,
      block,
      minute,
      batch: batchId,
      requests: 2,
      errors4xx: 1,
      errors5xx: 0,
      durationSumMs: 30,
      histogram: { '10': 1, '20': 1 },
      coldStarts: 0,
      coldStartSumMs: 0,
      expiresAt: LIVE,
      ...extra,
    });

    describe('Method: getRequest', () => {
      it('returns the access entry and exactly its own console lines, in time then seq order', async () => {
        await store.write(
          batch({
            access: [access('r1', 1), access('r2', 2)],
            lines: [
              line('r1', 1, '002', '{"b":1}'),
              line('r1', 1, '001', '{"a":1}'),
              line('r1', 3, '003', '{"c":1}'),
              line('r2', 2, '004', '{"other":1}'),
            ],
          }),
        );
        const got = await store.getRequest(env, 'r1', NOW);
        expect(got.access).toMatchObject({ requestId: 'r1', status: 200, block: 'api', release: '1.0.0', commit: 'abc' });
        expect(got.lines.map((l) => l.text)).toEqual(['{"a":1}', '{"b":1}', '{"c":1}']);
      });

      it('keeps lines whose request has not arrived yet, and joins them when it does', async () => {
        await store.write(batch({ lines: [line('late', 5, '001', '{"x":1}')] }));
        const before = await store.getRequest(env, 'late', NOW);
        expect(before.access).toBeUndefined();
        expect(before.lines).toHaveLength(1);
        await store.write(batch({ access: [access('late', 4)] }));
        const after = await store.getRequest(env, 'late', NOW);
        expect(after.access?.requestId).toBe('late');
        expect(after.lines).toHaveLength(1);
      });

      it('never shows another environment the request', async () => {
        await store.write(batch({ access: [access('shared', 1)], lines: [line('shared', 1, '001', '{}')] }));
        const other = await store.getRequest(`${env}x`, 'shared', NOW);
        expect(other).toEqual({ lines: [] });
      });

      it('never returns expired entries, even before the store deletes them', async () => {
        await store.write(
          batch({ access: [access('old', 1, { expiresAt: NOW })], lines: [line('old', 1, '001', '{}', { expiresAt: NOW - 1 })] }),
        );
        expect(await store.getRequest(env, 'old', NOW)).toEqual({ lines: [] });
      });
    });

    describe('Method: listRequests', () => {
      it('lists newest first, pages with the cursor without gaps or repeats', async () => {
        const all = Array.from({ length: 7 }, (_, i) => access(`q${i}`, i));
        await store.write(batch({ access: all }));
        const seen: string[] = [];
        let before;
        for (let page = 0; page < 10; page++) {
          const got = await store.listRequests({ envId: env, limit: 3, before, now: NOW });
          seen.push(...got.items.map((r) => r.requestId));
          if (!got.next) break;
          before = got.next;
        }
        expect(seen).toEqual(['q6', 'q5', 'q4', 'q3', 'q2', 'q1', 'q0']);
      });

      it('orders requests of the same millisecond by id and keeps them all', async () => {
        await store.write(batch({ access: [access('b', 1), access('a', 1), access('c', 1)] }));
        const got = await store.listRequests({ envId: env, limit: 10, now: NOW });
        expect(got.items.map((r) => r.requestId)).toEqual(['c', 'b', 'a']);
        expect(got.next).toBeUndefined();
      });

      it('filters by block and by status range', async () => {
        await store.write(
          batch({
            access: [
              access('ok', 1),
              access('missing', 2, { status: 404 }),
              access('boom', 3, { status: 502, block: 'web' }),
              access('auth', 4, { status: 401, block: undefined, path: '/authorize' }),
            ],
          }),
        );
        const web = await store.listRequests({ envId: env, limit: 10, block: 'web', now: NOW });
        expect(web.items.map((r) => r.requestId)).toEqual(['boom']);
        const errors = await store.listRequests({ envId: env, limit: 10, status: { min: 400, max: 599 }, now: NOW });
        expect(errors.items.map((r) => r.requestId)).toEqual(['auth', 'boom', 'missing']);
        const notFound = await store.listRequests({ envId: env, limit: 10, status: { min: 404, max: 404 }, now: NOW });
        expect(notFound.items.map((r) => r.requestId)).toEqual(['missing']);
      });

      it('skips expired entries and rewrites are idempotent', async () => {
        const b = batch({ access: [access('live', 1), access('dead', 2, { expiresAt: NOW - 5 })] });
        await store.write(b);
        await store.write(b);
        const got = await store.listRequests({ envId: env, limit: 10, now: NOW });
        expect(got.items.map((r) => r.requestId)).toEqual(['live']);
      });
    });

    describe('Method: listInstanceLines', () => {
      beforeEach(async () => {
        await store.write(
          batch({
            instance: [
              inst(1, '001', 'Server listening'),
              inst(2, '002', 'GET /a'),
              inst(3, '003', 'ERROR db down'),
              inst(3, '004', 'retrying'),
              inst(5, '005', 'error again', { stream: 'stderr' }),
            ],
          }),
        );
        await store.write(batch({ instance: [inst(4, '006', 'expired', { expiresAt: NOW })] }));
      });

      it('tails newest first and pages back with before', async () => {
        const first = await store.listInstanceLines({ envId: env, block: 'api', limit: 2, order: 'newest', now: NOW });
        expect(first.items.map((l) => l.text)).toEqual(['error again', 'retrying']);
        const second = await store.listInstanceLines({
          envId: env,
          block: 'api',
          limit: 10,
          order: 'newest',
          before: first.next,
          now: NOW,
        });
        expect(second.items.map((l) => l.text)).toEqual(['ERROR db down', 'GET /a', 'Server listening']);
        expect(second.next).toBeUndefined();
      });

      it('reads oldest first after a cursor (polling)', async () => {
        const got = await store.listInstanceLines({
          envId: env,
          block: 'api',
          limit: 10,
          order: 'oldest',
          after: { time: t(2), key: '002' },
          now: NOW,
        });
        expect(got.items.map((l) => l.text)).toEqual(['ERROR db down', 'retrying', 'error again']);
      });

      it('searches case-insensitively within an inclusive time range', async () => {
        const got = await store.listInstanceLines({
          envId: env,
          block: 'api',
          limit: 10,
          order: 'newest',
          search: 'error',
          from: t(1),
          to: t(3),
          now: NOW,
        });
        expect(got.items.map((l) => l.text)).toEqual(['ERROR db down']);
        const all = await store.listInstanceLines({ envId: env, block: 'api', limit: 10, order: 'newest', search: 'error', now: NOW });
        expect(all.items.map((l) => l.text)).toEqual(['error again', 'ERROR db down']);
      });

      it('keeps other blocks and environments apart', async () => {
        expect((await store.listInstanceLines({ envId: env, block: 'web', limit: 10, order: 'newest', now: NOW })).items).toEqual([]);
        expect((await store.listInstanceLines({ envId: `${env}x`, block: 'api', limit: 10, order: 'newest', now: NOW })).items).toEqual([]);
      });

      it('keeps truncation marks and Lambda report numbers', async () => {
        const report = {
          lambdaRequestId: 'abc',
          durationMs: 2.5,
          billedDurationMs: 3,
          memorySizeMb: 128,
          maxMemoryUsedMb: 70,
          initDurationMs: 120.5,
        };
        await store.write(
          batch({
            instance: [
              inst(9, '009', 'REPORT RequestId: abc', { stream: 'platform', report }),
              inst(9, '010', 'x …[cut]', { truncated: true }),
            ],
          }),
        );
        const got = await store.listInstanceLines({ envId: env, block: 'api', limit: 2, order: 'newest', now: NOW });
        expect(got.items[1]).toMatchObject({ stream: 'platform', report });
        expect(got.items[0]).toMatchObject({ truncated: true });
      });
    });

    describe('Method: listMetrics', () => {
      it('adds partials of a minute together, once per batch, within the range', async () => {
        const b1 = batch({ metrics: [metric('2025-06-15T10:00', 'api', 'b1'), metric('2025-06-15T10:01', 'api', 'b1')] });
        await store.write(b1);
        await store.write(b1); // redelivered: not counted again
        await store.write(
          batch({
            metrics: [
              metric('2025-06-15T10:00', 'api', 'b2', {
                requests: 1,
                errors4xx: 0,
                errors5xx: 1,
                durationSumMs: 100,
                histogram: { '20': 1 },
                coldStarts: 1,
                coldStartSumMs: 250,
              }),
            ],
          }),
        );
        await store.write(batch({ metrics: [metric('2025-06-15T10:00', 'web', 'b3'), metric('2025-06-15T10:05', 'api', 'b3')] }));
        const got = await store.listMetrics(env, '2025-06-15T10:00', '2025-06-15T10:01', NOW);
        const api0 = got.find((m) => m.block === 'api' && m.minute === '2025-06-15T10:00');
        expect(api0).toMatchObject({
          requests: 3,
          errors4xx: 1,
          errors5xx: 1,
          durationSumMs: 130,
          histogram: { '10': 1, '20': 2 },
          coldStarts: 1,
          coldStartSumMs: 250,
        });
        expect(got.map((m) => `${m.minute} ${m.block}`).sort()).toEqual([
          '2025-06-15T10:00 api',
          '2025-06-15T10:00 web',
          '2025-06-15T10:01 api',
        ]);
      });

      it('never returns expired minutes', async () => {
        await store.write(batch({ metrics: [metric('2025-06-15T09:00', 'api', 'x', { expiresAt: NOW })] }));
        expect(await store.listMetrics(env, '2025-06-15T00:00', '2025-06-15T23:59', NOW)).toEqual([]);
      });
    });
  });
}
