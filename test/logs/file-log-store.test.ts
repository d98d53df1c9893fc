import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogBatchBuilder } from '../../lambdas/core/logs/index-log-events';
import { FileLogStore } from '../../lambdas/adapters/local/logs/file-log-store';
import { logStoreContract } from './log-store-contract';

logStoreContract('local files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kinto-logs-'));
  const store = await FileLogStore.open({ dir });
  return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
});

describe('Class: FileLogStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'kinto-logs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const source = { kind: 'block' as const, envId: 'e1', block: 'api', release: '1.0.0' };

  it('reads its files back after a restart', async () => {
    const first = await FileLogStore.open({ dir });
    const b = new LogBatchBuilder({ batch: 'b1' });
    b.addAccess({ envId: 'e1', requestId: 'r1', time: Date.now(), method: 'GET', path: '/api/', status: 200, durationMs: 3 });
    b.addBlockLine(source, {
      time: Date.now(),
      seq: '1',
      text: JSON.stringify({ kinto_request_id: 'r1', message: 'hi' }),
      stream: 'stdout',
    });
    b.addBlockLine(source, { time: Date.now(), seq: '2', text: 'plain', stream: 'stdout' });
    await first.write(b.build());
    await first.close();

    const second = await FileLogStore.open({ dir });
    const now = Math.floor(Date.now() / 1000);
    const detail = await second.getRequest('e1', 'r1', now);
    expect(detail.access?.block).toBe('api');
    expect(detail.lines.map((l) => JSON.parse(l.text).message)).toEqual(['hi']);
    expect(
      (await second.listInstanceLines({ envId: 'e1', block: 'api', limit: 5, order: 'newest', now })).items.map((l) => l.text),
    ).toEqual(['plain']);
    expect((await second.listMetrics('e1', '2000-01-01T00:00', '9999-01-01T00:00', now))[0]).toMatchObject({ requests: 1, block: 'api' });
    await second.close();
  });

  it('drops expired segment files when it opens', async () => {
    const store = await FileLogStore.open({ dir, now: () => Date.parse('2025-01-01T00:00:00Z') });
    const b = new LogBatchBuilder({ batch: 'b1', retentionMs: 60_000 });
    b.addBlockLine(source, { time: Date.parse('2025-01-01T00:00:00Z'), seq: '1', text: 'soon gone', stream: 'stdout' });
    await store.write(b.build());
    await store.close();
    expect(readdirSync(dir)).toHaveLength(1);
    const later = await FileLogStore.open({ dir, now: () => Date.parse('2025-01-01T00:05:00Z') });
    expect(readdirSync(dir)).toHaveLength(0);
    await later.close();
  });

  it('evicts the oldest seconds past its cap, never the newest, and says how many', async () => {
    const evictions: number[] = [];
    const store = await FileLogStore.open({ dir, maxRecords: 100, onEvict: (n) => evictions.push(n) });
    const base = Date.parse('2025-06-01T00:00:00Z');
    for (let minute = 0; minute < 5; minute++) {
      const b = new LogBatchBuilder({ batch: `b${minute}`, retentionMs: 10 * 365 * 24 * 3600_000 });
      for (let i = 0; i < 30; i++)
        b.addBlockLine(source, {
          time: base + minute * 60_000 + i * 100,
          seq: String(i).padStart(4, '0'),
          text: `m${minute} line ${i}`,
          stream: 'stdout',
        });
      await store.write(b.build());
    }
    expect(evictions.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(store.stats.records).toBeLessThanOrEqual(100);
    expect(store.stats.records).toBeGreaterThanOrEqual(60); // evicted down to ~80 %, not everything
    const now = Math.floor(base / 1000);
    const newest = await store.listInstanceLines({ envId: 'e1', block: 'api', limit: 1, order: 'newest', now });
    expect(newest.items[0]?.text).toBe('m4 line 29');
    await store.close();
  });
});
