import fc from 'fast-check';
import {
  accessLine,
  accessLineEnv,
  accessLineHasBlock,
  accessLineHasEnv,
  accessLineIdIs,
  accessLineStatus,
  accessRecordAt,
  accessRow,
  accessRowLine,
  compareAccessLineId,
  compareAccessLineIds,
  escapeField,
  parseAccessLine,
  parseAccessRow,
  unescapeField,
} from '../../lambdas/adapters/local/logs/access-row';
import { entryFields, finite, id, number, text } from './access-fields';
import type { AccessEntry, AccessRecord } from '../../lambdas/core/logs/log-records';

const REQUIRED = ['requestId', 'time', 'envId', 'method', 'path', 'status', 'durationMs'] as const;
const anyEntry: fc.Arbitrary<AccessEntry> = fc.record(
  { ...entryFields, status: number, durationMs: number },
  { requiredKeys: [...REQUIRED] },
);
const anyRecord: fc.Arbitrary<AccessRecord> = fc.record(
  { ...entryFields, status: finite, durationMs: finite, expiresAt: finite },
  { requiredKeys: [...REQUIRED, 'expiresAt'] },
);

/** The fields as `parseAccessLine` gives them: strings, numbers as their text, absent ones undefined. */
const fieldsOf = (e: AccessEntry): Record<keyof AccessEntry, string | undefined> => ({
  requestId: e.requestId,
  time: e.time,
  envId: e.envId,
  method: e.method,
  path: e.path,
  block: e.block,
  release: e.release,
  commit: e.commit,
  status: String(e.status),
  durationMs: String(e.durationMs),
  clientId: e.clientId,
  lambdaRequestId: e.lambdaRequestId,
});

