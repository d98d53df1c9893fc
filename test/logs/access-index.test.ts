import fc from 'fast-check';
import { AccessIndex } from '../../lambdas/adapters/local/logs/access-index';
import { accessLine, accessRecordAt } from '../../lambdas/adapters/local/logs/access-row';
import { AccessRowBatchBuilder } from '../../lambdas/adapters/local/logs/access-row-batch';
import { isoTime } from '../../lambdas/core/logs/iso-time';
import type { AccessEntry, AccessRecord } from '../../lambdas/core/logs/log-records';
import type { LogCursor, LogPage, RequestQuery } from '../../lambdas/ports/log-store';

const T0 = Date.parse('2025-06-15T10:00:00.000Z');
const S0 = T0 / 1000;
/** Few times, a few ms apart and across seconds, so that ties and rewrites of one (time, id) are common. */
const OFFSETS = [0, 1, 2, 500, 999, 1000, 1001, 2500, 3000];
/** Ids that are prefixes of one another, and of both cases. */
const IDS = ['a', 'b', 'ab', 'B', 'a.1', 'c'];
const ENVS = ['e1', 'e2'];

interface Item {
  env: string;
  id: string;
  dt: number;
  block?: string;
  status: number;
  /** How the entry reaches the indexer: an access line (in place or normalized) or an object. */
  via: 'line' | 'entry';
}
type Op =
  | { k: 'add'; retentionMs: number; items: Item[] }
  | {
      k: 'list';
      env: string;
      limit: number;
      block?: string;
      status?: { min: number; max: number };
      now: number;
      before?: { dt: number; id: string };
    }
  | { k: 'get'; env: string; id: string; now: number }
  | { k: 'older'; dt: number }
  | { k: 'expired'; nowS: number };

const item: fc.Arbitrary<Item> = fc.record(
  {
    env: fc.constantFrom(...ENVS),
    id: fc.constantFrom(...IDS),
    dt: fc.constantFrom(...OFFSETS),
    block: fc.constantFrom('api', 'web'),
    status: fc.constantFrom(200, 302, 404, 500),
    via: fc.constantFrom<Item['via']>('line', 'line', 'entry'),
  },
  { requiredKeys: ['env', 'id', 'dt', 'status', 'via'] },
);
const nowS = fc.integer({ min: S0 - 1, max: S0 + 8 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      k: fc.constant('add' as const),
      retentionMs: fc.constantFrom(1000, 2000, 4000),
      items: fc.array(item, { minLength: 1, maxLength: 8 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        k: fc.constant('list' as const),
        env: fc.constantFrom(...ENVS, 'e3'),
        limit: fc.integer({ min: 1, max: 4 }),
        block: fc.constantFrom('api', 'web', 'nope', ''),
        status: fc
          .tuple(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 100, max: 599 }))
          .map(([a, b]) => ({ min: Math.min(a, b), max: Math.max(a, b) })),
        now: nowS,
        before: fc.record({ dt: fc.constantFrom(...OFFSETS, 1700), id: fc.constantFrom(...IDS, '', 'aa', 'zz') }),
      },
      { requiredKeys: ['k', 'env', 'limit', 'now'] },
    ),
  },
  {
    weight: 2,
    arbitrary: fc.record({ k: fc.constant('get' as const), env: fc.constantFrom(...ENVS), id: fc.constantFrom(...IDS, 'zz'), now: nowS }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('older' as const), dt: fc.constantFrom(...OFFSETS, 1700) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('expired' as const), nowS }) },
);

function entryOf(i: Item): AccessEntry {
  // Without a block the path is a gateway route, so that the record has none either (normalized, not in place).
  const e: AccessEntry = {
    requestId: i.id,
    time: isoTime(T0 + i.dt),
    envId: i.env,
    method: 'GET',
    path: i.block ? `/${i.block}/x` : '/authorize',
    status: i.status,
    durationMs: 1.5,
  };
  return i.block ? { ...e, block: i.block } : e;
}

/** A row as the model holds it, with the order it was written in. */
interface Held {
  env: string;
  timeMs: number;
  record: AccessRecord;
  written: number;
}

/** Newest first: time descending, then request id descending (the logs table's `<time>#<requestId>` keys). */
const newestFirst = (a: Held, b: Held): number =>
  b.timeMs - a.timeMs || (a.record.requestId < b.record.requestId ? 1 : a.record.requestId > b.record.requestId ? -1 : 0);
const olderThanCursor = (h: Held, c: LogCursor): boolean => {
  const t = Date.parse(c.time);
  return h.timeMs < t || (h.timeMs === t && h.record.requestId < c.key);
};

function modelList(held: readonly Held[], q: RequestQuery): AccessRecord[] {
  return held
    .filter((h) => h.env === q.envId && h.record.expiresAt > q.now)
    .filter((h) => !q.block || h.record.block === q.block)
    .filter((h) => !q.status || (h.record.status >= q.status.min && h.record.status <= q.status.max))
    .filter((h) => !q.before || olderThanCursor(h, q.before))
    .sort(newestFirst)
    .map((h) => h.record);
}

/** Every page of a listing, following `next` until there is none. */
function allPages(index: AccessIndex, q: RequestQuery): LogPage<AccessRecord>[] {
  const pages: LogPage<AccessRecord>[] = [];
  let before = q.before;
  for (let n = 0; n < 100; n++) {
    const page = index.list({ ...q, ...(before ? { before } : {}) });
    pages.push(page);
    if (!page.next) return pages;
    before = page.next;
  }
  throw new Error('the listing never ends');
}

