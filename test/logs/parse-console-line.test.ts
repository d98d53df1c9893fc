import { lineText, MAX_LINE_BYTES } from '../../lambdas/core/logs/long-lines';
import { parseConsoleLine, stripRuntimePrefix } from '../../lambdas/core/logs/parse-console-line';

describe('Function: parseConsoleLine', () => {
  it('attaches a JSON object with a string kinto_request_id, keeping the text as logged', () => {
    const text = '{ "kinto_request_id": "acd12ff21-f2f21f1wf1-2f21f1s", "customdata": "hello", "message": "world" }';
    expect(parseConsoleLine(text)).toEqual({
      kind: 'attached',
      requestId: 'acd12ff21-f2f21f1wf1-2f21f1s',
      text,
      truncated: false,
      invalidUtf8: false,
    });
  });

  it.each([
    ['plain text', 'Server listening on 3000', 'notJson'],
    ['broken JSON', '{"kinto_request_id": "a", ', 'notJson'],
    ['a JSON array', '[{"kinto_request_id":"a"}]', 'notObject'],
    ['a JSON string', '"kinto_request_id"', 'notObject'],
    ['a JSON number', '42', 'notObject'],
    ['JSON null', 'null', 'notObject'],
    ['an object without the id', '{"message":"hi"}', 'noRequestId'],
    ['a numeric id', '{"kinto_request_id": 12}', 'noRequestId'],
    ['an empty id', '{"kinto_request_id": ""}', 'noRequestId'],
    ['an id with spaces', '{"kinto_request_id": "a b"}', 'noRequestId'],
    ['an id in a nested object only', '{"ctx":{"kinto_request_id":"a"}}', 'noRequestId'],
    ['a date-led line', '2025-01-01 12:00:00 started', 'notJson'],
  ])('keeps %s as a plain line (%s)', (_what, text, reason) => {
    expect(parseConsoleLine(text)).toMatchObject({ kind: 'plain', reason, text, truncated: false });
  });

  it('accepts API Gateway style ids (base64 with = + /)', () => {
    expect(parseConsoleLine('{"kinto_request_id":"Jx7dKhMYoAMEVkg="}')).toMatchObject({ kind: 'attached', requestId: 'Jx7dKhMYoAMEVkg=' });
  });

  it('truncates a line over 256 KB with a marker and keeps it attached when its head names the request', () => {
    const big = JSON.stringify({ kinto_request_id: 'r-1', blob: 'x'.repeat(300 * 1024) });
    const got = parseConsoleLine(big);
    expect(got).toMatchObject({ kind: 'attached', requestId: 'r-1', truncated: true });
    expect(Buffer.byteLength(got.text)).toBeLessThan(MAX_LINE_BYTES + 100);
    expect(got.text).toMatch(/…\[kinto: line truncated, \d+ of \d+ bytes dropped\]$/);
  });

  it('keeps a truncated line without an id in its head as plain output', () => {
    const got = parseConsoleLine(`start ${'y'.repeat(300 * 1024)}`);
    expect(got).toMatchObject({ kind: 'plain', truncated: true });
    expect(got).not.toHaveProperty('reason');
  });

  it('marks lines whose bytes were not UTF-8 (decoded with U+FFFD) and keeps them', () => {
    const text = Buffer.from([0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('utf8');
    expect(parseConsoleLine(text)).toMatchObject({ kind: 'plain', reason: 'noRequestId', invalidUtf8: true });
    expect(parseConsoleLine(text, false)).toMatchObject({ invalidUtf8: false });
  });
});

describe('Function: lineText', () => {
  it('cuts multi-byte text on a character boundary', () => {
    const got = lineText('é'.repeat(200), true, 101);
    expect(got.truncated).toBe(true);
    expect(got.text.startsWith('é'.repeat(50) + ' …[kinto')).toBe(true);
    expect(got.text).not.toContain('\uFFFD');
  });

  it('leaves lines at the limit whole', () => {
    expect(lineText('a'.repeat(100), true, 100)).toEqual({ text: 'a'.repeat(100), truncated: false, invalidUtf8: false });
  });
});

describe('Function: stripRuntimePrefix', () => {
  it('removes the Node managed runtime prefix and leaves other lines alone', () => {
    expect(stripRuntimePrefix('2025-01-02T03:04:05.678Z\t6f1b7c9e-1111-2222-3333-444455556666\tINFO\t{"a":1}')).toBe('{"a":1}');
    expect(stripRuntimePrefix('2025-01-02 plain text that happens to start with a date')).toBe(
      '2025-01-02 plain text that happens to start with a date',
    );
  });
});
