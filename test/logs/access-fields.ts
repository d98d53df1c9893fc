import fc from 'fast-check';

/** Arbitraries for access entries' fields, shared by the access-row and access-line-writer tests. */

/**
 * Characters a line must escape or must not confuse with its own escapes, Latin-1 edges, a lone
 * surrogate of each kind, an astral character, and plain letters so that escapes sit inside text.
 */
export const NASTY = [
  '\t',
  '\n',
  '\r',
  '\\',
  'e',
  'u',
  '\\e',
  '\\u0041',
  '\u0000',
  '\u0008',
  '\u007f',
  '\u00e9',
  '\u00ff',
  '\u0100',
  '\u20ac',
  '\ud800',
  '\udc00',
  '\ud83d\ude00',
  '.',
  '-',
  'a',
  'Z',
  '0',
  ' ',
];
export const unit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
export const text = (maxLength = 12): fc.Arbitrary<string> => fc.string({ unit, maxLength });
/** Few characters, so that equal ids, prefixes and ties are common. */
export const id = fc.string({ unit: fc.constantFrom('a', 'b', '\t', '\\', '\u0000', '\u00ff', '\u0100'), maxLength: 4 });
export const optional = (s: fc.Arbitrary<string>): fc.Arbitrary<string | undefined> => fc.oneof(fc.constant(undefined), fc.constant(''), s);

/** Numbers as the gateway writes them (hundredths), and anything else a number can be. */
export const ODD_NUMBERS = [
  0,
  1,
  1e-7,
  0.005,
  0.07,
  1.1,
  0.29,
  123456.789,
  999_999_999.99,
  1e9,
  1e21,
  2 ** 53 + 2,
  -1,
  -0.5,
  NaN,
  Infinity,
  -Infinity,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
];
export const number = fc.oneof(
  fc.integer({ min: 0, max: 99_999_999_999 }).map((h) => h / 100),
  fc.integer({ min: 0, max: 9_999_999 }).map((h) => h / 10),
  fc.integer({ min: 100, max: 999 }),
  fc.constantFrom(...ODD_NUMBERS),
  fc.double(),
  fc.maxSafeInteger(),
);
/** Numbers that survive `Number(String(n))` as themselves (no NaN, no -0), as records hold them. */
export const finite = fc
  .oneof(number, fc.double({ noNaN: true, noDefaultInfinity: true }))
  .filter((n) => Number.isFinite(n))
  .map((n) => n + 0);

export const entryFields = {
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