/** An entry as the record `accessRecordAt` rebuilds: numbers read back, absent fields left out. */
function recordOf(e: AccessEntry, expiresAt: number): AccessRecord {
  const r: Record<string, unknown> = { ...e, status: Number(String(e.status)), durationMs: Number(String(e.durationMs)), expiresAt };
  for (const k of Object.keys(r)) if (r[k] === undefined) delete r[k];
  return r as unknown as AccessRecord;
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

describe('Function: escapeField', () => {
  it('gives a Latin-1 string without tabs or line breaks that unescapeField turns back', () => {
    fc.assert(
      fc.property(text(30), (s) => {
        const escaped = escapeField(s);
        expect(escaped).not.toMatch(/[\t\n\r\u0100-\uffff]/);
        expect(unescapeField(escaped)).toBe(s);
        if (!/[\t\n\r\\\u0100-\uffff]/.test(s)) expect(escaped).toBe(s);
      }),
      { numRuns: 500 },
    );
  });
});

describe('Function: parseAccessLine', () => {
  it('gives back every field of accessLine (numbers as their text)', () => {
    fc.assert(
      fc.property(anyEntry, (e) => {
        const line = accessLine(e);
        expect(line.endsWith('\n')).toBe(true);
        expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
        expect(parseAccessLine(line, 0, line.length - 1)).toEqual(fieldsOf(e));
      }),
      { numRuns: 500 },
    );
  });

  it('reads one line of several, from start to end', () => {
    fc.assert(
      fc.property(fc.array(anyEntry, { minLength: 1, maxLength: 5 }), (entries) => {
        const text = entries.map(accessLine).join('');
        let start = 0;
        for (const e of entries) {
          const end = text.indexOf('\n', start);
          expect(parseAccessLine(text, start, end)).toEqual(fieldsOf(e));
          start = end + 1;
        }
        expect(start).toBe(text.length);
      }),
      { numRuns: 200 },
    );
  });

  it('is undefined for a line with too few or too many fields', () => {
    const line = accessLine({ requestId: 'r1', time: 't', envId: 'e', method: 'GET', path: '/', status: 200, durationMs: 1 }).slice(0, -1);
    expect(parseAccessLine(line)).toBeDefined();
    expect(parseAccessLine(line.slice(0, line.lastIndexOf('\t')))).toBeUndefined();
    expect(parseAccessLine(`${line}\tx`)).toBeUndefined();
    expect(parseAccessLine('')).toBeUndefined();
  });
});

describe('Function: parseAccessRow', () => {
  it('gives back the record of accessRow', () => {
    fc.assert(
      fc.property(anyRecord, (r) => {
        const row = accessRow(r);
        expect(row).not.toMatch(/[\n\r\u0100-\uffff]/);
        expect(parseAccessRow(row)).toEqual(recordOf(r, r.expiresAt));
      }),
      { numRuns: 500 },
    );
  });

  it('never reads a row cut short', () => {
    fc.assert(
      fc.property(anyRecord, fc.nat(), (r, cut) => {
        const row = accessRow(r);
        expect(parseAccessRow(row.slice(0, cut % row.length))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });
});

describe('Functions: reading an access line in place', () => {
  /** Lines back to back, or rows one a line: where each line starts, and the entries. */
  const layouts = fc
    .boolean()
    .chain((asRows) =>
      fc.tuple(fc.array(fc.tuple(asRows ? anyRecord : anyEntry, finite), { minLength: 1, maxLength: 5 }), fc.constant(asRows)),
    )
    .map(([items, asRows]) => {
      let text = '';
      const starts: number[] = [];
      for (const [e, expiresAt] of items) {
        if (asRows) {
          // Rows hold finite numbers only (parseAccessRow refuses others): anyRecord's.
          const row = accessRow({ ...e, expiresAt });
          starts.push(text.length + accessRowLine(row)!.start);
          text += `${row}\n`;
        } else {
          starts.push(text.length);
          text += accessLine(e);
        }
      }
      return { text, starts, entries: items.map(([e]) => e), expires: items.map(([, x]) => x), asRows };
    });

  it('accessLineStatus reads a number past 2^53 as Number does', () => {
    const line = accessLine({
      requestId: 'r1',
      time: 't',
      envId: 'e',
      method: 'GET',
      path: '/',
      status: 474927350159948540,
      durationMs: 0,
    });
    expect(accessLineStatus(line, 0)).toBe(474927350159948540);
    expect(
      accessLineStatus(
        accessLine({ requestId: 'r1', time: 't', envId: 'e', method: 'GET', path: '/', status: 999_999_999_999_999, durationMs: 0 }),
        0,
      ),
    ).toBe(999_999_999_999_999);
  });

  it('accessRecordAt and accessRowLine rebuild each record', () => {
    fc.assert(
      fc.property(layouts, ({ text, starts, entries, expires, asRows }) => {
        entries.forEach((e, k) => {
          const expected = recordOf(e, expires[k]);
          expect(accessRecordAt(text, starts[k], expires[k])).toEqual(expected);
          if (asRows) {
            const row = text.slice(text.lastIndexOf('\n', starts[k]) + 1, text.indexOf('\n', starts[k]));
            expect(accessRowLine(row)).toEqual({ start: starts[k] - text.lastIndexOf('\n', starts[k]) - 1, record: expected });
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('accessLineStatus, accessLineEnv, accessLineHasEnv and accessLineHasBlock agree with the parsed line', () => {
    fc.assert(
      fc.property(
        layouts,
        text(),
        fc.oneof(fc.constant('api'), text()).filter((b) => b !== ''),
        ({ text: t, starts, entries }, otherEnv, otherBlock) => {
          entries.forEach((e, k) => {
            const start = starts[k];
            expect(accessLineStatus(t, start)).toBe(Number(String(e.status)));
            expect(accessLineEnv(t, start)).toBe(e.envId);
            for (const env of [e.envId, otherEnv, '']) expect(accessLineHasEnv(t, start, escapeField(env))).toBe(e.envId === env);
            // Non-empty blocks only: escapeField('') is how a line holds an absent block.
            for (const block of [e.block, otherBlock])
              if (block) expect(accessLineHasBlock(t, start, escapeField(block))).toBe(e.block === block);
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accessLineIdIs, compareAccessLineIds, and compareAccessLineId agree with the escaped ids as strings', () => {
    fc.assert(
      fc.property(layouts, layouts, id, ({ text: a, starts: as, entries: ae }, { text: b, starts: bs, entries: be }, other) => {
        ae.forEach((x, i) => {
          const ix = escapeField(x.requestId);
          for (const q of [x.requestId, other, '']) {
            expect(accessLineIdIs(a, as[i], escapeField(q))).toBe(x.requestId === q);
            expect(sign(compareAccessLineId(a, as[i], escapeField(q)))).toBe(compareStrings(ix, escapeField(q)));
          }
          be.forEach((y, j) => {
            const iy = escapeField(y.requestId);
            expect(sign(compareAccessLineIds(a, as[i], b, bs[j]))).toBe(compareStrings(ix, iy));
          });
        });
      }),
      { numRuns: 300 },
    );
  });
});
