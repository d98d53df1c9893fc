import fc from 'fast-check';
import { AccessLineWriter, accessEntryOf, type AccessFacts } from '../../lambdas/adapters/local/logs/access-line-writer';
import { accessLine, parseAccessLine } from '../../lambdas/adapters/local/logs/access-row';
import { isoTime, isUsableTime } from '../../lambdas/core/logs/iso-time';
import { entryFields, number, optional, text } from './access-fields';

const { time: _time, ...factFields } = entryFields;
/** Epoch ms in isoTime's years (2000..9999), fractions and the edges included. */
const usableTime = fc.oneof(
  fc.integer({ min: 946_684_800_000, max: 253_402_300_799_999 }),
  fc.constantFrom(946_684_800_000, 253_402_300_799_999, 1_750_000_000_123, 1_750_000_000_999.75),
);
const anyTime = fc.oneof(
  { weight: 4, arbitrary: usableTime },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 946_684_799_999, 253_402_300_800_000, NaN, Infinity, -Infinity) },
);
const anyFacts: fc.Arbitrary<AccessFacts> = fc.record(
  { ...factFields, timeMs: anyTime, status: number, durationMs: number },
  { requiredKeys: ['requestId', 'timeMs', 'envId', 'method', 'path', 'status', 'durationMs'] },
);

/** The line the writer must give: accessLine's, the time as isoTime writes it (empty when it cannot). */
const expectedLine = (f: AccessFacts): string =>
  accessLine({ ...accessEntryOf({ ...f, timeMs: 0 }), time: isUsableTime(f.timeMs) ? isoTime(Math.floor(f.timeMs)) : '' });

/** The same text as another string object (not the same reference), as a gateway's fields often are. */
const copyOf = (s: string): string => `${s}.`.slice(0, -1);

describe('Class: AccessLineWriter', () => {
  describe('Method: write', () => {
    it('writes the Latin-1 bytes of accessLine and returns where the line ends', () => {
      fc.assert(
        fc.property(anyFacts, fc.nat(8), fc.nat(20), (f, at, spare) => {
          const expected = Buffer.from(expectedLine(f), 'latin1');
          const bytes = new Uint8Array(at + expected.length + spare).fill(0xee);
          const end = new AccessLineWriter().write(bytes, at, f);
          expect(end).toBe(at + expected.length);
          expect(Buffer.from(bytes.subarray(at, end))).toEqual(expected);
          expect(bytes.subarray(0, at).every((b) => b === 0xee)).toBe(true);
        }),
        { numRuns: 500 },
      );
    });

    it('writes each line right when one writer writes many whose fields repeat, change and come back', () => {
      // Few values per field, so that a field repeats, changes, and returns to an earlier value,
      // sometimes as the same text in another string object.
      const few = <T>(arb: fc.Arbitrary<T>) => fc.array(arb, { minLength: 1, maxLength: 3 });
      const maybeCopy = <T extends string | undefined>(pool: T[]) =>
        fc.tuple(fc.constantFrom(...pool), fc.boolean()).map(([s, copy]) => (copy && s !== undefined ? copyOf(s) : s) as T);
      const sequence = fc
        .record({
          envId: few(entryFields.envId),
          method: few(entryFields.method),
          block: few(entryFields.block),
          release: few(entryFields.release),
          commit: few(entryFields.commit),
          clientId: few(optional(text())),
        })
        .chain((pools) =>
          fc.array(
            fc.record({
              requestId: entryFields.requestId,
              timeMs: usableTime,
              envId: maybeCopy(pools.envId),
              method: maybeCopy(pools.method),
              path: entryFields.path,
              block: maybeCopy(pools.block),
              release: maybeCopy(pools.release),
              commit: maybeCopy(pools.commit),
              status: number,
              durationMs: number,
              clientId: maybeCopy(pools.clientId),
            }),
            { minLength: 1, maxLength: 30 },
          ),
        );
      fc.assert(
        fc.property(sequence, (facts) => {
          const writer = new AccessLineWriter();
          const expected = facts.map(expectedLine).join('');
          const bytes = new Uint8Array(Buffer.byteLength(expected, 'latin1') + 1);
          let at = 0;
          for (const f of facts) at = writer.write(bytes, at, f);
          expect(Buffer.from(bytes.subarray(0, at)).toString('latin1')).toBe(expected);
        }),
        { numRuns: 300 },
      );
    });

    it('writes the line the gateway gives, which parseAccessLine reads back', () => {
      const f: AccessFacts = {
        requestId: 'r1',
        timeMs: Date.UTC(2025, 5, 15, 10, 0, 0, 7),
        envId: 'e1',
        method: 'GET',
        path: '/api/x',
        block: 'api',
        release: '1.0.0',
        status: 200,
        durationMs: 1.5,
      };
      const line = 'r1\t2025-06-15T10:00:00.007Z\te1\tGET\t/api/x\tapi\t1.0.0\t\t200\t1.5\t\t\n';
      const bytes = new Uint8Array(line.length);
      expect(new AccessLineWriter().write(bytes, 0, f)).toBe(line.length);
      expect(Buffer.from(bytes).toString('latin1')).toBe(line);
      expect(parseAccessLine(Buffer.from(bytes).toString('latin1'), 0, bytes.length - 1)).toMatchObject({
        time: '2025-06-15T10:00:00.007Z',
        block: 'api',
        status: '200',
      });
    });

    it('returns -1 when the buffer has no room for the line, writing nothing past its end', () => {
      fc.assert(
        fc.property(anyFacts, fc.nat(8), fc.nat(), (f, at, cut) => {
          const length = Buffer.from(expectedLine(f), 'latin1').length;
          const room = at + (cut % length); // at least one byte short
          const backing = new Uint8Array(room + 64).fill(0xee);
          const bytes = backing.subarray(0, room);
          expect(new AccessLineWriter().write(bytes, at, f)).toBe(-1);
          expect(backing.subarray(room).every((b) => b === 0xee)).toBe(true);
          expect(backing.subarray(0, Math.min(at, room)).every((b) => b === 0xee)).toBe(true);
        }),
        { numRuns: 500 },
      );
    });
  });
});

describe('Function: accessEntryOf', () => {
  it('copies the facts into an entry with the time in ISO form', () => {
    const f = {
      requestId: 'r1',
      timeMs: Date.UTC(2025, 5, 15, 10, 0, 0, 7),
      envId: 'e1',
      method: 'GET',
      path: '/x',
      block: 'api',
      status: 200,
      durationMs: 1.5,
    };
    const entry = accessEntryOf(f);
    f.block = 'other';
    expect(entry).toMatchObject({
      requestId: 'r1',
      time: '2025-06-15T10:00:00.007Z',
      envId: 'e1',
      method: 'GET',
      path: '/x',
      block: 'api',
      status: 200,
      durationMs: 1.5,
    });
  });
});
