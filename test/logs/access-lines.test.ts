import fc from 'fast-check';
import { decodeAccess, encodeAccess } from '../../lambdas/adapters/local/access-lines';
import type { AccessEntry } from '../../lambdas/adapters/local/gateway';

describe('Functions: encodeAccess / decodeAccess (access entries to the log worker)', () => {
  const full: AccessEntry = { requestId: 'r-1', time: '2026-11-24T10:00:00.000Z', envId: 'e1', method: 'GET', path: '/api/x?y=1', block: 'api', release: '1.0.0', commit: 'abc', status: 200, durationMs: 1.25, clientId: 'c1' };

  it('round-trips entries, with and without their optional fields', () => {
    const bare: AccessEntry = { requestId: 'r-2', time: full.time, envId: 'e1', method: 'POST', path: '/authorize', status: 401, durationMs: 3 };
    expect(decodeAccess(encodeAccess(full) + encodeAccess(bare)).map((i) => (i.k === 'a' ? i.e : undefined))).toEqual([full, bare]);
  });

  it('keeps one entry per line whatever the path holds', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 100, max: 599 }), (path, status) => {
        const decoded = decodeAccess(encodeAccess({ ...full, path, status }));
        expect(decoded).toHaveLength(1);
        const e = decoded[0]!.k === 'a' ? decoded[0]!.e : undefined;
        expect(e?.path).toBe(path.replace(/[\t\n]/g, ' '));
        expect(e?.status).toBe(status);
      }),
    );
  });

  it('skips lines of the wrong shape', () => {
    expect(decodeAccess('not\ta\tline\n' + encodeAccess(full))).toHaveLength(1);
  });
});
