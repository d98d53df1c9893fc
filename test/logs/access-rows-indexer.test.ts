import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { FileLogStore } from '../../lambdas/adapters/local/logs/file-log-store';
import { accessLine, accessRecordAt, type AccessRows } from '../../lambdas/adapters/local/logs/access-row';
import { AccessRowBatchBuilder, type RowIndexedBatch } from '../../lambdas/adapters/local/logs/access-row-batch';
import { isoTime } from '../../lambdas/core/logs/iso-time';
import type { AccessEntry, AccessRecord } from '../../lambdas/core/logs/log-records';

const T0 = Date.parse('2025-06-15T10:59:58.000Z'); // minutes and seconds change within the batch

/** Raw field texts: normal ones, ones `accessEntry` changes, ones it refuses, escapes and carriage returns. */
const weird = fc.string({
  unit: fc.constantFrom('a', '-', '.', '\\', '\\t', '\\e', '\\u20ac', '\\x', '\r', '\u00e9', '\u20ac', '\ud800', ' ', '/'),
  maxLength: 6,
});
const requestIds = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9._:=+/-]{1,12}$/),
  fc.constantFrom('r1', 'r2', 'x'.repeat(128), 'x'.repeat(129), '', '-', '...', 'r 1', 'r#1', 'r\\t1'),
  weird,
);
const times = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -1500, max: 4000 }).map((d) => isoTime(T0 + d)) },
  fc.constantFrom(
    '2025-06-15T10:00:00Z',
    '2025-06-15T10:00:00.000+00:00',
    '2025-06-15T10:00:00.1234Z',
    '2025-06-15T10:00:00.123z',
    '2025-06-15T10:00:60.000Z',
    '1999-12-31T23:59:59.999Z',
    '2000-01-01T00:00:00.000Z',
    '9999-12-31T23:59:59.999Z',
    '+02025-06-15T10:00:00.000Z',
    '1750000000000',
    '',
    '-',
    'soon',
  ),
  weird,
);
const envs = fc.oneof(fc.constantFrom('e1', 'e2', '', '-', '\u00e9', '\u20ac'), weird);
const methods = fc.oneof(fc.constantFrom('GET', 'POST', 'OTHER', 'get', '', '-', 'X'.repeat(16), 'X'.repeat(17)), weird);
const paths = fc.oneof(
  fc.constantFrom('/api/x', '/shop/a?b', '/authorize', '/Shop/x', '-', '', '/', `/api/${'p'.repeat(2043)}`, `/api/${'p'.repeat(2044)}`),
  weird,
);
const blocks = fc.oneof(fc.constantFrom('api', 'shop', '', '-', 'API', 'a'.repeat(32), 'a'.repeat(33), 'health', '9a'), weird);
const texts = fc.oneof(fc.constantFrom('', '-', '1.0.0', 'x'.repeat(256), 'x'.repeat(257), '\\e'), weird);
const statuses = fc.oneof(
  fc.integer({ min: 100, max: 999 }).map(String),
  fc.constantFrom('200', '099', '99', '1000', '0200', '200.0', '2e2', '', '-', 'abc', ' 200', '\\e'),
  weird,
);
const durations = fc.oneof(
  fc.integer({ min: 0, max: 99_999_999_999 }).map((h) => String(h / 100)),
  fc.constantFrom(
    '0',
    '1.5',
    '1.25',
    '1.255',
    '007',
    '1.50',
    '1.',
    '.5',
    '1e-7',
    '123456.789',
    '-1',
    '',
    '-',
    'NaN',
    '999999999.99',
    '1000000000',
    '1000000000.5',
    'Infinity',
    '0x10',
  ),
  weird,
);

