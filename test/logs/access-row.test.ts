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
  writeAccessLine,
} from '../../lambdas/core/logs/access-row';
import type { AccessEntry, AccessRecord } from '../../lambdas/core/logs/log-records';

/**
 * Characters a line must escape or must not confuse with its own escapes, Latin-1 edges, a lone
 * surrogate of each kind, an astral character, and plain letters so that escapes sit inside text.
 */
const NASTY = ['\t', '\n', '\r', '\\', 'e', 'u', '\\e', '\\u0041', '\u0000', '\u0008', '\u007f', '\u00e9', '\u00ff', '\u0100', '\u20ac', '\ud800', '\udc00', '\ud83d\ude00', '.', '-', 'a', 'Z', '0', ' '];
const unit = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NASTY) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) });
const text = (maxLength = 12): fc.Arbitrary<string> => fc.string({ unit, maxLength });
/** Few characters, so that equal ids, prefixes and ties are common. */
const id = fc.string({ unit: fc.constantFrom('a', 'b', '\t', '\\', '\u0000', '\u00ff', '\u0100'), maxLength: 4 });
const optional = (s: fc.Arbitrary<string>): fc.Arbitrary<string | undefined> => fc.oneof(fc.constant(undefined), fc.constant(''), s);

/** Numbers as the gateway writes them (hundredths), and anything else a number can be. */
const ODD_NUMBERS = [0, 1, 1e-7, 0.005, 0.07, 1.1, 0.29, 123456.789, 999_999_999.99, 1e9, 1e21, 2 ** 53 + 2, -1, -0.5, NaN, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE];
const number = fc.oneof(
  fc.integer({ min: 0, max: 99_999_999_999 }).map((h) => h / 100),
  fc.integer({ min: 0, max: 9_999_999 }).map((h) => h / 10),
  fc.integer({ min: 100, max: 999 }),
  fc.constantFrom(...ODD_NUMBERS),
  fc.double(),
  fc.maxSafeInteger(),
);
/** Numbers that survive `Number(String(n))` as themselves (no NaN, no -0), as records hold them. */
const finite = fc.oneof(number, fc.double({ noNaN: true, noDefaultInfinity: true })).filter((n) => Number.isFinite(n)).map((n) => n + 0);

const entryFields = {
  requestId: fc.oneof(id, text()),
  time: fc.oneof(fc.constant('2025-06-15T10:00:00.000Z'), text()),
  envId: fc.oneof(fc.constant('e1'), text()),
  method: fc.oneof(fc.constant('GET'), text()),
  path: fc.oneof(fc.constant('/api/x'), text(40)),
  block: optional(fc.oneof(fc.constant('api'), text())),
  release: optional(text()),
  commit: optional(text()),
  clientId: optional(text()),
  lambdaRequestId: optional(text()),
};
const REQUIRED = ['requestId', 'time', 'envId', 'method', 'path', 'status', 'durationMs'] as const;
const anyEntry: fc.Arbitrary<AccessEntry> = fc.record({ ...entryFields, status: number, durationMs: number }, { requiredKeys: [...REQUIRED] });
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