function run(ops: readonly Op[]): void {
  const tallied = new Map<number, number>();
  const index = new AccessIndex((second, n) => tallied.set(second, (tallied.get(second) ?? 0) + n));
  let held: Held[] = [];
  let written = 0;

  for (const o of ops) {
    switch (o.k) {
      case 'add': {
        const builder = new AccessRowBatchBuilder({ batch: 'b', retentionMs: o.retentionMs });
        for (const i of o.items) {
          if (i.via === 'line') builder.addAccessLines(accessLine(entryOf(i)));
          else builder.addAccess(entryOf(i));
        }
        const rows = builder.build().accessRows!;
        expect(rows.count).toBe(o.items.length);
        // As the file store does: one add per environment, rows in batch order.
        const byEnv = new Map<string, number[]>();
        for (let r = 0; r < rows.count; r++) {
          const env = accessRecordAt(rows.texts[rows.textOf[r]], rows.starts[r], 0).envId;
          byEnv.set(env, [...(byEnv.get(env) ?? []), r]);
        }
        for (const [env, list] of byEnv) index.add(env, rows, list);
        for (const [env, list] of byEnv) {
          for (const r of list) {
            const i = o.items[r];
            const timeMs = T0 + i.dt;
            const record: AccessRecord = { ...entryOf(i), expiresAt: Math.floor(timeMs / 1000) + o.retentionMs / 1000 };
            held = held.filter((h) => !(h.env === env && h.timeMs === timeMs && h.record.requestId === i.id));
            held.push({ env, timeMs, record, written: written++ });
          }
        }
        break;
      }
      case 'list': {
        const q: RequestQuery = {
          envId: o.env,
          limit: o.limit,
          now: o.now,
          ...(o.block !== undefined ? { block: o.block } : {}),
          ...(o.status ? { status: o.status } : {}),
          ...(o.before ? { before: { time: isoTime(T0 + o.before.dt), key: o.before.id } } : {}),
        };
        const expected = modelList(held, q);
        const pages = allPages(index, q);
        // Pages of `limit` items but the last, which says there is no more; no row skipped or repeated.
        expect(pages.flatMap((p) => p.items)).toEqual(expected);
        pages.forEach((p, k) => {
          const last = k === pages.length - 1;
          expect(p.items.length).toBe(last ? expected.length - k * o.limit : o.limit);
          if (!last) expect(p.next).toEqual({ time: p.items[o.limit - 1].time, key: p.items[o.limit - 1].requestId });
        });
        break;
      }
      case 'get': {
        const last = held.filter((h) => h.env === o.env && h.record.requestId === o.id).sort((a, b) => b.written - a.written)[0];
        expect(index.get(o.env, o.id, o.now)).toEqual(last && last.record.expiresAt > o.now ? last.record : undefined);
        break;
      }
      case 'older':
        index.removeOlderThan(T0 + o.dt);
        held = held.filter((h) => h.timeMs >= T0 + o.dt);
        break;
      case 'expired':
        index.removeExpired(o.nowS);
        held = held.filter((h) => h.record.expiresAt > o.nowS);
        break;
    }
    // The tally nets to the rows held, second by second.
    const perSecond = new Map<number, number>();
    for (const h of held) perSecond.set(Math.floor(h.timeMs / 1000), (perSecond.get(Math.floor(h.timeMs / 1000)) ?? 0) + 1);
    for (const [second, n] of tallied) expect([second, n]).toEqual([second, perSecond.get(second) ?? 0]);
    for (const [second, n] of perSecond) expect([second, tallied.get(second)]).toEqual([second, n]);
  }

  // Whatever happened, every environment lists exactly what the model holds.
  for (const env of ENVS)
    expect(allPages(index, { envId: env, limit: 3, now: 0 }).flatMap((p) => p.items)).toEqual(
      modelList(held, { envId: env, limit: 3, now: 0 }),
    );
}

describe('Class: AccessIndex', () => {
  it('behaves like a list of rows: last write of a (time, id) wins, newest first, pages without gaps or repeats, tally nets to the rows held', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => run(ops)),
      { numRuns: 300 },
    );
  });

  it('keeps the rows of many small batches (merged chunks) and of larger ones in one order', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            k: fc.constant('add' as const),
            retentionMs: fc.constant(4000),
            items: fc.array(item, { minLength: 1, maxLength: 40 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        (adds) => run(adds),
      ),
      { numRuns: 100 },
    );
  });

  describe('Method: list', () => {
    it('orders requests of one millisecond by id, newest first, and pages with the cursor', () => {
      const index = new AccessIndex(() => undefined);
      const builder = new AccessRowBatchBuilder({ batch: 'b', retentionMs: 3600_000 });
      for (const id of ['b', 'ab', 'a', 'c'])
        builder.addAccessLines(accessLine(entryOf({ env: 'e1', id, dt: 0, block: 'api', status: 200, via: 'line' })));
      const rows = builder.build().accessRows!;
      index.add('e1', rows, [0, 1, 2, 3]);
      const first = index.list({ envId: 'e1', limit: 2, now: S0 });
      expect(first.items.map((r) => r.requestId)).toEqual(['c', 'b']);
      expect(first.next).toEqual({ time: '2025-06-15T10:00:00.000Z', key: 'b' });
      const second = index.list({ envId: 'e1', limit: 2, now: S0, before: first.next! });
      expect(second.items.map((r) => r.requestId)).toEqual(['ab', 'a']);
      expect(second.next).toBeUndefined();
    });
  });
});