/** Mostly a field in normal form (so that most lines are), else anything of `odd`. */
const mostly = (normal: fc.Arbitrary<string>, odd: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof({ weight: 12, arbitrary: normal }, { weight: 1, arbitrary: odd });
const normalText = fc.constantFrom('', '1.0.0', 'abc', 'c1');

/** A line of raw field texts, sometimes with a field too few or too many, or a carriage return. */
const rawLine = fc
  .tuple(
    mostly(fc.stringMatching(/^[A-Za-z0-9-]{1,6}$/), requestIds),
    mostly(
      fc.integer({ min: -1500, max: 4000 }).map((d) => isoTime(T0 + d)),
      times,
    ),
    mostly(fc.constantFrom('e1', 'e2'), envs),
    mostly(fc.constant('GET'), methods),
    mostly(fc.constantFrom('/api/x', '/shop/y'), paths),
    mostly(fc.constantFrom('api', 'shop'), blocks),
    mostly(normalText, texts),
    mostly(normalText, texts),
    mostly(fc.integer({ min: 100, max: 599 }).map(String), statuses),
    mostly(
      fc.integer({ min: 0, max: 100_000 }).map((h) => String(h / 100)),
      durations,
    ),
    mostly(normalText, texts),
    mostly(normalText, texts),
    fc.constantFrom('', '', '', '', '', '', 'drop', 'extra', '\r'),
  )
  .map((f) => {
    const fields = f.slice(0, 12);
    const twist = f[12];
    if (twist === 'drop') fields.pop();
    if (twist === 'extra') fields.push('x');
    return fields.join('\t') + (twist === '\r' ? '\r' : '');
  });

/** Entries as the gateway makes them (what `accessLine` writes), mostly valid. */
const entries: fc.Arbitrary<AccessEntry> = fc.record(
  {
    requestId: fc.oneof({ weight: 5, arbitrary: fc.stringMatching(/^[A-Za-z0-9-]{1,8}$/) }, requestIds),
    time: fc.integer({ min: -1500, max: 4000 }).map((d) => isoTime(T0 + d)),
    envId: fc.oneof({ weight: 5, arbitrary: fc.constantFrom('e1', 'e2') }, envs),
    method: fc.oneof({ weight: 5, arbitrary: fc.constant('GET') }, methods),
    path: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('/api/x', '/shop/y') }, paths),
    block: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('api', 'shop') }, fc.constant(undefined), blocks),
    release: fc.oneof(fc.constant(undefined), texts),
    commit: fc.oneof(fc.constant(undefined), texts),
    status: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 100, max: 599 }) }, fc.constantFrom(99, 1000, 200.5, NaN)),
    durationMs: fc.oneof(
      fc.integer({ min: 0, max: 1_000_000 }).map((h) => h / 100),
      fc.constantFrom(0, 1e-7, 123456.789, 0.005, -1, 1e9, NaN),
    ),
    clientId: fc.oneof(fc.constant(undefined), texts),
    lambdaRequestId: fc.oneof(fc.constant(undefined), texts),
  },
  { requiredKeys: ['requestId', 'time', 'envId', 'method', 'path', 'status', 'durationMs'] },
);

const line = fc.oneof(
  { weight: 4, arbitrary: entries.map((e) => accessLine(e).slice(0, -1)) },
  { weight: 3, arbitrary: rawLine },
  { weight: 1, arbitrary: fc.constantFrom('', '\r', 'garbage', '\t\t\t') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', '\t', '\r', '\\', '2', '.'), maxLength: 30 }) },
);

/** What the log worker hands the indexer: texts of lines (with or without a last line break), and entries. */
type Call = { k: 'lines'; text: string } | { k: 'entry'; e: AccessEntry };
const calls: fc.Arbitrary<Call[]> = fc.array(
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom('\n', '', '\r\n'))
        .map(([ls, last]): Call => ({ k: 'lines', text: ls.length ? ls.join('\n') + last : '' })),
    },
    { weight: 1, arbitrary: entries.map((e): Call => ({ k: 'entry', e })) },
  ),
  { maxLength: 6 },
);
const retentions = fc.constantFrom(undefined, 3600_000, 1500, 0);

function index(list: readonly Call[], accessRows: boolean, retentionMs: number | undefined): RowIndexedBatch {
  const b = new AccessRowBatchBuilder({ batch: 'b1', rows: accessRows, ...(retentionMs !== undefined ? { retentionMs } : {}) });
  for (const c of list) {
    if (c.k === 'lines') b.addAccessLines(c.text);
    else b.addAccess(c.e);
  }
  return b.build();
}

/** The records rows describe. */
const recordsOf = (rows: AccessRows): AccessRecord[] =>
  Array.from({ length: rows.count }, (_, i) => accessRecordAt(rows.texts[rows.textOf[i]], rows.starts[i], rows.expires[i]));