describe('Function: writeAccessLine', () => {
  it('writes the Latin-1 bytes of accessLine and returns where the line ends', () => {
    fc.assert(
      fc.property(anyEntry, fc.nat(8), fc.nat(20), (e, at, spare) => {
        const expected = Buffer.from(accessLine(e), 'latin1');
        const bytes = new Uint8Array(at + expected.length + spare).fill(0xee);
        const end = writeAccessLine(bytes, at, e);
        expect(end).toBe(at + expected.length);
        expect(Buffer.from(bytes.subarray(at, end))).toEqual(expected);
        expect(bytes.subarray(0, at).every((b) => b === 0xee)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('fits a line into a buffer exactly its length', () => {
    const e: AccessEntry = { requestId: 'r1', time: '2025-06-15T10:00:00.000Z', envId: 'e1', method: 'GET', path: '/api/x', block: 'api', status: 200, durationMs: 1.5 };
    const line = accessLine(e);
    const bytes = new Uint8Array(line.length);
    expect(writeAccessLine(bytes, 0, e)).toBe(line.length);
    expect(Buffer.from(bytes).toString('latin1')).toBe(line);
  });

  it('returns -1 when the buffer has no room for the line, writing nothing past its end', () => {
    fc.assert(
      fc.property(anyEntry, fc.nat(8), fc.nat(), (e, at, cut) => {
        const length = Buffer.from(accessLine(e), 'latin1').length;
        const room = at + (cut % length); // at least one byte short
        const backing = new Uint8Array(room + 64).fill(0xee);
        const bytes = backing.subarray(0, room);
        expect(writeAccessLine(bytes, at, e)).toBe(-1);
        expect(backing.subarray(room).every((b) => b === 0xee)).toBe(true);
        expect(backing.subarray(0, Math.min(at, room)).every((b) => b === 0xee)).toBe(true);
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
  const layouts = fc.boolean().chain((asRows) => fc.tuple(fc.array(fc.tuple(asRows ? anyRecord : anyEntry, finite), { minLength: 1, maxLength: 5 }), fc.constant(asRows))).map(([items, asRows]) => {
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
    const line = accessLine({ requestId: 'r1', time: 't', envId: 'e', method: 'GET', path: '/', status: 474927350159948540, durationMs: 0 });
    expect(accessLineStatus(line, 0)).toBe(474927350159948540);
    expect(accessLineStatus(accessLine({ requestId: 'r1', time: 't', envId: 'e', method: 'GET', path: '/', status: 999_999_999_999_999, durationMs: 0 }), 0)).toBe(999_999_999_999_999);
  });

  it('accessRecordAt and accessRowLine rebuild each record', () => {
    fc.assert(
      fc.property(layouts, ({ text, starts, entries, expires, asRows }) => {
        entries.forEach((e, k) => {
          const expected = recordOf(e, expires[k]!);
          expect(accessRecordAt(text, starts[k]!, expires[k]!)).toEqual(expected);
          if (asRows) {
            const row = text.slice(text.lastIndexOf('\n', starts[k]!) + 1, text.indexOf('\n', starts[k]!));
            expect(accessRowLine(row)).toEqual({ start: starts[k]! - text.lastIndexOf('\n', starts[k]!) - 1, record: expected });
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('accessLineStatus, accessLineEnv, accessLineHasEnv and accessLineHasBlock agree with the parsed line', () => {
    fc.assert(
      fc.property(layouts, text(), fc.oneof(fc.constant('api'), text()).filter((b) => b !== ''), ({ text: t, starts, entries }, otherEnv, otherBlock) => {
        entries.forEach((e, k) => {
          const start = starts[k]!;
          expect(accessLineStatus(t, start)).toBe(Number(String(e.status)));
          expect(accessLineEnv(t, start)).toBe(e.envId);
          for (const env of [e.envId, otherEnv, '']) expect(accessLineHasEnv(t, start, escapeField(env))).toBe(e.envId === env);
          // Non-empty blocks only: escapeField('') is how a line holds an absent block.
          for (const block of [e.block, otherBlock]) if (block) expect(accessLineHasBlock(t, start, escapeField(block))).toBe(e.block === block);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('accessLineIdIs, compareAccessLineIds, and compareAccessLineId agree with the escaped ids as strings', () => {
    fc.assert(
      fc.property(layouts, layouts, id, ({ text: a, starts: as, entries: ae }, { text: b, starts: bs, entries: be }, other) => {
        ae.forEach((x, i) => {
          const ix = escapeField(x.requestId);
          for (const q of [x.requestId, other, '']) {
            expect(accessLineIdIs(a, as[i]!, escapeField(q))).toBe(x.requestId === q);
            expect(sign(compareAccessLineId(a, as[i]!, escapeField(q)))).toBe(compareStrings(ix, escapeField(q)));
          }
          be.forEach((y, j) => {
            const iy = escapeField(y.requestId);
            expect(sign(compareAccessLineIds(a, as[i]!, b, bs[j]!))).toBe(compareStrings(ix, iy));
          });
        });
      }),
      { numRuns: 300 },
    );
  });
});