describe('Class: AccessRowBatchBuilder', () => {
  describe('Method: addAccessLines (accessRows)', () => {
    it('gives rows of exactly the records, metrics and summary of the builder without rows', () => {
      fc.assert(
        fc.property(calls, retentions, (list, retentionMs) => {
          const reference = index(list, false, retentionMs);
          const got = index(list, true, retentionMs);
          const rows = got.accessRows!;
          expect(got.access).toEqual([]);
          expect(rows.count).toBe(reference.access.length);
          const records = recordsOf(rows);
          expect(records).toEqual(reference.access);
          expect(rows.times).toEqual(records.map((r) => Date.parse(r.time)));
          expect(rows.expires).toEqual(reference.access.map((r) => r.expiresAt));
          expect(got.metrics).toEqual(reference.metrics);
          expect(got.summary).toEqual(reference.summary);
          expect(reference.accessRows).toBeUndefined();
        }),
        { numRuns: 400 },
      );
    });

    it('keeps in its input what indexes again into the same rows', () => {
      fc.assert(
        fc.property(calls, retentions, (list, retentionMs) => {
          const rows = index(list, true, retentionMs).accessRows!;
          expect(rows.texts[0]).toBe(rows.input);
          expect(rows.lines).toBe(rows.input.split('\n').length - 1);
          expect(rows.input === '' || rows.input.endsWith('\n')).toBe(true);
          const again = index([{ k: 'lines', text: rows.input }], true, rows.retentionMs).accessRows!;
          expect(recordsOf(again)).toEqual(recordsOf(rows));
          expect(again.times).toEqual(rows.times);
          expect(again.expires).toEqual(rows.expires);
          expect(again.input).toBe(rows.input);
          expect(again.lines).toBe(rows.lines);
        }),
        { numRuns: 400 },
      );
    });

    it('keeps a line in normal form in place, as its row', () => {
      const e: AccessEntry = {
        requestId: 'r1',
        time: '2025-06-15T10:00:00.000Z',
        envId: 'e1',
        method: 'GET',
        path: '/api/x',
        block: 'api',
        status: 200,
        durationMs: 1.5,
      };
      const text = `${accessLine(e)}${accessLine({ ...e, requestId: 'r2', block: undefined })}`;
      const rows = index([{ k: 'lines', text }], true, 3600_000).accessRows!;
      expect(rows.input).toBe(text);
      // The first is kept in place; the second (no block: derived from the path) is normalized.
      expect([rows.textOf, rows.starts]).toEqual([
        [0, 1],
        [0, 0],
      ]);
      expect(recordsOf(rows)).toEqual([
        { ...e, expiresAt: Date.parse(e.time) / 1000 + 3600 },
        { ...e, requestId: 'r2', expiresAt: Date.parse(e.time) / 1000 + 3600 },
      ]);
    });
  });

  describe('Method: addAccess (accessRows)', () => {
    it('indexed again from its input, an entry whose block was refused still has none (not its path’s)', () => {
      const e: AccessEntry = {
        requestId: 'r1',
        time: '2025-06-15T10:00:00.000Z',
        envId: 'e1',
        method: 'GET',
        path: '/api/x',
        block: 'API',
        status: 200,
        durationMs: 1,
      };
      const rows = index([{ k: 'entry', e }], true, 3600_000).accessRows!;
      expect(recordsOf(rows)[0].block).toBeUndefined();
      expect(recordsOf(index([{ k: 'lines', text: rows.input }], true, rows.retentionMs).accessRows!)).toEqual(recordsOf(rows));
    });
  });
});

describe('Class: FileLogStore', () => {
  describe('Method: open', () => {
    /** Segment files are UTF-8: a lone surrogate would not survive them (the gateway's lines are Latin-1). */
    const hasLoneSurrogate = (list: readonly Call[]): boolean =>
      list.some((c) => /[\ud800-\udfff]/.test(c.k === 'lines' ? c.text : JSON.stringify(c.e)));

    it('lists the same requests after a restart, read again from its files', async () => {
      await fc.assert(
        fc.asyncProperty(
          calls.filter((list) => !hasLoneSurrogate(list)),
          retentions,
          async (list, retentionMs) => {
            const dir = mkdtempSync(join(tmpdir(), 'kinto-rows-'));
            const now = (): number => T0 - 3600_000;
            const nowS = Math.floor(now() / 1000);
            const listAll = async (store: FileLogStore, envs: readonly string[]): Promise<AccessRecord[][]> =>
              Promise.all(envs.map(async (envId) => (await store.listRequests({ envId, limit: 1000, now: nowS })).items));
            try {
              const batch = index(list, true, retentionMs);
              const envs = [...new Set(recordsOf(batch.accessRows!).map((r) => r.envId))];
              const first = await FileLogStore.open({ dir, now });
              await first.write(batch);
              const before = await listAll(first, envs);
              await first.close();
              const second = await FileLogStore.open({ dir, now });
              const after = await listAll(second, envs);
              await second.close();
              expect(after).toEqual(before);
              // One request per (environment, time, id): a batch holding one twice keeps the last.
              const live = recordsOf(batch.accessRows!).filter((r) => r.expiresAt > nowS);
              expect(before.flat()).toHaveLength(new Set(live.map((r) => `${r.envId}\u0000${r.time}\u0000${r.requestId}`)).size);
            } finally {
              rmSync(dir, { recursive: true, force: true });
            }
          },
        ),
        { numRuns: 60 },
      );
    });
  });
});
